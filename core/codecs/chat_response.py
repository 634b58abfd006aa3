"""Chat completions codec, the answer side: response bodies and streamed chunks -> neutral parts
and deltas. Pure functions, no I/O; :mod:`core.codecs.chat` (the codec module the client uses)
re-exports :func:`parse_response` and :class:`StreamDecoder`.

Round trip of reasoning: every reasoning item and text block keeps, in the part's ``extras``,
the wire keys the neutral types do not model (in order), plus ``"$order"`` (the key list as
received, when it differs from what the request side would emit) and ``"$block"`` (a reasoning
block's own unknown keys, on its first part). The request side reads them back, so the
assistant ``content`` JSON goes back exactly as received.
"""

from __future__ import annotations

import json
from typing import Any

from core.codecs.policy import (
    merge_usage,
    normalize_finish_reason,
    parse_usage,
)
from core.errors import (
    MalformedEventError,
    ResponseParseError,
    StreamErrorEvent,
)
from core.jsonio import loads
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
    UsageDelta,
)

__all__ = ["BLOCK_KEY", "ORDER_KEY", "StreamDecoder", "parse_response"]

ORDER_KEY = "$order"
BLOCK_KEY = "$block"


# =============================================================================================
# Response
# =============================================================================================
_TOP_KNOWN = frozenset({"id", "model", "choices", "usage", "object"})
_MESSAGE_KNOWN = frozenset({"role", "content", "tool_calls", "reasoning_content"})


def parse_response(body: Any) -> ChatResponse:
    """A chat completions response body -> ChatResponse. Unknown shapes -> ResponseParseError."""
    try:
        return _parse_response(body)
    except ResponseParseError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise ResponseParseError(f"unexpected chat completions response shape: {exc!r}") from exc


def _parse_response(body: Any) -> ChatResponse:
    if not isinstance(body, dict):
        raise ResponseParseError(f"response body is not a JSON object: {type(body).__name__}")
    if body.get("error") is not None or "error_code" in body:
        msg, code = _error_text(body)
        raise ResponseParseError(f"the server answered with an error: {msg}", error_code=code)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ResponseParseError("response has no choices")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ResponseParseError("choices[0] is not an object")
    message = choice.get("message")
    if message is None:
        message = {}
    if not isinstance(message, dict):
        raise ResponseParseError("choices[0].message is not an object")

    parts: list[Part] = []
    rc = message.get("reasoning_content")
    if rc is None:
        rc = message.get("reasoning")
        if not isinstance(rc, str):
            rc = None  # a "reasoning" object of some other server: kept in extras["message"]
    if rc is not None:
        if not isinstance(rc, str):
            raise ResponseParseError("message.reasoning_content is not a string")
        if rc:
            parts.append(ReasoningPart(text=rc, block=0))
    _parse_content(message.get("content"), parts)
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if not isinstance(tool_calls, list):
            raise ResponseParseError("message.tool_calls is not a list")
        for n, tc in enumerate(tool_calls):
            parts.append(_parse_tool_call(tc, n))

    finish = choice.get("finish_reason")
    if finish is not None and not isinstance(finish, str):
        raise ResponseParseError("finish_reason is not a string")
    usage_raw = body.get("usage")
    usage = parse_usage(usage_raw) if usage_raw is not None else None
    rid = body.get("id")
    model = body.get("model")
    extras = {k: v for k, v in body.items() if k not in _TOP_KNOWN}
    if choice.get("logprobs") is not None:
        extras["logprobs"] = choice["logprobs"]
    msg_extras = {k: v for k, v in message.items() if k not in _MESSAGE_KNOWN and v is not None}
    if isinstance(msg_extras.get("reasoning"), str):
        del msg_extras["reasoning"]  # became a ReasoningPart above
    if msg_extras:
        extras["message"] = msg_extras
        if "custom_outputs" in msg_extras:  # an agent's, on its message: reaches the user too
            extras.setdefault("custom_outputs", msg_extras["custom_outputs"])
    if len(choices) > 1:
        extras["choices"] = choices[1:]
    return ChatResponse(
        parts=parts,
        usage=usage,
        finish_reason=normalize_finish_reason(finish) if finish else None,
        model=model if isinstance(model, str) else None,
        id=rid if isinstance(rid, str) else None,
        extras=extras,
    )


