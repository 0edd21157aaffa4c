"""Benchmarks, outside the product: the speed and memory of each stage of the flow, most of them
beside the peers' default pipeline or the choice it replaced, alternating in one run. Each is
run as a script (`.venv/bin/python bench/NAME.py --help`); docs/measurements.md has figures.

Files -> index:
    `ingest`              ingest time and memory: ours against the LangChain tutorial default
    `embed_engines`       the embedding model alone: each engine and precision on the same chunks
    `ocr`                 OCR accuracy, speed and retrieval on scans, through the ingest's own code

Index -> passages:
    `search`              search latency and memory at 10,000 to 1,000,000 chunks (synthetic)
    `rerank_sentences`    what the re-ranker's sentence signal adds to a search, on and off
    `keyword_connection`  BM25 through the snapshot's own SQLite connection against a second one
    `load`                concurrent searches against one loaded index: throughput, p50/p99
    `pg_copy_index`       a local index copied as it is into PostgreSQL, for side-by-side runs
    `pg_keyword_rank`     PostgreSQL's `ts_rank_cd` in place of BM25: does it rank as well?
    `pg_scale`            the PostgreSQL store beside the local index at scale

Prompt -> streamed answer:
    `injection_pdfs`      PDFs with planted instructions, for the answer evaluation
    `llm`                 time to first token and tokens/s: our pipeline against llama.cpp directly
    `served_llm`          the same with the model on a server: ours against calling it directly
    `token_estimate`      how safe the served model's token estimate is, on every indexed chunk
    `model_turns`         two processes, one model: taking turns on the machine or not
    `chat_wait`           how long the chat keeps a user waiting: sources, first text, Stop, line
    `chat_wait_browser`   the browser half of that: the real app in headless Chromium, timed
    `highlight`           how much of each passage the page highlight finds, and its cost
    `api_load`            concurrent streaming API clients: throughput, time to first token, waits

Settings:
    `settings`            what reading the settings costs, as the app does at every page run

Shell scripts beside them: `fetch_corpus.sh` (a pinned corpus of Debian manuals as PDFs) and
`pg_avx2_check.sh` (does the packaged pgvector run on an AVX2-only CPU); `avx2_only/run.sh`
runs any of them as on an AVX2-only CPU (CPUID trapped; docs/embedding.md).
"""
