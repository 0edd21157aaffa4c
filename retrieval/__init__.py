"""Finding the passages that answer a question, over an index made by `ingest`.

    from retrieval.search import Retriever, SearchParams
    with Retriever.open(index_dir, embedder, SearchParams(relevance_floor=0.24)) as r:
        passages = r.search("What does ELBO stand for?", k=5, files=["papers/*.pdf"])

Modules, in the order a question meets them:

- `query`: question -> keyword terms (FTS5-safe), file globs -> sources.
- `dense`: nearest chunks by cosine (exact or IVF vectors, with id filters).
- `keyword`: BM25 over the FTS5 table that ingest keeps in `chunks.sqlite`.
- `fusion`: reciprocal rank fusion, relevance score, merging, de-duplication.
- `search`: `Retriever`, which runs all of the above; the floor lives here.
- `cli` (`python -m retrieval`), `langchain_retriever` (a LangChain adapter).

Its evaluation against LangChain's defaults is outside the package:
`python -m evals.retrieval`.
"""
