"""Finding the passages that answer a question, over an index made by `ingest`."""
