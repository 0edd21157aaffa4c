# The two commands of the README: `make run` and `make test`. Both create the
# virtual environment and install everything on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS ?= ../shared/corpus/seeds
# The language model `make run` installs (once, sha256-checked) and answers with:
# default (Qwen2.5-Coder-1.5B-Instruct, 1.1 GB), small (0.5B, 491 MB) or none (quotes only).
# RAG_LLM_MODEL=/path/to/any.gguf overrides it.
MODEL ?= default
# Tesseract languages `make ocr` installs (Debian packages tesseract-ocr-LANG), e.g. eng+fra.
OCR_LANGS ?= eng
# x86-64 GCC/Clang: keep -march=native but switch AMX off (see the install step).
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_FLAGS := $(shell [ "$$(uname -m)" = x86_64 ] && echo | $${CC:-cc} $(NO_AMX) -E - >/dev/null 2>&1 \
	&& echo 'CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)"')

.PHONY: install run serve test lint ingest bench clean chromium install-cuda ocr embedding \
	serve-model serve-stack

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, pinned, so nothing pulls the multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	# llama.cpp is compiled for this CPU, but without AMX: on VMs whose CPU reports AMX
	# (Sapphire Rapids under Firecracker, seen here) its AMX kernels crash at the first
	# token. Built without pip's wheel cache, so a wheel compiled elsewhere is never reused.
	# Its [server] extra brings `python -m llama_cpp.server` (docs/served-model.md).
	$(LLAMA_FLAGS) $(PY) -m pip install -q --no-cache-dir --no-binary llama-cpp-python \
		"$$(grep -E '^llama-cpp-python(\[server\])?==' requirements.txt)"
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) ocr embedding

# The embedding model converted for this CPU's engine (int8: 20 s to 2 min, once per machine;
# docs/embedding.md), so the first ingest starts at full speed. Instant when already done.
embedding: $(STAMP)
	$(PY) -m embed.prepare

# OCR of scanned pages uses Debian's tesseract. Installed here when missing and possible
# (root with apt-get); otherwise this says what to run, and scanned pages stay unread.
ocr:
	@missing=""; for l in $$(echo "$(OCR_LANGS)" | tr '+' ' '); do \
	  tesseract --list-langs 2>/dev/null | grep -qx "$$l" || missing="$$missing tesseract-ocr-$$l"; \
	done; \
	if [ -n "$$missing" ] || ! command -v tesseract >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -qq --no-install-recommends tesseract-ocr $$missing >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends tesseract-ocr $$missing; } || \
	    echo "note: could not install tesseract-ocr$$missing; scanned pages will not be OCR'd"; \
	  else \
	    echo "note: OCR of scanned pages needs: sudo apt-get install tesseract-ocr$$missing"; \
	  fi; \
	fi

# With RAG_LLM_URL set, a model server answers (docs/served-model.md): nothing to install.
run: $(STAMP) ocr embedding
	@[ -n "$${RAG_LLM_URL:-}" ] || $(PY) -m llm.install $(MODEL) > $(VENV)/.model
	@m=$$(cat $(VENV)/.model 2>/dev/null); if [ -z "$${RAG_LLM_MODEL:-}" ] && [ -n "$$m" ]; then \
	  export RAG_LLM_MODEL="$$m"; fi; \
	if [ -z "$${RAG_LLM_URL:-}" ] && [ -n "$${RAG_LLM_MODEL:-}" ]; then \
	  $(PY) -m llm.smoke "$$RAG_LLM_MODEL" || exit 2; fi; \
	exec $(PY) -m streamlit run app/main.py

# The OpenAI-compatible HTTP API (docs/api.md) on the same model and index as `make run`,
# at http://127.0.0.1:8000/v1 (RAG_API_HOST, RAG_API_PORT; RAG_API_KEYS beyond localhost).
serve: $(STAMP) ocr embedding
	@[ -n "$${RAG_LLM_URL:-}" ] || $(PY) -m llm.install $(MODEL) > $(VENV)/.model
	@m=$$(cat $(VENV)/.model 2>/dev/null); if [ -z "$${RAG_LLM_MODEL:-}" ] && [ -n "$$m" ]; then \
	  export RAG_LLM_MODEL="$$m"; fi; \
	if [ -z "$${RAG_LLM_URL:-}" ] && [ -n "$${RAG_LLM_MODEL:-}" ]; then \
	  $(PY) -m llm.smoke "$$RAG_LLM_MODEL" || exit 2; fi; \
	exec $(PY) -m api

# The model half of the shared set-up (docs/served-model.md): llama-cpp-python's
# OpenAI-compatible server on the installed MODEL, on 127.0.0.1:$(MODEL_PORT), until Ctrl-C;
# it prints the RAG_LLM_* settings that point the app, the CLIs and the API at it.
MODEL_PORT ?= 8080
serve-model: $(STAMP)
	@$(PY) -m llm.install $(MODEL) > $(VENV)/.model
	@m=$$(cat $(VENV)/.model); [ -n "$$m" ] || { echo "error: serve-model needs MODEL=default or small"; exit 2; }; \
	exec $(PY) deploy/model_server.py --model "$$m" --port $(MODEL_PORT)

# The browser test drives Debian's Chromium. Installed here when missing and possible
# (root with apt-get); otherwise that one test is skipped and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }; }; \
	} || echo "note: Chromium could not be installed; the browser test will be skipped"

# The small real model answers one seed question in tests/llm/test_real_model.py.
# Every test, the slow ones included; plain `pytest` runs only the fast ones (README, Development).
test: $(STAMP) chromium ocr
	$(PY) -m llm.install small > /dev/null
	$(PY) -m pytest -m "slow or not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

ingest: $(STAMP)
	$(PY) -m ingest $(DOCS)

bench: $(STAMP)
	$(PY) bench/ingest.py $(DOCS)

clean:
	rm -rf $(VENV) .pytest_cache

# llama.cpp with CUDA offload (needs the CUDA toolkit's nvcc); then set RAG_LLM_N_GPU_LAYERS=-1.
install-cuda: $(STAMP)
	$(LLAMA_FLAGS) CMAKE_ARGS="-DGGML_CUDA=on" FORCE_CMAKE=1 $(PY) -m pip install --force-reinstall --no-deps \
		--no-cache-dir --no-binary llama-cpp-python llama-cpp-python==0.3.36

# The shared set-up tried on one machine (docs/deployment.md, docs/served-model.md): a
# private PostgreSQL with pgvector (deploy/serve_postgres.sh; its data in data/postgres), the
# model server on the installed MODEL, then the app on both. Ctrl-C stops all three.
serve-stack: $(STAMP) ocr
	@$(PY) -m llm.install $(MODEL) > $(VENV)/.model
	@m=$$(cat $(VENV)/.model); [ -n "$$m" ] || { echo "error: serve-stack needs MODEL=default or small"; exit 2; }; \
	out=$$(bash deploy/serve_postgres.sh start) || exit 1; eval "$$out"; \
	trap 'bash deploy/serve_postgres.sh stop' EXIT INT TERM; \
	echo "index, conversations and documents in $$RAG_STORE_URL"; \
	$(PY) deploy/model_server.py --model "$$m" --port $(MODEL_PORT) -- \
		$(PY) -m streamlit run app/main.py
