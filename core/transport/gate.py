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
The promise is kept in one place for every backend: :class:`core.transport.flow.Flow`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Gate(Protocol):
    def acquire(self) -> None: ...

    async def aacquire(self) -> None: ...

    def release(self, status: int | None, retry_after: float | None) -> None: ...
