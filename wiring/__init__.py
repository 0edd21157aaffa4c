"""The composition root: the one place that builds the parts and chooses which one backs each
Protocol. Above every library package (it builds them), below `service` and the command lines.

    `params`  the settings -> the small record each part takes (`SearchParams`, `IngestOptions`...)
    `stores`  which store holds the index (a directory, or PostgreSQL), and the writers it hands out
    `root`    the parts: embedder, index, retriever, generator, session, and ingest with its writer

Every other package talks to Protocols (`embed.embedder.Embedder`, `index.IndexReader` and
`IndexWriting`, `llm.protocols.Retriever` and `Generator`); here they are bound to
sentence-transformers, the FAISS + SQLite index or PostgreSQL, the hybrid retriever and
llama.cpp or a model server. The app and the API (through `service.components`) and every
command line (`python -m ingest`, `python -m retrieval`, `python -m llm`) build their parts
here; nothing below imports this package.
"""
