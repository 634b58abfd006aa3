"""Fold stream deltas back into a ChatResponse: the one place that knows how pieces combine.

Rules (the same for chat completions and Responses streams):

- consecutive text deltas make one TextPart; ``TextDelta.extras`` are merged into its extras;
- reasoning pieces go into the current (open) ReasoningPart; a signature closes it, a
  redacted delta is a part of its own; a piece whose ``block`` differs from the open part's
  starts a new part. Parts with no explicit block number get one: the same as a reasoning part
  right before them, else the next free number (so adjacent reasoning items share a block);
- tool-call pieces are keyed by the wire index: the first piece of an index places the call
  (id, name), later pieces add arguments; ``extras`` are merged;
- usage, finish reason and meta (id, model, extras) are response-level: latest wins, extras
  merge.

``add`` is cheap (no joins until :meth:`response`). ``response`` may be called at any time and
returns new part objects each time.
"""

from __future__ import annotations

from typing import Any

from core.types import (
    ChatResponse,
    Delta,
    FinishDelta,
    MetaDelta,
    Part,
    ReasoningDelta,
    ReasoningPart,
    ServerToolDelta,
    ServerToolPart,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallPart,
    Usage,
    UsageDelta,
)

__all__ = ["StreamAccumulator"]


def _merged(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if old is None:
        return dict(new)
    old.update(new)
    return old


class StreamAccumulator:
    __slots__ = (
        "_parts",
        "_bufs",
        "_open_text",
        "_open_reasoning",
        "_tools",
        "_next_block",
        "usage",
        "finish_reason",
        "id",
        "model",
        "extras",
    )

    def __init__(self) -> None:
        self._parts: list[Part] = []
        # text pieces of TextParts / ReasoningParts / ToolCallParts, keyed by id(part)
        self._bufs: dict[int, list[str]] = {}
        self._open_text: TextPart | None = None
        self._open_reasoning: ReasoningPart | None = None
        self._tools: dict[int, ToolCallPart] = {}
        self._next_block = 0
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.extras: dict[str, Any] = {}

    # -- folding ------------------------------------------------------------------------------
    def add(self, delta: Delta) -> None:
        t = type(delta)
        if t is TextDelta:
            self._add_text(delta)  # type: ignore[arg-type]
        elif t is ReasoningDelta:
            self._add_reasoning(delta)  # type: ignore[arg-type]
        elif t is ToolCallDelta:
            self._add_tool(delta)  # type: ignore[arg-type]
        elif t is UsageDelta:
            self.usage = delta.usage  # type: ignore[union-attr]
        elif t is FinishDelta:
            self.finish_reason = delta.reason  # type: ignore[union-attr]
        elif t is MetaDelta:
            assert isinstance(delta, MetaDelta)
            if delta.id is not None:
                self.id = delta.id
            if delta.model is not None:
                self.model = delta.model
            if delta.extras:
                self.extras.update(delta.extras)
        elif t is ServerToolDelta:
            assert isinstance(delta, ServerToolDelta)
            self._open_text = None
            self._open_reasoning = None
            self._parts.append(ServerToolPart(item=delta.item))
        else:
            raise TypeError(f"not a stream delta: {delta!r}")

    def _add_text(self, delta: TextDelta) -> None:
        part = self._open_text
        if part is None:
            if not delta.text and not delta.extras:
                return
            part = TextPart("")
            self._open_text = part
            self._open_reasoning = None
            self._parts.append(part)
            self._bufs[id(part)] = [delta.text]
        else:
            self._bufs[id(part)].append(delta.text)
        if delta.extras:
            part.extras = _merged(part.extras, delta.extras)

    def _auto_block(self) -> int:
        parts = self._parts
        if parts:
            last = parts[-1]
            if type(last) is ReasoningPart and last.block is not None:
                return last.block
        block = self._next_block
        self._next_block = block + 1
        return block

    def _new_reasoning(self, block: int | None) -> ReasoningPart:
        if block is None:
            block = self._auto_block()
        elif block >= self._next_block:
            self._next_block = block + 1
        part = ReasoningPart(block=block)
        self._open_text = None
        self._parts.append(part)
        return part

    def _add_reasoning(self, delta: ReasoningDelta) -> None:
        part = self._open_reasoning
        if part is not None and delta.block is not None and delta.block != part.block:
            part = None
        if delta.redacted is not None:
            part = self._new_reasoning(delta.block)
            part.redacted = delta.redacted
            if delta.text:
                self._bufs[id(part)] = [delta.text]
            part.signature = delta.signature
            self._open_reasoning = None
        else:
            if delta.text:
                if part is None:
                    part = self._new_reasoning(delta.block)
                    self._open_reasoning = part
                    self._bufs[id(part)] = [delta.text]
                else:
                    self._bufs[id(part)].append(delta.text)
            if delta.signature is not None:
                if part is None:
                    part = self._new_reasoning(delta.block)
                part.signature = delta.signature
                self._open_reasoning = None  # a signature closes the item
            elif part is None:
                if not delta.extras:
                    return
                part = self._new_reasoning(delta.block)
                self._open_reasoning = part
        if delta.extras:
            part.extras = _merged(part.extras, delta.extras)

    def _add_tool(self, delta: ToolCallDelta) -> None:
        part = self._tools.get(delta.index)
        if part is None:
            part = ToolCallPart(
                id=delta.id or "", name=delta.name or "", arguments="", kind=delta.kind
            )
            self._tools[delta.index] = part
            self._open_text = None
            self._open_reasoning = None
            self._parts.append(part)
            self._bufs[id(part)] = [delta.arguments]
        else:
            if delta.id and not part.id:
                part.id = delta.id
            if delta.name and not part.name:
                part.name = delta.name
            if delta.arguments:
                self._bufs[id(part)].append(delta.arguments)
        if delta.extras:
            part.extras = _merged(part.extras, delta.extras)

    # -- result -------------------------------------------------------------------------------
    def response(self) -> ChatResponse:
        bufs = self._bufs
        index_of = {id(p): i for i, p in self._tools.items()}
        parts: list[Part] = []
        for p in self._parts:
            buf = bufs.get(id(p))
            if buf is not None and len(buf) > 1:
                buf[:] = ["".join(buf)]  # compact: repeated response() calls stay cheap
            if type(p) is TextPart:
                parts.append(
                    TextPart(
                        "".join(buf) if buf else p.text, dict(p.extras) if p.extras else p.extras
                    )
                )
            elif type(p) is ReasoningPart:
                parts.append(
                    ReasoningPart(
                        text="".join(buf) if buf else p.text,
                        signature=p.signature,
                        redacted=p.redacted,
                        block=p.block,
                        extras=dict(p.extras) if p.extras else p.extras,
                    )
                )
            elif type(p) is ToolCallPart:
                parts.append(
                    ToolCallPart(
                        id=p.id or f"call_{index_of[id(p)]}",
                        name=p.name,
                        arguments="".join(buf) if buf else p.arguments,
                        kind=p.kind,
                        extras=dict(p.extras) if p.extras else p.extras,
                    )
                )
            else:
                parts.append(p)
        return ChatResponse(
            parts=parts,
            usage=self.usage,
            finish_reason=self.finish_reason,
            model=self.model,
            id=self.id,
            extras=dict(self.extras),
        )
