"""Document structure: the title of a PDF and the section path of every place in it.

Read in the parser process when a PDF is opened (`read_structure`): the
document's title (its metadata, else the file name) and its outline
(bookmarks) through PDFium, or through pypdf for files that pypdf opened.
In the main process `Sections` follows the pages as they are chunked and says
where on each page a section begins, so each chunk knows the section path it
sits under (`ingest.chunk`), and `DocumentStructure` adds the header embedded
with it (`ingest.header`).

An outline entry points to a page, not a place on it; the entry's title is
looked for in that page's text, and the section starts where it is found (at
the top of the page otherwise). A PDF without an outline gets its numbered
headings ("3.3 Runtime Options", "Chapter 3. The Root Filesystem" alone on a
line) detected from the text; a number must follow the previous heading's
(3.2 -> 3.3, 3.3 -> 3.3.1 or 4, or 3.1 after 1.2 when chapter 2 had no
subsections and its heading was missed), so list items, table rows and tables
of contents are not taken for headings. A heading's path holds the headings
whose numbers it extends ("Chapter 3. ..." > "3.1. Purpose").

>>> s = Sections("", ())
>>> from core.types import PageText
>>> s.on_page(PageText(1, "Intro text\\n1 Getting Started\\nText\\n1.1 Install\\nMore"))
[(0, ()), (11, ('1 Getting Started',)), (34, ('1 Getting Started', '1.1 Install'))]
>>> s.on_page(PageText(2, "2 Using it\\n7 apples"))[-1]
(0, ('2 Using it',))
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from core.types import PageText
from ingest.header import Headers

MAX_OUTLINE_ENTRIES = 10_000
MAX_OUTLINE_DEPTH = 8
MAX_TITLE_CHARS = 120

# "3.3 Runtime Options", "2. Installation": a number of up to four parts, then a title
# that starts with a letter, has at most 12 words and does not end like a sentence or
# like a table-of-contents line ("Introduction 4", "Options …"); a short capitalized
# title may end in one period ("2. Warming up.", as PARI's manuals write them).
# The title may also start with a path ("3.4. /bin : Essential user command binaries").
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+((?:[^\W\d_]|/)[^\n]{1,90})$")
# "Chapter 3. The Root Filesystem" (DocBook, LaTeX books): a heading of number 3.
_CHAPTER = re.compile(r"^chapter\s+(\d{1,2})(?:\.|:|\s+-)?\s+([^\W\d_][^\n]{1,90})$", re.I)
_NOT_A_TITLE_END = re.compile(r"(?:[,;:…]|\.\.|\s\d+)$")
_NO_TITLE = {"no title", "untitled"}
_JUNK_TITLE = re.compile(r"^(?:untitled|title|document\d*|slide \d+)$|\.(?:dvi|tex|docx?|pdf|ps)$")


@dataclass(frozen=True)
class OutlineEntry:
    """One bookmark: its depth (0 = top), its title, the 1-based page it points to."""

    level: int
    title: str
    page: int


def clean_title(text: str) -> str:
    """One line, at most MAX_TITLE_CHARS.

    >>> clean_title("  The  Maxima\\nBook ")
    'The Maxima Book'
    """
    text = " ".join(text.split())
    return text if len(text) <= MAX_TITLE_CHARS else text[: MAX_TITLE_CHARS - 1] + "…"


def document_title(metadata_title: str, source: str) -> str:
    """The metadata title when it is a real one, else the file name without `.pdf`.

    >>> document_title("The Maxima Book", "m/maximabook.pdf"), document_title("", "doc/ledmac.pdf")
    ('The Maxima Book', 'ledmac')
    >>> document_title("Microsoft Word - report.docx", "a/report.pdf")
    'report'
    """
    title = clean_title(metadata_title or "")
    if not title or _JUNK_TITLE.search(title.lower()) or title.startswith("Microsoft Word - "):
        return clean_title(PurePath(source).stem)
    return title


def read_structure(doc) -> tuple[str, tuple[OutlineEntry, ...]]:
    """(metadata title, outline) of an opened PDF; ("", ()) when it has none or they fail."""
    reader = getattr(doc, "structure", None)
    if reader is None:
        return "", ()
    try:
        title, outline = reader()
    except Exception:  # a broken outline must not cost the text
        return "", ()
    return clean_title(title), tuple(outline[:MAX_OUTLINE_ENTRIES])


def pdfium_structure(pdf) -> tuple[str, list[OutlineEntry]]:
    """Title and outline through pypdfium2 (its walk stops at cycles and at MAX depth)."""
    title = str(pdf.get_metadata_dict().get("Title") or "")
    entries = []
    for item in pdf.get_toc(max_depth=MAX_OUTLINE_DEPTH):
        dest = item.get_dest()
        index = dest.get_index() if dest is not None else None
        text = clean_title(item.get_title() or "")
        if index is not None and text:
            entries.append(OutlineEntry(item.level, text, index + 1))
        if len(entries) >= MAX_OUTLINE_ENTRIES:
            break
    return title, entries


def pypdf_structure(reader) -> tuple[str, list[OutlineEntry]]:
    """Title and outline through pypdf (nested lists are deeper levels)."""
    title = str((reader.metadata or {}).get("/Title") or "")
    entries: list[OutlineEntry] = []

    def walk(items, level: int) -> None:
        for item in items:
            if len(entries) >= MAX_OUTLINE_ENTRIES or level >= MAX_OUTLINE_DEPTH:
                return
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            page = reader.get_destination_page_number(item)
            text = clean_title(str(item.title or ""))
            if page is not None and page >= 0 and text:
                entries.append(OutlineEntry(level, text, page + 1))

    walk(reader.outline, 0)
    return title, entries


def _outline_paths(outline: Sequence[OutlineEntry]) -> dict[int, list[tuple[str, tuple]]]:
    """Per page, in outline order: (title, full section path) of the entries pointing there."""
    by_page: dict[int, list[tuple[str, tuple]]] = defaultdict(list)
    stack: list[str] = []
    for entry in outline:
        level = max(0, min(entry.level, len(stack)))
        stack = [*stack[:level], entry.title]
        by_page[entry.page].append((entry.title, tuple(stack)))
    return by_page


def _title_like(text: str) -> bool:
    """Whether the text after a heading number reads as a title, not a sentence.

    >>> [_title_like(t) for t in ("Runtime Options", "Warming up.", "apples were eaten.")]
    [True, True, False]
    >>> _title_like("No Title")  # texinfo's running header of a manual without a title
    False
    """
    if _NOT_A_TITLE_END.search(text) or len(text.split()) > 12:
        return False
    if text.casefold() in _NO_TITLE:
        return False
    if text.endswith("."):
        return text[0].isupper() and len(text.split()) <= 6 and "." not in text[:-1]
    return True


def _number(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _follows(previous: tuple[int, ...] | None, number: tuple[int, ...]) -> bool:
    """Whether heading `number` can come next: the first, a child, or the first heading
    (or first subsection) of a later sibling.

    >>> [_follows((1, 2), n) for n in [(1, 3), (2,), (1, 2, 1), (3, 1), (3, 2), (7,), (1, 2)]]
    [True, True, True, True, False, False, False]
    """
    if previous is None:
        return number[0] <= 2 and all(n <= 1 for n in number[1:])
    if number == (*previous, 1):
        return True
    for depth in range(min(len(previous), len(number))):
        if number[:depth] == previous[:depth] and number[depth] != previous[depth]:
            # "3.1" right after "1.2": chapter 2 had no subsections and its heading was
            # missed (set as "Chapter 2. ..." in a way not recognised, or an image).
            later = 1 <= number[depth] - previous[depth] <= 2
            return later and all(n == 1 for n in number[depth + 1 :])
    return False


class Sections:
    """Where sections begin, page by page, from the outline or from numbered headings."""

    def __init__(self, title: str, outline: Sequence[OutlineEntry]) -> None:
        self.title = title
        self._outline = _outline_paths(outline)
        self._detect = not outline
        self._path: tuple[str, ...] = ()
        self._number: tuple[int, ...] | None = None
        self._open: list[tuple[tuple[int, ...], str]] = []  # detected: number and label

    def on_page(self, page: PageText) -> list[tuple[int, tuple[str, ...]]]:
        """(character offset, section path) where each section on this page begins, in
        order; the first is (0, the path carried over from the pages before)."""
        found = [(0, self._path)]
        if self._detect:
            found.extend(self._detected(page.text))
        else:
            found.extend(self._located(page))
        self._path = found[-1][1]
        return found

    def _located(self, page: PageText) -> list[tuple[int, tuple[str, ...]]]:
        folded = page.text.casefold()
        found, at = [], 0
        for title, path in self._outline.get(page.page, ()):
            where = folded.find(" ".join(title.split()).casefold(), at)
            if where < 0:  # numbered in the outline only, or set in another font
                bare = re.sub(r"^[\d.]+\s+", "", title).casefold()
                where = folded.find(bare, at) if bare else -1
            at = max(at, where)
            found.append((at, path))
        return found

    def _detected(self, text: str) -> list[tuple[int, tuple[str, ...]]]:
        found, offset = [], 0
        for line in text.splitlines(keepends=True):
            heading = _heading(line.strip())
            if heading is not None and _follows(self._number, heading[0]):
                number, label = heading
                self._number = number
                # Its parents are the open headings whose numbers it extends.
                self._open = [
                    (n, t) for n, t in self._open if len(n) < len(number) and number[: len(n)] == n
                ]
                self._open.append((number, label))
                path = tuple(t for _, t in self._open)
                found.append((offset + len(line) - len(line.lstrip()), path))
            offset += len(line)
        return found


def _heading(line: str) -> tuple[tuple[int, ...], str] | None:
    """(number, label) of a line that reads as a numbered heading, else None.

    >>> _heading("Chapter 3. The Root Filesystem"), _heading("3.4. /bin : Essential binaries")
    (((3,), 'Chapter 3. The Root Filesystem'), ((3, 4), '3.4. /bin : Essential binaries'))
    >>> _heading("Chapter 5 describes the options."), _heading("3 apples were eaten.")
    (None, None)
    """
    for pattern in (_NUMBERED, _CHAPTER):
        match = pattern.match(line)
        if match and _title_like(match[2]):
            return _number(match[1]), clean_title(line)
    return None


class DocumentStructure:
    """What the chunker asks about a document: sections per page and each chunk's header."""

    def __init__(self, title: str, outline: Sequence[OutlineEntry], headers: Headers) -> None:
        self.title = title
        self.sections = Sections(title, outline)
        self.headers = headers

    def on_page(self, page: PageText) -> list[tuple[int, tuple[str, ...]]]:
        return self.sections.on_page(page)

    def heading(self, section: tuple[str, ...], n_tokens: int) -> str:
        return self.headers.heading(self.title, section, n_tokens)
