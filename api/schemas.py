"""The request bodies the API reads. Unknown fields are ignored, as OpenAI clients expect.

OpenAI clients send many fields this server has no use for (`top_p`, `n`, `user`,
`tools`, `seed`, ...); they are ignored rather than refused, so any client written for
OpenAI works unchanged. The fields it reads are checked, with bounds.

>>> ChatRequest.model_validate({"model": "x", "messages": [{"role": "user", "content": "Hi"}],
...                             "top_p": 0.3, "logit_bias": {}}).question()
'Hi'
>>> ChatRequest.model_validate({"messages": [{"role": "user", "content": [
...     {"type": "text", "text": "What is"}, {"type": "image_url"}, {"type": "text", "text": "it?"}
... ]}]}).question()
'What is\\nit?'
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.errors import ApiError
from llm.types import Turn

Body = TypeVar("Body", bound=BaseModel)
FIELDS_HINT = "docs/api.md lists the fields each endpoint reads"


def parse(model: type[Body], raw: bytes) -> Body:
    """The JSON body as `model`, whatever its Content-Type says (`curl -d` sends a form type).

    >>> parse(SearchRequest, b'{"query": "warranty", "k": 3}').k
    3
    >>> parse(SearchRequest, b'{"query": "warranty", "k": 0}')
    Traceback (most recent call last):
    ...
    api.errors.ApiError: `k`: Input should be greater than or equal to 1. Next step: ...
    """
    try:
        data = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(
            400,
            f"The request body is not valid JSON ({exc})",
            code="invalid_json",
            hint="send one JSON object, e.g. with curl -H 'Content-Type: application/json' -d",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            400, "The request body must be a JSON object", code="invalid_json", hint=FIELDS_HINT
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        if first["type"] == "missing":
            raise ApiError(
                400, f"`{param}` is missing", code="missing_field", param=param, hint=FIELDS_HINT
            ) from None
        raise ApiError(
            400, f"`{param}`: {first['msg']}", code="invalid_value", param=param, hint=FIELDS_HINT
        ) from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ChatMessage(_Body):
    role: str = Field(min_length=1)
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text; of a list of content parts, the text parts joined."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


class StreamOptions(_Body):
    include_usage: bool = False


class ChatRequest(_Body):
    """POST /v1/chat/completions. `files` and `passages` are this server's own additions."""

    model: str = ""
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1, le=32_768)
    max_completion_tokens: int | None = Field(None, ge=1, le=32_768)
    stream_options: StreamOptions | None = None
    files: list[str] | None = Field(None, description="Search only these documents (names).")
    passages: int | None = Field(None, ge=1, le=50, description="Passages to search for.")

    def question(self) -> str:
        return self.messages[-1].text().strip()

    def history(self) -> list[Turn]:
        """The earlier exchanges: each user message with the assistant reply that followed it.

        System and tool messages are left out: the server's own prompt keeps the answer to
        the documents, whatever a client's system prompt says.
        """
        turns: list[Turn] = []
        asked: str | None = None
        for message in self.messages[:-1]:
            if message.role == "user":
                asked = message.text().strip()
            elif message.role == "assistant" and asked:
                turns.append(Turn(asked, message.text().strip()))
                asked = None
        return turns

    @property
    def answer_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class SearchRequest(_Body):
    """POST /v1/search: the retrieval CLI's search."""

    query: str
    k: int | None = Field(None, ge=1, le=50)
    files: list[str] | None = None


class PathsRequest(_Body):
    """POST /v1/documents with JSON: folders or PDFs on the server, inside the ingest roots."""

    path: str | None = None
    paths: list[str] = Field(default_factory=list)

    def all_paths(self) -> list[str]:
        return ([self.path] if self.path else []) + list(self.paths)
