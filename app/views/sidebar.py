"""The sidebar: what is indexed, the model, the settings a user tunes, the conversation."""

from __future__ import annotations

import streamlit as st

from app.conversation import ChatTurn, Tuning, conversation_markdown
from app.runtime import clear_conversation, show_error
from app.safe_markdown import escape_text
from app.service import AppService, Manifest, ModelStatus
from app.session_work import SessionWork
from app.views import documents_view

count = documents_view.count
SEARCH_KEY = "search_documents"
REMOVE_KEY = "remove_documents"
CONFIRM_KEY = "remove_confirm"  # the documents whose removal awaits a yes


def documents_section(svc: AppService, manifest: Manifest | None) -> None:
    documents_view.render(manifest)
    if manifest is not None and manifest.documents:
        _remove_form(svc, sorted(manifest.documents))
    if manifest is not None and manifest.skipped:
        with st.expander(f"Skipped files ({len(manifest.skipped)})"):
            for file, reason in sorted(manifest.skipped.items()):
                st.markdown(escape_text(f"{file}: {reason}"))


def _remove_form(svc: AppService, sources: list[str]) -> None:
    """Choose documents, click Remove, then confirm: nothing is removed by one click.

    The list offers no "Select all" (Enter on that row would choose every document).
    """
    _keep_known(REMOVE_KEY, sources)
    chosen = st.multiselect(
        "Remove from the index", sources, key=REMOVE_KEY, select_all=False, placeholder="Choose"
    )
    asked = st.session_state.get(CONFIRM_KEY)
    if asked is not None and asked != chosen:  # the choice changed: ask again
        del st.session_state[CONFIRM_KEY]
        asked = None
    if asked is None:
        if st.button("Remove", disabled=not chosen, help="Asks first. The PDF files are kept."):
            st.session_state[CONFIRM_KEY] = list(chosen)
            st.rerun()
        return
    st.warning(escape_text(removal_question(asked)))
    yes, no = st.columns(2)
    if no.button("Keep them", key="remove_cancel"):
        del st.session_state[CONFIRM_KEY]
        st.rerun()
    if yes.button(f"Remove {count(len(asked), 'document')}", type="primary", key="remove_yes"):
        del st.session_state[CONFIRM_KEY]
        try:
            removed = svc.remove(asked)
        except Exception as exc:  # the UI boundary
            show_error(exc, "Removing documents")
            return
        del st.session_state[REMOVE_KEY]
        st.session_state["notice"] = f"Removed {count(len(removed), 'document')} from the index."
        st.rerun()


def removal_question(sources: list[str], shown: int = 5) -> str:
    """What the confirmation asks.

    >>> print(removal_question(["a.pdf"]))
    Remove a.pdf from the index? The file stays on disk, but questions no longer find it \
until it is added again (read and embedded anew).
    >>> removal_question([f"{n}.pdf" for n in range(7)])[:62]
    'Remove 7 documents (0.pdf, 1.pdf, 2.pdf, 3.pdf, 4.pdf and 2 mo'
    """
    if len(sources) == 1:
        what, it, them = sources[0], "The file stays", "it"
    else:
        names = ", ".join(sources[:shown])
        more = f" and {len(sources) - shown} more" if len(sources) > shown else ""
        what, it, them = (
            f"{count(len(sources), 'document')} ({names}{more})",
            "The files stay",
            "them",
        )
    return (
        f"Remove {what} from the index? {it} on disk, but questions no longer find "
        f"{them} until {'it is' if them == 'it' else 'they are'} added again (read and "
        "embedded anew)."
    )


def tuning_section(svc: AppService, model: ModelStatus, sources: list[str]) -> Tuning:
    s = svc.settings
    st.header("Answers")
    passages = st.slider("Passages per question", 1, 20, min(s.search.passages, 20), key="passages")
    no_model = None if model.loaded else "Used by the language model only."
    temperature = st.slider(
        "Temperature",
        0.0,
        1.5,
        min(s.llm.temperature, 1.5),
        0.05,
        key="temperature",
        help=no_model,
        disabled=not model.loaded,
    )
    longest = max(64, model.n_ctx // 2) if model.loaded else max(64, s.llm.max_tokens)
    max_tokens = st.slider(
        "Longest answer (tokens)",
        64,
        longest,
        min(max(s.llm.max_tokens, 64), longest),
        16,
        key="max_tokens",
        help=no_model,
        disabled=not model.loaded,
    )
    _keep_known(SEARCH_KEY, sources)
    documents = st.multiselect(
        "Search in", sources, key=SEARCH_KEY, placeholder="All documents", disabled=not sources
    )
    return Tuning(passages, temperature, max_tokens, tuple(documents))


def conversation_section(svc: AppService, work: SessionWork, turns: list[ChatTurn]) -> None:
    st.header("Conversation")
    left, right = st.columns(2)
    busy = work.busy()
    if left.button(
        "Clear",
        disabled=not turns or busy,
        help="Wait for the answer, or stop it, first."
        if busy
        else "Forget the questions and answers (also the copy kept for reloading this page).",
    ):
        clear_conversation(svc, work)
        st.rerun()
    right.download_button(
        "Download",
        conversation_markdown(turns),
        file_name="conversation.md",
        mime="text/markdown",
        disabled=not turns,
        help="The conversation as Markdown, with its citations.",
    )


def _keep_known(key: str, options: list[str]) -> None:
    """Drop selections of documents that are no longer indexed (removed by someone)."""
    chosen = st.session_state.get(key)
    if chosen and any(c not in options for c in chosen):
        st.session_state[key] = [c for c in chosen if c in options]
