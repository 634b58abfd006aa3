"""Scripted agents of each MLflow schema, served on ``/serving-endpoints/{name}/invocations`` (and
as Databricks Apps at ``/apps-proxy/{name}/responses``).

Each one answers deterministically from the last user text, and shapes its wire the way real
agents are seen to:

| endpoint | schema (task) | what it does |
|---|---|---|
| ``my-tool-agent`` | ResponsesAgent (``agent/v1/responses``) | says what it will do, calls ``lookup`` and runs it itself, answers in a second ``response.created`` ... ``response.completed`` cycle; a bare ``function_call_output`` event between the cycles (shape of databricks-ai-bridge's live-agent fixture) |
| ``my-items-agent`` | ResponsesAgent | MLflow helper style: text deltas keyed by ``item_id`` and ``response.output_item.done`` only, no terminal event, ``custom_outputs`` on the last event |
| ``my-json-agent`` | ResponsesAgent | answers a stream request with one JSON body |
| ``my-chat-agent`` | ChatAgent (``agent/v2/chat``) | several messages: text, its own tool call, the tool's result, the answer; ``delta`` chunks without ``choices`` and no terminal event |
| ``my-legacy-agent`` | ChatModel (``agent/v1/chat``) | chat completions plus ``custom_outputs`` (on the message and at the top); streams end with a finish reason, no ``[DONE]`` |

Every agent echoes what it got in ``custom_outputs`` (``custom_inputs``, ``context``), so tests
see both reach the wire. Requests are checked the way MLflow checks them (messages of a ChatAgent
need content or tool calls; tool messages need ``name`` and ``tool_call_id``; a ResponsesAgent
needs ``input``); the exact wording of MLflow's schema-enforcement error is not known, the
ChatAgent validator messages are MLflow's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.emulator.model import base_model_name, words

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorApp

__all__ = ["SCRIPTED", "invoke", "register"]

RESPONSES, CHAT_AGENT, CHAT_MODEL = "agent/v1/responses", "agent/v2/chat", "agent/v1/chat"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _data(obj: Any) -> bytes:
    return b"data: " + _dumps(obj) + b"\n\n"


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


# -- what the agents say --------------------------------------------------------------------------
def _last_user_text(messages: list[Any]) -> str:
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return " ".join(
                    str(b.get("text", "")) for b in c if isinstance(b, dict) and "text" in b
                )
    return ""


class _Script:
    """One answer: the agent's words, its tool step, usage per model call, custom outputs."""

    def __init__(self, app: EmulatorApp, name: str, body: dict[str, Any], question: str) -> None:
        n = app.state.next_id("")
        self.rid = f"resp_{n}"
        self.call_id = f"call_lookup_{n}"
        self.query = question.strip() or "nothing"
        self.intro = "Let me look that up."
        self.arguments = json.dumps({"query": self.query})
        self.result = f"3 results for {self.query!r}"
        self.answer = f"Here is what I found: {self.result}."
        self.usage = [
            {"input": words(question) + 20, "output": words(self.intro) + 8},
            {"input": words(question) + 36, "output": words(self.answer)},
        ]
        self.custom_outputs: dict[str, Any] = {"agent": name}
        for key in ("custom_inputs", "context"):
            if body.get(key) is not None:
                self.custom_outputs[key] = body[key]


def _responses_usage(u: dict[str, int]) -> dict[str, Any]:
    return {
        "input_tokens": u["input"],
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": u["output"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": u["input"] + u["output"],
    }


