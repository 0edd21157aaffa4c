r"""Markdown that cannot carry HTML, links, images or math: for document text and model output.

Streamlit renders `st.markdown` without raw HTML, but Markdown itself can still
load an external image (`![](http://...)`), make a link, or typeset `$...$`.
Document text is untrusted (any PDF), and so is model output (it may echo a
PDF), so both are escaped before they reach the page:

* document text keeps no Markdown at all: every ASCII punctuation character is
  backslash-escaped (CommonMark allows that for each of them), so it shows
  exactly as written; question words are then made **bold**;
* model output keeps harmless formatting (emphasis, lists, quotes, code) but
  not HTML, links, images or math; citations such as [2] are made bold;
* in both, what Streamlit's renderer would make live of plain text is broken
  with an invisible WORD JOINER (U+2060): bare URLs, `www.` names and e-mail
  addresses (GFM autolinks, which remark-gfm finds in the text *after* backslash
  escapes are resolved, so escaping cannot stop them) and Streamlit's directives
  (`:red[...]`, `:material/home:`, `:smile:`), which need a name right after the
  colon. The text reads the same; nothing in it is a link, an icon or a colour.

>>> print(escape_text("<script>alert(1)</script> ![x](ftp://e.com/t.png)"))
\<script\>alert\(1\)\<\/script\> \!\[x\]\(ftp\:\/\/e\.com\/t\.png\)
>>> print(model_markdown("It lasts **two** years [1]. <b>x</b> ![i](ftp://e/x.png) costs $5"))
It lasts **two** years **\[1\]**. \<b>x\</b> !\[i\](ftp://e/x.png) costs \$5
>>> inert("see https://evil.example or www.evil.example, :red[x] :smile:").count(WORD_JOINER)
4
>>> print(highlight("The ELBO (evidence lower bound) is maximized.", "What does ELBO stand for?"))
The **ELBO** \(evidence lower bound\) is maximized\.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from core.text import CITATION, UNSUPPORTED_MARK, WORD, fold, search_terms, singular

# Every ASCII punctuation character: escaping all of them leaves no Markdown syntax.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# In model output only these are escaped: HTML (<), links and images ([ ]), math ($), and
# the backslash itself so an escape cannot be undone.
_MODEL_SPECIAL = re.compile(r"([\\<\[\]$])")
# Code keeps its text literally (the renderer shows it as text), so it is not escaped.
_CODE = re.compile(r"(?ms)^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$|(`+)[^`\n]+?\2(?!`)")
# Citations side by side ("[2][3]") are one run: bold each alone and "**[2]****[3]**" shows.
_CITATION_RUN = re.compile(rf"{CITATION.pattern}(?:\s*{CITATION.pattern})*")
_NUMBER = re.compile(r"\d+")
_UNSUPPORTED_SENTENCE = re.compile(r"([^\n.!?]*?)\s*" + re.escape(UNSUPPORTED_MARK))
UNSUPPORTED_BADGE = ":orange-badge[not in the sources]"
WORD_JOINER = "\u2060"  # invisible, and no line break: the text reads the same
# The places a joiner goes: inside "http(s):" and "www.", before "@", and between a colon
# and a name (remark-gfm's autolink patterns; Streamlit's directives, icons and emoji).
_LIVE = re.compile(r"(?i:(?<=http)(?=s?:)|(?<=www)(?=\.))|(?=@)|(?<=:)(?=[A-Za-z0-9_+-])")
_LIVE_REACH = 6  # characters on either side the pattern looks at ("https:" is 6)


def inert(text: str) -> str:
    """`text` with nothing Streamlit's Markdown would turn into a link, icon or colour."""
    return _LIVE.sub(WORD_JOINER, text)


def escape_text(text: str) -> str:
    """Plain text as Markdown that renders exactly as the text (no formatting of any kind)."""
    return _unindented(_ASCII_PUNCTUATION.sub(r"\\\1", inert(text)))


def model_stream(pieces: Iterable[str]) -> Iterator[str]:
    """Model output while it streams: escaped piece by piece (pieces may be cut anywhere).

    The escaping is per character, so it is the same however the text is cut; the last
    few characters wait for the next piece, so "htt" + "ps://" is made inert like
    "https://". Only code and citations look different until `model_markdown` renders
    the whole text.
    """
    done, held = "", ""  # the text given out so far (its tail is context), and what waits
    for piece in pieces:
        held += piece
        if len(held) > _LIVE_REACH:
            ready, held = held[:-_LIVE_REACH], held[-_LIVE_REACH:]
            yield _stream_piece(done[-_LIVE_REACH:], ready, held)
            done = (done + ready)[-_LIVE_REACH:]
    if held:
        yield _stream_piece(done[-_LIVE_REACH:], held, "")


