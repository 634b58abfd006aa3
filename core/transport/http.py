"""``HttpTransport``: one configured model's HTTP, sync and async, pooled and reused.

* The decisions (retries, auth refresh, redirects, the gate, SSE, error mapping) are one
  sans-I/O flow (:mod:`core.transport.flow`), run by thin drivers (:mod:`core.transport.drive`)
  over a backend's steps (:mod:`core.transport.httpx_io`).
* The sync ``httpx.Client`` is created on first use and reused (connection pool). Async
  clients are per event loop (:mod:`core.transport.loops`).
* The async backend is pluggable: ``"aiohttp"`` (aiohttp directly,
  :mod:`core.transport.aiohttp_io`), ``"httpx"`` (``httpx.AsyncClient``) or ``"auto"`` =
  aiohttp when installed. respx mocks httpx's own transport only: unit tests that use respx on
  the async path pass ``transport="httpx"``.
* Proxies and TLS (``proxy=``, ``verify=``, the environment) are decided once in
  :mod:`core.transport.network`, for both paths.
* Credentials only go where :mod:`core.transport.origins` allows: origins registered with
  :meth:`HttpTransport.allow_url`, and never across a redirect to another origin.
"""

from __future__ import annotations

import importlib.util
import platform
import random
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from core._version import __version__
from core.transport import flow as _flow
from core.transport import origins
from core.transport.drive import arun, arun_stream, run, run_stream
from core.transport.flow import Flow
from core.transport.httpx_io import HttpxAsync, HttpxSync
from core.transport.network import Network, redact_url
from core.transport.response import JsonBody, Response, json_of

if TYPE_CHECKING:  # pragma: no cover
    from core.transport.gate import Gate
    from core.transport.loops import LoopClients

MAX_CONNECTIONS = 100
_LIMITS = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=20)


def user_agent(adapter: str | None = None) -> str:
    parts = [f"databricks-llm-plugins/{__version__}"]
    if adapter:
        parts.append(f"adapter/{adapter}")
    parts.append(f"python/{platform.python_version()}")
    parts.append(f"httpx/{httpx.__version__}")
    return " ".join(parts)


def aiohttp_available() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


