"""ChatAgent codec (MLflow ``ChatAgent``, endpoint task ``agent/v2/chat``). Pure, no I/O.

Wire shapes (``mlflow.types.agent``; streamed chunks as in databricks-ai-bridge's
``integrations/ai-sdk-provider/tests/__fixtures__/chat-agent-fixtures.ts``):

* request ``{"messages": [{"role", "content", "name"?, "id"?, "tool_calls"?, "tool_call_id"?}],
  "context": {"conversation_id", "user_id"}?, "custom_inputs": {...}?, "stream": bool}``.
  ``content`` is a string; a ``tool`` message needs both ``name`` and ``tool_call_id``; there is
  no ``tools`` field and no sampling parameter.
* answer ``{"messages": [...], "finish_reason"?, "custom_outputs"?, "usage"?}``: every message has
  an ``id``; tool calls and tool results in it ran inside the agent.
* stream: chunks ``{"delta": <message>, "finish_reason"?, "custom_outputs"?, "usage"?}`` (no
  ``choices``, no terminal event); content is aggregated by message ``id``.

Mapping: assistant text -> TextParts; every tool call and tool result -> ServerToolParts holding
Responses-shaped items (``function_call`` / ``function_call_output``), the agent's own steps,
never calls for the caller (a ChatAgent takes no tools, so the caller could not run them). The
output messages themselves are kept in ``ChatResponse.extras["messages"]`` (names, ids,
attachments), streamed or not.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.accumulator import merge_text, same_message
from core.codecs.policy import event_object, parse_usage
from core.errors import (
    InvalidRequestError,
    MalformedEventError,
    ResponseParseError,
    StreamErrorEvent,
)
from core.types import (
    ChatResponse,
    Delta,
    FinishDelta,
    GenerationParams,
    Message,
    MetaDelta,
    Part,
    ReasoningPart,
    ServerToolDelta,
    ServerToolPart,
    TextDelta,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    UsageDelta,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import ModelInfo

__all__ = ["StreamDecoder", "build_request", "parse_response"]

# GenerationParams fields a ChatAgent request has no place for (sent nowhere, with a warning)
_NOT_TAKEN = (
    "temperature", "max_tokens", "top_p", "top_k", "stop", "n", "logprobs", "top_logprobs",
    "reasoning_effort", "thinking_budget", "response_format", "instructions",
    "reasoning_summary", "include", "metadata", "truncation", "max_tool_calls",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------------
def build_request(
    messages: Sequence[Message],
    params: GenerationParams,
    *,
    model: str | None = None,
    info: ModelInfo | None = None,
    stream: bool,
    **_: Any,
) -> dict[str, Any]:
    """The ChatAgent request body. ``model`` is not part of the schema (the endpoint is in the
    URL); tools are refused, sampling parameters warned about and left out."""
    if params.tools or params.tool_choice not in (None, "auto", "none"):
        raise InvalidRequestError(
            "a ChatAgent endpoint (task agent/v2/chat) takes no tools: the agent runs its own",
            hint="call the agent without bind_tools/tools; to give an agent of yours this "
            "endpoint, wrap the model as a tool instead",
        )
    ignored = [
        f for f in _NOT_TAKEN if getattr(params, f) not in (None, [], {})
    ]
    if ignored:
        warnings.warn(
            f"a ChatAgent endpoint (task agent/v2/chat) takes no {', '.join(ignored)}: not sent "
            "(pass agent settings through custom_inputs)",
            UserWarning,
            stacklevel=4,
        )
    body: dict[str, Any] = {"messages": _wire_messages(messages)}
    if params.context is not None:
        body["context"] = params.context
    if params.custom_inputs is not None:
        body["custom_inputs"] = params.custom_inputs
    body["stream"] = stream
    if params.extra_body:
        body.update(params.extra_body)
    return body


def _text_only(msg: Message, i: int) -> str:
    out = []
    for p in msg.parts:
        if isinstance(p, TextPart):
            out.append(p.text)
        elif not isinstance(p, ReasoningPart):
            raise InvalidRequestError(
                f"messages[{i}]: a ChatAgent takes text only, not a {type(p).__name__} in a "
                f"{msg.role} message",
                hint="send images or files to the agent through custom_inputs, or use an "
                "agent with the ResponsesAgent schema",
            )
    return "".join(out)


def _wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> tool name (tool messages must carry it)
    for i, msg in enumerate(messages):
        if msg.role == "assistant":
            _assistant(msg, out, names)
        elif msg.role == "tool":
            for p in msg.parts:
                if not isinstance(p, ToolResultPart):
                    raise InvalidRequestError(
                        f"messages[{i}]: a tool message holds a tool result, not a "
                        f"{type(p).__name__}"
                    )
                name = p.name or names.get(p.tool_call_id)
                if not name:
                    raise InvalidRequestError(
                        f"messages[{i}]: a ChatAgent tool message needs the tool's name and no "
                        f"earlier tool call {p.tool_call_id!r} names it",
                        hint="keep the assistant message with the tool call in the history",
                    )
                content = p.content if isinstance(p.content, str) else "".join(
                    c.text for c in p.content if isinstance(c, TextPart)
                )
                out.append(
                    {"role": "tool", "content": content, "name": name, "tool_call_id": p.tool_call_id}
                )
        elif msg.role in ("system", "developer", "user"):
            wire: dict[str, Any] = {"role": msg.role, "content": _text_only(msg, i)}
            if msg.name:
                wire["name"] = msg.name
            out.append(wire)
        else:
            raise InvalidRequestError(f"messages[{i}]: unknown message role {msg.role!r}")
    return out


def _assistant(msg: Message, out: list[dict[str, Any]], names: dict[str, str]) -> None:
    """One neutral assistant message -> one or more wire messages, in order: the agent's own
    steps of an earlier answer (ServerToolParts) go back as the tool-call and tool messages they
    came from."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    author: list[Any] = [None]  # the text's message ("id", "name" extras) while it lasts

    def flush() -> None:
        if text or calls:
            wire: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
            name = (author[0] or {}).get("name")
            if isinstance(name, str):
                wire["name"] = name  # a sub-agent's name goes back with its words
            if calls:
                wire["tool_calls"] = list(calls)
            if wire["content"] is not None or calls:
                out.append(wire)
        text.clear()
        calls.clear()
        author[0] = None

    for p in msg.parts:
        if isinstance(p, TextPart):
            if calls or (text and not same_message(TextPart("", author[0]), p.extras)):
                flush()  # another message of the agent's answer: one wire message each
            if not text:
                author[0] = p.extras
            text.append(p.text)
        elif isinstance(p, ReasoningPart):
            continue  # a ChatAgent has no reasoning field; leaving reasoning out is valid
        elif isinstance(p, ToolCallPart):
            names[p.id] = p.name
            calls.append(_wire_call(p.id, p.name, p.arguments))
        elif isinstance(p, ServerToolPart):
            item = p.item
            itype = item.get("type")
            if itype == "function_call":
                call_id, name = str(item.get("call_id", "")), str(item.get("name", ""))
                names[call_id] = name
                calls.append(_wire_call(call_id, name, str(item.get("arguments") or "{}")))
            elif itype == "function_call_output":
                flush()
                call_id = str(item.get("call_id", ""))
                output = item.get("output")
                out.append(
                    {
                        "role": "tool",
                        "content": output if isinstance(output, str) else json.dumps(output),
                        "name": item.get("name") or names.get(call_id) or "tool",
                        "tool_call_id": call_id,
                    }
                )
            else:
                raise InvalidRequestError(
                    f"a ChatAgent history cannot carry a {itype!r} item (from another agent "
                    "schema)",
                    hint="start a new conversation, or talk to an agent with the ResponsesAgent "
                    "schema",
                )
        else:
            raise InvalidRequestError(f"an assistant message cannot hold a {type(p).__name__}")
    flush()


