"""The answer evaluation: `python -m evals.answers --qa FILE --docs DIR --model FILE` (see cli)."""
