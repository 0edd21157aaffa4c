"""The composition root: the one place that chooses which parts back which Protocol.

    files -> ingest -> index <- retrieval <- llm <- app
                  \\-> embed <-/

Every other package talks to Protocols (`embed.embedder.Embedder`,
`index.IndexReader`/`IndexWriting`, `llm.protocols.Retriever`/`Generator`);
here they are bound to sentence-transformers, the FAISS + SQLite index, the
hybrid retriever and llama.cpp, from the settings (`wiring.params` maps the
settings onto each library's own small records). The app (`service.components`)
and every CLI (`python -m ingest`, `python -m retrieval`, `python -m llm`) build
their parts here; nothing below imports this package.
"""
