"""Errors that carry a next step for the user.

Exceptions are raised deep in the pipeline and turned into messages only at
the boundary (CLI, UI). Each one knows what the user should do next:

>>> err = IndexMismatchError("index was built with chunk_tokens=128", hint="rebuild it")
>>> str(err)
'index was built with chunk_tokens=128. Next step: rebuild it'
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error the user may see; `hint` says what to do next."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}. Next step: {self.hint}" if self.hint else self.message


class ConfigError(RagError):
    """A setting points at something missing or unusable."""


class PdfError(RagError):
    """A PDF cannot be read. `reason` is the short, stable text shown in reports."""

    def __init__(self, reason: str, *, hint: str = "") -> None:
        super().__init__(reason, hint=hint)
        self.reason = reason


class IndexError_(RagError):
    """Base for problems with the index directory (named so to not shadow IndexError)."""


class IndexMismatchError(IndexError_):
    """The index was built with another embedding model or chunking."""


class IndexCorruptError(IndexError_):
    """A file of the index is missing, truncated or fails its checksum."""


class IndexLockedError(IndexError_):
    """Another ingest holds the index's write lock."""


class IndexNotFoundError(IndexError_):
    """There is no index yet at the configured directory."""


class ModelError(RagError):
    """The local language model is missing, unreadable or cannot serve a request."""


class ContextTooSmallError(ModelError):
    """The context window cannot hold even the system prompt, the question and a short answer."""


class IndexWriteError(IndexError_):
    """The index directory cannot be written: its disk is full, or it is read-only."""


class EmbeddingError(RagError):
    """The embedding model returned vectors that cannot be right (NaN, infinite, not unit)."""


class QuestionTooLongError(RagError):
    """A question longer than the configured limit (`RAG_MAX_QUESTION_CHARS`)."""
