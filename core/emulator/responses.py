"""The Responses surface: /serving-endpoints/responses, the AI Gateway's Responses routes and
Databricks Apps (/apps-proxy/{name}/responses): items, encrypted reasoning, the event stream."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from core.emulator import agents
from core.emulator.checks import _FUNCTION_NAME, RequestChecks, _tool_choice
from core.emulator.endpoints import served_model
from core.emulator.model import (
    GenRequest,
    Plan,
    ToolSpec,
    Turn,
    base_model_name,
    classify,
    decrypt_reasoning,
    encrypt_reasoning,
    generate,
)
from core.emulator.plumbing import Fault, HTTPError, _dumps, _now, _pieces

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorApp


class ResponsesSurface(RequestChecks):
    """Responses requests, answers and streams (also used by open_responses.py and agents)."""

    async def responses(self, request: web.Request) -> web.StreamResponse:
        fault, early, body, model = await self.model_body(request)
        if early is not None:
            return early
        served = served_model(self._endpoints(), base_model_name(model)) or model
        if classify(served) not in ("gpt", "gpt-oss"):
            raise HTTPError(
                400,
                f"The Responses API is only available for OpenAI models; {base_model_name(model)!r} "
                "is not one. Use chat completions instead.",
            )
        return await self._responses_like(request, body, model, fault, agent=False)

    async def app_responses(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if base_model_name(name) in agents.SCRIPTED:
            return await agents.invoke(cast("EmulatorApp", self), request, name, oauth_only=True)
        _, parsed = await self._record(request)
        fault, early = await self._guard(request, f"apps/{name}", oauth_only=True)
        if early is not None:
            return early
        if "forbidden" in name:
            raise HTTPError(403, f"User does not have CAN_USE permission on app {name!r}.")
        if "no-responses" in name or "noresponses" in name:
            return web.Response(status=404, text="404: Not Found", content_type="text/plain")
        body = self._json_body(parsed)
        return await self._responses_like(request, body, name, fault, agent=True)

    def _responses_request(
        self, body: dict[str, Any], model: str, *, agent: bool
    ) -> tuple[GenRequest, dict[str, Any]]:
        base = base_model_name(model).lower()
        pay_per_token = base.startswith(("databricks-", "system.ai."))
        for key in ("background", "store", "previous_response_id", "service_tier"):
            if body.get(key) is not None and not agent and pay_per_token:
                raise HTTPError(
                    400,
                    f"Parameter '{key}' is not supported for pay-per-token Responses endpoints.",
                )
        family = "gpt" if agent and classify(model) == "unknown" else classify(model)
        key_ = self.state.options.signing_key
        raw_input = body.get("input")
        media: dict[str, int] = {}
        turns: list[Turn] = []
        if isinstance(body.get("instructions"), str):
            turns.append(Turn("system", body["instructions"]))
        if isinstance(raw_input, str):
            turns.append(Turn("user", raw_input))
        elif isinstance(raw_input, list):
            call_ids: set[str] = set()
            for i, item in enumerate(raw_input):
                if not isinstance(item, dict):
                    raise HTTPError(400, f"input[{i}] must be an object.")
                for idk in ("id", "call_id"):
                    v = item.get(idk)
                    if isinstance(v, str) and len(v) > 64:
                        raise HTTPError(
                            400,
                            f"Invalid 'input[{i}].{idk}': string too long. Expected a string "
                            f"with maximum length 64, but got a string with length {len(v)} instead.",
                        )
                kind = item.get("type") or ("message" if "role" in item else None)
                if kind == "message":
                    role = item.get("role")
                    if role not in ("user", "assistant", "system", "developer"):
                        raise HTTPError(400, f"input[{i}]: invalid role {role!r}.")
                    text, _ = self._content_text(
                        item.get("content"),
                        str(role),
                        "unknown" if agent else family,  # agents: any media, their business
                        i,
                        model,
                        media,
                    )
                    turns.append(Turn(str(role), text))
                elif kind in ("function_call", "custom_tool_call"):
                    cid = item.get("call_id")
                    if not cid or not item.get("name"):
                        raise HTTPError(400, f"input[{i}]: call_id and name are required.")
                    call_ids.add(cid)
                    args = item.get("arguments") if kind == "function_call" else item.get("input")
                    call = {"id": cid, "name": item["name"], "arguments": args or ""}
                    if turns and turns[-1].role == "assistant":
                        turns[-1].tool_calls.append(call)
                    else:
                        turns.append(Turn("assistant", "", [call]))
                elif kind in ("function_call_output", "custom_tool_call_output"):
                    cid = item.get("call_id")
                    if cid not in call_ids:
                        raise HTTPError(
                            400, f"No tool call found for function call output with call_id {cid}."
                        )
                    out = item.get("output")
                    turns.append(
                        Turn(
                            "tool",
                            out if isinstance(out, str) else json.dumps(out),
                            tool_call_id=cid,
                        )
                    )
                elif kind == "reasoning":
                    self._check_reasoning_item(item, i, key_)
                elif kind is None:
                    raise HTTPError(400, f"input[{i}]: missing 'type'.")
                # other item types (built-in tool calls/results) are accepted and ignored
        else:
            raise HTTPError(400, "'input' must be a string or a list of items.")

        tools: list[ToolSpec] = []
        for tool in body.get("tools") or []:
            if not isinstance(tool, dict):
                raise HTTPError(400, "tools must be objects.")
            ttype = tool.get("type")
            if ttype in ("function", "custom"):
                name = tool.get("name")
                if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
                    raise HTTPError(400, f"Invalid tool name {name!r}.")
                tools.append(
                    ToolSpec(
                        name, str(tool.get("description") or ""), tool.get("parameters"), ttype
                    )
                )
        tc = body.get("tool_choice")
        if isinstance(tc, dict) and tc.get("type") in ("function", "custom"):
            tc = {"type": "function", "function": {"name": tc.get("name")}}
        tool_choice = _tool_choice(tc, tools)

        reasoning_cfg: dict[str, Any] = (
            body["reasoning"] if isinstance(body.get("reasoning"), dict) else {}
        )
        effort = reasoning_cfg.get("effort")
        reasoning = family == "gpt-oss" or (
            family == "gpt" and effort not in (None, "none") and not agent
        )
        fmt = (
            ((body.get("text") or {}).get("format") or {})
            if isinstance(body.get("text"), dict)
            else {}
        )
        json_mode, schema = None, None
        if fmt.get("type") in ("json_object", "json_schema"):
            json_mode = fmt["type"]
            schema = fmt.get("schema") if json_mode == "json_schema" else None
        max_tokens = body.get("max_output_tokens")
        req = GenRequest(
            model=base_model_name(model),
            family=family,
            turns=turns,
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=body.get("parallel_tool_calls") is not False,
            json_mode=json_mode,
            json_schema=schema,
            reasoning=reasoning,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            signing_key=key_,
        )
        extra: dict[str, Any] = {}
        if agent:
            custom_inputs = body.get("custom_inputs")
            ctx: dict[str, Any] = body["context"] if isinstance(body.get("context"), dict) else {}
            outputs = dict(custom_inputs) if isinstance(custom_inputs, dict) else {}
            outputs["agent"] = base_model_name(model)
            if ctx.get("conversation_id"):
                outputs["conversation_id"] = ctx["conversation_id"]
            if ctx.get("user_id"):
                outputs["user_id"] = ctx["user_id"]
            extra["custom_outputs"] = outputs
        return req, extra

    def _check_reasoning_item(self, item: dict[str, Any], i: int, key: bytes) -> None:
        # summary entries, or raw reasoning text (Open Responses "content" entries)
        entries = [*(item.get("summary") or []), *(item.get("content") or [])]
        text = "".join(
            str(s.get("text") or "")
            for s in entries
            if isinstance(s, dict) and s.get("type") in ("summary_text", "reasoning_text")
        )
        enc = item.get("encrypted_content")
        if enc is None:
            if text:
                raise HTTPError(
                    400,
                    f"input[{i}]: reasoning item has text but no encrypted_content; send "
                    "reasoning items back unmodified or omit them.",
                )
            return
        plain = decrypt_reasoning(enc, key)
        if plain is None:
            raise HTTPError(
                400, f"input[{i}]: the encrypted content of the reasoning item is invalid."
            )
        if text and text != plain:
            raise HTTPError(
                400,
                f"input[{i}]: reasoning text does not match its encrypted_content (modified).",
            )

    async def _responses_like(
        self,
        request: web.Request,
        body: dict[str, Any],
        model: str,
        fault: Fault | None,
        *,
        agent: bool,
    ) -> web.StreamResponse:
        req, extra = self._responses_request(body, model, agent=agent)
        plan = generate(req)
        rid = self.state.next_id("resp_")
        name = base_model_name(model)
        items = self._response_items(rid, plan)
        full = self._response_body(rid, name, plan, items, extra, body)
        return await self.send_response(request, body, full, items, plan, fault)

    async def send_response(
        self,
        request: web.Request,
        body: dict[str, Any],
        full: dict[str, Any],
        items: list[dict[str, Any]],
        plan: Plan,
        fault: Fault | None,
    ) -> web.StreamResponse:
        """A Responses object whole, or as its stream of events when the request asked."""
        if not body.get("stream"):
            if fault is not None:
                return await self._non_stream_fault(request, fault)
            return web.Response(body=_dumps(full), content_type="application/json")
        size, delay, _ = self._stream_opts(request)
        events = self._response_events(full, items, plan, size)
        return await self._send_sse(request, events, fault, delay, responses=True)

    def _response_items(self, rid: str, plan: Plan) -> list[dict[str, Any]]:
        key = self.state.options.signing_key
        items: list[dict[str, Any]] = []
        suffix = rid[5:]
        if plan.reasoning is not None:
            items.append(
                {
                    "type": "reasoning",
                    "id": f"rs_{suffix}",
                    "summary": [{"type": "summary_text", "text": plan.reasoning}],
                    "encrypted_content": encrypt_reasoning(plan.reasoning, key),
                }
            )
        if plan.text or not plan.tool_calls:
            items.append(
                {
                    "type": "message",
                    "id": f"msg_{suffix}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": plan.text, "annotations": []}],
                }
            )
        for i, call in enumerate(plan.tool_calls):
            if call.kind == "custom":
                items.append(
                    {
                        "type": "custom_tool_call",
                        "id": f"ctc_{suffix}_{i}",
                        "call_id": call.id,
                        "name": call.name,
                        "input": call.arguments,
                        "status": "completed",
                    }
                )
            else:
                items.append(
                    {
                        "type": "function_call",
                        "id": f"fc_{suffix}_{i}",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": call.arguments,
                        "status": "completed",
                    }
                )
        return items

    def _response_body(
        self,
        rid: str,
        model: str,
        plan: Plan,
        items: list[dict[str, Any]],
        extra: dict[str, Any],
        body: dict[str, Any],
    ) -> dict[str, Any]:
        usage = {
            "input_tokens": plan.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": plan.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            "total_tokens": plan.total_tokens,
        }
        out: dict[str, Any] = {
            "id": rid,
            "object": "response",
            "created_at": _now(),
            "status": "incomplete" if plan.finish_reason == "length" else "completed",
            "model": model,
            "output": items,
            "usage": usage,
        }
        if plan.finish_reason == "length":
            out["incomplete_details"] = {"reason": "max_output_tokens"}
        if body.get("metadata") is not None:
            out["metadata"] = body["metadata"]
        out.update(extra)
        return out

    def _response_events(
        self, full: dict[str, Any], items: list[dict[str, Any]], plan: Plan, size: int
    ) -> list[bytes]:
        seq = itertools.count()
        out: list[bytes] = []

        def ev(kind: str, **data: Any) -> None:
            payload = {"type": kind, "sequence_number": next(seq), **data}
            out.append(b"event: " + kind.encode() + b"\ndata: " + _dumps(payload) + b"\n\n")

        head = {k: v for k, v in full.items() if k not in ("usage", "custom_outputs")}
        ev("response.created", response={**head, "status": "in_progress", "output": []})
        for oi, item in enumerate(items):
            kind = item["type"]
            iid = item["id"]
            if kind == "reasoning":
                # raw reasoning (Open Responses "content") streams as reasoning_text events
                raw = "content" in item
                empty: dict[str, list[Any]] = {"summary": []}
                if raw:
                    empty["content"] = []
                ev("response.output_item.added", output_index=oi, item={**item, **empty})
                text = (item["content"] if raw else item["summary"])[0]["text"]
                kind_, where = (
                    ("reasoning_text", {"content_index": 0})
                    if raw
                    else ("reasoning_summary_text", {"summary_index": 0})
                )
                for piece in _pieces(text, size):
                    ev(f"response.{kind_}.delta", item_id=iid, output_index=oi, **where, delta=piece)
                ev(f"response.{kind_}.done", item_id=iid, output_index=oi, **where, text=text)
            elif kind == "message":
                ev(
                    "response.output_item.added",
                    output_index=oi,
                    item={**item, "status": "in_progress", "content": []},
                )
                part = {"type": "output_text", "text": "", "annotations": []}
                ev(
                    "response.content_part.added",
                    item_id=iid,
                    output_index=oi,
                    content_index=0,
                    part=part,
                )
                text = item["content"][0]["text"]
                for piece in _pieces(text, size):
                    ev(
                        "response.output_text.delta",
                        item_id=iid,
                        output_index=oi,
                        content_index=0,
                        delta=piece,
                    )
                ev(
                    "response.output_text.done",
                    item_id=iid,
                    output_index=oi,
                    content_index=0,
                    text=text,
                )
                ev(
                    "response.content_part.done",
                    item_id=iid,
                    output_index=oi,
                    content_index=0,
                    part=item["content"][0],
                )
            elif kind == "function_call":
                ev(
                    "response.output_item.added",
                    output_index=oi,
                    item={**item, "arguments": "", "status": "in_progress"},
                )
                for piece in _pieces(item["arguments"], size):
                    ev(
                        "response.function_call_arguments.delta",
                        item_id=iid,
                        output_index=oi,
                        delta=piece,
                    )
                ev(
                    "response.function_call_arguments.done",
                    item_id=iid,
                    output_index=oi,
                    arguments=item["arguments"],
                )
            elif kind == "custom_tool_call":
                ev("response.output_item.added", output_index=oi, item={**item, "input": ""})
                for piece in _pieces(item["input"], size):
                    ev(
                        "response.custom_tool_call_input.delta",
                        item_id=iid,
                        output_index=oi,
                        delta=piece,
                    )
            ev("response.output_item.done", output_index=oi, item=item)
        done_kind = (
            "response.incomplete" if full["status"] == "incomplete" else "response.completed"
        )
        extra = {"custom_outputs": full["custom_outputs"]} if "custom_outputs" in full else {}
        ev(done_kind, response=full, **extra)
        return out
