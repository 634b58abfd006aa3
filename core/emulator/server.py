"""The emulator's HTTP server: a real aiohttp application speaking the Databricks wire formats.

Independent of the project's client code on purpose (it must not share the client's bugs): it
parses and renders the JSON itself, from the rules in the wire-format notes.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from core.emulator import agents, embeddings
from core.emulator.endpoints import default_endpoints, served_model
from core.emulator.model import (
    DEFAULT_SIGNING_KEY,
    GenRequest,
    Plan,
    ToolSpec,
    Turn,
    base_model_name,
    classify,
    decrypt_reasoning,
    encrypt_reasoning,
    generate,
    sign,
    thought_signature,
    words,
)
from core.emulator.rules import RuleError, check_chat_rules, hides_adaptive_thinking

try:  # orjson is optional; it makes the load-server path cheaper
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


FAULT_HEADER = "X-Emulator-Fault"
MAX_PAYLOAD = 10 * 1024 * 1024
STREAM_FAULTS = ("disconnect", "malformed", "error_event")
FAULT_NAMES = ("429", "500", "502", "503", "504", "slow", *STREAM_FAULTS)
_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_CONFLICT",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}



# ---------------------------------------------------------------------------------------------
# Options and recorded requests
# ---------------------------------------------------------------------------------------------
@dataclass
class EmulatorOptions:
    """Everything configurable. Mutable at runtime: handlers read it on every request."""

    host: str = "127.0.0.1"
    port: int = 0
    token: str = ""  # PAT accepted as bearer; generated when empty
    client_id: str = "emulator-client-id"
    client_secret: str = ""  # generated when empty
    token_lifetime: float = 3600.0  # seconds, OAuth tokens from /oidc/v1/token
    chunk_size: int = 16  # characters per streamed text/arguments delta
    chunk_delay: float = 0.0  # seconds between streamed events
    usage_mode: str = "final"  # "final" | "separate" (choices: []) | "every" (cumulative)
    retry_after: float = 1.0  # Retry-After for 429/503 faults
    slow_seconds: float = 2.0  # delay before the first byte for the "slow" fault
    fault_after: int = 2  # events sent before a stream fault strikes
    fault: str | None = None  # a fault applied to every request (same syntax as the header)
    record_requests: bool = True
    endpoints: list[dict[str, Any]] | None = None  # override GET /api/2.0/serving-endpoints
    upstream: str | None = None  # proxy mode: OpenAI-compatible base URL (…/v1)
    upstream_api_key: str | None = None
    upstream_model: str | None = None  # replaces the model field when forwarding
    signing_key: bytes = DEFAULT_SIGNING_KEY
    finish_reason_style: str = "openai"  # "openai" | "anthropic" (Claude: end_turn/tool_use)
    # Streams pack more into one chunk: the reasoning signature rides with the first tool-call
    # delta, and finish_reason with the last content delta (header X-Emulator-Combined-Chunks: 1).
    combined_chunks: bool = False
    # Refuse media a model cannot take (images to text-only models, audio/video to non-Gemini,
    # more images than the family allows) and bodies over 10 MB, like the real endpoints.
    check_modalities: bool = True
    # Serve HTTPS with this ssl.SSLContext (tests of TLS verification and CONNECT proxies).
    ssl_context: Any = None
    # Refuse what the service refuses per model (core/emulator/rules.py): sampling parameters and
    # budget thinking on Claude Opus 4.7+, several tool calls in one GPT OSS turn, "" arguments
    # to Claude...; and hide adaptive thinking text on Opus 4.7+ unless display is summarized.
    check_model_rules: bool = True
    # Model calls per second per endpoint, 429 + Retry-After beyond (core/emulator/ratelimit.py);
    # burst: tokens the bucket holds (default one second's worth); latency: seconds per call.
    rate_limit: float | None = None
    rate_burst: float | None = None
    latency: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    json: Any
    body: bytes = b""
    time: float = field(default_factory=time.time)


class EmulatorState:
    def __init__(self, options: EmulatorOptions) -> None:
        if not options.token:
            options.token = "dapi" + secrets.token_hex(16)
        if not options.client_secret:
            options.client_secret = "dose" + secrets.token_hex(16)
        self.options = options
        self.requests: list[RecordedRequest] = []
        self.oauth_tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self.token_requests = 0
        self.fault_counts: dict[str, int] = {}
        self.base_url = ""
        self._ids = itertools.count(1)
        self.lock = threading.Lock()

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}{secrets.token_hex(4)}"


class HTTPError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _ERROR_CODES.get(status, "INTERNAL_ERROR")


@web.middleware
async def _databricks_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every route's HTTPError becomes a Databricks-format error body (one place, not per route)."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except HTTPError as exc:
        return error_response(exc.status, exc.message, exc.code)


def error_response(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error_code": code or _ERROR_CODES.get(status, "INTERNAL_ERROR"), "message": message}
    return web.Response(
        body=_dumps(body), status=status, content_type="application/json", headers=headers
    )


def _now() -> int:
    return int(time.time())


def _pieces(text: str, size: int) -> Iterator[str]:
    size = max(1, size)
    for i in range(0, len(text), size):
        yield text[i : i + size]


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------
@dataclass
class Fault:
    name: str

    @property
    def status(self) -> int | None:
        return int(self.name) if self.name.isdigit() else None


def _parse_fault(spec: str) -> tuple[str, int | None]:
    spec = spec.strip()
    name, _, count = spec.partition(":")
    name = name.strip().lower().replace("-", "_")
    if name == "error":
        name = "error_event"
    if not (name.isdigit() or name in FAULT_NAMES):
        raise HTTPError(400, f"Unknown emulator fault {spec!r}; known: {', '.join(FAULT_NAMES)}")
    return name, int(count) if count.strip().isdigit() else None


# ---------------------------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------------------------
class EmulatorApp:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.session: Any = None  # aiohttp.ClientSession for proxy mode
        from core.emulator.ratelimit import RateLimit

        self.rate = RateLimit(self)
        app = web.Application(
            client_max_size=64 * 1024**2, middlewares=[_databricks_errors, self.rate.middleware]
        )
        r = app.router
        r.add_post("/ai-gateway/mlflow/v1/chat/completions", self.chat)
        r.add_post("/serving-endpoints/chat/completions", self.chat)
        r.add_post("/serving-endpoints/responses", self.responses)
        r.add_post("/ai-gateway/mlflow/v1/responses", self.responses)
        r.add_post("/ai-gateway/openai/v1/chat/completions", self.chat)  # gateway native API
        r.add_post("/ai-gateway/openai/v1/responses", self.responses)
        r.add_post("/serving-endpoints/{name}/invocations", self.invocations)
        r.add_get("/api/2.0/serving-endpoints", self.list_endpoints)
        r.add_get("/api/2.0/serving-endpoints/{name}", self.get_endpoint)
        r.add_get("/api/2.0/apps/{name}", self.get_app)
        r.add_post("/apps-proxy/{name}/responses", self.app_responses)
        r.add_post("/oidc/v1/token", self.oidc_token)
        r.add_get("/api/2.0/preview/scim/v2/Me", self.me)
        from core.emulator import gemini, open_responses  # surfaces in their own modules

        open_responses.register(self, r)
        gemini.register(self, r)
        app.on_cleanup.append(self._cleanup)
        self.app = app
        embeddings.register(self)
        agents.register(self)

    def add_catch_all(self) -> None:
        """Unknown paths get a Databricks-style JSON 404 (registered last, at start)."""
        if not self.app.frozen:
            self.app.router.add_route("*", "/{tail:.*}", self.not_found)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return error_response(
            404, f"No API found for '{request.method} {request.path}'", "ENDPOINT_NOT_FOUND"
        )

    async def _cleanup(self, _app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    # -- plumbing ------------------------------------------------------------------------------
    async def _record(self, request: web.Request) -> tuple[bytes, Any]:
        body = await request.read()
        parsed: Any = None
        if body:
            ctype = request.headers.get("Content-Type", "")
            if "json" in ctype or body[:1] in (b"{", b"["):
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
            elif "x-www-form-urlencoded" in ctype:
                parsed = dict(await request.post())
        if self.state.options.record_requests:
            self.state.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    dict(request.query),
                    CIMultiDict(request.headers),
                    parsed,
                    body,
                )
            )
        return body, parsed

    def _check_auth(self, request: web.Request, *, oauth_only: bool = False) -> None:
        header = request.headers.get("Authorization", "")
        if not header:
            raise HTTPError(
                401, "Credential was not sent or was of an unsupported type for this API."
            )
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPError(
                401, "Credential was not sent or was of an unsupported type for this API."
            )
        opts = self.state.options
        if token == opts.token:
            if oauth_only:
                raise HTTPError(
                    401,
                    "Databricks Apps accept OAuth tokens only; personal access tokens are not "
                    "supported. Use OAuth (service principal client id/secret or U2M login).",
                )
            return
        expiry = self.state.oauth_tokens.get(token)
        if expiry is None:
            raise HTTPError(401, "Invalid access token.")
        if time.time() >= expiry:
            raise HTTPError(401, "Token expired. Please obtain a new token.", "EXPIRED_TOKEN")

    def _fault(self, request: web.Request, model: str | None) -> Fault | None:
        spec = request.headers.get(FAULT_HEADER)
        if not spec and model and "+fault=" in model:
            spec = model.split("+fault=", 1)[1]
        if not spec:
            spec = self.state.options.fault
        if not spec:
            return None
        name, count = _parse_fault(spec)
        if count is not None:
            key = spec.strip()
            with self.state.lock:
                seen = self.state.fault_counts.get(key, 0) + 1
                self.state.fault_counts[key] = seen
            if seen > count:
                return None
        return Fault(name)

    def _fault_response(self, fault: Fault, model: str | None) -> web.Response | None:
        status = fault.status
        if status is None:
            return None
        opts = self.state.options
        ra = {"Retry-After": f"{opts.retry_after:g}"}
        if status == 429:
            return error_response(
                429,
                f"Exceeded workspace QPS rate limit for {model or 'this endpoint'}. "
                "Please retry after some time.",
                headers=ra,
            )
        if status == 502:
            return web.Response(
                status=502,
                text="<html><head><title>502 Bad Gateway</title></head>"
                "<body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        if status == 503:
            return error_response(503, "The service is temporarily unavailable.", headers=ra)
        if status == 504:
            return error_response(504, "The upstream request timed out.")
        if status == 500:
            return error_response(500, "Internal error while processing the request.")
        return error_response(status, f"Emulated error {status}.")

    async def _guard(
        self, request: web.Request, model: str | None, *, oauth_only: bool = False
    ) -> tuple[Fault | None, web.StreamResponse | None]:
        """Auth then faults: returns (stream fault, early response)."""
        self._check_auth(request, oauth_only=oauth_only)
        fault = self._fault(request, model)
        if fault is None:
            return None, None
        if fault.name == "slow":
            secs = request.headers.get("X-Emulator-Slow-Seconds")
            await asyncio.sleep(float(secs) if secs else self.state.options.slow_seconds)
            return None, None
        early = self._fault_response(fault, model)
        if early is not None:
            return None, early
        return fault, None

    def _json_body(self, parsed: Any) -> dict[str, Any]:
        if not isinstance(parsed, dict):
            raise HTTPError(400, "Request body must be a JSON object.")
        return parsed

    async def _non_stream_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.name == "disconnect":
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError()
        if fault.name == "malformed":
            return web.Response(
                body=b'{"id": "chatcmpl-broken", "choices": [', content_type="application/json"
            )
        # error_event outside a stream: a 200 carrying an error object, as some services do
        return web.Response(
            body=_dumps({"error": {"message": "Emulated error event.", "code": "INTERNAL_ERROR"}}),
            content_type="application/json",
        )

    def _stream_opts(self, request: web.Request) -> tuple[int, float, str]:
        o = self.state.options
        size = request.headers.get("X-Emulator-Chunk-Size")
        delay = request.headers.get("X-Emulator-Chunk-Delay")
        mode = request.headers.get("X-Emulator-Usage-Mode")
        return (
            int(size) if size else o.chunk_size,
            float(delay) if delay else o.chunk_delay,
            mode or o.usage_mode,
        )

    async def _send_sse(
        self,
        request: web.Request,
        events: list[bytes],
        fault: Fault | None,
        delay: float,
        *,
        responses: bool = False,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        try:
            await self._write_events(request, resp, events, fault, delay, responses)
        except ConnectionError:
            pass  # the client went away (normal after it read what it wanted)
        return resp

    async def _write_events(
        self,
        request: web.Request,
        resp: web.StreamResponse,
        events: list[bytes],
        fault: Fault | None,
        delay: float,
        responses: bool,
    ) -> None:
        if fault is not None:
            cut = min(self.state.options.fault_after, max(len(events) - 1, 0))
            head = events[:cut]
            if fault.name == "malformed":
                head.append(b'data: {"id": "chunk", "choices": [{"delta": {"content": "x\n\n')
                events = events[cut:]
            elif fault.name == "error_event":
                if responses:
                    err: dict[str, Any] = {
                        "type": "error",
                        "code": "server_error",
                        "message": "Emulated error event in the stream.",
                        "sequence_number": cut,
                    }
                    head.append(b"event: error\ndata: " + _dumps(err) + b"\n\n")
                else:
                    err = {
                        "error": {
                            "message": "Emulated error event in the stream.",
                            "code": "INTERNAL_ERROR",
                            "error_code": "INTERNAL_ERROR",
                        }
                    }
                    head.append(b"data: " + _dumps(err) + b"\n\n")
                events = []
            else:  # disconnect
                events = []
            for ev in head:
                await resp.write(ev)
                if delay:
                    await asyncio.sleep(delay)
            if fault.name == "disconnect":
                await asyncio.sleep(0)
                if request.transport is not None:
                    request.transport.close()
                return
        if delay:
            for i, ev in enumerate(events):
                if i:
                    await asyncio.sleep(delay)
                await resp.write(ev)
        elif events:
            await resp.write(b"".join(events))
        await resp.write_eof()

    # -- chat completions ----------------------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._chat_like(request, None)

    async def invocations(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if embeddings.is_embedding_endpoint(name):
            return await embeddings.handle(self, request, path_model=name)
        if base_model_name(name) in agents.SCRIPTED:  # scripted agents of each schema
            return await agents.invoke(self, request, name)
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

    def _check_model_exists(self, model: str) -> None:
        base = base_model_name(model).lower()
        if "does-not-exist" in base or "not-found" in base:
            raise HTTPError(
                404, f"Endpoint {base_model_name(model)!r} does not exist.", "ENDPOINT_NOT_FOUND"
            )

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

    def _check_media(
        self, kind: str, family: str, model: str, i: int, media: dict[str, int]
    ) -> None:
        if not self.state.options.check_modalities:
            return
        base = base_model_name(model).lower()
        name = base_model_name(model)
        if kind in ("audio_url", "video_url", "input_audio"):
            if family not in ("gemini", "unknown"):
                raise HTTPError(
                    400, f"messages[{i}]: model {name} does not support {kind.split('_')[0]} input."
                )
            return
        vision = family in ("claude", "gpt", "gemini", "gemma", "unknown") or (
            family == "llama" and "llama-4" in base
        )
        if not vision:
            raise HTTPError(
                400, f"messages[{i}]: model {name} does not support image or file input."
            )
        if kind in ("image_url", "input_image"):
            media["images"] = media.get("images", 0) + 1
            limit = (
                5 if family == "gemma" or "llama-4" in base else 500 if family == "gpt" else None
            )
            if limit is not None and media["images"] > limit:
                raise HTTPError(400, f"Too many images: model {name} accepts at most {limit}.")

    def _content_text(
        self,
        content: Any,
        role: str,
        family: str,
        i: int,
        model: str = "",
        media: dict[str, int] | None = None,
    ) -> tuple[str, int]:
        """Text of a chat message's content; checks reasoning blocks sent back in history."""
        if content is None or isinstance(content, str):
            return content or "", 0
        if not isinstance(content, list):
            raise HTTPError(400, f"messages[{i}].content must be a string or a list of blocks.")
        texts: list[str] = []
        cached = 0
        key = self.state.options.signing_key
        for block in content:
            if not isinstance(block, dict):
                raise HTTPError(400, f"messages[{i}].content blocks must be objects.")
            kind = block.get("type")
            if kind in ("text", "input_text", "output_text"):
                text = str(block.get("text") or "")
                texts.append(text)
                if block.get("cache_control"):
                    cached += words(text)
                ts = block.get("thoughtSignature")
                if ts is not None and ts != thought_signature(text, key):
                    raise HTTPError(
                        400,
                        f"messages[{i}]: thoughtSignature does not match the text block it was "
                        "returned with (the text was modified).",
                    )
            elif kind == "reasoning":
                if role != "assistant":
                    raise HTTPError(
                        400, f"messages[{i}]: reasoning blocks belong to assistant messages."
                    )
                for item in block.get("summary") or []:
                    if not isinstance(item, dict):
                        continue
                    if item.get("type") == "summary_text":
                        text = str(item.get("text") or "")
                        sig = item.get("signature")
                        if sig:
                            if sig != sign(text, key):
                                raise HTTPError(
                                    400,
                                    f"messages[{i}]: invalid signature in reasoning block: the "
                                    "reasoning text does not match its signature (was it modified?).",
                                )
                        elif text and family == "claude":
                            raise HTTPError(
                                400,
                                f"messages[{i}]: reasoning block has text but no signature. "
                                "Send earlier reasoning back unmodified with its signature, or "
                                "omit it entirely.",
                            )
            elif kind in (
                "image_url",
                "video_url",
                "audio_url",
                "input_audio",
                "input_image",
                "file",
                "input_file",
            ):
                self._check_media(kind, family, model, i, media if media is not None else {})
            else:
                raise HTTPError(400, f"messages[{i}]: unsupported content block type {kind!r}.")
        return "".join(texts), cached

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

    # -- Responses API ---------------------------------------------------------------------------
    async def model_body(
        self, request: web.Request
    ) -> tuple[Fault | None, web.StreamResponse | None, dict[str, Any], str]:
        """A request naming its model in the body: (stream fault, early answer, body, model)
        after recording, auth, faults and the model checks every such route makes."""
        _, parsed = await self._record(request)
        model = parsed.get("model") if isinstance(parsed, dict) else None
        fault, early = await self._guard(request, model if isinstance(model, str) else None)
        if early is not None:
            return fault, early, {}, ""
        body = self._json_body(parsed)
        if not isinstance(model, str):
            raise HTTPError(400, "Missing required field 'model'.", "INVALID_PARAMETER_VALUE")
        self._check_model_exists(model)
        return fault, None, body, model

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
            return await agents.invoke(self, request, name, oauth_only=True)
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

    # -- proxy mode ------------------------------------------------------------------------------
    async def _proxy(
        self, request: web.Request, body: dict[str, Any], model: str, fault: Fault | None
    ) -> web.StreamResponse:
        import aiohttp

        opts = self.state.options
        if self.session is None:
            self.session = aiohttp.ClientSession()
        upstream_body = dict(body)
        upstream_body["model"] = opts.upstream_model or base_model_name(model)
        headers = {"Content-Type": "application/json"}
        if opts.upstream_api_key:
            headers["Authorization"] = f"Bearer {opts.upstream_api_key}"
        url = opts.upstream.rstrip("/") + "/chat/completions"  # type: ignore[union-attr]
        try:
            upstream = await self.session.post(url, data=_dumps(upstream_body), headers=headers)
        except aiohttp.ClientError as exc:
            raise HTTPError(502, f"Upstream {url} unreachable: {exc}", "BAD_GATEWAY") from exc
        async with upstream:
            if upstream.status >= 400:
                text = await upstream.text()
                return error_response(upstream.status, f"Upstream error: {text[:500]}")
            if not body.get("stream"):
                data = await upstream.json(content_type=None)
                for choice in data.get("choices") or []:
                    msg = choice.get("message") or {}
                    reasoning = msg.pop("reasoning_content", None) or msg.pop("reasoning", None)
                    if reasoning:
                        blocks: list[dict[str, Any]] = [
                            {
                                "type": "reasoning",
                                "summary": [{"type": "summary_text", "text": reasoning}],
                            }
                        ]
                        if msg.get("content"):
                            blocks.append({"type": "text", "text": msg["content"]})
                        msg["content"] = blocks
                return web.Response(body=_dumps(data), content_type="application/json")
            _, delay, _ = self._stream_opts(request)
            events: list[bytes] = []
            async for raw in upstream.content:
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    continue
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    reasoning = delta.pop("reasoning_content", None) or delta.pop("reasoning", None)
                    if reasoning:
                        if delta.get("content"):
                            # split into two chunks: reasoning first, then the text
                            extra_chunk = json.loads(json.dumps(chunk))
                            events.append(
                                b"data: "
                                + _dumps(
                                    {
                                        **extra_chunk,
                                        "choices": [
                                            {
                                                **choice,
                                                "delta": {
                                                    "content": [
                                                        {
                                                            "type": "reasoning",
                                                            "summary": [
                                                                {
                                                                    "type": "summary_text",
                                                                    "text": reasoning,
                                                                }
                                                            ],
                                                        }
                                                    ]
                                                },
                                                "finish_reason": None,
                                            }
                                        ],
                                    }
                                )
                                + b"\n\n"
                            )
                        else:
                            delta["content"] = [
                                {
                                    "type": "reasoning",
                                    "summary": [{"type": "summary_text", "text": reasoning}],
                                }
                            ]
                events.append(b"data: " + _dumps(chunk) + b"\n\n")
            events.append(b"data: [DONE]\n\n")
        return await self._send_sse(request, events, fault, delay)

    # -- workspace APIs --------------------------------------------------------------------------
    def _endpoints(self) -> list[dict[str, Any]]:
        if self.state.options.endpoints is not None:
            return self.state.options.endpoints
        return default_endpoints()

    async def list_endpoints(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        _, early = await self._guard(request, None)
        if early is not None:
            return early
        return web.Response(
            body=_dumps({"endpoints": self._endpoints()}), content_type="application/json"
        )

    async def get_endpoint(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        _, early = await self._guard(request, None)
        if early is not None:
            return early
        name = request.match_info["name"]
        for ep in self._endpoints():
            if ep.get("name") == name:
                return web.Response(body=_dumps(ep), content_type="application/json")
        raise HTTPError(404, f"Serving endpoint with name {name!r} does not exist.")

    async def get_app(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        _, early = await self._guard(request, None)
        if early is not None:
            return early
        name = request.match_info["name"]
        if "missing" in name or "does-not-exist" in name:
            raise HTTPError(404, f"App with name {name} does not exist or is deleted.")
        host = self.state.base_url or f"http://{request.host}"
        return web.Response(
            body=_dumps(
                {
                    "name": name,
                    "url": f"{host}/apps-proxy/{name}",
                    "description": "Emulated Databricks App (ResponsesAgent)",
                    "app_status": {"state": "RUNNING", "message": "App is running"},
                    "compute_status": {"state": "ACTIVE", "message": "App compute is running."},
                    "service_principal_client_id": self.state.options.client_id,
                    "creator": "emulator@databricks.local",
                }
            ),
            content_type="application/json",
        )

    async def me(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        self._check_auth(request)
        user = "emulator-user@databricks.local"
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        if token in self.state.oauth_tokens:
            user = self.state.options.client_id
        return web.Response(
            body=_dumps({"userName": user, "id": "1", "active": True}),
            content_type="application/json",
        )

    async def oidc_token(self, request: web.Request) -> web.StreamResponse:
        _, parsed = await self._record(request)
        fault = self._fault(request, None)
        if fault is not None:
            if fault.name == "slow":
                await asyncio.sleep(self.state.options.slow_seconds)
            else:
                early = self._fault_response(fault, None)
                if early is not None:
                    return early
        form = parsed if isinstance(parsed, dict) else {}
        opts = self.state.options
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
                cid, _, secret = decoded.partition(":")
            except Exception:
                cid, secret = None, None

        def oauth_error(status: int, error: str, desc: str) -> web.Response:
            return web.Response(
                body=_dumps({"error": error, "error_description": desc}),
                status=status,
                content_type="application/json",
            )

        if form.get("grant_type") != "client_credentials":
            return oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        if cid != opts.client_id or secret != opts.client_secret:
            return oauth_error(401, "invalid_client", "Client authentication failed")
        scope = str(form.get("scope") or "")
        if "all-apis" not in scope.split():
            return oauth_error(400, "invalid_scope", "scope must include all-apis")
        with self.state.lock:
            self.state.token_requests += 1
        token = _jwt_like(cid or "")
        self.state.oauth_tokens[token] = time.time() + opts.token_lifetime
        return web.Response(
            body=_dumps(
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": int(opts.token_lifetime)
                    if opts.token_lifetime >= 1
                    else opts.token_lifetime,
                    "scope": "all-apis",
                }
            ),
            content_type="application/json",
        )


def _jwt_like(subject: str) -> str:
    def b64(obj: Any) -> str:
        return base64.urlsafe_b64encode(_dumps(obj)).rstrip(b"=").decode("ascii")

    header = b64({"alg": "RS256", "typ": "JWT", "kid": "emulator"})
    payload = b64({"sub": subject, "iss": "emulator", "iat": _now(), "jti": secrets.token_hex(8)})
    return f"{header}.{payload}.{secrets.token_urlsafe(32)}"


def _tool_choice(tc: Any, tools: list[ToolSpec]) -> str | None:
    if tc is None or tc == "auto":
        return None
    if tc in ("none",):
        return "none"
    if tc in ("required", "any"):
        if not tools:
            raise HTTPError(400, "tool_choice 'required' needs at least one tool.")
        return "required"
    if isinstance(tc, dict):
        fn: dict[str, Any] = tc["function"] if isinstance(tc.get("function"), dict) else tc
        name = fn.get("name")
        if not any(t.name == name for t in tools):
            raise HTTPError(400, f"tool_choice names a tool that is not in 'tools': {name!r}.")
        return f"name:{name}"
    raise HTTPError(400, f"Invalid tool_choice {tc!r}.")


Factory = Callable[[EmulatorState], EmulatorApp]
