"""The sources of an answer: each passage, its relevance in words, and its page itself.

Each source opens on the cited page rendered from the PDF with the passage
highlighted (`AppService.page_view`), with zoom, a page chooser for a passage
that runs over several pages, and downloads of the page picture and of the
whole PDF. The passage's text as indexed is below it, line breaks kept. Every
source has an anchor (`source_anchor`) that the answer's [n] links point to.
"""

from __future__ import annotations

import streamlit as st

from app.conversation import ChatTurn
from app.runtime import show_error
from app.safe_markdown import escape_text, highlight
from app.service import AppService
from core.types import Passage

ZOOMS = {"100%": 1.0, "150%": 1.5, "200%": 2.0, "300%": 3.0}
# Relevance (0..1, after fusion) in words; the floor below which nothing is shown is 0.24.
RELEVANCE_WORDS = ((0.6, "strong match"), (0.45, "good match"), (0.3, "partial match"))


def relevance_words(score: float) -> str:
    """What a relevance score means to a reader.

    >>> relevance_words(0.82), relevance_words(0.5), relevance_words(0.31), relevance_words(0.1)
    ('strong match', 'good match', 'partial match', 'weak match')
    """
    for floor, words in RELEVANCE_WORDS:
        if score >= floor:
            return words
    return "weak match"


def source_tags(passage: Passage) -> str:
    """Extra labels of a source, each ' · tag' (OCR text, section path, ...)."""
    tags = ""
    if passage.ocr:  # text read from a scanned page image
        tags += " · OCR"
    return tags


def source_label(n: int, turn: ChatTurn, pending: bool = False) -> str:
    """'[1] acme.pdf p. 4 · strong match (0.82) · cited', escaped (labels render Markdown).

    While the answer is being written, nothing is cited yet: the label says only the match.
    """
    p = turn.passages[n - 1]
    cited = "" if pending else " · cited" if n in turn.cited else " · not cited"
    words = f"{relevance_words(p.score)} ({p.score:.2f})"
    return escape_text(f"[{n}] {p.location}{source_tags(p)} · {words}{cited}")


def same_text_note(passage: Passage) -> str:
    """Where else the very same text is indexed (the same PDF added from two folders).

    >>> same_text_note(Passage("a/m.pdf", 1, 1, 0.5, "t", also=("b/m.pdf", "c/m.pdf")))
    'The same text is also in b/m.pdf, c/m.pdf (shown once).'
    """
    return f"The same text is also in {', '.join(passage.also)} (shown once)."


def source_anchor(turn_index: int, n: int) -> str:
    return f"source-{turn_index + 1}-{n}"


def render_sources(
    svc: AppService, turn_index: int, turn: ChatTurn, pending: int | None = None
) -> None:
    """Every passage the answer was given; the cited ones open on their page.

    `pending`: the id of the question whose answer is still being written; its sources
    are shown closed, under widget keys of their own.
    """
    if not turn.passages:
        return
    if pending is None:
        st.caption("Sources")
    else:
        st.caption("Sources found; the ones the answer cites are marked when it is done")
    for n, passage in enumerate(turn.passages, 1):
        # An empty element with an id: the target of the answer's [n] links (no content).
        st.html(f'<span id="{source_anchor(turn_index, n)}"></span>')
        cited = n in turn.cited
        label = source_label(n, turn, pending is not None)
        with st.expander(label, expanded=cited):
            key = f"{turn_index}-{n}" if pending is None else f"pending-{pending}-{n}"
            if st.toggle("Show the page", value=cited, key=f"show-{key}"):
                _page(svc, passage, key)
            if passage.also:
                st.caption(escape_text(same_text_note(passage)))
            if passage.ocr:
                st.caption(
                    escape_text(
                        f"Read by OCR from a page image (confidence {passage.ocr_confidence:.0%}): "
                        "check the words against the page."
                    )
                )
            st.markdown(highlight(passage.text, turn.question, keep_lines=True))


def _page(svc: AppService, passage: Passage, key: str) -> None:
    zoom = ZOOMS.get(st.session_state.get(f"zoom-{key}") or "100%", 1.0)
    page = passage.page_start
    try:
        view = svc.page_view(passage, page, zoom)
        if passage.page_end > passage.page_start:
            # Open where most of the passage is, not on the page it merely ends a line of.
            main = view.main_page or passage.page_start
            page = st.select_slider(
                "Page",
                options=list(range(passage.page_start, passage.page_end + 1)),
                value=main,
                key=f"page-{key}",
            )
            if page != passage.page_start:
                view = svc.page_view(passage, page, zoom)
    except Exception as exc:  # the UI boundary: a damaged PDF, ...
        show_error(exc, "Showing the page")
        return
    st.segmented_control(
        "Zoom", list(ZOOMS), default="100%", key=f"zoom-{key}", label_visibility="collapsed"
    )
    if view.problem:
        st.warning(escape_text(view.problem))
        return
    if passage.ocr:
        what = "the passage was read by OCR, so it cannot be marked on the image"
    elif view.marks:
        what = "the passage is highlighted in yellow"
    else:
        what = "the passage continues on another page"
    alt = f"Page {page} of {passage.source}: {what}"
    st.image(view.png, alt=alt, width="stretch", output_format="PNG")
    st.caption(escape_text(f"{alt}."))
    left, right = st.columns(2)
    left.download_button(
        f"Page {page} as PNG",
        view.png,
        file_name=f"{_stem(passage.source)}-p{page}.png",
        mime="image/png",
        key=f"png-{key}-{page}",
        on_click="ignore",
    )
    right.download_button(
        "The whole PDF",
        lambda: svc.pdf_bytes(passage.source),  # read only when clicked
        file_name=passage.source.rsplit("/", 1)[-1],
        mime="application/pdf",
        key=f"pdf-{key}",
        on_click="ignore",
    )


def _stem(source: str) -> str:
    name = source.rsplit("/", 1)[-1]
    return name[:-4] if name.lower().endswith(".pdf") else name
