"""The page itself: Streamlit views drawn by `app/main.py`, one part of the page each, from what
the user does to what they read.

    `sidebar`          what is indexed, the model, the settings a user tunes, the conversation
    `documents_view`   the sidebar's document list: searched, sorted, with its Remove confirmation
    `model_view`       the sidebar's model section: the installed models to switch between
    `add_documents`    uploads and folder ingest, in the background, with a progress bar
    `chat_view`        the conversation: earlier turns, the new question, the streamed answer
    `sources_view`     each answer's sources, and the cited page with the passage marked

Views talk to `app.service.AppService` and the app's own helpers, nothing below them
(`tests/test_import_rules.py` holds every module in this folder to that).
"""