# -- ResponsesAgent --------------------------------------------------------------------------------
def _text_item(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _items(s: _Script) -> list[dict[str, Any]]:
    call = {"type": "function_call", "id": f"fc_{s.rid}", "call_id": s.call_id,
            "name": "lookup", "arguments": s.arguments}  # fmt: skip
    output = {"type": "function_call_output", "call_id": s.call_id, "output": s.result}
    return [
        _text_item(f"msg_a_{s.rid}", s.intro),
        call,
        output,
        _text_item(f"msg_b_{s.rid}", s.answer),
    ]


def _response(
    s: _Script, output: list[dict[str, Any]], usage: dict[str, Any] | None
) -> dict[str, Any]:
    return {"id": s.rid, "object": "response", "created_at": 0, "status": "completed",
            "model": "my-agent-model", "output": output, "usage": usage}  # fmt: skip


def _whole_response(s: _Script) -> dict[str, Any]:
    total = {"input": sum(u["input"] for u in s.usage), "output": sum(u["output"] for u in s.usage)}
    return {**_response(s, _items(s), _responses_usage(total)), "custom_outputs": s.custom_outputs}


def _tool_agent_events(s: _Script, size: int) -> list[bytes]:
    """Two cycles (see the module table)."""
    intro, call, output, answer = _items(s)
    out: list[dict[str, Any]] = []

    def cycle(rid: str, text_item: dict[str, Any], call_item: dict[str, Any] | None,
              usage: dict[str, int]) -> None:  # fmt: skip
        out.append({"type": "response.created", "response": {**_response(s, [], None), "id": rid,
                                                             "status": None}})  # fmt: skip
        added = {
            "id": "item_0",
            "type": "message",
            "role": "assistant",
            "content": [],
            "status": "in_progress",
        }  # one id for both cycles' messages, as in the fixture
        out.append({"type": "response.output_item.added", "output_index": 0, "item": added})
        for piece in _pieces(text_item["content"][0]["text"], size):
            out.append(
                {
                    "type": "response.output_text.delta",
                    "output_index": 0,
                    "item_id": text_item["id"],
                    "content_index": 0,
                    "delta": piece,
                }
            )
        done = [text_item]
        if call_item is not None:
            out.append(
                {
                    "type": "response.output_item.added",
                    "output_index": 1,
                    "item": {**call_item, "arguments": ""},
                }
            )
            for piece in _pieces(call_item["arguments"], size):
                out.append(
                    {
                        "type": "response.function_call_arguments.delta",
                        "output_index": 1,
                        "item_id": call_item["id"],
                        "delta": piece,
                    }
                )
            out.append({"type": "response.output_item.done", "output_index": 1, "item": call_item})
            done.append(call_item)
        # the message's done event comes after the call's, as in the live fixture
        out.append({"type": "response.output_item.done", "output_index": 0, "item": text_item})
        final = {**_response(s, done, _responses_usage(usage)), "id": rid, "status": None}
        out.append({"type": "response.completed", "response": final})  # fmt: skip

    cycle(f"{s.rid}_1", intro, call, s.usage[0])
    out.append(output)  # the tool ran inside the agent: a bare item event
    cycle(f"{s.rid}_2", answer, None, s.usage[1])
    out[-1]["custom_outputs"] = s.custom_outputs
    return [_data(e) for e in out]


def _items_agent_events(s: _Script, size: int) -> list[bytes]:
    """MLflow helper style: deltas by item_id, output_item.done, no terminal event."""
    out: list[bytes] = []
    for n, item in enumerate(_items(s)):
        last = n == 3
        if item["type"] == "message":
            for piece in _pieces(item["content"][0]["text"], size):
                out.append(_data({"type": "response.output_text.delta", "item_id": item["id"],
                                  "delta": piece}))  # fmt: skip
        event: dict[str, Any] = {"type": "response.output_item.done", "item": item}
        if last:
            event["custom_outputs"] = s.custom_outputs
        out.append(_data(event))
    return out


def _check_responses_request(body: dict[str, Any]) -> None:
    from core.emulator.server import HTTPError

    if not isinstance(body.get("input"), list):
        extra = sorted(k for k in body if k not in ("input", "stream"))
        # MLflow schema enforcement (wording not confirmed)
        raise HTTPError(
            400,
            "Model is missing inputs ['input']."
            + (f" Note that there were extra inputs: {extra}" if extra else ""),
        )


# -- ChatAgent -------------------------------------------------------------------------------------
def _check_chat_agent_request(body: dict[str, Any]) -> None:
    from core.emulator.server import HTTPError

    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise HTTPError(400, "Model is missing inputs ['messages'].")
    if "tools" in body or "input" in body:
        bad = sorted(k for k in body if k in ("tools", "input"))
        raise HTTPError(400, f"Invalid input. Unexpected fields for a ChatAgent request: {bad}")
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise HTTPError(400, "Each message needs a 'role'.")
        if m.get("content") is None and m.get("tool_calls") is None:
            raise HTTPError(400, "Either 'content' or 'tool_calls' must be provided.")
        if m.get("content") is not None and not isinstance(m["content"], str):
            raise HTTPError(400, "Input should be a valid string (messages[].content)")
        if m["role"] == "tool" and (not m.get("name") or not m.get("tool_call_id")):
            raise HTTPError(
                400, "Both 'name' and 'tool_call_id' must be provided for tool messages."
            )


def _chat_agent_messages(s: _Script) -> list[dict[str, Any]]:
    call = {"id": s.call_id, "type": "function",
            "function": {"name": "lookup", "arguments": s.arguments}}  # fmt: skip
    return [
        {"role": "assistant", "content": s.intro, "id": f"msg_a_{s.rid}"},
        {"role": "assistant", "content": "", "id": f"msg_c_{s.rid}", "tool_calls": [call]},
        {
            "role": "tool",
            "content": s.result,
            "name": "lookup",
            "tool_call_id": s.call_id,
            "id": f"tool_{s.rid}",
        },  # fmt: skip
        {"role": "assistant", "content": s.answer, "id": f"msg_b_{s.rid}"},
    ]


def _chat_usage(s: _Script) -> dict[str, int]:
    p = sum(u["input"] for u in s.usage)
    c = sum(u["output"] for u in s.usage)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _chat_agent_chunks(s: _Script, size: int) -> list[bytes]:
    out: list[dict[str, Any]] = []
    for msg in _chat_agent_messages(s):
        for n, piece in enumerate(_pieces(msg.get("content") or "", size)):
            delta = {"role": msg["role"], "content": piece, "id": msg["id"]}
            if n == 0:
                delta.update({k: v for k, v in msg.items() if k not in ("role", "content", "id")})
            out.append({"delta": delta})
    out[-1].update({"custom_outputs": s.custom_outputs, "usage": _chat_usage(s)})
    return [_data(c) for c in out]


# -- legacy ChatModel --------------------------------------------------------------------------------
def _chat_model_body(s: _Script) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{s.rid}",
        "object": "chat.completion",
        "model": "my-legacy-agent",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": s.answer, "custom_outputs": s.custom_outputs}}],
        "usage": _chat_usage(s),
        "custom_outputs": s.custom_outputs,
    }  # fmt: skip


