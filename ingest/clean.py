"""Turn the raw text of PDF pages into clean text for chunking and search.

Pure functions, string in, string out. They run on every page of every PDF,
so each rule is a single C-level pass (a regex or unicodedata) that touches
only what it changes.

>>> clean_page_text("The ﬁrst exam-\\nple\\r\\n\\r\\n\\r\\n\\r\\nnext   line  ")
'The first example\\n\\nnext line'
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

# Line separators that PDF extractors emit besides "\n": pdfium gives "\r\n",
# some producers use form feeds, vertical tabs or the Unicode line/paragraph separators.
_OTHER_LINE_BREAK = re.compile("[\r\f\v\x85\u2028\u2029]")

# Characters to delete: C0/C1 controls (but "\n" and "\t"), then invisible characters that
# only split words for a search engine: soft hyphen, zero-width space/non-joiner/joiner,
# word joiner, BOM, and the noncharacters U+FFFE/U+FFFF (pdfium writes U+FFFE for a hyphen
# it has already joined across a line break, so dropping it yields the whole word).
# Lone surrogates come from broken ToUnicode maps and would make UTF-8 encoding fail later.
_UNWANTED_CHAR = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ufffe\uffff\ud800-\udfff]"
)

# Only runs that change: two or more blanks, or one blank other than a space
# (substituting every single space would cost more than all other rules together).
_HORIZONTAL_SPACE_RUN = re.compile(r"[^\S\n]{2,}|[^\S \n]")
_SPACE_AROUND_NEWLINE = re.compile(r" \n ?|\n ")
# A hyphen at a line end between two letters; lookarounds so that "a-\nb-\nc" joins twice.
_HYPHEN_AT_LINE_END = re.compile(r"(?<=[^\W\d_])[-\u2010]\n(?=[^\W\d_])")
_THREE_OR_MORE_NEWLINES = re.compile(r"\n{3,}")
# Leaders and rules: four or more filler characters, single spaces between allowed, as in a
# table of contents ("Install . . . . . 12") or a form ("Name: ______"). Each filler is a
# word piece of its own: on LaTeX manuals they were 14% of all tokens embedded, noise that
# costs time and pulls those chunks' vectors together. One "…" (a single token) stands in.
# Any mix of fillers makes one run, so that a collapsed run never forms a new one.
_LEADER_RUN = re.compile(r" ?(?:[.·_=\-~*…] ?){4,}")


def _join_if_lowercase_follows(match: re.Match[str]) -> str:
    # Only "exam-\nple" is a broken word; "Jean-\nPaul" or "x-\n2" keep their hyphen.
    next_char = match.string[match.end()]
    return "" if next_char.islower() else match.group(0)


def clean_page_text(raw: str) -> str:
    """Normalize one page of extracted text, keeping its line breaks.

    Line breaks are kept because they separate list items and code lines,
    and the chunker splits on them.

    >>> clean_page_text("ﬁle  name\\u00ad\\t here\\u200b")
    'file name here'
    >>> clean_page_text("Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ１２３")
    'Full-width ABC123'
    >>> clean_page_text("well-\\nknown Jean-\\nPaul")
    'wellknown Jean-\\nPaul'
    >>> clean_page_text("item 1\\fitem 2\\u2028item 3")
    'item 1\\nitem 2\\nitem 3'
    >>> clean_page_text("Install . . . . . . . 12\\nName: ________\\n----\\nWait... or -- not")
    'Install … 12\\nName: …\\n…\\nWait... or -- not'
    """
    text = _OTHER_LINE_BREAK.sub("\n", raw.replace("\r\n", "\n"))
    text = _UNWANTED_CHAR.sub("", text)
    # NFKC after removing invisibles: a zero-width char between a letter and a combining
    # mark would otherwise block composition once, then allow it on a second pass.
    # NFKC, but "…" stays one character (NFKC makes it "...", three tokens).
    text = "…".join(unicodedata.normalize("NFKC", part) for part in text.split("…"))
    text = _HORIZONTAL_SPACE_RUN.sub(" ", text)
    text = _LEADER_RUN.sub(" … ", text)  # after spaces are single: a run is matched whole
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    if "-\n" in text or "\u2010\n" in text:
        text = _HYPHEN_AT_LINE_END.sub(_join_if_lowercase_follows, text)
    text = _THREE_OR_MORE_NEWLINES.sub("\n\n", text)
    return text.strip()


_DIGIT_RUN = re.compile(r"\d+")
_WHITESPACE_RUN = re.compile(r"\s+")
_EDGE_LINES = 2  # headers and footers: the first two and last two lines of a page


def _line_key(line: str) -> str:
    """Comparison key of a header/footer candidate: digits, case and spacing ignored.

    >>> _line_key("Page 3 of 10") == _line_key("page  4 of 12")
    True
    """
    return _WHITESPACE_RUN.sub("", _DIGIT_RUN.sub("#", line)).casefold()


def _edge_line_indexes(lines: list[str]) -> list[int]:
    """Indexes of the first two and last two non-blank lines (fewer on short pages)."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def _edge_keys(page: str) -> set[str]:
    lines = page.split("\n")
    keys = {_line_key(lines[i]) for i in _edge_line_indexes(lines)}
    keys.discard("")
    return keys


def drop_repeated_lines(
    pages: list[str],
    min_pages: int = 4,
    min_share: float = 0.6,
    *,
    context: Sequence[str] = (),
) -> list[str]:
    """Drop running headers and footers that repeat across a window of pages.

    A line among the first two or last two lines of a page is dropped when the
    same line (ignoring digits, case and spacing, so "Page 3 of 10" matches
    "Page 4 of 10") is also a first/last-two line on at least `min_share` of the
    window's pages that have text. Whole lines are compared, so pages that merely
    share a word keep their text, and a page is never emptied entirely. Windows
    with fewer than `min_pages` pages with text are returned unchanged: too few
    pages to tell a header from content.

    `context` pages (e.g. the end of the previous batch) are counted but not
    returned, so that a short last batch is still cleaned.

    >>> bodies = ["Install it.", "Run it.", "Test it.", "Ship it."]
    >>> pages = [f"ACME Manual\\n{body}\\nPage {n}" for n, body in enumerate(bodies, 1)]
    >>> drop_repeated_lines(pages)
    ['Install it.', 'Run it.', 'Test it.', 'Ship it.']
    """
    window = [*context, *pages]
    filled_pages = sum(1 for page in window if page.strip())
    if filled_pages < max(min_pages, 2):
        return list(pages)
    # At least two pages must agree: a line seen once is never a running header.
    needed = max(2, min_share * filled_pages)
    counts = Counter(key for page in window for key in _edge_keys(page))
    repeated = {key for key, count in counts.items() if count >= needed}
    if not repeated:
        return list(pages)
    return [_without_lines(page, repeated) for page in pages]


def _without_lines(page: str, repeated: set[str]) -> str:
    lines = page.split("\n")
    drop = {i for i in _edge_line_indexes(lines) if _line_key(lines[i]) in repeated}
    # A page made only of "repeated" lines (one label per page, a form) is more likely
    # content in a uniform layout than a header; losing content is worse than a stray header.
    if not drop or len(drop) == sum(1 for line in lines if line.strip()):
        return page
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return _THREE_OR_MORE_NEWLINES.sub("\n\n", "\n".join(kept)).strip()
