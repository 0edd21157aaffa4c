"""The Streamlit chat: the browser edge of the flow, where questions come in and streamed answers
with their cited pages go out. It composes; the work is done by the service package (shared with the
API) and the layers below it.

    `main`                the entry point, `streamlit run app/main.py` (`make run`)
    `views/`              the page itself: sidebar, adding documents, chat, sources, models
    `runtime`             Streamlit glue: the process-wide service, each session's conversation
    `service`             `AppService`: `SharedService` plus what only the page needs
    `conversation`        one user's conversation: chat session, settings, turns, export
    `session_work`        questions answered in a worker thread, so no rerun of the page loses one
    `chat_status`         what a question still waiting for its answer shows: stage and since when
    `safe_markdown`       document text and model output as Markdown without HTML, links or images
    `passage_marks`       where a passage's words are on its PDF pages, as rectangles
    `page_render`         the cited page rendered from the PDF, the passage highlighted, cached
    `conversation_store`  each session's conversation on disk, so reloading the tab shows it
    `shared_state`        the same in PostgreSQL, when `RAG_STORE_URL` is set
    `model_list`          the installed GGUF models: file, size, trained context, catalog name

The page's views talk only to `AppService` and these helpers (`tests/test_import_rules.py`).
"""
