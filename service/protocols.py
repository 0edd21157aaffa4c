"""What the app and the API see of the service's parts: one Protocol per role.

`LiveRetriever`: the retriever over whatever index generation is live, which the page also
asks for a cited page's whole text.
"""

from __future__ import annotations

from typing import Protocol

from llm.protocols import Retriever


class LiveRetriever(Retriever, Protocol):
    """What the app needs of a retriever beyond `search` (`retrieval.search.Retriever`)."""

    @property
    def generation(self) -> int:
        """The index generation it searches."""
        ...

    def page_text(self, source: str, page: int) -> str | None:
        """A page's whole text as indexed in that generation."""
        ...