def _stream_piece(before: str, text: str, after: str) -> str:
    """`text` made inert and escaped, judged with the characters around it."""
    start, end = len(before), len(before) + len(text)
    whole = before + text + after
    cuts = [m.start() for m in _LIVE.finditer(whole) if start <= m.start() < end]
    parts, last = [], start
    for cut in cuts:
        parts.append(whole[last:cut])
        parts.append(WORD_JOINER)
        last = cut
    parts.append(whole[last:end])
    return _MODEL_SPECIAL.sub(r"\\\1", "".join(parts)).replace("\n", "  \n")


Anchor = Callable[[int], str]  # passage number -> the id of its source on the page


def model_markdown(text: str, anchor: Anchor | None = None, streamlit: bool = True) -> str:
    """Model output as safe Markdown: formatting kept, HTML/links/images/math shown as text.

    With `anchor`, every citation [n] is a link to `#anchor(n)`, the source it names
    (the only links model output gets: made here, to this page); sentences marked
    unsupported are shown in orange with a "not in the sources" badge, or, for other
    Markdown readers (`streamlit=False`: the exported conversation), in italics.

    >>> print(model_markdown("Two years [1][2]. Cheese [unsupported].", lambda n: f"s{n}"))
    ... # doctest: +NORMALIZE_WHITESPACE
    Two years [**\\[1\\]**](#s1)[**\\[2\\]**](#s2).
    :orange[Cheese] :orange-badge[not in the sources].
    """
    parts: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        parts.append(_model_prose(text[last : match.start()], anchor, streamlit))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_model_prose(text[last:], anchor, streamlit))
    return "".join(parts)


def _model_prose(text: str, anchor: Anchor | None, streamlit: bool = True) -> str:
    out: list[str] = []
    last = 0
    for match in _UNSUPPORTED_SENTENCE.finditer(text):
        out.append(_cited(text[last : match.start()], anchor))
        sentence = match.group(1).strip()
        lead = match.group(1)[: len(match.group(1)) - len(match.group(1).lstrip())]
        shown = _MODEL_SPECIAL.sub(r"\\\1", inert(sentence))
        if not streamlit:
            out.append(lead + (f"*{shown}* " if sentence else "") + "(not in the sources)")
        elif sentence:
            out.append(lead + ":orange[" + shown + "] " + UNSUPPORTED_BADGE)
        else:
            out.append(UNSUPPORTED_BADGE)
        last = match.end()
    out.append(_cited(text[last:], anchor))
    # Lines stay lines (quoted sentences, list items) instead of merging into one paragraph.
    return "".join(out).replace("\n", "  \n")


def _cited(text: str, anchor: Anchor | None) -> str:
    out: list[str] = []
    last = 0
    for match in _CITATION_RUN.finditer(text):
        out.append(_MODEL_SPECIAL.sub(r"\\\1", inert(text[last : match.start()])))
        out.append(_citation_run(match.group(0), anchor))
        last = match.end()
    out.append(_MODEL_SPECIAL.sub(r"\\\1", inert(text[last:])))
    return "".join(out)


def _citation_run(run: str, anchor: Anchor | None) -> str:
    if anchor is None:
        return "**" + _MODEL_SPECIAL.sub(r"\\\1", run) + "**"
    links = []
    for citation in CITATION.finditer(run):
        label = "**" + _MODEL_SPECIAL.sub(r"\\\1", citation.group(0)) + "**"
        first = int(_NUMBER.search(citation.group(0)).group(0))
        links.append(f"[{label}](#{anchor(first)})")
    return "".join(links)


def question_terms(question: str) -> set[str]:
    """Folded, singular words of a question worth highlighting (no stopwords, no single letters).

    >>> sorted(question_terms("How long do the warranties of GPT-4 models last?"))
    ['4', 'gpt', 'last', 'long', 'model', 'warranty']
    """
    return {singular(t) for t in search_terms(question) if len(t) > 1 or t.isdigit()}


def highlight(text: str, question: str, keep_lines: bool = False) -> str:
    """Document text, escaped, with the question's words in bold (matched without case/accents).

    `keep_lines`: every line of the text stays a line (bullets, tables and code do not run
    together); otherwise lines flow as one paragraph.
    """
    terms = question_terms(question)
    text = inert(text)
    out: list[str] = []
    last = 0
    for match in WORD.finditer(text):
        if singular(fold(match.group(0))) not in terms:
            continue
        out.append(_ASCII_PUNCTUATION.sub(r"\\\1", text[last : match.start()]))
        out.append(f"**{match.group(0)}**")  # a word has no punctuation: nothing to escape
        last = match.end()
    out.append(_ASCII_PUNCTUATION.sub(r"\\\1", text[last:]))
    markdown = _unindented("".join(out))
    return markdown.replace("\n", "  \n") if keep_lines else markdown


def _unindented(markdown: str) -> str:
    # Leading spaces would start a code block. Line ends stay soft: PDF lines wrap where
    # the page did, so the text flows to the width of the chat; blank lines stay paragraphs.
    return "\n".join(line.strip() for line in markdown.split("\n"))
