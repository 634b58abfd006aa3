"""The part layer: where a streamed part starts and ends, decided once for every consumer.

:meth:`StreamAccumulator.add` folds one delta and stamps it with ``delta.part``: the index, in
the parts of the response being folded, of the part the delta belongs to. It returns ``True``
when the delta started that part. So a consumer (the LangChain and LlamaIndex stream
converters, the CLI) never works out a boundary itself: it maps "part N started" / "part N
grew" to its framework's chunks. (The idea of pydantic-ai's ``ModelResponsePartsManager``:
wire ids/indexes -> part indexes in one place, start and delta events; written anew here,
without event objects, so a delta costs no allocation.)

Boundary rules (the same for chat completions and Responses streams):

- consecutive text deltas make one TextPart; ``TextDelta.extras`` are merged into its extras,
  except that a piece naming another message (``extras["id"]`` differing from the open part's,
  see :func:`same_message`) starts a new part: an agent's answer holds several messages;
- reasoning pieces go into the current (open) ReasoningPart; a signature closes it, a
  redacted delta is a part of its own; a piece whose ``block`` differs from the open part's
  starts a new part. Parts with no explicit block number get one: the same as a reasoning part
  right before them, else the next free number (so adjacent reasoning items share a block);
- tool-call pieces are keyed by the wire index: the first piece of an index places the call
  (id, name), later pieces add arguments; ``extras`` are merged;
- a server-tool item is a part of its own;
- a new part closes the open text and reasoning parts;
- usage, finish reason and meta (id, model, extras) are response-level (``part`` stays
  ``None``): latest wins, extras merge.

``add`` is cheap (no joins until :meth:`response`). ``response`` may be called at any time and
returns new part objects each time; part ``N`` of it is the part of deltas stamped ``N``.
:func:`deltas_from_response` is the inverse (a stream answered with one JSON body).
"""

from __future__ import annotations

from typing import Any, cast