def _parse_content(content: Any, parts: list[Part]) -> None:
    if content is None:
        return
    if isinstance(content, str):
        if content:
            parts.append(TextPart(content))
        return
    if not isinstance(content, list):
        raise ResponseParseError(f"message.content is a {type(content).__name__}")
    block_no = sum(1 for p in parts if isinstance(p, ReasoningPart))  # reasoning_content first
    for block in content:
        if isinstance(block, str):
            parts.append(TextPart(block))
            continue
        if not isinstance(block, dict):
            raise ResponseParseError("a content block is not an object")
        btype = block.get("type")
        if btype == "text":
            text = block.get("text")
            if text is None:
                text = ""
            if not isinstance(text, str):
                raise ResponseParseError("text block without string text")
            values = {"type": "text", "text": text}
            parts.append(TextPart(text, _extras_of(block, values, ("type", "text"))))
        elif btype == "reasoning":
            summary = block.get("summary")
            if not isinstance(summary, list):
                raise ResponseParseError("reasoning block without a summary list")
            block_extras = _extras_of(
                block, {"type": "reasoning", "summary": summary}, ("type", "summary")
            )
            first = True
            for item in summary:
                part = _parse_reasoning_item(item, block_no)
                if first and block_extras:
                    part.extras = dict(part.extras or {})
                    part.extras[BLOCK_KEY] = block_extras
                first = False
                parts.append(part)
            block_no += 1
        else:
            # Unknown block type (forward compatibility): kept whole, sent back unchanged.
            parts.append(ServerToolPart(item=block))


def _parse_reasoning_item(item: Any, block_no: int) -> ReasoningPart:
    if not isinstance(item, dict):
        raise ResponseParseError("a reasoning summary item is not an object")
    itype = item.get("type", "summary_text")
    if itype == "summary_encrypted_text":
        data = item.get("data")
        if not isinstance(data, str):
            raise ResponseParseError("summary_encrypted_text without string data")
        values = {"type": itype, "data": data}
        return ReasoningPart(
            redacted=data, block=block_no, extras=_extras_of(item, values, ("type", "data"))
        )
    text = item.get("text")
    if text is None:
        text = ""
    sig = item.get("signature")
    if not isinstance(text, str) or (sig is not None and not isinstance(sig, str)):
        raise ResponseParseError("reasoning summary item with non-string text or signature")
    values = {"type": "summary_text", "text": text, "signature": sig}
    canonical = ("type", "text", "signature") if sig is not None else ("type", "text")
    extras = _extras_of(item, values, canonical)
    if itype != "summary_text":  # another item type with text: re-sent with its own type
        extras = extras or {}
        extras["type"] = itype
    return ReasoningPart(text=text, signature=sig, block=block_no, extras=extras)


def _extras_of(
    d: dict[str, Any], values: dict[str, Any], canonical: tuple[str, ...]
) -> dict[str, Any] | None:
    """Unknown keys of ``d`` (in order) plus ``$order`` when the default emit would differ."""
    extras: dict[str, Any] | None = None
    for k, v in d.items():
        if k not in values:
            if extras is None:
                extras = {}
            extras[k] = v
    expected = list(canonical)
    if extras:
        expected.extend(extras)
    keys = list(d)
    if keys != expected:  # another key order, a missing "type"/"text", "signature": null
        if extras is None:
            extras = {}
        extras[ORDER_KEY] = keys
    return extras


def _parse_tool_call(tc: Any, n: int) -> ToolCallPart:
    if not isinstance(tc, dict):
        raise ResponseParseError("a tool call is not an object")
    fn = tc.get("function")
    if not isinstance(fn, dict):
        raise ResponseParseError("tool call without a function object")
    name = fn.get("name")
    if not isinstance(name, str):
        raise ResponseParseError("tool call without a function name")
    args = fn.get("arguments")
    if args is None:
        args = ""
    elif not isinstance(args, str):
        args = json.dumps(args)  # some servers send the arguments object itself
    cid = tc.get("id")
    if cid is not None and not isinstance(cid, str):
        raise ResponseParseError("tool call id is not a string")
    extras = {k: v for k, v in tc.items() if k not in ("id", "type", "function", "index")}
    return ToolCallPart(id=cid or f"call_{n}", name=name, arguments=args, extras=extras or None)