class HttpTransport:
    def __init__(
        self,
        *,
        auth: Any = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        kind: str = "auto",
        adapter: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        gate: Gate | None = None,
        proxy: str | None = None,
        verify: Any = True,
        sync_client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        # proxy: an explicit proxy URL (else HTTPS_PROXY/HTTP_PROXY/NO_PROXY); verify: True,
        # False, a CA bundle path or an ssl.SSLContext. Checked here, before any request.
        self.network = Network(proxy, verify)
        self.auth = auth
        if auth is not None:
            auth.bind(self)
        # Asked before and told after every HTTP attempt (core.transport.gate).
        self.gate: Gate | None = gate
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = _flow.MAX_RETRY_AFTER
        if kind not in ("auto", "httpx", "aiohttp"):
            raise ValueError(f"unknown transport {kind!r}")
        self.kind = kind
        self.user_agent = user_agent(adapter)
        self.base_headers = {"User-Agent": self.user_agent, **(extra_headers or {})}
        self.max_connections = MAX_CONNECTIONS
        self._auth_origins: set[origins.Origin] = set()
        # Headers that carry credentials: never sent to an origin not in _auth_origins.
        self.credential_headers: set[str] = {"authorization"}
        self._lock = threading.Lock()
        # The caller's own httpx clients (used as they are, never closed here), else ours.
        self.user_sync = sync_client
        self.user_async = async_client
        self._sync: httpx.Client | None = None
        self._loops: LoopClients | None = None
        self._sync_io = HttpxSync(self)
        self._async_io: Any = None
        # Injectable for tests.
        self.sleep: Callable[[float], None] = time.sleep
        self.asleep: Callable[[float], Any] = _asleep
        self.random: Callable[[], float] = random.random

    # -- configuration ---------------------------------------------------------------------
    def allow_url(self, url: str) -> None:
        """Let the Authorization header go to ``url``'s origin."""
        self._auth_origins.add(origins.origin(url))

    def auth_allowed(self, url: str) -> bool:
        return origins.origin(str(url)) in self._auth_origins

    @property
    def async_backend(self) -> str:
        if self.user_async is not None:
            return "httpx"
        if self.kind == "auto":
            return "aiohttp" if aiohttp_available() else "httpx"
        return self.kind

    def backoff(self, attempt: int) -> float:
        return _flow.backoff(attempt, self.random())

    def request_headers(
        self, url: str, extra: Mapping[str, str] | None, auth_value: str | None
    ) -> dict[str, str]:
        """The headers of a request's first hop: the caller's, then the credentials (and, for a
        caller's own client, which was made without them, the transport's base headers)."""
        headers = dict(extra) if extra else {}
        if self.user_sync is not None or self.user_async is not None:
            headers = {**self.base_headers, **headers}
        if auth_value is not None:
            more = self.auth.extra_headers()
            if more:
                headers.update(more)
                self.credential_headers.update(k.lower() for k in more)
            headers["Authorization"] = auth_value
        elif headers and not self.auth_allowed(url):
            # a caller's own Authorization may go to this origin; other credentials may not
            origins.strip(headers, self.credential_headers, keep="authorization")
        return headers

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=min(self.timeout, 30.0))

    # -- clients ---------------------------------------------------------------------------
    def sync_client(self) -> httpx.Client:
        if self.user_sync is not None:
            return self.user_sync
        client = self._sync
        if client is None or client.is_closed:
            with self._lock:
                client = self._sync
                if client is None or client.is_closed:
                    client = httpx.Client(
                        timeout=self._timeout(),
                        headers=self.base_headers,
                        limits=_LIMITS,
                        **self.network.httpx_options(),
                    )
                    self._sync = client
        return client

    def _loop_clients(self) -> LoopClients:
        if self._loops is None:
            from core.transport.loops import LoopClients

            with self._lock:
                if self._loops is None:
                    self._loops = LoopClients(self._new_async_client, self._lock)
        return self._loops

    def _new_async_client(self) -> Any:
        if self.async_backend == "aiohttp":
            from core.transport.aiohttp_io import AiohttpClient

            return AiohttpClient(self)
        return httpx.AsyncClient(
            timeout=self._timeout(),
            headers=self.base_headers,
            limits=_LIMITS,
            **self.network.httpx_options(),
        )

    def async_client(self) -> Any:
        """The running loop's async client (created on first use in that loop), or the
        caller's own."""
        if self.user_async is not None:
            return self.user_async
        return self._loop_clients().get()

    @property
    def _async(self) -> dict[Any, Any]:
        """The live async clients by event loop (for tests and diagnostics)."""
        return self._loops.clients if self._loops is not None else {}

    def _aio(self) -> Any:
        io = self._async_io
        if io is None:
            if self.async_backend == "aiohttp":
                from core.transport.aiohttp_io import AiohttpAsync

                io = AiohttpAsync(self)
            else:
                io = HttpxAsync(self)
            self._async_io = io
        return io

    def close(self) -> None:
        with self._lock:
            sync, self._sync = self._sync, None
        if sync is not None:
            sync.close()
        if self._loops is not None:
            self._loops.close_all()

    async def aclose(self) -> None:
        with self._lock:
            sync, self._sync = self._sync, None
        if sync is not None:
            sync.close()
        if self._loops is not None:
            await self._loops.aclose_all()

    # -- calls -----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Response:
        """Send, retrying as configured; returns a read response with status < 400."""
        steps = Flow(self, method, url, content, headers, auth).request()
        return run(steps, self._sync_io.ops)

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Response:
        steps = Flow(self, method, url, content, headers, auth).request()
        return await arun(steps, self._aio().ops)

    def request_json(self, method: str, url: str, **kw: Any) -> Any:
        return json_of(self.request(method, url, **kw), url)

    async def arequest_json(self, method: str, url: str, **kw: Any) -> Any:
        return json_of(await self.arequest(method, url, **kw), url)

    def stream_events(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None
    ) -> Generator[str | JsonBody, None, None]:
        """POST and yield each SSE event's data as it arrives (or one JsonBody)."""
        flow = Flow(self, "POST", url, content, _sse_headers(headers), True)
        io = self._sync_io
        return run_stream(flow, io.ops, io.close)

    def astream_events(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[str | JsonBody, None]:
        flow = Flow(self, "POST", url, content, _sse_headers(headers), True)
        io = self._aio()
        return arun_stream(flow, io.ops, io.close)

    def __repr__(self) -> str:
        proxy = redact_url(self.network.proxy) if self.network.proxy else "environment"
        return (
            f"<HttpTransport async={self.async_backend} retries={self.max_retries} proxy={proxy}>"
        )


def _sse_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {"Accept": "text/event-stream", **(headers or {})}


async def _asleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
