"""Evaluation harnesses, outside the product: they run questions through the whole flow (files to
passages, or to answers) and measure ours beside the peers' default pipeline, in one run.

    `langchain_default`  the peers' default pipeline (LangChain's RAG tutorial), written once
    `retrieval/`         `python -m evals.retrieval --qa FILE --docs DIR`: hit@k, MRR, refusals
    `answers/`           `python -m evals.answers --qa FILE --docs DIR --model FILE`: answers
                         from a real model, facts, citations, refusals

Question sets live beside each harness (`evals/retrieval/data`, `evals/answers/data`).
Only these and `bench/` import the development-only `langchain_community`.
"""