def _wire_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# ---------------------------------------------------------------------------------------------
# Response
# ---------------------------------------------------------------------------------------------
def _bad(what: str) -> ResponseParseError:
    return ResponseParseError(f"unexpected ChatAgent answer: {what[:300]}")


def _call_items(msg: dict[str, Any]) -> list[dict[str, Any]]:
    calls = msg.get("tool_calls")
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise _bad(f"tool_calls {calls!r}")
    items = []
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise _bad(f"tool call {call!r}")
        cid, name, args = call.get("id"), fn.get("name"), fn.get("arguments", "")
        if not isinstance(args, str):
            args = json.dumps(args)
        if not (isinstance(cid, str) and isinstance(name, str)):
            raise _bad(f"tool call {call!r}")
        item = {"type": "function_call", "call_id": cid, "name": name, "arguments": args}
        if isinstance(msg.get("id"), str):
            item["id"] = msg["id"]
        items.append(item)
    return items


def _output_item(msg: dict[str, Any]) -> dict[str, Any]:
    content = msg.get("content")
    item: dict[str, Any] = {
        "type": "function_call_output",
        "call_id": msg.get("tool_call_id") or "",
        "output": content if content is not None else "",
    }
    for key in ("name", "id"):
        if msg.get(key) is not None:
            item[key] = msg[key]
    return item