from core.types import (
    ChatResponse,
    Delta,
    FinishDelta,
    MediaPart,
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

__all__ = ["StreamAccumulator", "deltas_from_response", "merge_text", "same_message"]


def same_message(part: Any, extras: dict[str, Any] | None) -> bool:
    """Whether text with these wire ``extras`` continues text ``part``: unless both name their
    message (``id``: a Responses message item, a ChatAgent message) and the names differ. The
    codecs' parsers merge adjacent text by the same rule, so streamed and whole answers agree."""
    new = extras.get("id") if extras else None
    old = part.extras.get("id") if part.extras else None
    return new is None or old is None or new == old


def merge_text(parts: list[Part]) -> list[Part]:
    """Adjacent text parts of one message as one part, extras merged: what :class:`StreamAccumulator`
    folds from their deltas (for parsers of whole answers)."""
    out: list[Part] = []
    for p in parts:
        last = out[-1] if out else None
        if isinstance(p, TextPart) and isinstance(last, TextPart) and same_message(last, p.extras):
            last.text += p.text
            if p.extras:
                last.extras = {**(last.extras or {}), **p.extras}
        else:
            out.append(p)
    return out


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
        # text pieces of each part (None for server-tool parts), parallel to _parts
        self._bufs: list[list[str] | None] = []
        self._open_text = -1  # index of the open TextPart, -1 when none
        self._open_reasoning = -1
        self._tools: dict[int, int] = {}  # wire index -> part index
        self._next_block = 0
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.extras: dict[str, Any] = {}

    # -- folding ------------------------------------------------------------------------------
    def add(self, delta: Delta) -> bool:
        """Fold ``delta`` and set ``delta.part``; ``True`` when it started a new part."""
        t = type(delta)
        if t is TextDelta:
            i = self._open_text
            if i >= 0 and delta.extras is None:  # type: ignore[union-attr]  # hot path: more open text
                self._bufs[i].append(delta.text)  # type: ignore[union-attr]
                delta.part = i  # type: ignore[union-attr]
                return False
            return self._add_text(delta)  # type: ignore[arg-type]
        if t is ReasoningDelta:
            return self._add_reasoning(delta)  # type: ignore[arg-type]
        if t is ToolCallDelta:
            return self._add_tool(delta)  # type: ignore[arg-type]
        if t is UsageDelta:
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
            delta.part = self._start(ServerToolPart(item=delta.item), None)
            return True
        else:
            raise TypeError(f"not a stream delta: {delta!r}")
        return False

    def part(self, index: int) -> Part:
        """The live part ``index`` (its text/arguments are joined only by :meth:`response`):
        for what a consumer needs at a part's start, e.g. a reasoning part's ``block``."""
        return self._parts[index]

    def _start(self, part: Part, buf: list[str] | None) -> int:
        """Append a new part: it closes the open text and reasoning parts."""
        index = len(self._parts)
        self._parts.append(part)
        self._bufs.append(buf)
        self._open_text = -1
        self._open_reasoning = -1
        return index

    def _add_text(self, delta: TextDelta) -> bool:
        i = self._open_text
        if i >= 0 and delta.extras and not same_message(self._parts[i], delta.extras):
            self._open_text = i = -1
        started = i < 0
        if started:
            if not delta.text and not delta.extras:
                return False  # an empty piece with nothing open: no part
            i = self._open_text = self._start(TextPart(""), [delta.text])
        else:
            self._bufs[i].append(delta.text)  # type: ignore[union-attr]
        if delta.extras:
            part = cast(TextPart, self._parts[i])
            part.extras = _merged(part.extras, delta.extras)
        delta.part = i
        return started

    def _auto_block(self) -> int:
        parts = self._parts
        if parts:
            last = parts[-1]
            if type(last) is ReasoningPart and last.block is not None:
                return last.block
        block = self._next_block
        self._next_block = block + 1
        return block

    def _new_reasoning(self, block: int | None, buf: list[str]) -> int:
        if block is None:
            block = self._auto_block()
        elif block >= self._next_block:
            self._next_block = block + 1
        return self._start(ReasoningPart(block=block), buf)

    def _add_reasoning(self, delta: ReasoningDelta) -> bool:
        i = self._open_reasoning
        if i >= 0 and delta.block is not None and delta.block != self._parts[i].block:  # type: ignore[union-attr]
            i = -1
        started = False
        if delta.redacted is not None:  # a part of its own, closed at once
            i = self._new_reasoning(delta.block, [delta.text] if delta.text else [])
            part = self._parts[i]
            part.redacted = delta.redacted  # type: ignore[union-attr]
            part.signature = delta.signature  # type: ignore[union-attr]
            started = True
        else:
            if delta.text:
                if i < 0:
                    i = self._new_reasoning(delta.block, [delta.text])
                    self._open_reasoning = i
                    started = True
                else:
                    self._bufs[i].append(delta.text)  # type: ignore[union-attr]
            if delta.signature is not None:
                if i < 0:
                    i = self._new_reasoning(delta.block, [])
                    started = True
                self._parts[i].signature = delta.signature  # type: ignore[union-attr]
                self._open_reasoning = -1  # a signature closes the item
            elif i < 0:
                if not delta.extras:
                    return False  # an empty piece with nothing open: no part
                i = self._open_reasoning = self._new_reasoning(delta.block, [])
                started = True
        if delta.extras:
            part = self._parts[i]
            part.extras = _merged(part.extras, delta.extras)  # type: ignore[union-attr]
        delta.part = i
        return started

    def _add_tool(self, delta: ToolCallDelta) -> bool:
        i = self._tools.get(delta.index)
        if i is None:
            part = ToolCallPart(
                id=delta.id or "", name=delta.name or "", arguments="", kind=delta.kind
            )
            i = self._tools[delta.index] = self._start(part, [delta.arguments])
            started = True
        else:
            part = self._parts[i]  # type: ignore[assignment]
            if delta.id and not part.id:
                part.id = delta.id
            if delta.name and not part.name:
                part.name = delta.name
            if delta.arguments:
                self._bufs[i].append(delta.arguments)  # type: ignore[union-attr]
            started = False
        if delta.extras:
            part.extras = _merged(part.extras, delta.extras)
        delta.part = i
        return started

    # -- result -------------------------------------------------------------------------------
    def response(self) -> ChatResponse:
        wire_index = {i: w for w, i in self._tools.items()}
        parts: list[Part] = []
        for i, p in enumerate(self._parts):
            buf = self._bufs[i]
            text = ""
            if buf:
                if len(buf) > 1:
                    buf[:] = ["".join(buf)]  # compact: repeated response() calls stay cheap
                text = buf[0]
            if type(p) is TextPart:
                parts.append(TextPart(text, dict(p.extras) if p.extras else p.extras))
            elif type(p) is ReasoningPart:
                parts.append(
                    ReasoningPart(
                        text=text,
                        signature=p.signature,
                        redacted=p.redacted,
                        block=p.block,
                        extras=dict(p.extras) if p.extras else p.extras,
                    )
                )
            elif type(p) is ToolCallPart:
                parts.append(
                    ToolCallPart(
                        id=p.id or f"call_{wire_index[i]}",
                        name=p.name,
                        arguments=text,
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


def deltas_from_response(response: ChatResponse) -> list[Delta]:
    """The deltas that fold back into ``response`` (used when a stream got a JSON body)."""
    out: list[Delta] = []
    if response.id or response.model or response.extras:
        out.append(MetaDelta(id=response.id, model=response.model, extras=response.extras or None))
    tool_index = 0
    for part in response.parts:
        if isinstance(part, TextPart):
            out.append(TextDelta(text=part.text, extras=part.extras))
        elif isinstance(part, ReasoningPart):
            if part.redacted is not None:  # a redacted part is a part of its own: one delta
                out.append(
                    ReasoningDelta(
                        text=part.text,
                        signature=part.signature,
                        redacted=part.redacted,
                        block=part.block,
                        extras=part.extras,
                    )
                )
                continue
            out.append(ReasoningDelta(text=part.text, block=part.block, extras=part.extras))
            if part.signature is not None:
                out.append(
                    ReasoningDelta(
                        signature=part.signature, redacted=part.redacted, block=part.block
                    )
                )
        elif isinstance(part, ToolCallPart):
            out.append(
                ToolCallDelta(
                    index=tool_index,
                    id=part.id,
                    name=part.name,
                    arguments=part.arguments,
                    kind=part.kind,
                    extras=part.extras,
                )
            )
            tool_index += 1
        elif isinstance(part, ServerToolPart):
            out.append(ServerToolDelta(item=part.item))
        elif isinstance(part, MediaPart):  # pragma: no cover - models do not answer with media
            continue
    if response.usage is not None:
        out.append(UsageDelta(usage=response.usage))
    if response.finish_reason is not None:
        out.append(FinishDelta(reason=response.finish_reason))
    return out
