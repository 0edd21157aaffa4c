"""The flat names of the settings (`RAG_<NAME>` in the environment) and the group each fills.

The names are derived from the groups (`PREFIXES`, and `KEPT_NAMES` for the three that kept
older names); docs/configuration.md lists them, generated from the same groups.

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

from core.settings_groups import GROUPS

PREFIX = "RAG_"

# A setting's flat name is its group's prefix and its field's name (`llm.n_ctx` is
# RAG_LLM_N_CTX)...
PREFIXES: dict[str, str] = {
    "paths": "",
    "embedding": "embedding_",
    "ingest": "",
    "ocr": "ocr_",
    "search": "",
    "llm": "llm_",
    "llm_server": "llm_",
    "app": "",
    "store": "store_",
    "api": "api_",
}
# ...except for these, which kept the names they had before the groups.
KEPT_NAMES: dict[tuple[str, str], str] = {
    ("ingest", "workers"): "ingest_workers",
    ("ocr", "enabled"): "ocr",
    ("api", "model_turns"): "model_turns",
}


def flat_name(group: str, field: str) -> str:
    """The name without RAG_, upper-cased in the environment.

    >>> flat_name("llm", "n_ctx"), flat_name("ocr", "enabled"), flat_name("search", "rerank")
    ('llm_n_ctx', 'ocr', 'rerank')
    """
    return KEPT_NAMES.get((group, field), PREFIXES[group] + field)


_GROUPS: dict[str, dict[str, str]] = {  # group -> {flat name: field}
    group: {flat_name(group, field): field for field in cls.model_fields}
    for group, cls in GROUPS.items()
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
