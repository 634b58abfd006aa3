"""An adaptive concurrency limit per endpoint, shared by everything in the process.

Every client talking to the same host and endpoint (chat, embeddings, LangChain, LlamaIndex, the
batch runner, Spark tasks in one executor) sends each HTTP attempt through the same
:class:`AdaptiveLimiter` (via the transport's gate hook, :mod:`core.transport.gate`). So 10,000
``abatch`` inputs, ``asyncio.gather``, threads and agents fanning out all settle near what the
endpoint accepts instead of each backing off on its own after a wall of 429s.

The rule is AIMD, as in TCP congestion control (and Netflix's ``concurrency-limits``):

* start at ``initial`` (8) attempts in flight;
* grow while calls succeed and the limit is what holds them back: +1 per success until the
  first push-back ("slow start": doubles every round trip), then +1 per round trip's worth of
  successes (+1/limit each);
* on a 429 or a 503 cut the limit in half (once per burst: the answers to attempts already on
  the wire do not cut it again) and, when the answer carries ``Retry-After``, pause every new
  attempt of the endpoint until it has passed;
* other answers (4xx, 500/502/504, connection errors) leave it as it is: they say nothing
  about load.

A concurrency limit paces by the endpoint's latency (Little's law: rate = concurrency /
latency); ``Retry-After`` pauses do the rest when calls are very fast.

Thread- and asyncio-safe and usable from several event loops at once: one lock guards the
counts, and a freed slot is handed straight to the longest waiter (a thread's Event, or a
future completed on its own loop: directly when the slot is freed on that loop, with
``call_soon_threadsafe`` from another thread), first come first served.

Other clients (the embeddings client, anything new that talks to an endpoint) get theirs with
:func:`gate_for` and set it as their transport's ``gate``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import asyncio

    from core.transport.gate import Gate

logger = logging.getLogger("core.limiter")

INITIAL_LIMIT = 8
MAX_LIMIT = 256  # ceiling of the adaptive limit when the user sets no cap
BACKOFF_STATUSES = frozenset({429, 503})
DECREASE = 0.5
SLOW_START_STEP = 0.5  # per success at a full limit: x1.5 per round trip until the first cut
CALM_SECONDS = 0.5  # after a cut, answers from attempts already on the wire do not cut again
MAX_PAUSE = 60.0  # the transport does not sleep through a longer Retry-After either


@dataclass(frozen=True)
class LimiterState:
    """A snapshot for logs and progress bars."""

    key: str
    limit: int
    in_flight: int
    waiting: int
    succeeded: int
    rate_limited: int  # 429 answers seen
    unavailable: int  # 503 answers seen
    paused_for: float  # seconds left of a Retry-After pause (0 when not paused)

    def __str__(self) -> str:
        pause = f", paused {self.paused_for:.1f}s" if self.paused_for > 0 else ""
        return (
            f"{self.key}: limit {self.limit}, {self.in_flight} in flight, "
            f"{self.waiting} waiting, {self.rate_limited} x 429, {self.unavailable} x 503{pause}"
        )


class _Waiter:
    __slots__ = ("event", "loop", "future", "granted")

    def __init__(self) -> None:
        self.event: threading.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.future: asyncio.Future[None] | None = None
        self.granted = False


def _running_loop() -> asyncio.AbstractEventLoop | None:
    import asyncio

    return asyncio._get_running_loop()  # public in asyncio's namespace; None off a loop


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class AdaptiveLimiter:
    """A concurrency limit for one endpoint (see the module docstring); implements the gate.

    ``adaptive=False`` makes it a plain fixed limit (no growth, no cuts, no pauses):
    what a client's own ``max_concurrency`` cap uses.
    """

    def __init__(
        self,
        key: str = "",
        *,
        initial: int = INITIAL_LIMIT,
        maximum: int = MAX_LIMIT,
        minimum: int = 1,
        adaptive: bool = True,
        clock: Any = time.monotonic,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(f"need 1 <= minimum <= maximum, got {minimum} and {maximum}")
        self.key = key
        self.minimum = minimum
        self.maximum = maximum
        self.adaptive = adaptive
        self._clock = clock
        self._lock = threading.Lock()
        self._limit = float(min(max(initial, minimum), maximum))
        self._in_flight = 0
        self._queue: deque[_Waiter] = deque()
        self._slow_start = True
        self._paused_until = 0.0
        self._calm_until = 0.0
        self._timer: threading.Timer | None = None
        self._load = _Load(clock())
        self.succeeded = 0
        self.rate_limited = 0
        self.unavailable = 0

    # -- state -----------------------------------------------------------------------------
    @property
    def limit(self) -> int:
        return int(self._limit)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def state(self) -> LimiterState:
        with self._lock:
            return LimiterState(
                key=self.key,
                limit=int(self._limit),
                in_flight=self._in_flight,
                waiting=len(self._queue),
                succeeded=self.succeeded,
                rate_limited=self.rate_limited,
                unavailable=self.unavailable,
                paused_for=max(0.0, self._paused_until - self._clock()),
            )

    def __repr__(self) -> str:
        return f"<AdaptiveLimiter {self.state()}>"

    # -- acquiring -------------------------------------------------------------------------
    def _try_take(self) -> bool:
        """Under the lock: take a slot now if nobody waits ahead and nothing holds us back."""
        now = self._clock()
        if not self._queue and self._in_flight < int(self._limit) and now >= self._paused_until:
            self._load.changed(now, self._in_flight)
            self._in_flight += 1
            return True
        return False

    def acquire(self) -> None:
        with self._lock:
            if self._try_take():
                return
            waiter = _Waiter()
            event = waiter.event = threading.Event()
            self._queue.append(waiter)
            self._dispatch()
        try:
            event.wait()
        except BaseException:  # KeyboardInterrupt while waiting: leave no slot behind
            self._abandon(waiter)
            raise

    async def aacquire(self) -> None:
        import asyncio

        with self._lock:
            if self._try_take():
                return
            waiter = _Waiter()
            waiter.loop = asyncio.get_running_loop()
            future = waiter.future = waiter.loop.create_future()
            self._queue.append(waiter)
            self._dispatch()
        try:
            await future
        except BaseException:  # cancelled while waiting (or just after being granted)
            self._abandon(waiter)
            raise

    def _abandon(self, waiter: _Waiter) -> None:
        """Give back what a cancelled acquire holds: its slot, or its place in the queue."""
        with self._lock:
            if waiter.granted:
                self._load.changed(self._clock(), self._in_flight)
                self._in_flight -= 1
                self._dispatch()
            else:
                try:
                    self._queue.remove(waiter)
                except ValueError:  # pragma: no cover - granted and removed concurrently
                    pass

    def _dispatch(self) -> None:
        """Under the lock: hand free slots to waiters, oldest first; wake them at a pause's end."""
        if not self._queue:
            return
        now = self._clock()
        if now < self._paused_until:
            if self._timer is None:
                timer = threading.Timer(self._paused_until - now, self._pause_over)
                timer.daemon = True
                self._timer = timer
                timer.start()
            return
        while self._queue and self._in_flight < int(self._limit):
            waiter = self._queue.popleft()
            if waiter.event is not None:
                waiter.granted = True
                self._load.changed(now, self._in_flight)
                self._in_flight += 1
                waiter.event.set()
                continue
            assert waiter.loop is not None and waiter.future is not None
            if waiter.loop is _running_loop():
                # Released on the waiter's own loop (the usual case): completing the future
                # only schedules the waiting task, so no thread-safe hand-off (a self-pipe
                # write and an extra loop turn per granted call) is needed.
                _resolve(waiter.future)
            else:
                try:
                    waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
                except RuntimeError:  # its loop is closed: nobody is waiting any more
                    continue
            waiter.granted = True
            self._load.changed(now, self._in_flight)
            self._in_flight += 1

    def _pause_over(self) -> None:
        with self._lock:
            self._timer = None
            self._dispatch()

    # -- releasing -------------------------------------------------------------------------
    def release(self, status: int | None, retry_after: float | None) -> None:
        with self._lock:
            now = self._clock()
            # grow only when the limit is what held calls back, and not from answers to calls
            # sent before the last cut (they say nothing about the new limit)
            saturated = self._in_flight >= int(self._limit) or bool(self._queue)
            self._load.changed(now, self._in_flight)
            self._in_flight = max(0, self._in_flight - 1)
            ok = status is not None and status < 400
            self._load.done(now, ok)
            if ok:
                self.succeeded += 1
                if self.adaptive and saturated and now >= self._calm_until:
                    self._grow()
            elif status in BACKOFF_STATUSES:
                if status == 429:
                    self.rate_limited += 1
                else:
                    self.unavailable += 1
                if self.adaptive:
                    self._back_off(status, retry_after, now)
            self._dispatch()

    def _grow(self) -> None:
        step = SLOW_START_STEP if self._slow_start else 1.0 / self._limit
        self._limit = min(float(self.maximum), self._limit + step)

    def _back_off(self, status: int, retry_after: float | None, now: float) -> None:
        if retry_after is not None and retry_after > 0:
            self._paused_until = max(self._paused_until, now + min(retry_after, MAX_PAUSE))
        if now < self._calm_until:
            return
        before = int(self._limit)
        self._slow_start = False
        # Half, or what the endpoint just sustained when that is lower (Little's law: calls
        # answered per second x seconds per call), so one cut undoes an overshoot that the
        # endpoint's burst allowance let slow start run into.
        target = self._limit * DECREASE
        sustained = self._load.sustained(now)
        if sustained is not None:  # but never more than a 4x cut at once
            target = max(self._limit * DECREASE / 2, min(target, sustained))
        self._limit = max(float(self.minimum), target)
        self._calm_until = max(self._paused_until, now + CALM_SECONDS)
        logger.info(
            "HTTP %s from %s: concurrency limit %d -> %d%s",
            status,
            self.key,
            before,
            int(self._limit),
            f", pausing {retry_after:g}s (Retry-After)" if retry_after else "",
        )


