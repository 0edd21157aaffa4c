"""The flat names of the settings (`RAG_<NAME>` in the environment) and the group each fills.

The names are those docs/configuration.md lists; they were the fields of the flat `Settings`
before the groups, so every documented variable keeps working.

>>> FLAT["chunk_tokens"], FLAT["llm_n_ctx"], FLAT["ocr"]
(('ingest', 'chunk_tokens'), ('llm', 'n_ctx'), ('ocr', 'enabled'))
>>> ENV_NAMES["RAG_TOP_K"] == ENV_NAMES["RAG_LLM_PASSAGES"] == ("search", "passages")
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PREFIX = "RAG_"

_GROUPS: dict[str, dict[str, str]] = {  # group -> {flat name: field}
    "paths": {
        n: n
        for n in (
            "index_dir",
            "documents_dir",
            "models_dir",
            "conversations_dir",
            "model_cache_dir",
            "ocr_cache_dir",
        )
    },
    "embedding": {
        f"embedding_{n}": n for n in ("model", "batch_size", "device", "dtype", "backend")
    },
    "ingest": {
        "pdf_backend": "pdf_backend",
        "ingest_workers": "workers",
        **{
            n: n
            for n in (
                "file_timeout_seconds",
                "follow_symlinks",
                "parser_memory_mb",
                "chunk_tokens",
                "chunk_overlap",
                "chunk_format",
                "checkpoint_seconds",
                "lock_timeout_seconds",
                "file_max_chars",
                "file_max_expansion",
                "file_max_chunks",
                "file_max_seconds",
            )
        },
    },
    "ocr": {
        "ocr": "enabled",
        **{f"ocr_{n}": n for n in ("engine", "languages", "dpi", "min_confidence")},
    },
    "search": {
        n: n
        for n in (
            "passages",
            "relevance_floor",
            "dense_candidates",
            "keyword_candidates",
            "keyword_postings_budget",
            "vector_index",
            "ivf_min_chunks",
            "ivf_nprobe",
            "rerank",
            "rerank_sentences",
            "verify_index",
            "max_question_chars",
        )
    },
    "llm": {
        f"llm_{n}": n
        for n in (
            "model",
            "n_ctx",
            "n_gpu_layers",
            "n_threads",
            "n_batch",
            "temperature",
            "top_p",
            "top_k",
            "repeat_penalty",
            "max_tokens",
            "seed",
            "history_turns",
            "rewrite_followups",
            "verbose",
        )
    },
    "app": {
        n: n
        for n in (
            "upload_max_mb",
            "upload_max_files",
            "ingest_roots",
            "conversations_keep_days",
            "page_max_pixels",
            "app_file_max_seconds",
        )
    },
    "store": {f"store_{n}": n for n in ("url", "pool_size", "ef_search")},
    "api": {
        **{
            f"api_{n}": n
            for n in ("host", "port", "keys", "queue_max", "max_request_kb", "max_question_chars")
        },
        "model_turns": "model_turns",
    },
}

# Older names of one setting: `top_k` (search) and `llm_passages` (the model) were two
# knobs for one thing, the passages per question; both still read as `passages`.
ALIASES: dict[str, tuple[str, str]] = {
    "top_k": ("search", "passages"),
    "llm_passages": ("search", "passages"),
}

FLAT: dict[str, tuple[str, str]] = {
    **{flat: (group, name) for group, names in _GROUPS.items() for flat, name in names.items()},
    **ALIASES,
}
ENV_NAMES: dict[str, tuple[str, str]] = {
    PREFIX + flat.upper(): where for flat, where in FLAT.items()
}


def env_values(env_file: Any = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The settings named in the environment (over the `.env` file), by group.

    Names are case-insensitive; an alias yields to the setting's own name.

    >>> env_values(None, {"RAG_TOP_K": "7", "rag_chunk_tokens": "64", "RAG_APP_FACTORY": "x"})
    {'search': {'passages': '7'}, 'ingest': {'chunk_tokens': '64'}}
    >>> env_values(None, {"RAG_TOP_K": "7", "RAG_PASSAGES": "3"})["search"]
    {'passages': '3'}
    """
    found: dict[str, str] = {}
    for path in _env_files(env_file):
        found.update({k.upper(): v for k, v in dotenv_values(path).items() if v is not None})
    environ = os.environ if environ is None else environ
    found.update({k.upper(): v for k, v in environ.items() if k.upper().startswith(PREFIX)})
    out: dict[str, dict[str, str]] = {}
    aliases = {PREFIX + a.upper() for a in ALIASES}
    for key in sorted(found, key=lambda k: k not in aliases):  # aliases first, then owners
        where = ENV_NAMES.get(key)
        if where is not None:
            out.setdefault(where[0], {})[where[1]] = found[key]
    return out


# RAG_* variables that are not settings: read by the app and the tests themselves.
NOT_SETTINGS = frozenset({"RAG_APP_FACTORY", "RAG_TEST_SCREENSHOTS"})


def unknown_env_names(environ: dict[str, str] | None = None) -> list[str]:
    """`RAG_*` variables that name no setting (a typo is otherwise silently ignored).

    >>> unknown_env_names({"RAG_CHUNK_TOKNS": "64", "RAG_TOP_K": "3", "RAG_APP_FACTORY": "x"})
    ['RAG_CHUNK_TOKNS']
    """
    environ = os.environ if environ is None else environ
    names = (k.upper() for k in environ if k.upper().startswith(PREFIX))
    return sorted(n for n in names if n not in ENV_NAMES and n not in NOT_SETTINGS)


def _env_files(env_file: Any) -> list[Path]:
    if env_file is None:
        return []
    files = env_file if isinstance(env_file, list | tuple) else [env_file]
    return [Path(f) for f in files if Path(f).is_file()]
