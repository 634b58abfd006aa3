"""One sync and one async httpx client per configured model, with retries, auth and SSE.

* The sync ``httpx.Client`` is created on first use and reused (connection pool).
* Async clients are per event loop (an ``httpx.AsyncClient`` - and an aiohttp session under it -
  belongs to the loop it was created on; LangChain's standard tests use several loops). Clients
  of loops that have closed are dropped.
* The async transport is pluggable: ``"aiohttp"`` (``httpx_aiohttp.AiohttpTransport``),
  ``"httpx"`` (httpx's own pool) or ``"auto"`` = aiohttp when importable. ``bench/bench_transport.py``: 1,000
  concurrent ``acomplete`` calls cost 3.1-4.1 ms of client CPU per call over httpx's pool and
  0.7-0.8 ms over the aiohttp transport (4-5x less; wall 9-21 s vs 1.9-3.6 s) on the shared,
  heavily loaded dev box. respx mocks httpx's own transport only: unit tests that
  use respx on the async path must pass ``transport="httpx"``.
* Retries with exponential backoff and jitter on 429/500/502/503/504 and connection errors,
  honouring ``Retry-After`` (seconds or HTTP date) up to ``max_retry_after`` seconds (longer
  waits are not slept through: the RateLimitError is raised with its ``retry_after``).
* A 401 when the auth provider can refresh: one forced refresh and one retry.
* Streams: retried only before the first event; afterwards a lost connection is a
  ``StreamInterruptedError``. Events are yielded as soon as they arrive (httpx-sse).
* The ``Authorization`` header is only ever sent to origins registered with :meth:`allow_url`
  (the workspace, a ``base_url``, app URLs the workspace returned). A redirect to another origin
  loses it: httpx drops it on cross-origin redirects (whatever way it was set, checked in
  tests), and our request hook drops it again for any origin not registered.
"""

from __future__ import annotations

import functools
import json
import logging
import platform
import random
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from core import __version__
from core.errors import (
    APIError,
    AuthenticationError,
    ConnectionError,
    DatabricksError,
    RateLimitError,
    ResponseParseError,
    StreamInterruptedError,
    StreamTimeoutError,
    TimeoutError,
)
from core.transport.errors import error_from_response, parse_retry_after
from core.transport.gate import Gate, GateAttempt

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

logger = logging.getLogger("core.transport")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
MAX_RETRY_AFTER = 60.0

_RETRYABLE_EXC = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.PoolTimeout,
)


def user_agent(adapter: str | None = None) -> str:
    parts = [f"databricks-llm-plugins/{__version__}"]
    if adapter:
        parts.append(f"adapter/{adapter}")
    parts.append(f"python/{platform.python_version()}")
    parts.append(f"httpx/{httpx.__version__}")
    return " ".join(parts)


def aiohttp_available() -> bool:
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


class JsonBody:
    """A stream request answered with a plain JSON body instead of events."""

    __slots__ = ("body",)

    def __init__(self, body: Any) -> None:
        self.body = body


def _origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    if isinstance(url, str):
        return _origin_of_text(url)
    port = url.port or (443 if url.scheme == "https" else 80 if url.scheme == "http" else None)
    return (url.scheme, url.host.lower(), port)


@functools.lru_cache(maxsize=256)
def _origin_of_text(url: str) -> tuple[str, str, int | None]:
    # Cached: every request asks for its URL's origin, and a client uses a handful of URLs;
    # parsing with httpx.URL each time was ~8% of a non-streaming call's client CPU.
    return _origin(httpx.URL(url))


