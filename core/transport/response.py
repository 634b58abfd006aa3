"""What a finished request hands back, the same whatever backend carried it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import ResponseParseError
from core.jsonio import loads


class Response:
    """A read answer: status, headers (case-insensitive mapping of the backend) and body."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return loads(self.content)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class JsonBody:
    """A stream request answered with a plain JSON body instead of events."""

    __slots__ = ("body",)

    def __init__(self, body: Any) -> None:
        self.body = body


def is_event_stream(headers: Mapping[str, str]) -> bool:
    ctype = headers.get("content-type", "")
    return "text/event-stream" in ctype or not ctype


def json_of(response: Response, url: str) -> Any:
    raw = response.content
    try:
        return loads(raw)
    except ValueError:
        snippet = raw[:200].decode("utf-8", "replace")
        raise ResponseParseError(
            f"expected a JSON body from {url} (HTTP {response.status_code}), got: {snippet!r}",
            status_code=response.status_code,
        ) from None
