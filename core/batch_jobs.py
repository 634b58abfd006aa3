"""What the batch runner (:mod:`core.batch`) does with a row: a chat call, or embeddings.

A chat row is a prompt (a string) or a conversation: a list of ``{"role", "content"}``
messages (OpenAI style; ``content`` a string or a list of ``{"type": "text", "text"}``
parts). Its record: ``answer``, ``reasoning``, ``tool_calls``, ``usage``, ``finish_reason``,
``model`` (or ``error``). An embeddings row is a text; its record: ``embedding`` and ``usage``.
Both check every row before anything is sent (a typed error naming what is wrong).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.batch import Record, error_record
from core.errors import BadRequestError, DatabricksError, InvalidRequestError
from core.limiter import AdaptiveLimiter, limiter_of
from core.types import ChatResponse, GenerationParams, Message, Part, ReasoningPart, TextPart

if TYPE_CHECKING:  # pragma: no cover
    from core.client import DatabricksChatClient
    from core.embeddings import DatabricksEmbeddingsClient

ROLES = ("system", "user", "assistant", "developer")


def messages_from(item: Any, system: str | None = None) -> list[Message]:
    """A row's prompt or conversation as neutral messages (``system`` first, when given and
    the conversation has no system message of its own)."""
    if isinstance(item, str):
        if not item.strip():
            raise InvalidRequestError("the prompt is empty")
        messages = [Message("user", [TextPart(item)])]
    elif isinstance(item, list) and item:
        messages = [_message(m, n) for n, m in enumerate(item)]
    else:
        raise InvalidRequestError(
            f"expected a prompt (a string) or a list of messages, got {type(item).__name__}"
            + (" (empty)" if isinstance(item, list) else ""),
            hint='a message is {"role": "user", "content": "..."}',
        )
    if system and messages[0].role != "system":
        messages.insert(0, Message("system", [TextPart(system)]))
    return messages


def _message(raw: Any, n: int) -> Message:
    if not isinstance(raw, dict) or raw.get("role") not in ROLES:
        raise InvalidRequestError(
            f"message {n} is not a {{'role': one of {', '.join(ROLES)}, 'content': ...}} object"
        )
    unknown = set(raw) - {"role", "content", "name"}
    if unknown:
        raise InvalidRequestError(
            f"message {n} has fields the batch input does not take: {', '.join(sorted(unknown))}",
            hint="batch rows carry text conversations (role, content, name)",
        )
    content = raw.get("content")
    parts: list[Part]
    if isinstance(content, str):
        parts = [TextPart(content)]
    elif isinstance(content, list):
        parts = []
        for block in content:
            if not (isinstance(block, dict) and block.get("type") == "text" and "text" in block):
                raise InvalidRequestError(
                    f"message {n}: only text content blocks ({{'type': 'text', 'text': ...}}) "
                    f"are taken in batch input, got {block!r:.80}"
                )
            parts.append(TextPart(str(block["text"])))
    else:
        raise InvalidRequestError(f"message {n} has no text content")
    return Message(raw["role"], parts, name=raw.get("name"))


def chat_record(response: ChatResponse) -> Record:
    usage = response.usage
    reasoning = "".join(p.text for p in response.parts if isinstance(p, ReasoningPart))
    return {
        "status": "ok",
        "answer": response.text,
        "reasoning": reasoning or None,
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls
        ]
        or None,
        "usage": None
        if usage is None
        else {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
        },
        "finish_reason": response.finish_reason,
        "model": response.model,
    }


class ChatJob:
    """One chat call per row through ``client`` (retries: the transport's)."""

    chunk = 1

    def __init__(
        self,
        client: DatabricksChatClient,
        params: GenerationParams | None = None,
        *,
        system: str | None = None,
    ) -> None:
        self.client = client
        self.params = params or GenerationParams()
        self.system = system

    @property
    def limiter(self) -> AdaptiveLimiter | None:
        return limiter_of(self.client.http.gate)

    def check(self, item: Any) -> None:
        messages_from(item, self.system)

    async def arun(self, items: Sequence[Any]) -> list[Record]:
        records = []
        for item in items:
            started = time.monotonic()
            try:
                response = await self.client.acomplete(
                    messages_from(item, self.system), self.params
                )
            except DatabricksError as exc:
                records.append(_failed(exc, started))
                continue
            record = chat_record(response)
            record["seconds"] = round(time.monotonic() - started, 3)
            records.append(record)
        return records


class EmbeddingJob:
    """Texts to vectors, ``chunk`` rows per request (the client's batch size). A request the
    client refuses for one bad text is retried row by row, so only that row fails."""

    def __init__(
        self, client: DatabricksEmbeddingsClient, params: dict[str, Any] | None = None
    ) -> None:
        self.client = client
        self.params = params
        self.chunk = client.batch_size

    @property
    def limiter(self) -> AdaptiveLimiter | None:
        return limiter_of(self.client.http.gate)

    def check(self, item: Any) -> None:
        if not isinstance(item, str):
            raise InvalidRequestError(f"expected a text to embed, got {type(item).__name__}")

    async def arun(self, items: Sequence[Any]) -> list[Record]:
        started = time.monotonic()
        try:
            result = await self.client.aembed(list(items), params=self.params, concurrency=1)
        except (InvalidRequestError, BadRequestError) as exc:
            if len(items) > 1:  # one bad text: find it, row by row
                return [r for item in items for r in await self.arun([item])]
            return [_failed(exc, started)]
        except DatabricksError as exc:
            return [_failed(exc, started) for _ in items]
        seconds = round(time.monotonic() - started, 3)
        usage = result.usage
        return [
            {
                "status": "ok",
                "embedding": vector,
                # usage is per request: each row gets its share, so totals add up
                "usage": None
                if usage is None
                else {
                    "input_tokens": _share(usage.prompt_tokens, len(items), n),
                    "output_tokens": 0,
                },
                "model": result.model,
                "seconds": seconds,
            }
            for n, vector in enumerate(result.vectors)
        ]


def _failed(exc: DatabricksError, started: float) -> Record:
    return {
        "status": "error",
        "error": error_record(exc),
        "seconds": round(time.monotonic() - started, 3),
    }


def _share(total: int, parts: int, n: int) -> int:
    """``total`` split into ``parts`` integers that add up to it exactly."""
    return total // parts + (1 if n < total % parts else 0)