class _Load:
    """What the endpoint sustained over the last one to two seconds: successful answers per
    second and the mean time an attempt held its slot (from the integral of calls in flight
    over time, so no per-call bookkeeping). Guarded by the limiter's lock."""

    WINDOW = 1.0

    def __init__(self, now: float) -> None:
        self._since = self._stamp = now
        self._busy = 0.0  # integral of in-flight calls over time, this window
        self._done = 0
        self._ok = 0
        self._previous: tuple[float, float, int, int] | None = None  # span, busy, done, ok

    def changed(self, now: float, in_flight: int) -> None:
        self._busy += in_flight * (now - self._stamp)
        self._stamp = now
        if now - self._since >= self.WINDOW:
            self._previous = (now - self._since, self._busy, self._done, self._ok)
            self._since, self._busy, self._done, self._ok = now, 0.0, 0, 0

    def done(self, now: float, ok: bool) -> None:
        self._done += 1
        self._ok += ok

    def sustained(self, now: float) -> float | None:
        span, busy, done, ok = now - self._since, self._busy, self._done, self._ok
        if self._previous is not None:
            span += self._previous[0]
            busy += self._previous[1]
            done += self._previous[2]
            ok += self._previous[3]
        if done == 0 or span <= 0:
            return None
        return (ok / span) * (busy / done)


