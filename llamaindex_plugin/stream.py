"""Neutral stream deltas -> cumulative LlamaIndex responses: a map from part events to chunks.

Where a part starts and ends is decided by core's part layer
(:class:`core.accumulator.StreamAccumulator` stamps each delta with ``delta.part`` and says
whether it started the part); this module only builds LlamaIndex's cumulative
``ChatResponse``/``CompletionResponse`` with the new piece in ``delta`` (text) or
``additional_kwargs["thinking_delta"]`` (reasoning).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)

from core.accumulator import StreamAccumulator
from core.types import Delta, ReasoningDelta, ServerToolDelta, TextDelta, ToolCallDelta
from llamaindex_plugin.convert import chat_response, completion_response, parts_to_message

__all__ = ["StreamFolder", "afold", "fold"]


class StreamFolder:
    """Folds neutral deltas with core's accumulator; builds cumulative LlamaIndex responses.

    A text or reasoning piece that only grows the open part (it started no part, so that part is
    the last one and its block the last block) takes a fast path: the previous chunk's blocks
    plus a longer last ``TextBlock``/``ThinkingBlock``, instead of re-reading the whole
    accumulated response (which made long reasoning streams quadratic). Any other piece
    rebuilds the message from ``StreamAccumulator.response()``. Earlier chunks are never
    mutated.
    """

    __slots__ = ("acc", "completion", "_blocks", "_kwargs", "_text")

    def __init__(self, completion: bool = False) -> None:
        self.acc = StreamAccumulator()
        self.completion = completion
        self._blocks: list[Any] = []
        self._kwargs: dict[str, Any] = {}
        self._text = ""

    def feed(self, delta: Delta) -> Any:
        started = self.acc.add(delta)
        t = type(delta)
        if t is TextDelta:
            text = delta.text  # type: ignore[union-attr]
            if self.completion:
                self._text += text
                return CompletionResponse(text=self._text, delta=text)
            if not started and delta.part is not None and delta.extras is None:  # type: ignore[union-attr]
                return self._grow(TextBlock(text=self._blocks[-1].text + text), text, None)
            return self._rebuild(text, None)
        if t is ReasoningDelta:
            thinking = delta.text  # type: ignore[union-attr]
            if self.completion:
                return (
                    CompletionResponse(
                        text=self._text, delta="", additional_kwargs={"thinking_delta": thinking}
                    )
                    if thinking
                    else None
                )
            if (  # (a redacted piece always starts a part of its own)
                thinking
                and not started
                and delta.part is not None  # type: ignore[union-attr]
                and delta.signature is None  # type: ignore[union-attr]
                and delta.extras is None  # type: ignore[union-attr]
            ):
                last = self._blocks[-1]
                block = ThinkingBlock(
                    content=(last.content or "") + thinking,
                    additional_information=dict(last.additional_information),
                )
                return self._grow(block, "", thinking)
            return self._rebuild("", thinking or None)
        if t is ToolCallDelta or t is ServerToolDelta:
            if self.completion:
                return None
            return self._rebuild("", None)
        return None  # usage / finish / meta: carried by the final chunk

    def _grow(self, block: Any, text: str, thinking: str | None) -> ChatResponse:
        """The previous chunk's blocks with a longer last one: the open part grew by a piece
        that changed nothing but its text (that part is the last one: a new part closes it)."""
        self._blocks = [*self._blocks[:-1], block]
        message = ChatMessage(
            role=MessageRole.ASSISTANT, blocks=self._blocks, additional_kwargs=dict(self._kwargs)
        )
        extra = {"thinking_delta": thinking} if thinking else {}
        return ChatResponse(message=message, delta=text, additional_kwargs=extra)

    def _rebuild(self, text: str, thinking: str | None) -> ChatResponse:
        message = parts_to_message(self.acc.response().parts)
        self._blocks = list(message.blocks)
        self._kwargs = message.additional_kwargs
        extra = {"thinking_delta": thinking} if thinking else {}
        return ChatResponse(message=message, delta=text, additional_kwargs=extra)

    def final(self) -> Any:
        response = self.acc.response()
        if self.completion:
            return completion_response(response, delta="")
        return chat_response(response, delta="")


def fold(deltas: Iterator[Delta], completion: bool = False) -> Iterator[Any]:
    """The sync driver: each delta's response as it comes, then the final one."""
    folder = StreamFolder(completion)
    for delta in deltas:
        chunk = folder.feed(delta)
        if chunk is not None:
            yield chunk
    yield folder.final()


async def afold(deltas: AsyncIterator[Delta], completion: bool = False) -> AsyncIterator[Any]:
    """The async driver: the same as :func:`fold`, awaiting the deltas."""
    folder = StreamFolder(completion)
    async for delta in deltas:
        chunk = folder.feed(delta)
        if chunk is not None:
            yield chunk
    yield folder.final()
