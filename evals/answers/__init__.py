"""The answer evaluation: question sets -> answers from a real model, ours and LangChain's
tutorial's with the same model, judged by our code.

    `scoring`   how one answer is judged: facts held, the right page cited, refusals, length
    `baseline`  the peers' default answer pipeline (LangChain's RAG tutorial), the same GGUF
    `report`    each system's figures, and the table printed to the terminal
    `generations` each generation behind an answer by kind: the answer's own, the second ask's
    `cli`       ingests the documents, asks every question of both, records every answer
    `__main__`  `python -m evals.answers --qa FILE --docs DIR --model FILE`, that command

The question sets are in `evals/answers/data`.
"""
