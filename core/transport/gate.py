"""A per-attempt gate: something the transport asks before, and tells after, each HTTP attempt.

The transport knows nothing of what a gate does (``core.limiter`` is the one we ship: an
adaptive per-endpoint concurrency limit). It only promises, for every HTTP attempt (a retry is a
new attempt):

* ``gate.acquire()`` (sync path) or ``await gate.aacquire()`` (async path) before sending;
* ``gate.release(status, retry_after)`` exactly once afterwards, also when the attempt raised:
  ``status`` is the HTTP status, or None when there was no answer (a connection error, a
  timeout, a cancelled task); ``retry_after`` is the answer's ``Retry-After`` in seconds, if any.
  A stream is released when it ends, fails or is abandoned (generator closed).

Back-off sleeps between retries happen after ``release``: a waiting retry holds no slot.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, runtime_checkable

import httpx

from core.transport.errors import parse_retry_after


@runtime_checkable
class Gate(Protocol):
    def acquire(self) -> None: ...

    async def aacquire(self) -> None: ...

    def release(self, status: int | None, retry_after: float | None) -> None: ...


class GateAttempt:
    """One attempt through an optional gate: ``with``/``async with`` around the send.

    Call :meth:`answered` as soon as the status line is in. An ``httpx.HTTPError`` (or any
    other exception before an answer) releases with status None; an error after an answer
    that is not a transport error (our own mapped error, a consumer abandoning a stream)
    keeps the answer's status.
    """

    __slots__ = ("gate", "status", "retry_after")

    def __init__(self, gate: Gate | None) -> None:
        self.gate = gate
        self.status: int | None = None
        self.retry_after: float | None = None

    def answered(self, response: httpx.Response) -> None:
        if self.gate is None:
            return
        self.status = response.status_code
        if self.status >= 400:
            self.retry_after = parse_retry_after(response.headers.get("retry-after"))

    def __enter__(self) -> GateAttempt:
        if self.gate is not None:
            self.gate.acquire()
        return self

    async def __aenter__(self) -> GateAttempt:
        if self.gate is not None:
            await self.gate.aacquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.gate is None:
            return
        if isinstance(exc, httpx.HTTPError):
            self.status = None  # no answer, or the connection died under it
        self.gate.release(self.status, self.retry_after)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
