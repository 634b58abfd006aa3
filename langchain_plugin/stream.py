"""Neutral stream deltas -> LangChain ``AIMessageChunk``s: a map from part events to chunks.

Where a part starts and ends is decided by core's part layer
(:class:`core.accumulator.StreamAccumulator`: it stamps each delta with ``delta.part`` and says
whether the delta started the part); this module only chooses LangChain's shape for each piece.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from core.accumulator import StreamAccumulator
from core.types import (
    Delta,
    MetaDelta,
    ReasoningDelta,
    ReasoningPart,
    ServerToolDelta,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallPart,
    Usage,
)
from langchain_plugin.convert import (
    CUSTOM_ARG,
    RAW_TOOL_CALLS_KEY,
    TEXT_EXTRAS_KEY,
    TOOL_CALL_EXTRAS_KEY,
    raw_tool_call,
    response_metadata,
    server_tool_block,
    split_raw_calls,
    text_block,
    usage_fields,
)

__all__ = ["StreamConverter", "ageneration_chunks", "generation_chunks"]


class StreamConverter:
    """Turn neutral deltas into AIMessageChunks whose sum converts back to exactly the parts
    the accumulator folds from the same deltas.

    The first text part streams as plain string content (what most callers print) as long as
    nothing list-shaped came before it; every other part (reasoning, text carrying wire fields,
    later text parts, server tool items) is a list block whose ``index`` is its part index, so
    LangChain's chunk merging folds the pieces of one part into one block. Tool-call chunks take
    their index from the same space: LangChain keys content blocks and tool-call chunks in one
    index space (v1 output, the stream_events v3 bridge), so the wire's own index would collide
    with a reasoning block's. The string text part takes no index, so the parts after it are
    numbered one lower. ``shared_index`` (output_version="v1") streams text as indexed blocks
    from the start. Usage, finish reason, model name, raw tool calls and late wire fields of the
    string text are sent once, on the last chunk.
    """

    __slots__ = ("_acc", "_model", "_list_mode", "_string_part", "_item_sent", "_custom")

    def __init__(self, model: str | None = None, *, shared_index: bool = False) -> None:
        self._acc = StreamAccumulator()
        self._model = model
        self._list_mode = shared_index
        self._string_part = -1  # part index of the text part streamed as a plain string
        self._item_sent: dict[str, Any] = {}  # extras keys already sent for the latest part
        self._custom: Any = None  # custom_outputs of the wire chunk the next chunk comes from

    @property
    def finish_reason(self) -> str | None:
        return self._acc.finish_reason

    @property
    def usage(self) -> Usage | None:
        return self._acc.usage

    @property
    def id(self) -> str | None:
        return self._acc.id

    def _index(self, part: int) -> int:
        string = self._string_part
        return part - 1 if 0 <= string < part else part

    def _new_extras(self, extras: dict[str, Any] | None) -> dict[str, Any] | None:
        # LangChain concatenates repeated string values when merging: send each key once.
        if not extras:
            return None
        new = {k: v for k, v in extras.items() if k not in self._item_sent}
        if new:
            self._item_sent.update(new)
        return new or None

    def feed(self, delta: Delta) -> AIMessageChunk | None:
        chunk = self._feed(delta)
        if self._custom is not None and chunk is not None:
            # An agent's custom_outputs of this wire chunk, on the chunk it produced (as
            # databricks-langchain sets chunk.custom_outputs); the last chunk has them all.
            chunk.custom_outputs = self._custom  # type: ignore[attr-defined]
            self._custom = None
        return chunk

    def _feed(self, delta: Delta) -> AIMessageChunk | None:
        started = self._acc.add(delta)
        t = type(delta)
        if t is TextDelta:
            text = cast(TextDelta, delta)
            if text.part == self._string_part and text.extras is None and text.text:
                # the hot path: more of the text part streaming as a plain string
                return AIMessageChunk(content=text.text, id=self._acc.id)
            if started:
                self._item_sent = {}
            return self._text(text, started)
        if started:
            self._item_sent = {}
        if t is ReasoningDelta:
            return self._reasoning(cast(ReasoningDelta, delta), started)
        if t is ToolCallDelta:
            return self._tool(cast(ToolCallDelta, delta), started)
        if t is ServerToolDelta:
            self._list_mode = True
            server = cast(ServerToolDelta, delta)
            block = server_tool_block(server.item)
            block["index"] = self._index(server.part)  # type: ignore[arg-type]
            return AIMessageChunk(content=[block], id=self._acc.id)
        if t is MetaDelta:
            extras = cast(MetaDelta, delta).extras
            if extras and extras.get("custom_outputs") is not None:
                self._custom = extras["custom_outputs"]
        return None  # usage, finish, meta: sent on the last chunk

    def _text(self, delta: TextDelta, started: bool) -> AIMessageChunk | None:
        part = delta.part
        if part is None:
            return None  # an empty piece with no text part open
        if started and self._string_part >= 0:
            # Only the first text part streams as a string; a later one (after a tool call)
            # is its own block, as it is its own part.
            self._list_mode = True
        if not self._list_mode:
            if not delta.extras:
                if not delta.text:
                    return None
                self._string_part = part
                return AIMessageChunk(content=delta.text, id=self._acc.id)
            if self._string_part == part:
                # Wire fields for a part already streamed as a string: sent on the last chunk
                # (additional_kwargs["text_extras"]), where they attach to that string.
                if not delta.text:
                    return None
                return AIMessageChunk(content=delta.text, id=self._acc.id)
        self._list_mode = True
        block = text_block(delta.text, self._new_extras(delta.extras))
        block["index"] = self._index(part)
        return AIMessageChunk(content=[block], id=self._acc.id)

    def _tool(self, delta: ToolCallDelta, started: bool) -> AIMessageChunk:
        part = cast(int, delta.part)  # a tool-call delta always belongs to a part
        args = delta.arguments
        if cast(ToolCallPart, self._acc.part(part)).kind == "custom":
            # Stream free text as the JSON object parse_tool_call gives ({"__arg1": text}):
            # escaping works piece by piece; last_chunk() closes the string and the object.
            args = json.dumps(args, ensure_ascii=False)[1:-1]
            if started:
                args = '{"' + CUSTOM_ARG + '": "' + args
        chunk = tool_call_chunk(name=delta.name, args=args, id=delta.id, index=self._index(part))
        return AIMessageChunk(content="", tool_call_chunks=[chunk], id=self._acc.id)

    def _reasoning(self, delta: ReasoningDelta, started: bool) -> AIMessageChunk | None:
        part = delta.part
        if part is None:
            return None  # an empty piece with no reasoning part open
        self._list_mode = True
        block: dict[str, Any] = {
            "type": "reasoning",
            "reasoning": delta.text,
            "index": self._index(part),
        }
        extras: dict[str, Any] = {}
        if delta.signature is not None:
            extras["signature"] = delta.signature
        if delta.redacted is not None:
            extras["redacted"] = delta.redacted
        if started:  # ints are summed by LangChain's merge: send once
            extras["block"] = cast(ReasoningPart, self._acc.part(part)).block
        item = self._new_extras(delta.extras)
        if item:
            extras["item"] = item
        if extras:
            block["extras"] = extras
        return AIMessageChunk(content=[block], id=self._acc.id)

    def last_chunk(self, *, include_usage: bool = True) -> AIMessageChunk:
        resp = self._acc.response()
        additional: dict[str, Any] = {}
        if self._string_part >= 0:
            text_extras = cast(TextPart, resp.parts[self._string_part]).extras
            if text_extras:
                additional[TEXT_EXTRAS_KEY] = dict(text_extras)
        calls = [(n, p) for n, p in enumerate(resp.parts) if type(p) is ToolCallPart]
        if calls:
            # Not under "tool_calls": LangChain would re-parse that key into tool-call chunks.
            plain_calls, call_extras = split_raw_calls([raw_tool_call(p) for _, p in calls])
            additional[RAW_TOOL_CALLS_KEY] = plain_calls
            if call_extras:
                additional[TOOL_CALL_EXTRAS_KEY] = call_extras
        closing = [
            tool_call_chunk(name=None, args='"}', id=None, index=self._index(n))
            for n, p in calls
            if p.kind == "custom"
        ]
        usage_metadata, more_meta = usage_fields(resp.usage if include_usage else None)
        last = AIMessageChunk(
            content="",
            tool_call_chunks=closing,
            additional_kwargs=additional,
            response_metadata={**response_metadata(resp, model=self._model), **more_meta},
            usage_metadata=usage_metadata,
            id=resp.id,
            chunk_position="last",
        )
        custom = resp.custom_outputs
        if custom is not None:
            last.custom_outputs = custom  # type: ignore[attr-defined]  # as databricks-langchain
        return last


def _last(conv: StreamConverter, include_usage: bool) -> ChatGenerationChunk:
    return ChatGenerationChunk(
        message=conv.last_chunk(include_usage=include_usage),
        generation_info={"finish_reason": conv.finish_reason},
    )


def generation_chunks(
    conv: StreamConverter, deltas: Iterator[Delta], include_usage: bool
) -> Iterator[ChatGenerationChunk]:
    """The sync driver: a chunk per delta that makes one, then the last chunk."""
    for delta in deltas:
        chunk = conv.feed(delta)
        if chunk is not None:
            yield ChatGenerationChunk(message=chunk)
    yield _last(conv, include_usage)


async def ageneration_chunks(
    conv: StreamConverter, deltas: AsyncIterator[Delta], include_usage: bool
) -> AsyncIterator[ChatGenerationChunk]:
    """The async driver: the same as :func:`generation_chunks`, awaiting the deltas."""
    async for delta in deltas:
        chunk = conv.feed(delta)
        if chunk is not None:
            yield ChatGenerationChunk(message=chunk)
    yield _last(conv, include_usage)
