"""What every emulator surface shares: JSON out, Databricks error bodies, recording,
auth, faults (the header, the model suffix, the option) and writing server-sent events.

The surfaces (chat.py, responses.py, proxy.py, workspace.py and the route modules) are mixins of
:class:`Plumbing` or call these methods on the app; server.py assembles them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict

from core.emulator.endpoints import default_endpoints
from core.emulator.model import base_model_name

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorState


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


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    json: Any
    body: bytes = b""
    time: float = field(default_factory=time.time)


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


def _not_json(literal: str) -> Any:
    # NaN / Infinity / -Infinity: Python's json reads them, JSON has no such literals; a body
    # holding one is not JSON, so it gets the same 400 as any malformed body. (The service's
    # exact message for that case is not documented: this one is the emulator's own.)
    raise ValueError(f"{literal} is not JSON")


class Plumbing:
    """Recording, auth, faults and SSE writing for every route of the app."""

    state: EmulatorState
    session: Any  # aiohttp.ClientSession for proxy mode

    async def _record(self, request: web.Request) -> tuple[bytes, Any]:
        body = await request.read()
        parsed: Any = None
        if body:
            ctype = request.headers.get("Content-Type", "")
            if "json" in ctype or body[:1] in (b"{", b"["):
                try:
                    parsed = json.loads(body, parse_constant=_not_json)
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

    def _check_model_exists(self, model: str) -> None:
        base = base_model_name(model).lower()
        if "does-not-exist" in base or "not-found" in base:
            raise HTTPError(
                404, f"Endpoint {base_model_name(model)!r} does not exist.", "ENDPOINT_NOT_FOUND"
            )

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

    def _endpoints(self) -> list[dict[str, Any]]:
        if self.state.options.endpoints is not None:
            return self.state.options.endpoints
        return default_endpoints()
