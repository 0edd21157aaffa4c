"""Grounded answers from a local GGUF model, with page citations; quotes without a model.

    python -m llm "What does the warranty cover?" [--model models/x.gguf] [--json]

Modules, one job each:
  chat.py               ChatSession.ask(question) -> Answer: the entry point for CLI and UI
  answer.py             the streamed Answer (text pieces, then text, citations, mode)
  prompt.py             system rules, fenced numbered passages, citation parsing
  budget.py             fitting the prompt into n_ctx with the model's own tokenizer
  rewrite.py            follow-up questions -> standalone search queries
  extractive.py         the no-model answer: best matching sentences, quoted and cited
  protocols.py          the Retriever and Generator interfaces
  llama_cpp_backend.py  the real Generator (llama-cpp-python), loaded once, thread-safe
  chat_template.py      the GGUF's chat template, or a fallback from its special tokens
  llama_log.py          llama.cpp's load log: layers offloaded, load errors
  model_file.py         finding the .gguf and checking it before llama.cpp reads it
  cli.py                `python -m llm`

Nothing here imports `retrieval`, `ingest`, `index` or `embed`: a session gets its
retriever and model from the composition root (`wiring.root.build_session`).
Importing this package loads neither llama_cpp nor torch.
"""
