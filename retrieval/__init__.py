"""Finding the passages that answer a question, over an index made by `ingest`.

    from retrieval.search import Retriever, SearchParams
    index = IndexSnapshot.open(index_dir)  # or any `index.IndexReader`
    with Retriever(index, embedder, SearchParams(relevance_floor=0.24), owns_index=True) as r:
        passages = r.search("What does ELBO stand for?", k=5, files=["papers/*.pdf"])

Modules, in the order a question meets them:

- `query`: file globs -> the indexed sources they select.
- `dense`: nearest chunks by cosine (`index.IndexReader.nearest`, with id filters);
  keyword candidates come from `index.keyword` (BM25 over FTS5).
- `fusion`: reciprocal rank fusion, relevance score, merging, de-duplication.
- `search`: `Retriever`, which runs all of the above; the floor lives here.
- `cli` (`python -m retrieval`), `langchain_retriever` (a LangChain adapter).

Its evaluation against LangChain's defaults is outside the package:
`python -m evals.retrieval`.
"""
