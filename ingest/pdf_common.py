"""What both PDF backends' documents share: closing on leaving a `with` block."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosingDocument:
    """Base of an opened PDF: `with backend.open(path) as doc:` closes it, error or not."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