class ChainedGate:
    """A client's own fixed cap in front of the endpoint's shared adaptive limiter."""

    def __init__(self, own: AdaptiveLimiter, shared: AdaptiveLimiter) -> None:
        self.own = own
        self.shared = shared

    def acquire(self) -> None:
        self.own.acquire()
        try:
            self.shared.acquire()
        except BaseException:
            self.own.release(None, None)
            raise

    async def aacquire(self) -> None:
        await self.own.aacquire()
        try:
            await self.shared.aacquire()
        except BaseException:
            self.own.release(None, None)
            raise

    def release(self, status: int | None, retry_after: float | None) -> None:
        self.shared.release(status, retry_after)
        self.own.release(status, retry_after)


# -- the process-wide registry --------------------------------------------------------------
_registry: dict[str, AdaptiveLimiter] = {}
_registry_lock = threading.Lock()


def endpoint_key(host: str, endpoint: str) -> str:
    return f"{host.rstrip('/').lower()} {endpoint}"


def shared_limiter(host: str, endpoint: str) -> AdaptiveLimiter:
    """The one adaptive limiter of ``endpoint`` (a serving endpoint / model name) on ``host``."""
    key = endpoint_key(host, endpoint)
    limiter = _registry.get(key)
    if limiter is None:
        with _registry_lock:
            limiter = _registry.get(key)
            if limiter is None:
                limiter = _registry[key] = AdaptiveLimiter(key)
    return limiter


def gate_for(
    host: str, endpoint: str, *, max_concurrency: int | None = None, adaptive: bool = True
) -> Gate | None:
    """The gate a client of ``endpoint`` on ``host`` puts on its transport.

    ``adaptive`` (default): the endpoint's shared adaptive limiter, behind the client's own
    fixed cap of ``max_concurrency`` attempts in flight when given. ``adaptive=False``: only the
    client's fixed cap, or no gate at all when there is none.
    """
    own = (
        AdaptiveLimiter(
            f"{endpoint_key(host, endpoint)} (client cap)",
            initial=max_concurrency,
            maximum=max_concurrency,
            adaptive=False,
        )
        if max_concurrency is not None
        else None
    )
    if not adaptive:
        return own
    shared = shared_limiter(host, endpoint)
    return shared if own is None else ChainedGate(own, shared)


def limiter_of(gate: Gate | None) -> AdaptiveLimiter | None:
    """The shared adaptive limiter behind a transport's gate (None when there is none)."""
    shared = gate.shared if isinstance(gate, ChainedGate) else gate
    return shared if isinstance(shared, AdaptiveLimiter) and shared.adaptive else None


def limiter_states() -> list[LimiterState]:
    """Every endpoint limiter of the process, for logging."""
    with _registry_lock:
        limiters = list(_registry.values())
    return [limiter.state() for limiter in limiters]


def reset_limiters() -> None:
    """Forget every shared limiter (tests; a fresh start after an endpoint's limits changed)."""
    with _registry_lock:
        _registry.clear()
