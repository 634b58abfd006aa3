"""Responses API stream decoding: ``/responses`` SSE events -> neutral deltas. No I/O.

One decoder for OpenAI models and for agents (MLflow ``ResponsesAgent`` on Model Serving or
Databricks Apps), whose streams differ in ways a parser must live with:

* **Cycles.** An agent that runs a tool itself and then answers sends several
  ``response.created`` ... ``response.completed`` cycles in one stream, with the tool's
  ``function_call_output`` item between them, sometimes as a bare event whose ``type`` is the
  item's own (published fixture of a live agent: databricks-ai-bridge,
  ``integrations/ai-sdk-provider/tests/__fixtures__/llm-output-fixtures.ts``). Each cycle numbers
  its ``output_index`` from 0 again, so indexes are offset per cycle. Usage is the sum of the
  cycles (each one reports its own model call); the finish reason is decided at the end.
* **Tool calls are held until it is known who runs them.** A call whose output shows up later in
  the stream (or that is followed by another cycle) ran inside the agent: it becomes a
  :class:`ServerToolDelta` pair (call, output), never a call for the caller. A call still
  unanswered when the stream ends is the caller's: a :class:`ToolCallDelta` with its whole
  arguments, emitted by :meth:`StreamDecoder.close`. ``core.codecs.responses.parse_response``
  applies the same rule to a whole output list, so a stream folds to what the JSON body parses to.
* **No terminal event.** MLflow agents may stream only ``response.output_item.done`` (and text
  deltas keyed by ``item_id``) with no ``response.completed``. :attr:`StreamDecoder.complete`
  says whether a clean end of the stream here is a whole answer: every item the server opened
  (``output_item.added`` or deltas) was closed (``output_item.done`` or ``response.completed``).
* Older agents answering with ChatAgent chunks (``{"delta": {...}}``) are decoded by the ChatAgent
  codec. An event of a shape we do not know raises :class:`MalformedEventError` naming it; only
  ``response.*`` progress events whose content arrives whole later are skipped.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.codecs.policy import add_usage, event_object
from core.codecs.policy import finish_from_status as response_finish
from core.codecs.policy import usage_or_none as parse_usage
from core.codecs.responses import (  # the item rules, shared with parse_response
    _CALL_OUTPUT_TYPES as CALL_OUTPUT_TYPES,
)
from core.codecs.responses import (
    _CALL_TYPES as CALL_TYPES,
)
from core.codecs.responses import (
    SUMMARY_SEPARATOR,
)
from core.codecs.responses import (
    _bad as bad_shape,
)
from core.codecs.responses import (
    _call_part as call_part,
)
from core.codecs.responses import (
    _extras as response_extras,
)
from core.codecs.responses import (
    _int as opt_int,
)
from core.codecs.responses import (
    _message_parts as message_parts,
)
from core.codecs.responses import (
    _raise_failed as raise_failed,
)
from core.codecs.responses import (
    _reasoning_parts as reasoning_parts,
)
from core.codecs.responses import (
    _ShapeError as ShapeError,
)
from core.codecs.responses import (
    _str as opt_str,
)
from core.errors import MalformedEventError
from core.types import (
    Delta,
    FinishDelta,
    MetaDelta,
    ReasoningDelta,
    ServerToolDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageDelta,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.codecs.chat_agent import StreamDecoder as ChatAgentDecoder

__all__ = ["StreamDecoder"]

_CYCLE_STRIDE = 1 << 20  # index offset between cycles (output_index restarts at 0 in each)
_SYNTHETIC_BASE = 1 << 40  # indexes for events that carry neither output_index nor item id


def _rest(full: str, streamed: str) -> str:
    """What ``full`` adds to the ``streamed`` prefix ("" when they disagree: deltas win)."""
    return full[len(streamed) :] if full.startswith(streamed) else ""


class _ItemState:
    __slots__ = ("args", "id_sent", "item", "kind", "seps", "started", "text", "text_streamed")

    def __init__(self) -> None:
        self.id_sent = False  # a text delta carried the message item's id
        self.started = False  # a ToolCallDelta with id/name was emitted (non-agent mode)
        self.text_streamed = False  # text/reasoning deltas arrived for this item
        self.text = ""  # text/reasoning streamed so far (separators included)
        self.args = ""  # call arguments/input streamed so far
        self.seps = 0  # summary separators emitted (= index of the open summary entry)
        self.kind = "function"
        self.item: dict[str, Any] | None = None  # a call item as last seen (added or done)


class StreamDecoder:
    """Responses streaming events (one SSE ``data`` field per :meth:`feed`) -> neutral deltas.

    Items are keyed by ``output_index`` (by item id when a server, e.g. an MLflow agent, omits
    it), offset per cycle. :attr:`done` is true after ``[DONE]`` (stop reading);
    :attr:`complete` is true when a clean end of the stream here leaves nothing half-sent.
    """

    __slots__ = (
        "_agent",
        "_calls",
        "_chat_agent",
        "_cycle_items",
        "_cycles",
        "_done",
        "_events",
        "_finished",
        "_held",
        "_id_index",
        "_incomplete",
        "_items",
        "_next_index",
        "_offset",
        "_open",
        "_status",
        "_usage",
    )

    def __init__(self, *, agent: bool = False) -> None:
        # agent=True: the server may run function tools itself (ResponsesAgent on Model Serving
        # or Apps): calls are held until it is known who runs them. Otherwise (OpenAI models)
        # only the caller runs function tools: calls stream as they come.
        self._agent = agent
        self._calls = False  # a call was handed to the caller (non-agent mode)
        self._done = False
        self._finished = False
        self._events = 0
        self._usage: Usage | None = None
        self._status: Any = None
        self._incomplete: Any = None
        self._items: dict[int, _ItemState] = {}
        self._id_index: dict[str, int] = {}
        self._next_index = _SYNTHETIC_BASE
        self._offset = 0
        self._cycles = 0  # response.created events seen
        self._cycle_items = False  # an item event arrived in the current cycle
        self._open: set[int] = set()  # items opened and not closed yet
        self._held: dict[int, None] = {}  # call items waiting to learn who runs them (ordered)
        self._chat_agent: ChatAgentDecoder | None = None

    @property
    def done(self) -> bool:
        """``[DONE]`` arrived: nothing more will come."""
        return self._done

    @property
    def complete(self) -> bool:
        """A clean end of the stream here is a whole answer (see the module docstring)."""
        if self._done:
            return True
        if self._chat_agent is not None:
            return self._chat_agent.complete
        return self._events > 0 and not self._open

    # -- helpers -----------------------------------------------------------------------------
    def _index(self, event: dict[str, Any], item: dict[str, Any] | None = None) -> int:
        oi = opt_int(event.get("output_index"))
        if oi is not None:
            oi += self._offset
        item_id = opt_str(event.get("item_id")) or (opt_str(item.get("id")) if item else None)
        if item_id is not None:
            known = self._id_index.get(item_id)
            if known is not None:  # one item keeps one index, even if a later event adds one
                return known
            if oi is None:
                oi = self._next_index
                self._next_index += 1
            self._id_index[item_id] = oi
            return oi
        if oi is not None:
            return oi
        self._next_index += 1
        return self._next_index - 1

    def _state(self, index: int) -> _ItemState:
        st = self._items.get(index)
        if st is None:
            st = self._items[index] = _ItemState()
        return st

    def _call_item(self, index: int) -> dict[str, Any]:
        """The call item as known now: the done item, else the added one with the streamed
        arguments."""
        st = self._items[index]
        item = dict(st.item or {"type": "custom_tool_call" if st.kind == "custom" else "function_call"})
        key = "input" if item.get("type") == "custom_tool_call" else "arguments"
        if not item.get(key) and st.args:
            item[key] = st.args
        if item.get("status") == "in_progress":
            item.pop("status")  # the added item's status: the call itself was completed
        return item

    def _agent_ran_held(self) -> list[Delta]:
        """Held calls the agent went on from (a new cycle began): they ran inside the agent."""
        out: list[Delta] = [ServerToolDelta(self._call_item(i)) for i in self._held]
        self._held.clear()
        return out

    # -- feed --------------------------------------------------------------------------------
    def feed(self, data: str) -> list[Delta]:
        if data[:1] != "{" and data.strip() == "[DONE]":  # (no copy of every event's data)
            self._done = True
            return []
        event = event_object(data, "Responses stream")
        self._events += 1
        try:
            out = self._event(event)
        except ShapeError as exc:
            raise MalformedEventError(f"Unexpected Responses stream event: {exc}") from None
        custom = event.get("custom_outputs")
        if custom is not None and self._chat_agent is None:
            # MLflow ResponsesAgentStreamEvent carries custom_outputs on any event; they go
            # before the event's content (see core.codecs.chat_agent.StreamDecoder)
            out.insert(0, MetaDelta(extras={"custom_outputs": custom}))
        return out

    def _event(self, ev: dict[str, Any]) -> list[Delta]:
        etype = ev.get("type")
        if not isinstance(etype, str):
            if ev.get("error"):  # MLflow AgentServer: data: {"error": "..."} then [DONE]
                raise_failed(ev["error"], stream=True)
            if isinstance(ev.get("delta"), dict) and "choices" not in ev:
                return self._chat_agent_chunk(ev)
            raise bad_shape(f"event without a type (keys: {', '.join(sorted(map(str, ev))[:10])})")
        if etype == "response.output_text.delta" or etype == "response.refusal.delta":
            delta = ev.get("delta")
            if type(delta) is not str:
                raise bad_shape(f"{etype} without a string delta")
            # the hot path: more text of an item already seen (by its id)
            item_id = ev.get("item_id")
            index = self._id_index.get(item_id) if type(item_id) is str else None
            if index is None:
                index = self._opened(ev)
            else:
                self._open.add(index)
            st = self._items.get(index) or self._state(index)
            st.text_streamed = True
            st.text += delta
            extras: dict[str, Any] | None = (
                {"refusal": True} if etype == "response.refusal.delta" else None
            )
            if item_id and not st.id_sent:  # the message item's id, once, on its first piece
                st.id_sent = True
                extras = {"id": item_id, **(extras or {})}
            return [TextDelta(delta, extras)] if delta or extras else []
        if etype in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return self._reasoning_delta(ev, etype)
        if etype == "response.reasoning_summary_part.added":
            return self._open_summary(ev, self._opened(ev))
        if etype in (
            "response.function_call_arguments.delta",
            "response.custom_tool_call_input.delta",
        ):
            delta = ev.get("delta")
            if not isinstance(delta, str):
                raise bad_shape(f"{etype} without a string delta")
            index = self._opened(ev)
            st = self._state(index)
            st.args += delta
            if etype == "response.custom_tool_call_input.delta":
                st.kind = "custom"
            if self._agent:
                self._held.setdefault(index, None)
                return []
            self._calls = True
            return [ToolCallDelta(index, arguments=delta, kind=st.kind)] if delta else []
        if etype == "response.output_item.added":
            return self._item_added(ev)
        if etype == "response.output_item.done":
            item = self._item_of(ev)
            index = self._index(ev, item)
            out = self._item_done(item, index)
            self._open.discard(index)
            return out
        if etype == "response.created" or etype == "response.in_progress":
            return self._created(ev) if etype == "response.created" else []
        if etype in ("response.completed", "response.incomplete", "response.done"):
            return self._completed(ev)
        if etype == "response.failed":
            resp = ev.get("response")
            raise_failed(resp.get("error") if isinstance(resp, dict) else None, stream=True)
        if etype == "error":
            err = ev.get("error") if isinstance(ev.get("error"), dict) else ev
            raise_failed(err, stream=True)
        if etype.startswith("response."):
            # content_part.*, *.done, annotation.added, built-in tool progress...: what they
            # carry arrives whole with response.output_item.done
            return []
        # a bare output item (an agent's function_call_output between two cycles...)
        item = {k: v for k, v in ev.items() if k not in ("sequence_number", "custom_outputs")}
        return self._item_done(item, self._index(ev, item))

    def _opened(self, ev: dict[str, Any], item: dict[str, Any] | None = None) -> int:
        index = self._index(ev, item)
        self._open.add(index)
        self._cycle_items = True
        return index

    def _created(self, ev: dict[str, Any]) -> list[Delta]:
        out: list[Delta] = []
        if self._cycles or self._cycle_items:  # a later cycle: output_index restarts at 0
            out.extend(self._agent_ran_held())
            self._offset += _CYCLE_STRIDE
            self._id_index.clear()
        self._cycles += 1
        self._cycle_items = False
        resp = ev.get("response")
        if isinstance(resp, dict):
            rid, model = opt_str(resp.get("id")), opt_str(resp.get("model"))
            if rid is not None or model is not None:
                out.append(MetaDelta(id=rid, model=model))
        return out

    def _reasoning_delta(self, ev: dict[str, Any], etype: str) -> list[Delta]:
        delta = ev.get("delta")
        if not isinstance(delta, str):
            raise bad_shape(f"{etype} without a string delta")
        index = self._opened(ev)
        out = self._open_summary(ev, index)
        st = self._state(index)
        st.text_streamed = True
        if delta:
            st.text += delta
            out.append(ReasoningDelta(text=delta, block=index))
        return out

    def _open_summary(self, ev: dict[str, Any], index: int) -> list[Delta]:
        """Summary entry N of a reasoning item starts after N separators (see SUMMARY_SEPARATOR)."""
        si = opt_int(ev.get("summary_index"))
        st = self._state(index)
        if ev.get("type") == "response.reasoning_text.delta" or si is None or si <= st.seps:
            return []
        sep = SUMMARY_SEPARATOR * (si - st.seps)
        st.seps = si
        st.text += sep
        st.text_streamed = True
        return [ReasoningDelta(text=sep, block=index)]

    def _item_of(self, ev: dict[str, Any]) -> dict[str, Any]:
        item = ev.get("item")
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise bad_shape(f"{ev.get('type')} without an item")
        return item

    def _item_added(self, ev: dict[str, Any]) -> list[Delta]:
        item = self._item_of(ev)
        index = self._opened(ev, item)
        if item["type"] in CALL_TYPES:
            call_part(item)  # shape check now
            st = self._state(index)
            st.item = dict(item)
            st.kind = "custom" if item["type"] == "custom_tool_call" else "function"
            if self._agent:
                self._held.setdefault(index, None)
            else:
                return self._call_start(index, item)
        return []

    def _call_start(self, index: int, item: dict[str, Any]) -> list[Delta]:
        part = call_part(item)
        st = self._state(index)
        self._calls = True
        if st.started:
            return []
        st.started = True
        st.args += part.arguments
        return [ToolCallDelta(index, part.id, part.name, part.arguments, part.kind, part.extras)]

    def _item_done(self, item: dict[str, Any], index: int) -> list[Delta]:
        self._cycle_items = True
        st = self._state(index)
        itype = item.get("type")
        if itype == "message":
            parts = message_parts(item)
            if not st.text_streamed:
                return [TextDelta(p.text, p.extras) for p in parts]
            # text arrived as deltas: what is new here is any text the deltas missed and what
            # rides on it (annotations)
            out: list[Delta] = []
            rest = _rest("".join(p.text for p in parts), st.text)
            if rest:
                out.append(TextDelta(rest))
            for text_part in parts:
                extras = text_part.extras
                if extras and st.id_sent:
                    extras = {k: v for k, v in extras.items() if k != "id"}
                if extras:
                    out.append(TextDelta("", extras))
            return out
        if itype == "reasoning":
            out = []
            for p in reasoning_parts(item, index):
                if p.redacted is not None:
                    out.append(ReasoningDelta(redacted=p.redacted, block=index, extras=p.extras))
                    continue
                text = _rest(p.text, st.text) if st.text_streamed else p.text
                if text or p.extras:
                    out.append(ReasoningDelta(text=text, block=index, extras=p.extras))
            return out
        if itype in CALL_TYPES:
            part = call_part(item)  # shape check now
            st.item = dict(item)
            st.kind = part.kind
            if self._agent:
                self._held.setdefault(index, None)
                return []
            self._calls = True
            if not st.started:
                st.started = True
                rest, st.args = part.arguments[len(st.args) :], part.arguments
                return [ToolCallDelta(index, part.id, part.name, rest, part.kind, part.extras)]
            if part.arguments.startswith(st.args) and len(part.arguments) > len(st.args):
                rest, st.args = part.arguments[len(st.args) :], part.arguments
                return [ToolCallDelta(index, arguments=rest, kind=part.kind)]
            return []
        if itype in CALL_OUTPUT_TYPES:
            call_id = item.get("call_id")
            for held in self._held:
                if self._call_item(held).get("call_id") == call_id:
                    del self._held[held]
                    return [ServerToolDelta(self._call_item(held)), ServerToolDelta(item)]
            return [ServerToolDelta(item)]
        return [ServerToolDelta(item)]

    def _completed(self, ev: dict[str, Any]) -> list[Delta]:
        resp = ev.get("response")
        if not isinstance(resp, dict):
            raise bad_shape(f"{ev.get('type')} without a response object")
        out: list[Delta] = []
        output = resp.get("output")
        if isinstance(output, list):
            if not self._cycle_items:  # a server that sent the whole response at the end only
                for i, item in enumerate(output):
                    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                        raise bad_shape(f"output item {item!r}")
                    out.extend(self._item_done(item, i + self._offset))
            else:  # the final form of calls whose done event never came
                final = {
                    item.get("call_id"): item
                    for item in output
                    if isinstance(item, dict) and item.get("type") in CALL_TYPES
                }
                for index in self._held:
                    got = final.get(self._call_item(index).get("call_id"))
                    if got is not None:
                        self._items[index].item = dict(got)
        self._open.clear()
        self._cycle_items = True
        usage = parse_usage(resp.get("usage"))
        if usage is not None:
            self._usage = add_usage(self._usage, usage)
        extras = response_extras(resp)
        rid, model = opt_str(resp.get("id")), opt_str(resp.get("model"))
        if extras or rid is not None or model is not None:
            out.append(MetaDelta(id=rid, model=model, extras=extras or None))
        self._status = resp.get(
            "status", "completed" if ev["type"] != "response.incomplete" else "incomplete"
        )
        if self._status is None and ev["type"] == "response.incomplete":
            self._status = "incomplete"
        self._incomplete = resp.get("incomplete_details")
        return out

    def _chat_agent_chunk(self, ev: dict[str, Any]) -> list[Delta]:
        if self._chat_agent is None:
            from core.codecs.chat_agent import StreamDecoder as ChatAgentDecoder

            self._chat_agent = ChatAgentDecoder()
        return self._chat_agent.feed(json.dumps(ev))

    # -- end ---------------------------------------------------------------------------------
    def close(self) -> list[Delta]:
        if self._chat_agent is not None:
            return self._chat_agent.close()
        out: list[Delta] = []
        has_calls = self._calls or bool(self._held)
        for index in self._held:  # unanswered calls: the caller runs them
            part = call_part(self._call_item(index))
            out.append(
                ToolCallDelta(index, part.id, part.name, part.arguments, part.kind, part.extras)
            )
        self._held.clear()
        if not self._finished:
            self._finished = True
            out.append(FinishDelta(response_finish(self._status, self._incomplete, has_calls)))
        if self._usage is not None:  # last, as chat streams send it
            out.append(UsageDelta(self._usage))
            self._usage = None
        return out
