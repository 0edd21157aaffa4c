"""The Streamlit chat UI. It only composes; the work happens in ingest, retrieval and llm."""