def _chat_model_chunks(s: _Script, size: int) -> list[bytes]:
    head = {
        "id": f"chatcmpl-{s.rid}",
        "object": "chat.completion.chunk",
        "model": "my-legacy-agent",
    }
    out = [
        _data({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}}]})
        for piece in _pieces(s.answer, size)
    ]
    out.append(_data({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                      "usage": _chat_usage(s), "custom_outputs": s.custom_outputs}))  # fmt: skip
    return out  # no [DONE]: the finish reason ends it


# -- the endpoints -----------------------------------------------------------------------------------
Stream = Callable[[_Script, int], list[bytes]]
Whole = Callable[[_Script], dict[str, Any]]

# name -> (task, streamed events or None for "one JSON body", whole answer)
SCRIPTED: dict[str, tuple[str, Stream | None, Whole]] = {
    "my-tool-agent": (RESPONSES, _tool_agent_events, _whole_response),
    "my-items-agent": (RESPONSES, _items_agent_events, _whole_response),
    "my-json-agent": (RESPONSES, None, _whole_response),
    "my-chat-agent": (
        CHAT_AGENT,
        _chat_agent_chunks,
        lambda s: {
            "messages": _chat_agent_messages(s),
            "custom_outputs": s.custom_outputs,
            "usage": _chat_usage(s),
        },  # fmt: skip
    ),
    "my-legacy-agent": (CHAT_MODEL, _chat_model_chunks, _chat_model_body),
}


async def invoke(
    app: EmulatorApp, request: web.Request, name: str, *, oauth_only: bool = False
) -> web.StreamResponse:
    """One request to a scripted agent (auth, faults and recording as every route has them)."""
    _, parsed = await app._record(request)
    fault, early = await app._guard(request, name, oauth_only=oauth_only)
    if early is not None:
        return early
    body = app._json_body(parsed)
    task, stream_events, whole = SCRIPTED[base_model_name(name)]
    if task == RESPONSES:
        _check_responses_request(body)
        question = _last_user_text(body["input"])
    else:
        if task == CHAT_AGENT:
            _check_chat_agent_request(body)
        elif not isinstance(body.get("messages"), list):
            from core.emulator.server import HTTPError

            raise HTTPError(400, "Model is missing inputs ['messages'].")
        question = _last_user_text(body["messages"])
    script = _Script(app, name, body, question)
    if not body.get("stream") or stream_events is None:
        if fault is not None:
            return await app._non_stream_fault(request, fault)
        return web.Response(body=_dumps(whole(script)), content_type="application/json")
    size, delay, _ = app._stream_opts(request)
    return await app._send_sse(request, stream_events(script, size), fault, delay)


def register(app: EmulatorApp) -> None:
    """Routes only agents have: an app serving a non-Responses schema answers at MLflow's
    AgentServer path ``/invocations``."""

    async def app_invocations(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if base_model_name(name) not in SCRIPTED:
            from core.emulator.server import HTTPError

            raise HTTPError(404, f"No API found for 'POST {request.path}'", "ENDPOINT_NOT_FOUND")
        return await invoke(app, request, name, oauth_only=True)

    app.app.router.add_post("/apps-proxy/{name}/invocations", app_invocations)
