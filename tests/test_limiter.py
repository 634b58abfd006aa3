"""core.limiter: the AIMD rule, pauses, fairness, threads, several event loops, the registry."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from core.limiter import (
    AdaptiveLimiter,
    ChainedGate,
    gate_for,
    limiter_states,
    reset_limiters,
    shared_limiter,
)
from core.transport.gate import Gate


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def fill(limiter, n):
    for _ in range(n):
        limiter.acquire()


def test_is_a_gate():
    assert isinstance(AdaptiveLimiter(), Gate)


def test_starts_moderate_and_grows_only_while_saturated():
    lim = AdaptiveLimiter(initial=4)
    assert lim.limit == 4
    lim.acquire()
    lim.release(200, None)  # one call in flight out of 4: the limit held nobody back
    assert lim._limit == 4
    fill(lim, 4)
    for _ in range(4):
        lim.release(200, None)
    assert lim._limit == 4.5  # slow start: the one saturated success grew it by a half


def test_slow_start_then_additive_increase_after_a_429():
    clock = Clock()
    lim = AdaptiveLimiter(initial=8, clock=clock)
    fill(lim, 8)
    lim.release(429, None)
    assert lim.limit == 4 and lim.rate_limited == 1
    clock.now += 1.0  # past the calm period
    for _ in range(7):  # the other 7 answers come back while the limit (4) is full
        lim.release(200, None)
    assert lim.in_flight == 0
    # additive now: +1/limit for each of the 4 answers that found the limit full (in flight
    # 7, 6, 5, 4 >= 4); slow start would have added 2
    assert 4 + 4 / 5 < lim._limit < 4 + 4 / 4


def test_answers_from_before_a_cut_do_not_grow_the_limit():
    clock = Clock()
    lim = AdaptiveLimiter(initial=8, clock=clock)
    fill(lim, 8)
    lim.release(429, None)
    for _ in range(7):
        lim.release(200, None)
    assert lim._limit == 4


def test_a_cut_goes_down_to_what_the_endpoint_sustained():
    # 20 calls in flight for 1 s each, 10 answered per second: Little's law says ~10 at once
    # is what the endpoint sustains, so the cut after slow start overshot goes below half
    clock = Clock()
    lim = AdaptiveLimiter(initial=40, clock=clock)
    fill(lim, 20)
    for _ in range(20):
        clock.now += 0.1
        lim.release(200, None)
        lim.acquire()
    assert lim.limit >= 40
    lim.release(429, None)
    assert lim._limit * 4 >= 40  # never more than a 4x cut at once
    assert lim.limit < 40 / 2


def test_a_burst_of_429s_cuts_once_and_pauses_for_retry_after():
    clock = Clock()
    lim = AdaptiveLimiter(initial=16, clock=clock)
    fill(lim, 16)
    for _ in range(10):
        lim.release(429, 2.0)
    state = lim.state()
    assert state.limit == 8  # halved once, not 2**10 times
    assert state.rate_limited == 10 and state.in_flight == 6
    assert state.paused_for == pytest.approx(2.0)
    clock.now += 2.5  # after the calm period, a new 429 cuts again: nothing succeeded in the
    lim.release(503, None)  # last seconds, so by the most allowed at once (4x), not by half
    assert lim.limit == 2 and lim.unavailable == 1


def test_never_below_minimum_nor_above_maximum():
    clock = Clock()
    lim = AdaptiveLimiter(initial=2, maximum=3, clock=clock)
    for _ in range(5):
        fill(lim, 1)
        lim.release(429, None)
        clock.now += 1
    assert lim.limit == 1
    for _ in range(50):
        fill(lim, lim.limit)
        for _ in range(lim.in_flight):
            lim.release(200, None)
    assert lim.limit == 3


def test_other_answers_leave_the_limit_alone():
    lim = AdaptiveLimiter(initial=4)
    for status in (400, 404, 500, 502, 504, None):
        fill(lim, 4)
        lim.release(status, None)
        for _ in range(3):
            lim.release(None, None)
    assert lim.limit == 4 and lim.rate_limited == 0 and lim.succeeded == 0


def test_fixed_limit_does_not_adapt_or_pause():
    lim = AdaptiveLimiter(initial=3, maximum=3, adaptive=False)
    fill(lim, 3)
    lim.release(429, 30.0)
    assert lim.limit == 3 and lim.state().paused_for == 0
    fill(lim, 1)  # not paused
    assert lim.in_flight == 3


def test_threads_never_exceed_the_limit_and_all_finish():
    lim = AdaptiveLimiter(initial=3, maximum=3)
    peak = 0
    lock = threading.Lock()

    def work():
        nonlocal peak
        lim.acquire()
        with lock:
            peak = max(peak, lim.in_flight)
        time.sleep(0.002)
        lim.release(200, None)

    threads = [threading.Thread(target=work) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak == 3 and lim.in_flight == 0 and lim.succeeded == 40


async def test_async_waiters_are_served_first_come_first_served():
    lim = AdaptiveLimiter(initial=1, maximum=1)
    order = []

    async def work(i):
        await lim.aacquire()
        order.append(i)
        await asyncio.sleep(0)
        lim.release(200, None)

    await asyncio.gather(*(work(i) for i in range(10)))
    assert order == list(range(10)) and lim.in_flight == 0


async def test_a_slot_freed_on_the_waiters_own_loop_is_handed_over_without_a_wakeup(
    monkeypatch,
):
    # same loop: completing the future is enough; call_soon_threadsafe (a self-pipe write and
    # an extra loop turn per call) is only for a slot freed in another thread
    loop = asyncio.get_running_loop()

    def refuse(*args, **kwargs):
        raise AssertionError("call_soon_threadsafe used for a waiter on the releasing loop")

    monkeypatch.setattr(loop, "call_soon_threadsafe", refuse)
    lim = AdaptiveLimiter(initial=2, maximum=2)
    done = []

    async def work(i):
        await lim.aacquire()
        await asyncio.sleep(0)
        done.append(i)
        lim.release(200, None)

    await asyncio.gather(*(work(i) for i in range(20)))
    assert sorted(done) == list(range(20)) and lim.in_flight == 0


async def test_a_cancelled_waiter_leaves_no_slot_behind():
    lim = AdaptiveLimiter(initial=1, maximum=1)
    await lim.aacquire()
    waiting = asyncio.create_task(lim.aacquire())
    await asyncio.sleep(0.01)
    assert lim.state().waiting == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert lim.state().waiting == 0
    lim.release(200, None)
    assert lim.in_flight == 0
    await asyncio.wait_for(lim.aacquire(), 1)  # the slot is free again


async def test_granted_then_cancelled_gives_the_slot_back():
    lim = AdaptiveLimiter(initial=1, maximum=1)
    await lim.aacquire()
    waiting = asyncio.create_task(lim.aacquire())
    await asyncio.sleep(0.01)
    lim.release(200, None)  # hands the slot to the waiter (resolved on the next loop turn)
    waiting.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert lim.in_flight == 0


def test_several_event_loops_and_threads_share_one_limiter():
    lim = AdaptiveLimiter(initial=2, maximum=2)
    peak = 0
    lock = threading.Lock()

    async def task():
        nonlocal peak
        await lim.aacquire()
        with lock:
            peak = max(peak, lim.in_flight)
        await asyncio.sleep(0.002)
        lim.release(200, None)

    async def many():
        await asyncio.gather(*(task() for _ in range(15)))

    def sync_work():
        for _ in range(5):
            lim.acquire()
            time.sleep(0.001)
            lim.release(200, None)

    threads = [threading.Thread(target=asyncio.run, args=(many(),)) for _ in range(3)]
    threads.append(threading.Thread(target=sync_work))
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert peak <= 2 and lim.in_flight == 0 and lim.succeeded == 50


def test_a_pause_holds_new_attempts_until_retry_after_has_passed():
    lim = AdaptiveLimiter(initial=4)
    lim.acquire()
    lim.release(429, 0.3)
    started = time.monotonic()
    lim.acquire()  # waits out the pause (a timer wakes it)
    waited = time.monotonic() - started
    assert 0.25 <= waited < 2.0
    lim.release(200, None)


async def test_async_waiters_resume_after_a_pause():
    lim = AdaptiveLimiter(initial=8)
    await lim.aacquire()
    lim.release(503, 0.2)  # cut to 2 (nothing succeeded yet) and pause
    assert lim.limit == 2
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(lim.aacquire() for _ in range(2))), 5)
    assert 0.15 <= time.monotonic() - started < 2.0
    assert lim.in_flight == 2


def test_registry_shares_one_limiter_per_host_and_endpoint():
    reset_limiters()
    a = shared_limiter("https://WS.example.com/", "m1")
    assert shared_limiter("https://ws.example.com", "m1") is a
    assert shared_limiter("https://ws.example.com", "m2") is not a
    assert shared_limiter("https://other.example.com", "m1") is not a
    keys = [s.key for s in limiter_states()]
    assert keys == [
        "https://ws.example.com m1",
        "https://ws.example.com m2",
        "https://other.example.com m1",
    ]
    reset_limiters()
    assert limiter_states() == []


def test_gate_for_combines_a_client_cap_with_the_shared_limiter():
    reset_limiters()
    assert gate_for("h", "m") is shared_limiter("h", "m")
    assert gate_for("h", "m", adaptive=False) is None
    capped = gate_for("h", "m", max_concurrency=2)
    assert isinstance(capped, ChainedGate) and capped.shared is shared_limiter("h", "m")
    capped.acquire()
    capped.acquire()
    assert capped.own.in_flight == 2 and capped.shared.in_flight == 2
    fixed = gate_for("h", "m", max_concurrency=5, adaptive=False)
    assert isinstance(fixed, AdaptiveLimiter) and not fixed.adaptive and fixed.limit == 5
    capped.release(200, None)
    capped.release(429, 1.0)
    assert capped.shared.rate_limited == 1 and capped.own.in_flight == 0
    reset_limiters()


def test_state_is_printable():
    lim = AdaptiveLimiter("h m", initial=4)
    text = str(lim.state())
    assert text.startswith("h m: limit 4, 0 in flight") and "429" in text
