"""The answer evaluation: `python -m llm.eval --qa FILE --docs DIR --model FILE` (see cli)."""
