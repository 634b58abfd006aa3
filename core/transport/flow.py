"""Every decision of an HTTP call, written once and free of I/O (sans-I/O).

A :class:`Flow` is a generator that *asks* for I/O by yielding small steps ``(op, argument)``
and gets the result sent back; the drivers in :mod:`core.transport.drive` perform them, sync or
async, over whichever backend (httpx, aiohttp). Only the awaiting differs between the drivers;
retries, auth refresh, redirects, the gate, SSE reading and error mapping live here. (This is
httpx's ``Auth.auth_flow`` idea applied to the whole call.)

Steps and what the driver sends back:

* ``(AUTH, None)``: the auth provider's header value.
* ``(ACQUIRE, None)``: the gate's ``acquire``/``aacquire`` (see :mod:`core.transport.gate`).
* ``(OPEN, Hop)``: send one request, read its status line: ``(status, headers, handle)`` or a
  :class:`~core.transport.failures.Failure`.
* ``(READ, handle)``: the whole body (the handle is then closed), or a Failure.
* ``(CHUNK, handle)``: the next body chunk, ``b""`` at the end (the handle is then closed), or
  a Failure (the handle is closed too).
* ``(SLEEP, seconds)``: back off before the next attempt.

Policy: retries with exponential backoff and jitter on 429/500/502/503/504 and connection
errors, honouring ``Retry-After`` (seconds or HTTP date) up to ``max_retry_after`` (a longer wait
is not slept through: the RateLimitError is raised with its ``retry_after``). A 401 when the
auth provider can refresh: one forced refresh and one retry. A stream is retried only before its
first event; afterwards a lost connection is a ``StreamInterruptedError`` (a stall past the
timeout a ``StreamTimeoutError``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from core.errors import APIError, AuthenticationError, RateLimitError
from core.transport import origins
from core.transport.errors import error_from_response, parse_retry_after
from core.transport.failures import Failure
from core.transport.response import JsonBody, Response, is_event_stream, json_of
from core.transport.sse import EventReader

if TYPE_CHECKING:  # pragma: no cover
    from core.transport.http import HttpTransport

logger = logging.getLogger("core.transport")

AUTH, ACQUIRE, OPEN, READ, CHUNK, SLEEP = range(6)
_AUTH = (AUTH, None)
_ACQUIRE = (ACQUIRE, None)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
MAX_RETRY_AFTER = 60.0

Step = tuple[int, Any]


def backoff(attempt: int, random: float) -> float:
    """Exponential backoff with jitter: base*2^attempt capped, then 50-100% of it."""
    cap = min(BACKOFF_MAX, BACKOFF_BASE * (2**attempt))
    return cap / 2 + random * cap / 2


class Hop:
    """One HTTP request to send (a redirect makes another hop of the same attempt).
    ``stream``: its answer may be an event stream; when False a backend may read the whole
    body while opening (httpx does it cheaper in one go)."""

    __slots__ = ("method", "url", "content", "headers", "stream")

    def __init__(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        stream: bool = True,
    ) -> None:
        self.method = method
        self.url = url
        self.content = content
        self.headers = headers
        self.stream = stream


class Opened:
    """A stream that answered 2xx with events: the first ones, already read."""

    __slots__ = ("status", "reader", "first")

    def __init__(self, status: int, reader: EventReader, first: list[str]) -> None:
        self.status = status
        self.reader = reader
        self.first = first


class Flow:
    """One logical call: :meth:`request` or :meth:`stream`, each a generator of steps."""

    __slots__ = ("t", "method", "url", "content", "headers", "use_auth", "gate", "handle")

    def __init__(
        self,
        transport: HttpTransport,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        use_auth: bool,
    ) -> None:
        self.t = transport
        self.method = method
        self.url = url
        self.content = content
        self.headers = headers
        self.use_auth = use_auth and transport.auth is not None and transport.auth_allowed(url)
        # Requests sent without credentials on purpose (the OAuth token exchange) skip the
        # gate: a token refresh must never queue behind the calls that wait for it.
        self.gate = transport.gate if use_auth else None
        # An open stream's response: the driver closes it if the consumer goes away.
        self.handle: Any = None

    # -- the two shapes of a call ----------------------------------------------------------
    def request(self) -> Generator[Step, Any, Response]:
        """Steps whose value is the read response with status < 400 (or that raise the mapped
        error). The retry generator itself, not a wrapper: one object less per call in flight."""
        return self._answered(stream=False)  # type: ignore[return-value]

    def stream(self) -> Generator[Step | str | JsonBody, Any, None]:
        """Yields steps for the driver and, between them, each event's data (or one JsonBody)
        for the consumer. A stream holds its gate slot until it ends or is abandoned."""
        got = yield from self._answered(stream=True)
        status: int | None = got.status_code if isinstance(got, Response) else got.status
        gate = self.gate
        try:
            if isinstance(got, Response):
                yield JsonBody(json_of(got, self.url))
                return
            yield from got.first
            reader = got.reader
            while self.handle is not None:
                chunk = yield (CHUNK, self.handle)
                if chunk.__class__ is Failure:
                    self.handle, status = None, None
                    raise chunk.interrupted(self.url)
                if chunk:
                    yield from reader.feed(chunk)
                else:
                    self.handle = None
                    yield from reader.end()
        finally:
            if gate is not None:
                gate.release(status, None)

    # -- retries ---------------------------------------------------------------------------
    def _answered(self, stream: bool) -> Generator[Step, Any, Response | Opened]:
        attempt, refreshed = 0, False
        gate = self.gate
        while True:
            # The gate first, then the credential: a call that waited in the gate's queue
            # sends a header taken when it leaves, not one that went stale while it waited.
            if gate is not None:
                yield _ACQUIRE
            status: int | None = None
            retry_after: float | None = None
            held = False
            delay: float | None
            auth_value: str | None = None
            try:
                auth_value = origins.Credential((yield _AUTH)) if self.use_auth else None
                got = yield from self._attempt(auth_value, stream)
                if isinstance(got, Failure):
                    delay = self._on_failure(got, attempt)
                elif isinstance(got, Opened) or got.status_code < 400:
                    status = got.status if isinstance(got, Opened) else got.status_code
                    held = stream  # released by stream() when the stream ends
                    return got
                else:
                    status = got.status_code
                    retry_after = parse_retry_after(got.headers.get("retry-after"))
                    delay = self._on_status(got, attempt, refreshed, auth_value)
            finally:
                if gate is not None and not held:
                    gate.release(status, retry_after)
            if delay is None:  # refreshed credentials: retry at once, not counted
                refreshed = True
            else:
                attempt += 1
                yield (SLEEP, delay)

    def _on_failure(self, failure: Failure, attempt: int) -> float:
        """Retry a connection failure after a backoff, or raise its error."""
        if failure.retryable and attempt < self.t.max_retries:
            logger.debug("%s talking to %s: retry %d", failure.name, self.url, attempt + 1)
            return self.t.backoff(attempt)
        raise failure.error(self.url)

    def _on_status(
        self, response: Response, attempt: int, refreshed: bool, auth_value: str | None
    ) -> float | None:
        """What a >= 400 answer means: a delay before retrying, None to refresh credentials
        and retry at once, or (raised) the mapped error."""
        t, url, status = self.t, self.url, response.status_code
        error = error_from_response(status, response.headers, response.content, url=url)
        if status == 401 and auth_value is not None:
            if not refreshed and t.auth.can_refresh:
                t.auth.invalidate(auth_value)
                logger.debug("401 from %s: refreshing credentials once and retrying", url)
                return None
            error = AuthenticationError(
                error.message,
                status_code=status,
                error_code=error.error_code,
                request_id=error.request_id,
                hint=f"the {t.auth.method} credentials were refused by the workspace",
                details=error.details,
            )
        if status in RETRY_STATUSES and attempt < t.max_retries:
            retry_after = error.retry_after if isinstance(error, RateLimitError) else None
            if retry_after is None:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None and retry_after > t.max_retry_after:
                raise error
            delay = retry_after if retry_after is not None else t.backoff(attempt)
            logger.debug("HTTP %s from %s: retry %d in %.2fs", status, url, attempt + 1, delay)
            return delay
        raise error

    # -- one attempt: redirects and the first events ---------------------------------------
    def _attempt(
        self, auth_value: str | None, stream: bool
    ) -> Generator[Step, Any, Response | Opened | Failure]:
        method, url, content = self.method, self.url, self.content
        headers = self.t.request_headers(url, self.headers, auth_value)
        first_origin = origins.origin(url)
        for _ in range(origins.MAX_REDIRECTS + 1):
            opened = yield (OPEN, Hop(method, url, content, headers, stream))
            if opened.__class__ is Failure:
                return opened
            status, answer_headers, handle = opened
            location = (
                answer_headers.get("location") if status in origins.REDIRECT_STATUSES else None
            )
            if stream and location is None and status < 400 and is_event_stream(answer_headers):
                return (yield from self._first_events(status, handle))
            body = yield (READ, handle)
            if body.__class__ is Failure:
                return body
            if location is None:
                return Response(status, answer_headers, body)
            method, url, content = origins.redirect(method, url, content, status, location)
            if content is None:
                origins.strip(headers, ("content-type", "content-length"))
            if origins.origin(url) != first_origin:
                origins.strip(headers, self.t.credential_headers)
        raise APIError(f"too many redirects from {self.url}")

    def _first_events(self, status: int, handle: Any) -> Generator[Step, Any, Opened | Failure]:
        """Read until the first event: until then, a lost connection may still be retried."""
        reader = EventReader()
        self.handle = handle
        while True:
            chunk = yield (CHUNK, handle)
            if chunk.__class__ is Failure:
                self.handle = None
                return chunk
            if not chunk:
                self.handle = None
                return Opened(status, reader, reader.end())
            first = reader.feed(chunk)
            if first:
                return Opened(status, reader, first)
