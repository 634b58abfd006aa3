"""The emulator's HTTP server: a real aiohttp application speaking the Databricks wire formats.

Independent of the project's client code on purpose (it must not share the client's bugs): it
parses and renders the JSON itself, from the rules in the wire-format notes.

This module is the assembly: options, state, and the app with its route table. Each surface
lives in its own module (plumbing.py: recording, auth, faults, SSE; checks.py; chat.py;
responses.py; proxy.py; workspace.py; and the route modules open_responses.py, gemini.py,
embeddings.py, agents.py). The names other code imports from here stay importable here.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from core.emulator import agents, embeddings
from core.emulator.chat import ChatSurface
from core.emulator.checks import _FUNCTION_NAME, _tool_choice
from core.emulator.model import DEFAULT_SIGNING_KEY
from core.emulator.plumbing import (
    _ERROR_CODES,
    FAULT_HEADER,
    FAULT_NAMES,
    MAX_PAYLOAD,
    STREAM_FAULTS,
    Fault,
    HTTPError,
    RecordedRequest,
    _databricks_errors,
    _dumps,
    _now,
    _parse_fault,
    _pieces,
    error_response,
)
from core.emulator.proxy import ProxySurface
from core.emulator.responses import ResponsesSurface
from core.emulator.workspace import WorkspaceSurface, _jwt_like

__all__ = [  # re-exported: other modules and tests import these from here
    "FAULT_HEADER",
    "FAULT_NAMES",
    "MAX_PAYLOAD",
    "STREAM_FAULTS",
    "_ERROR_CODES",
    "_FUNCTION_NAME",
    "EmulatorApp",
    "EmulatorOptions",
    "EmulatorState",
    "Factory",
    "Fault",
    "HTTPError",
    "RecordedRequest",
    "_databricks_errors",
    "_dumps",
    "_jwt_like",
    "_now",
    "_parse_fault",
    "_pieces",
    "_tool_choice",
    "error_response",
]


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


class EmulatorApp(ChatSurface, ResponsesSurface, ProxySurface, WorkspaceSurface):
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


Factory = Callable[[EmulatorState], EmulatorApp]