def _error_text(obj: dict[str, Any]) -> tuple[str, str | None]:
    err = obj.get("error")
    code = obj.get("error_code")
    msg: Any = obj.get("message")
    if isinstance(err, dict):
        msg = err.get("message") or msg or json.dumps(err)[:500]
        code = code or err.get("code") or err.get("type")
    elif err is not None:
        msg = str(err)
    if msg is None:
        msg = json.dumps(obj)[:500]
    return str(msg), (str(code) if code is not None else None)


# =============================================================================================
# Streaming
# =============================================================================================
_META_SKIP = frozenset({"id", "model", "choices", "usage", "object"})
_TEXT_BLOCK_KEYS = frozenset({"type", "text"})


class StreamDecoder:
    """Turns the data field of each SSE event of a chat completions stream into deltas.

    Only ``choices`` with index 0 are decoded (n > 1 streams keep the first choice). Usage is
    collected and emitted once by :meth:`close`.
    """

    __slots__ = (
        "_agent",
        "_done",
        "_finished",
        "_meta",
        "_tool_ids",
        "_last_tool",
        "_usages",
        "_saw_tools",
    )

    def __init__(self) -> None:
        self._agent: Any = None  # core.codecs.chat_agent.StreamDecoder, for ChatAgent chunks
        self._done = False
        self._finished = False
        self._meta = False
        self._usages: list[dict[str, Any]] = []
        self._tool_ids: dict[str, int] | None = None  # only for servers that omit the index
        self._last_tool = 0
        self._saw_tools = False

    @property
    def done(self) -> bool:
        return self._done

    @property
    def complete(self) -> bool:
        """A clean end here is a whole answer: ``[DONE]`` came, or a finish reason did (agents
        speaking chat completions through ``/invocations`` may not send ``[DONE]``)."""
        return self._done or self._finished

    def feed(self, data: str) -> list[Delta]:
        if data == "[DONE]":
            self._done = True
            return []
        try:
            obj = loads(data)
        except ValueError as exc:
            raise MalformedEventError(f"stream event is not valid JSON: {data[:200]!r}") from exc
        # The fast path: plain dict access, one list, one delta object per piece.
        try:
            if type(obj) is not dict:
                raise MalformedEventError(f"stream event is not a JSON object: {data[:200]!r}")
            if not self._meta:
                out = self._first(obj)
            elif "error" in obj or "error_code" in obj:
                self._raise_error(obj)
            elif "custom_outputs" in obj:  # an agent's, usually on its last chunk
                out = [MetaDelta(extras={"custom_outputs": obj["custom_outputs"]})]
            else:
                out = []
            choices = obj.get("choices")
            if choices:
                for choice in choices:
                    if choice.get("index", 0):
                        continue  # n > 1 streams: only the first choice is decoded
                    delta = choice.get("delta")
                    if delta:
                        content = delta.get("content")
                        if type(content) is str:
                            if content:
                                out.append(TextDelta(content))
                            n = len(delta)
                            if n == 1 or (n == 2 and "role" in delta):
                                content = None  # nothing else in this delta
                            else:
                                self._rest(delta, out)
                        else:
                            if content is not None:
                                self._blocks(content, out)
                            self._rest(delta, out)
                    fr = choice.get("finish_reason")
                    if fr:
                        if type(fr) is not str:
                            raise MalformedEventError("finish_reason is not a string")
                        self._finished = True
                        out.append(FinishDelta(normalize_finish_reason(fr)))
            elif choices is None and type(obj.get("delta")) is dict:
                # a ChatAgent chunk (an agent/v2/chat endpoint read as chat): its own codec
                return self._agent_chunk(obj)
            usage = obj.get("usage")
            if usage is not None:
                if type(usage) is not dict:
                    raise MalformedEventError("usage is not an object")
                self._usages.append(usage)
            return out
        except (StreamErrorEvent, MalformedEventError):
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            raise MalformedEventError(
                f"stream event of an unexpected shape ({exc!r}): {data[:200]!r}"
            ) from exc

    def _first(self, obj: dict[str, Any]) -> list[Delta]:
        if "error" in obj or "error_code" in obj or obj.get("object") == "error":
            self._raise_error(obj)
        self._meta = True
        extras = {k: v for k, v in obj.items() if k not in _META_SKIP}
        return [MetaDelta(id=obj.get("id"), model=obj.get("model"), extras=extras or None)]

    def _rest(self, delta: dict[str, Any], out: list[Delta]) -> None:
        """Reasoning strings and tool calls of a delta (after its content)."""
        rc = delta.get("reasoning_content")
        if rc is None:
            rc = delta.get("reasoning")
            if type(rc) is not str:
                rc = None  # "reasoning" objects of other servers are not reasoning text
        if rc:
            if type(rc) is not str:
                raise MalformedEventError("delta.reasoning_content is not a string")
            out.append(ReasoningDelta(rc))
        tcs = delta.get("tool_calls")
        if tcs:
            self._tool_calls(tcs, out)

    def _blocks(self, content: Any, out: list[Delta]) -> None:
        if type(content) is not list:
            raise MalformedEventError(f"delta.content is a {type(content).__name__}")
        for block in content:
            btype = block.get("type")
            if btype == "text":
                text = block.get("text") or ""
                if type(text) is not str:
                    raise MalformedEventError("text block with non-string text")
                if len(block) > 2:
                    extras = {k: v for k, v in block.items() if k not in _TEXT_BLOCK_KEYS}
                    out.append(TextDelta(text, extras))
                elif text:
                    out.append(TextDelta(text))
            elif btype == "reasoning":
                for item in block["summary"]:
                    itype = item.get("type", "summary_text")
                    if itype == "summary_encrypted_text":
                        data = item["data"]
                        if type(data) is not str:
                            raise MalformedEventError("summary_encrypted_text without string data")
                        out.append(ReasoningDelta(redacted=data))
                        continue
                    text = item.get("text")
                    sig = item.get("signature")
                    if (text and type(text) is not str) or (sig and type(sig) is not str):
                        raise MalformedEventError("reasoning item with non-string text/signature")
                    if text:
                        out.append(ReasoningDelta(text))
                    if sig:
                        out.append(ReasoningDelta(signature=sig))
            else:
                out.append(ServerToolDelta(block))

    def _tool_calls(self, tcs: Any, out: list[Delta]) -> None:
        self._saw_tools = True
        for pos, tc in enumerate(tcs):
            idx = tc.get("index")
            cid = tc.get("id")
            if cid is not None and type(cid) is not str:
                raise MalformedEventError("tool call id is not a string")
            if idx is not None and type(idx) is not int:
                raise MalformedEventError("tool call index is not an integer")
            if idx is None:  # servers that omit the index: key by id, else the last call
                ids = self._tool_ids
                if ids is None:
                    ids = self._tool_ids = {}
                if cid:
                    idx = ids.setdefault(cid, len(ids))
                else:
                    idx = self._last_tool if ids else pos
            self._last_tool = idx
            fn = tc.get("function")
            name = None
            args = ""
            if fn:
                name = fn.get("name")
                if name is not None and type(name) is not str:
                    raise MalformedEventError("tool call name is not a string")
                a = fn.get("arguments")
                if a:
                    args = a if type(a) is str else json.dumps(a)
            out.append(ToolCallDelta(idx, cid, name, args))

    def _agent_chunk(self, obj: dict[str, Any]) -> list[Delta]:
        """What this decoder made of the chunk is dropped: the ChatAgent decoder reads it all."""
        if self._agent is None:
            from core.codecs.chat_agent import StreamDecoder as ChatAgentDecoder

            self._agent = ChatAgentDecoder()
        self._finished = True  # a ChatAgent stream has no terminal event
        out: list[Delta] = self._agent.feed(json.dumps(obj))
        return out

    def _raise_error(self, obj: dict[str, Any]) -> None:
        msg, code = _error_text(obj)
        raise StreamErrorEvent(
            f"the server sent an error event: {msg}", error_code=code, details=obj
        )

    def close(self) -> list[Delta]:
        if self._agent is not None:
            closed: list[Delta] = self._agent.close()
            return closed
        out: list[Delta] = []
        usages = self._usages
        if usages:
            try:
                out.append(UsageDelta(merge_usage(usages)))
            except ResponseParseError as exc:
                raise MalformedEventError(str(exc)) from exc
        if not self._finished:
            self._finished = True
            out.append(FinishDelta("tool_calls" if self._saw_tools else "stop"))
        return out
