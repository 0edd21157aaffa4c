"""The retrieval evaluation: question sets -> our passages and LangChain's default's, side by
side, scored.

    `metrics`   questions, the hit rule (the right file, the evidence on its pages), the metrics
    `cli`       ingests the documents, asks every question of both, prints the table and JSON
    `__main__`  `python -m evals.retrieval`, that command
    `reembed`   an index's chunks embedded again by another engine or precision, for the above

The question sets are in `evals/retrieval/data`.
"""
