"""The chat completions surface: /serving-endpoints/chat/completions, the AI Gateway's chat
routes and /serving-endpoints/{name}/invocations (which also answers embeddings, scripted agents
and Responses-shaped agent input), whole answers and streams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from core.emulator import agents, embeddings
from core.emulator.checks import _FUNCTION_NAME, _tool_choice
from core.emulator.endpoints import served_model
from core.emulator.model import (
    GenRequest,
    Plan,
    ToolSpec,
    Turn,
    base_model_name,
    classify,
    generate,
)
from core.emulator.plumbing import MAX_PAYLOAD, Fault, HTTPError, _dumps, _now, _pieces
from core.emulator.proxy import ProxySurface
from core.emulator.responses import ResponsesSurface
from core.emulator.rules import RuleError, check_chat_rules, hides_adaptive_thinking

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorApp


class ChatSurface(ResponsesSurface, ProxySurface):
    """Chat completions; agent endpoints given Responses input answer as Responses."""

    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._chat_like(request, None)

    async def invocations(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if embeddings.is_embedding_endpoint(name):
            return await embeddings.handle(cast("EmulatorApp", self), request, path_model=name)
        if base_model_name(name) in agents.SCRIPTED:  # scripted agents of each schema
            return await agents.invoke(cast("EmulatorApp", self), request, name)
        return await self._chat_like(request, name)

    async def _chat_like(self, request: web.Request, path_model: str | None) -> web.StreamResponse:
        raw, parsed = await self._record(request)
        body_model = parsed.get("model") if isinstance(parsed, dict) else None
        model = path_model or body_model
        fault, early = await self._guard(request, model if isinstance(model, str) else None)
        if early is not None:
            return early
        if self.state.options.check_modalities and len(raw) > MAX_PAYLOAD:
            raise HTTPError(
                400, f"Request payload of {len(raw)} bytes exceeds the 10 MB limit."
            )
        body = self._json_body(parsed)
        if path_model is None and not isinstance(body.get("model"), str):
            raise HTTPError(400, "Missing required field 'model'.", "INVALID_PARAMETER_VALUE")
        assert isinstance(model, str)
        self._check_model_exists(model)
        if "input" in body and "messages" not in body:
            if path_model is None:
                raise HTTPError(400, "Chat completions need 'messages'.")
            return await self._responses_like(request, body, model, fault, agent=True)
        if fault is not None and not body.get("stream"):
            return await self._non_stream_fault(request, fault)
        if self.state.options.upstream:
            return await self._proxy(request, body, model, fault)
        return await self._chat(request, body, model, fault)

    def _chat_request(self, body: dict[str, Any], model: str) -> GenRequest:
        # an endpoint whose name says nothing behaves like the model it serves
        served = served_model(self._endpoints(), base_model_name(model)) or model
        family = classify(served)
        opts = self.state.options
        if opts.check_model_rules:
            try:
                check_chat_rules(body, served, family)
            except RuleError as exc:
                raise HTTPError(exc.status, exc.message, exc.code) from None
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise HTTPError(400, "'messages' must be a non-empty list.")
        for key in ("presence_penalty", "frequency_penalty", "seed"):
            if body.get(key) is not None:
                raise HTTPError(400, f"Parameter '{key}' is not supported by this endpoint.")
        if "codex" in base_model_name(served).lower():
            raise HTTPError(400, f"Model {model} only supports the Responses API.")
        if family == "gemini" and "stream_options" in body:
            raise HTTPError(400, 'Invalid JSON payload received. Unknown name "stream_options".')

        tools: list[ToolSpec] = []
        for tool in body.get("tools") or []:
            fn = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise HTTPError(
                    400, "Each tool needs {'type': 'function', 'function': {'name': ...}}."
                )
            if not _FUNCTION_NAME.match(fn["name"]):
                raise HTTPError(
                    400, f"Invalid function name {fn['name']!r}: must match ^[a-zA-Z0-9_-]+$."
                )
            if fn.get("strict") and family not in ("gpt", "gpt-oss"):
                raise HTTPError(400, "'strict' is not supported in tool schemas for this model.")
            tools.append(
                ToolSpec(fn["name"], str(fn.get("description") or ""), fn.get("parameters"))
            )
        tool_choice = _tool_choice(body.get("tool_choice"), tools)

        turns: list[Turn] = []
        cached = 0
        call_ids: set[str] = set()
        media: dict[str, int] = {}
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict) or msg.get("role") not in (
                "system", "developer", "user", "assistant", "tool",
            ):  # fmt: skip
                raise HTTPError(400, f"messages[{i}] has no valid role.")
            role = msg["role"]
            content = msg.get("content")
            text, blocks_cached = self._content_text(content, role, family, i, model, media)
            cached += blocks_cached
            turn = Turn(role, text)
            if role == "assistant":
                calls = msg.get("tool_calls") or []
                empty_text = content == "" or (
                    isinstance(content, list)
                    and any(
                        isinstance(b, dict) and b.get("type") == "text" and not b.get("text")
                        for b in content
                    )
                )
                if calls and family == "claude" and empty_text:
                    raise HTTPError(
                        400,
                        f"messages[{i}]: text content blocks must be non-empty "
                        "(an assistant message with tool_calls has empty text content).",
                    )
                for call in calls:
                    fn = call.get("function") or {}
                    if not call.get("id") or not fn.get("name"):
                        raise HTTPError(
                            400, f"messages[{i}].tool_calls: id and function.name are required."
                        )
                    call_ids.add(call["id"])
                    turn.tool_calls.append(
                        {
                            "id": call["id"],
                            "name": fn["name"],
                            "arguments": fn.get("arguments") or "",
                        }
                    )
            elif role == "tool":
                tcid = msg.get("tool_call_id")
                if not tcid:
                    raise HTTPError(400, f"messages[{i}]: tool messages need 'tool_call_id'.")
                if tcid not in call_ids:
                    raise HTTPError(
                        400,
                        f"messages[{i}]: tool_call_id {tcid!r} does not match any tool call "
                        "in a previous assistant message.",
                    )
                turn.tool_call_id = tcid
            turns.append(turn)

        reasoning, signed, thought, hidden = False, False, False, False
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise HTTPError(400, "'max_tokens' must be a positive integer.")
        effort = body.get("reasoning_effort")
        if family == "claude":
            thinking = body.get("thinking")
            if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
                if thinking.get("type") == "enabled":
                    budget = thinking.get("budget_tokens")
                    if not isinstance(budget, int) or budget < 1024:
                        raise HTTPError(400, "thinking.budget_tokens: must be >= 1024.")
                    if max_tokens is not None and budget >= max_tokens:
                        raise HTTPError(
                            400, "max_tokens must be greater than thinking.budget_tokens."
                        )
                reasoning, signed = True, True
                hidden = opts.check_model_rules and hides_adaptive_thinking(served, thinking)
        elif family == "gpt-oss":
            reasoning = True
        elif family == "gemini":
            thought = effort is not None and effort != "none"
        elif family == "gpt":
            reasoning = effort is not None and effort != "none"

        rf = body.get("response_format")
        json_mode, schema = None, None
        if isinstance(rf, dict) and rf.get("type") in ("json_object", "json_schema"):
            json_mode = rf["type"]
            if json_mode == "json_schema":
                js = rf.get("json_schema") or {}
                schema = js.get("schema") if isinstance(js, dict) else None
                if not isinstance(schema, dict):
                    raise HTTPError(400, "response_format.json_schema.schema is required.")
        stop = body.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        return GenRequest(
            model=base_model_name(model),
            family=family,
            turns=turns,
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=body.get("parallel_tool_calls") is not False,
            json_mode=json_mode,
            json_schema=schema,
            reasoning=reasoning,
            signed_reasoning=signed,
            hide_reasoning=hidden,
            thought_signature=thought,
            max_tokens=max_tokens,
            stop=list(stop or []),
            cached_words=cached,
            signing_key=opts.signing_key,
        )

    async def _chat(
        self, request: web.Request, body: dict[str, Any], model: str, fault: Fault | None
    ) -> web.StreamResponse:
        req = self._chat_request(body, model)
        plan = generate(req)
        n = body.get("n") or 1
        if not isinstance(n, int) or n < 1 or n > 8:
            raise HTTPError(400, "'n' must be an integer between 1 and 8.")
        rid = self.state.next_id("chatcmpl-")
        name = base_model_name(model)
        if not body.get("stream"):
            return web.Response(
                body=_dumps(self._chat_body(rid, name, req, plan, n, bool(body.get("logprobs")))),
                content_type="application/json",
            )
        size, delay, mode = self._stream_opts(request)
        so = body.get("stream_options")
        include_usage = not (isinstance(so, dict) and so.get("include_usage") is False)
        combined = self.state.options.combined_chunks or request.headers.get(
            "X-Emulator-Combined-Chunks", ""
        ).lower() in ("1", "true", "yes")
        events = self._chat_events(
            rid, name, req, plan, n, size, mode if include_usage else "none", combined
        )
        return await self._send_sse(request, events, fault, delay)

    def _finish(self, req: GenRequest, reason: str) -> str:
        if self.state.options.finish_reason_style == "anthropic" and req.family == "claude":
            return {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}[reason]
        return reason

    def _usage(self, plan: Plan, n: int, req: GenRequest) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": plan.prompt_tokens,
            "completion_tokens": plan.completion_tokens * n,
            "total_tokens": plan.prompt_tokens + plan.completion_tokens * n,
        }
        if plan.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": plan.reasoning_tokens * n}
        if plan.cached_tokens and req.family == "claude":
            usage["cache_read_input_tokens"] = plan.cached_tokens
            usage["cache_creation_input_tokens"] = 0
        return usage

    def _chat_body(
        self, rid: str, model: str, req: GenRequest, plan: Plan, n: int, logprobs: bool
    ) -> dict[str, Any]:
        content: Any
        if plan.reasoning is not None or plan.thought_signature:
            blocks: list[dict[str, Any]] = []
            if plan.reasoning is not None:
                item: dict[str, Any] = {"type": "summary_text", "text": plan.reasoning}
                if plan.signature is not None:
                    item["signature"] = plan.signature
                blocks.append({"type": "reasoning", "summary": [item]})
            if plan.text or not plan.tool_calls:
                tb: dict[str, Any] = {"type": "text", "text": plan.text}
                if plan.thought_signature:
                    tb["thoughtSignature"] = plan.thought_signature
                blocks.append(tb)
            content = blocks
        elif plan.tool_calls and not plan.text:
            content = None
        else:
            content = plan.text
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if plan.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in plan.tool_calls
            ]
        lp = None
        if logprobs:
            lp = {
                "content": [
                    {"token": w, "logprob": -0.01, "bytes": list(w.encode()), "top_logprobs": []}
                    for w in plan.text.split()
                ]
            }
        choices = [
            {
                "index": i,
                "message": message,
                "finish_reason": self._finish(req, plan.finish_reason),
                "logprobs": lp,
            }
            for i in range(n)
        ]
        return {
            "id": rid,
            "object": "chat.completion",
            "created": _now(),
            "model": model,
            "choices": choices,
            "usage": self._usage(plan, n, req),
        }

    def _chat_events(
        self,
        rid: str,
        model: str,
        req: GenRequest,
        plan: Plan,
        n: int,
        size: int,
        mode: str,
        combined: bool = False,
    ) -> list[bytes]:
        created = _now()
        chunks: list[dict[str, Any]] = []

        def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> None:
            chunks.append(
                {
                    "id": rid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
                }
            )

        for idx in range(n):
            chunk(idx, {"role": "assistant"})
            if plan.reasoning is not None:
                for piece in _pieces(plan.reasoning, size):
                    item: dict[str, Any] = {"type": "summary_text", "text": piece}
                    if plan.signature is not None:
                        item["signature"] = ""
                    chunk(idx, {"content": [{"type": "reasoning", "summary": [item]}]})
            pending: dict[str, Any] = {}
            if plan.reasoning is not None and plan.signature is not None:
                sig_item = {"type": "summary_text", "text": "", "signature": plan.signature}
                sig_delta = {"content": [{"type": "reasoning", "summary": [sig_item]}]}
                if combined and plan.tool_calls and not plan.text:
                    pending = sig_delta
                else:
                    chunk(idx, sig_delta)
            first = True
            for piece in _pieces(plan.text, size):
                if first and plan.thought_signature:
                    block = {
                        "type": "text",
                        "text": piece,
                        "thoughtSignature": plan.thought_signature,
                    }
                    chunk(idx, {"content": [block]})
                else:
                    chunk(idx, {"content": piece})
                first = False
            for ci, call in enumerate(plan.tool_calls):
                head = {
                    "index": ci,
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
                chunk(idx, {**pending, "tool_calls": [head]})
                pending = {}
                for piece in _pieces(call.arguments, size):
                    chunk(idx, {"tool_calls": [{"index": ci, "function": {"arguments": piece}}]})
            finish = self._finish(req, plan.finish_reason)
            last = chunks[-1]["choices"][0]
            if combined and last["delta"] and "role" not in last["delta"]:
                last["finish_reason"] = finish
            else:
                chunk(idx, {}, finish)

        usage = self._usage(plan, n, req)
        if mode == "separate":
            chunks.append(
                {
                    "id": rid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        elif mode == "every":
            total = len(chunks)
            for i, c in enumerate(chunks[:-1]):
                c["usage"] = {
                    "prompt_tokens": plan.prompt_tokens,
                    "completion_tokens": (usage["completion_tokens"] * i) // total or None,
                    "total_tokens": None,
                }
            chunks[-1]["usage"] = usage
        elif mode != "none":
            chunks[-1]["usage"] = usage
        out = [b"data: " + _dumps(c) + b"\n\n" for c in chunks]
        out.append(b"data: [DONE]\n\n")
        return out
