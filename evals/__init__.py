"""Evaluation harnesses, outside the product packages: they measure ours beside LangChain's.

- `python -m evals.retrieval --qa FILE --docs DIR`: retrieval quality (hit@k, MRR, refusals).
- `python -m evals.answers --qa FILE --docs DIR --model FILE`: answers from a real model.
- `langchain_default`: the peers' default pipeline (LangChain's RAG tutorial), written once.

Question sets live beside each harness (`evals/retrieval/data`, `evals/answers/data`).
Only these and `bench/` import the development-only `langchain_community`.
"""