def _message_parts(msg: Any) -> list[Part]:
    if not isinstance(msg, dict):
        raise _bad(f"message {msg!r}")
    role = msg.get("role", "assistant")
    content = msg.get("content")
    if content is not None and not isinstance(content, str):
        raise _bad(f"message content {content!r}")
    if role == "tool":
        return [ServerToolPart(_output_item(msg))]
    if role != "assistant":
        raise _bad(f"a {role!r} message in the answer")
    parts: list[Part] = [TextPart(content, _text_extras(msg))] if content else []
    parts.extend(ServerToolPart(item) for item in _call_items(msg))
    return parts


def _text_extras(msg: dict[str, Any]) -> dict[str, Any] | None:
    """The message's id (and its author's name, e.g. a sub-agent's) ride on its text, as a
    Responses message item's id does: adapters show them, replay never sends them."""
    out = {k: msg[k] for k in ("id", "name") if isinstance(msg.get(k), str) and msg[k]}
    return out or None


def parse_response(body: Any) -> ChatResponse:
    """A ChatAgent answer -> ChatResponse (an error body raises ResponseParseError)."""
    if not isinstance(body, dict):
        raise ResponseParseError(f"a ChatAgent answer is a JSON object, not {type(body).__name__}")
    messages = body.get("messages")
    if not isinstance(messages, list):
        if body.get("error") or body.get("error_code"):
            raise ResponseParseError(f"the agent answered with an error: {body}"[:500])
        raise _bad("no 'messages' (keys: " + ", ".join(sorted(map(str, body))[:10]) + ")")
    parts: list[Part] = []
    for msg in messages:
        parts.extend(_message_parts(msg))
    extras = {
        k: v for k, v in body.items() if k not in ("usage", "finish_reason", "id", "model")
    }
    usage = body.get("usage")
    finish = body.get("finish_reason")
    return ChatResponse(
        parts=merge_text(parts),
        usage=parse_usage(usage) if isinstance(usage, dict) else None,
        finish_reason=finish if isinstance(finish, str) else "stop",
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        id=body.get("id") if isinstance(body.get("id"), str) else None,
        extras=extras,
    )


