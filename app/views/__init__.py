"""The page itself: Streamlit views drawn by `app/main.py`, one part of the page each.

- `sidebar`: the index's summary, the documents list (`documents_view`) and the model.
- `add_documents`: uploads and folder ingest, with progress.
- `chat_view`: the conversation, streamed answers and their status lines.
- `sources_view`: each answer's sources and the cited page with the passage marked.
- `model_view`: the installed models to switch between.
- `documents_view`: the documents list with its Remove confirmation.

Views talk to `app.service.AppService` and the app's own helpers, nothing below them
(`tests/test_import_rules.py` holds every module in this folder to that).
"""
