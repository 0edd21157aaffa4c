"""The heavy parts the app and the API are built from, and the one hook to replace them in tests.

By default the service (`service.shared`) loads the configured sentence-transformers
embedder and the GGUF model found by `llm.model_file`, both built by the composition root
(`wiring.root`). Tests (Streamlit's AppTest, the browser test, the API server) set
`RAG_APP_FACTORY=package.module:function` to a function returning `Components`
with fakes; product code imports nothing from `tests/` unless that variable
names it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core.errors import ConfigError
from core.settings import Settings
from embed.protocols import Embedder
from llm.protocols import Generator

FACTORY_ENV = "RAG_APP_FACTORY"


@dataclass(frozen=True)
class Components:
    """How to load the embedder and the language model (None: no model, quote passages).

    `parser_processes` is handed to `run_ingest` (None: from settings; 0: parse in-process).
    """

    load_embedder: Callable[[Settings], Embedder]
    load_generator: Callable[[Settings], Generator | None]
    parser_processes: int | None = None


def default_components() -> Components:
    from wiring.root import load_embedder, load_generator

    return Components(load_embedder=load_embedder, load_generator=load_generator)


def factory_spec(environ: Mapping[str, str] = os.environ) -> str:
    """The `module:function` named by RAG_APP_FACTORY, or "" for the real components."""
    return environ.get(FACTORY_ENV, "").strip()


def load_components(spec: str) -> Components:
    """Components from a `module:function` factory, or the default ones for ""."""
    if not spec:
        return default_components()
    module_name, _, function_name = spec.partition(":")
    hint = f"set {FACTORY_ENV} to `package.module:function`, or unset it"
    try:
        factory = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{FACTORY_ENV}={spec!r} cannot be loaded ({exc})", hint=hint) from exc
    components = factory()
    if not isinstance(components, Components):
        raise ConfigError(f"{FACTORY_ENV}={spec!r} did not return Components", hint=hint)
    return components
