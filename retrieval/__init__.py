"""Retrieval: a question -> the passages that answer it, read from the index through
`index.IndexReader`. Between the index and `llm`, which reaches it only as its `Retriever`.

    `search`               `Retriever` and `SearchParams`: runs the steps below, holds the floor
    `query`                file globs -> the indexed sources they select
    `threads`              one question's arithmetic on one core (FAISS and torch)
    `dense`                embed the question; nearest chunks by cosine, file filters inside
    `fusion`               dense and keyword candidates (BM25 from `index.keyword`) fused by RRF;
                           relevance, merging, de-duplication into distinct passages
    `rerank`               a second look at the fused best few, with cheap exact signals
    `sentences`            the question's best sentence in each of the top chunks (a signal)
    `answer_type`          what kind of answer a question asks for (dates), for the re-ranker
    `langchain_retriever`  `Retriever` as a LangChain `BaseRetriever` (LangChain stays at the edge)
    `cli`                  `python -m retrieval "QUERY"`: search from the command line
    `__main__`             runs that command

Its evaluation against LangChain's defaults is outside the package:
`python -m evals.retrieval`.
"""