class _Retry(Exception):
    """Internal: go round the retry loop again after ``delay`` seconds."""

    def __init__(self, delay: float, refresh: bool = False) -> None:
        self.delay = delay
        self.refresh = refresh


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
    ) -> None:
        self.auth = auth
        # Asked before and told after every HTTP attempt (core.transport.gate); e.g. the
        # per-endpoint adaptive limiter of core.limiter.
        self.gate: Gate | None = gate
        if auth is not None:
            auth.bind(self)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = MAX_RETRY_AFTER
        if kind not in ("auto", "httpx", "aiohttp"):
            raise ValueError(f"unknown transport {kind!r}")
        self.kind = kind
        self.user_agent = user_agent(adapter)
        self._base_headers = {"User-Agent": self.user_agent, **(extra_headers or {})}
        self._auth_origins: set[tuple[str, str, int | None]] = set()
        # Headers that carry credentials: never forwarded to an origin not in _auth_origins.
        self._credential_headers: set[str] = {"authorization"}
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._async: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        # per loop: the async generator that closes that loop's client at loop shutdown
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        # Injectable for tests.
        self.sleep: Callable[[float], None] = time.sleep
        self.asleep: Callable[[float], Any] = _asleep
        self.random: Callable[[], float] = random.random

    # -- configuration ---------------------------------------------------------------------
    def allow_url(self, url: str) -> None:
        """Let the Authorization header go to ``url``'s origin."""
        self._auth_origins.add(_origin(url))

    def auth_allowed(self, url: httpx.URL | str) -> bool:
        return _origin(url) in self._auth_origins

    @property
    def async_backend(self) -> str:
        if self.kind == "auto":
            return "aiohttp" if aiohttp_available() else "httpx"
        return self.kind

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, connect=min(self.timeout, 30.0))

    # -- clients ---------------------------------------------------------------------------
    def _strip_foreign_auth(self, request: httpx.Request) -> None:
        if self.auth_allowed(request.url):
            return
        explicit = request.extensions.get("databricks_explicit_auth") == _origin(request.url)
        for name in self._credential_headers:
            if name in request.headers and not (explicit and name == "authorization"):
                del request.headers[name]

    async def _astrip_foreign_auth(self, request: httpx.Request) -> None:
        self._strip_foreign_auth(request)

    def sync_client(self) -> httpx.Client:
        client = self._sync
        if client is None or client.is_closed:
            with self._lock:
                client = self._sync
                if client is None or client.is_closed:
                    client = httpx.Client(
                        timeout=self._timeout(),
                        follow_redirects=True,
                        headers=self._base_headers,
                        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                        event_hooks={"request": [self._strip_foreign_auth]},
                    )
                    self._sync = client
        return client

    def async_client(self) -> httpx.AsyncClient:
        import asyncio

        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is not None and not client.is_closed:
            return client
        with self._lock:
            for dead in [lp for lp in self._async if lp.is_closed()]:
                _abandon(self._async.pop(dead), dead)
                self._closers.pop(dead, None)
            client = self._async.get(loop)
            if client is None or client.is_closed:
                transport: httpx.AsyncBaseTransport | None = None
                if self.async_backend == "aiohttp":
                    from httpx_aiohttp import AiohttpTransport

                    transport = AiohttpTransport(
                        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
                    )
                client = httpx.AsyncClient(
                    timeout=self._timeout(),
                    follow_redirects=True,
                    headers=self._base_headers,
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                    transport=transport,
                    event_hooks={"request": [self._astrip_foreign_auth]},
                )
                self._async[loop] = client
                self._closers[loop] = _close_at_loop_shutdown(client)
        return client

    def close(self) -> None:
        with self._lock:
            sync, self._sync = self._sync, None
            clients, self._async = self._async, {}
            self._closers = {}
        if sync is not None:
            sync.close()
        for loop, client in clients.items():
            _close_async_from_outside(loop, client)

    async def aclose(self) -> None:
        import asyncio

        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - aclose is always awaited
            current = None
        with self._lock:
            sync, self._sync = self._sync, None
            clients, self._async = self._async, {}
            self._closers = {}
        if sync is not None:
            sync.close()
        for loop, client in clients.items():
            if loop is current:
                await client.aclose()
            else:
                _close_async_from_outside(loop, client)

    # -- headers ---------------------------------------------------------------------------
    def _headers(
        self, url: str, extra: Mapping[str, str] | None, auth_value: str | None
    ) -> dict[str, str]:
        headers = dict(extra) if extra else {}
        if auth_value is not None:
            more = self.auth.extra_headers()
            if more:
                headers.update(more)
                self._credential_headers.update(k.lower() for k in more)
            headers["Authorization"] = auth_value
        return headers

    def _needs_auth(self, url: str, auth: bool) -> bool:
        return auth and self.auth is not None and self.auth_allowed(url)

    # -- retry policy ----------------------------------------------------------------------
    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: base*2^attempt capped, then 50-100% of it."""
        cap = min(BACKOFF_MAX, BACKOFF_BASE * (2**attempt))
        return cap / 2 + self.random() * cap / 2

    def _on_status(
        self,
        response: httpx.Response,
        body: bytes,
        url: str,
        attempt: int,
        refreshed: bool,
        auth_value: str | None,
    ) -> _Retry:
        """Decide what a >= 400 answer means: raise the mapped error, or retry."""
        status = response.status_code
        error = error_from_response(status, response.headers, body, url=url)
        if status == 401 and auth_value is not None and not refreshed and self.auth.can_refresh:
            self.auth.invalidate(auth_value)
            logger.debug("401 from %s: refreshing credentials once and retrying", url)
            return _Retry(0.0, refresh=True)
        if status == 401 and auth_value is not None:
            error = AuthenticationError(
                error.message,
                status_code=status,
                error_code=error.error_code,
                request_id=error.request_id,
                hint=f"the {self.auth.method} credentials were refused by the workspace",
                details=error.details,
            )
        if status in RETRY_STATUSES and attempt < self.max_retries:
            retry_after = error.retry_after if isinstance(error, RateLimitError) else None
            if retry_after is None:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None and retry_after > self.max_retry_after:
                raise error
            delay = retry_after if retry_after is not None else self.backoff(attempt)
            logger.debug("HTTP %s from %s: retry %d in %.2fs", status, url, attempt + 1, delay)
            return _Retry(delay)
        raise error

    def _on_exception(self, exc: Exception, url: str, attempt: int) -> _Retry:
        if isinstance(exc, _RETRYABLE_EXC) and attempt < self.max_retries:
            logger.debug("%s talking to %s: retry %d", type(exc).__name__, url, attempt + 1)
            return _Retry(self.backoff(attempt))
        raise _map_exception(exc, url) from None

    # -- plain requests --------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send, retrying as configured; returns a read response with status < 400."""
        client = self.sync_client()
        attempt, refreshed = 0, False
        while True:
            auth_value = _Credential(self.auth.header()) if self._needs_auth(url, auth) else None
            try:
                try:
                    with GateAttempt(self.gate) as gate:
                        response = client.request(
                            method,
                            url,
                            content=content,
                            headers=self._headers(url, headers, auth_value),
                            extensions=_explicit_auth_ext(url, headers),
                        )
                        gate.answered(response)
                except httpx.HTTPError as exc:
                    raise self._on_exception(exc, url, attempt) from None
                if response.status_code < 400:
                    return response
                raise self._on_status(
                    response, response.content, url, attempt, refreshed, auth_value
                )
            except _Retry as retry:
                if retry.refresh:
                    refreshed = True
                else:
                    attempt += 1
                    self.sleep(retry.delay)

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        client = self.async_client()
        attempt, refreshed = 0, False
        while True:
            auth_value = (
                _Credential(await self.auth.aheader()) if self._needs_auth(url, auth) else None
            )
            try:
                try:
                    async with GateAttempt(self.gate) as gate:
                        response = await client.request(
                            method,
                            url,
                            content=content,
                            headers=self._headers(url, headers, auth_value),
                            extensions=_explicit_auth_ext(url, headers),
                        )
                        gate.answered(response)
                except httpx.HTTPError as exc:
                    raise self._on_exception(exc, url, attempt) from None
                if response.status_code < 400:
                    return response
                raise self._on_status(
                    response, response.content, url, attempt, refreshed, auth_value
                )
            except _Retry as retry:
                if retry.refresh:
                    refreshed = True
                else:
                    attempt += 1
                    await self.asleep(retry.delay)

    def request_json(self, method: str, url: str, **kw: Any) -> Any:
        return _json_of(self.request(method, url, **kw), url)

    async def arequest_json(self, method: str, url: str, **kw: Any) -> Any:
        return _json_of(await self.arequest(method, url, **kw), url)

    # -- streams ---------------------------------------------------------------------------
    def stream_events(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None
    ) -> Generator[str | JsonBody, None, None]:
        """POST and yield each SSE event's data as it arrives (or one JsonBody)."""
        from httpx_sse import EventSource

        client = self.sync_client()
        attempt, refreshed = 0, False
        hdrs = {"Accept": "text/event-stream", **(headers or {})}
        while True:
            auth_value = _Credential(self.auth.header()) if self._needs_auth(url, True) else None
            delivered = False
            try:
                try:
                    with (
                        GateAttempt(self.gate) as gate,
                        client.stream(
                            "POST",
                            url,
                            content=content,
                            headers=self._headers(url, hdrs, auth_value),
                        ) as response,
                    ):
                        gate.answered(response)
                        if response.status_code >= 400:
                            raise self._on_status(
                                response, response.read(), url, attempt, refreshed, auth_value
                            )
                        if not _is_event_stream(response):
                            yield JsonBody(_json_of(response, url, response.read()))
                            return
                        for event in EventSource(response).iter_sse():
                            if event.data == "" and not event.event:
                                continue
                            delivered = True
                            yield event.data
                        return
                except httpx.HTTPError as exc:
                    if delivered:
                        raise _interrupted(exc, url) from None
                    raise self._on_exception(exc, url, attempt) from None
            except _Retry as retry:
                if retry.refresh:
                    refreshed = True
                else:
                    attempt += 1
                    self.sleep(retry.delay)

    async def astream_events(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[str | JsonBody, None]:
        from httpx_sse import EventSource

        client = self.async_client()
        attempt, refreshed = 0, False
        hdrs = {"Accept": "text/event-stream", **(headers or {})}
        while True:
            auth_value = (
                _Credential(await self.auth.aheader()) if self._needs_auth(url, True) else None
            )
            delivered = False
            try:
                try:
                    async with (
                        GateAttempt(self.gate) as gate,
                        client.stream(
                            "POST",
                            url,
                            content=content,
                            headers=self._headers(url, hdrs, auth_value),
                        ) as response,
                    ):
                        gate.answered(response)
                        if response.status_code >= 400:
                            body = await response.aread()
                            raise self._on_status(
                                response, body, url, attempt, refreshed, auth_value
                            )
                        if not _is_event_stream(response):
                            body = await response.aread()
                            yield JsonBody(_json_of(response, url, body))
                            return
                        async for event in EventSource(response).aiter_sse():
                            if event.data == "" and not event.event:
                                continue
                            delivered = True
                            yield event.data
                        return
                except httpx.HTTPError as exc:
                    if delivered:
                        raise _interrupted(exc, url) from None
                    raise self._on_exception(exc, url, attempt) from None
            except _Retry as retry:
                if retry.refresh:
                    refreshed = True
                else:
                    attempt += 1
                    await self.asleep(retry.delay)

    def __repr__(self) -> str:
        return f"<HttpTransport async={self.async_backend} retries={self.max_retries}>"


# -- helpers ---------------------------------------------------------------------------------
class _Credential(str):
    """An Authorization value whose repr hides it: it sits in frame locals that traceback
    summaries (``capture_locals=True``), debuggers and error reporters print."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


async def _asleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _explicit_auth_ext(url: str, headers: Mapping[str, str] | None) -> dict[str, Any] | None:
    """A caller-supplied Authorization (e.g. HTTP Basic to the token endpoint) may go to
    the request's own origin, but still not to a redirect target elsewhere."""
    if headers and any(k.lower() == "authorization" for k in headers):
        return {"databricks_explicit_auth": _origin(url)}
    return None


def _is_event_stream(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    return "text/event-stream" in ctype or not ctype


def _json_of(response: httpx.Response, url: str, body: bytes | None = None) -> Any:
    raw = response.content if body is None else body
    try:
        return json.loads(raw)
    except ValueError:
        snippet = raw[:200].decode("utf-8", "replace")
        raise ResponseParseError(
            f"expected a JSON body from {url} (HTTP {response.status_code}), got: {snippet!r}",
            status_code=response.status_code,
        ) from None


def _map_exception(exc: Exception, url: str) -> DatabricksError:
    if isinstance(exc, DatabricksError):
        return exc
    if _is_timeout(exc):
        return TimeoutError(f"request to {url} timed out ({type(exc).__name__})")
    if isinstance(exc, (httpx.ConnectError, httpx.NetworkError, httpx.RemoteProtocolError)):
        return ConnectionError(f"could not talk to {url}: {type(exc).__name__}: {exc}")
    if isinstance(exc, httpx.TooManyRedirects):
        return APIError(f"too many redirects from {url}")
    return ConnectionError(f"request to {url} failed: {type(exc).__name__}: {exc}")


def _is_timeout(exc: Exception) -> bool:
    """A real timeout. httpx-aiohttp maps every ``aiohttp.ClientConnectionError`` (connection
    refused, server disconnected) to ``httpx.ConnectTimeout``; its cause tells the truth."""
    if not isinstance(exc, httpx.TimeoutException):
        return False
    import asyncio

    cause = exc.__cause__
    return cause is None or isinstance(cause, asyncio.TimeoutError) or not _from_aiohttp(cause)


def _from_aiohttp(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("aiohttp")


def _interrupted(exc: Exception, url: str) -> DatabricksError:
    if _is_timeout(exc):
        return StreamTimeoutError(
            f"stream from {url} stalled past the timeout ({type(exc).__name__})"
        )
    return StreamInterruptedError(
        f"the connection to {url} was lost mid-stream ({type(exc).__name__}); "
        "what arrived before was delivered"
    )


async def _client_closer(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


def _close_at_loop_shutdown(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Close ``client`` on its own loop when the loop shuts down its async generators.

    ``asyncio.run`` (and pytest-asyncio) call ``loop.shutdown_asyncgens()`` before closing the
    loop: a started async generator registered with the loop is finalized there, so its
    ``finally`` closes the client while the loop still runs. Without this, a plain
    ``asyncio.run(llm.ainvoke(...))`` script ends with aiohttp's "Unclosed client session"
    warning. The caller keeps the returned generator alive (the loop only holds it weakly).
    """
    closer = _client_closer(client)
    step = closer.__anext__()  # registers the generator with the running loop's hooks
    try:
        step.send(None)  # run it to its ``yield`` without awaiting: nothing in it suspends
    except StopIteration:
        pass
    return closer


def _abandon(client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Forget a client whose event loop is closed: it can no longer be closed the normal way.

    Its sockets are closed directly (a dead loop's transports cannot close themselves), and an
    aiohttp session is marked closed, so nothing leaks and nothing warns at garbage collection.
    """
    transport = getattr(client, "_transport", None)
    session = getattr(transport, "client", None)
    connector = getattr(session, "_connector", None)
    if connector is not None:
        try:
            connector._close()  # on a dead loop: just marks it closed
            connector._conns.clear()
        except Exception:  # pragma: no cover - best effort on a dead loop
            pass
        try:
            session._connector = None  # type: ignore[union-attr]
        except Exception:  # pragma: no cover
            pass
    transports = getattr(loop, "_transports", None) if loop is not None else None
    if transports is None:
        return
    for tr in list(transports.values()):
        sock = getattr(tr, "_sock", None)
        if sock is None:
            continue
        try:
            tr._sock = None
            sock.close()
        except Exception:  # pragma: no cover
            pass


def _close_async_from_outside(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
    import asyncio

    if loop.is_closed():
        _abandon(client, loop)
        return
    try:
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                try:
                    fut.result(timeout=5)
                except Exception:  # pragma: no cover
                    pass
        else:
            loop.run_until_complete(client.aclose())
    except Exception:  # pragma: no cover - best effort
        _abandon(client, loop if loop.is_closed() else None)