# ---------------------------------------------------------------------------------------------
# Stream
# ---------------------------------------------------------------------------------------------
class StreamDecoder:
    """ChatAgent chunks -> deltas. The output messages are rebuilt by id (content pieces
    joined, tool calls collected) and handed over at :meth:`close` as ``extras["messages"]``,
    so a stream folds to what the same answer parses to."""

    __slots__ = ("_chunks", "_finish", "_messages", "_meta", "_texted", "_tool", "_usage")

    def __init__(self) -> None:
        self._chunks = 0
        self._texted: set[str] = set()
        self._tool: str | None = None  # a tool message being received (its content may come in
        # pieces too): handed over whole when another message starts or the stream ends
        self._messages: dict[str, dict[str, Any]] = {}  # by id, in order of first appearance
        self._usage: dict[str, Any] | None = None
        self._finish: str | None = None
        self._meta = False

    @property
    def done(self) -> bool:
        return False  # ChatAgent streams have no terminal event

    @property
    def complete(self) -> bool:
        """A ChatAgent stream has no terminal event: a clean end after a chunk is the end."""
        return self._chunks > 0

    def feed(self, data: str) -> list[Delta]:
        if data.strip() == "[DONE]":
            return []
        chunk = event_object(data, "ChatAgent stream")
        if chunk.get("error") or chunk.get("error_code"):
            err = chunk.get("error")
            msg = err.get("message") if isinstance(err, dict) else err or chunk.get("message")
            raise StreamErrorEvent(f"the agent sent an error: {msg}", details=chunk)
        delta = chunk.get("delta")
        if not isinstance(delta, dict):
            raise MalformedEventError(
                "not a ChatAgent chunk (no 'delta' object; keys: "
                + ", ".join(sorted(map(str, chunk))[:10])
                + ")"
            )
        self._chunks += 1
        out: list[Delta] = []
        if not self._meta and isinstance(chunk.get("id"), str):
            self._meta = True
            out.append(MetaDelta(id=chunk["id"]))
        if chunk.get("custom_outputs") is not None:
            # before the chunk's content, so an adapter can put them on the chunk it makes of
            # it (databricks-langchain's chunk.custom_outputs)
            out.append(MetaDelta(extras={"custom_outputs": chunk["custom_outputs"]}))
        out.extend(self._delta(delta))
        if isinstance(chunk.get("usage"), dict):
            # usage per chunk is taken as cumulative: the latest wins (MLflow does not say)
            self._usage = chunk["usage"]
        if isinstance(chunk.get("finish_reason"), str):
            self._finish = chunk["finish_reason"]
        return out

    def _delta(self, delta: dict[str, Any]) -> list[Delta]:
        role = delta.get("role") or "assistant"
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise MalformedEventError(f"ChatAgent delta content {content!r}"[:300])
        mid = delta.get("id")
        key = mid if isinstance(mid, str) else f"_{len(self._messages)}"
        out: list[Delta] = self._flush_tool() if key != self._tool else []
        msg = self._messages.get(key)
        if msg is None:
            msg = self._messages[key] = {k: v for k, v in delta.items() if k != "content"}
            msg["content"] = content
            msg.pop("tool_calls", None)
        elif content:
            msg["content"] = (msg.get("content") or "") + content
        if role == "tool":
            self._tool = key
            return out
        if role != "assistant":
            raise MalformedEventError(f"a {role!r} message in a ChatAgent answer")
        if content:
            first = key not in self._texted  # the id rides on a message's first piece only
            self._texted.add(key)
            out.append(TextDelta(content, _text_extras(delta) if first else None))
        try:
            items = _call_items(delta)
        except ResponseParseError as exc:
            raise MalformedEventError(str(exc)) from None
        if items:
            msg.setdefault("tool_calls", []).extend(delta["tool_calls"])
            out.extend(ServerToolDelta(item) for item in items)
        return out

    def _flush_tool(self) -> list[Delta]:
        if self._tool is None:
            return []
        msg = self._messages[self._tool]
        self._tool = None
        return [ServerToolDelta(_output_item(msg))]

    def close(self) -> list[Delta]:
        out: list[Delta] = self._flush_tool()
        if self._messages:
            messages = list(self._messages.values())
            self._messages = {}
            out.append(MetaDelta(extras={"messages": messages}))
        if self._usage is not None:
            out.append(UsageDelta(parse_usage(self._usage)))
            self._usage = None
        out.append(FinishDelta(self._finish or "stop"))
        return out
