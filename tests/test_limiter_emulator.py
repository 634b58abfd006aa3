"""The shared limiter end to end: clients and adapters against the emulator's rate limit."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.emulator.process import run_emulator_process
from core.errors import ConfigurationError
from core.limiter import AdaptiveLimiter, ChainedGate, limiter_states
from core.types import GenerationParams, Message, TextPart

MODEL = "databricks-meta-llama-3-3-70b-instruct"
MSGS = [Message(role="user", parts=[TextPart("hi")])]
PARAMS = GenerationParams(max_tokens=5)


@pytest.fixture(scope="module")
def emu():
    with run_emulator(record_requests=False) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _no_rate_limit(emu):
    emu.configure(rate_limit=None, rate_burst=None, latency=0.0)
    emu._app.rate.reset()
    yield
    emu.configure(rate_limit=None, rate_burst=None, latency=0.0)


def client(emu, **kw) -> DatabricksChatClient:
    return DatabricksChatClient(model=MODEL, host=emu.host, token=emu.token, **kw)


def test_emulator_rate_limit_answers_like_databricks(emu):
    import httpx

    emu.configure(rate_limit=2.0)
    url = f"{emu.host}/serving-endpoints/{MODEL}/invocations"
    body = {"messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {emu.token}"}
    answers = [httpx.post(url, json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "Exceeded workspace QPS rate limit" in refused.json()["message"]
    assert refused.headers["Retry-After"] == "1"  # whole seconds, as HTTP has it
    # another endpoint has its own bucket; the workspace API is not rate limited
    other = f"{emu.host}/serving-endpoints/databricks-gpt-oss-120b/invocations"
    assert httpx.post(other, json=body, headers=headers).status_code == 200
    listing = httpx.get(f"{emu.host}/api/2.0/serving-endpoints", headers=headers)
    assert listing.status_code == 200
    stats = emu.rate_limit_stats
    assert (stats.admitted, stats.refused) == (3, 1)
    assert stats.by_endpoint[MODEL] == [2, 1]


def test_every_client_of_an_endpoint_shares_one_limiter(emu):
    a, b = client(emu), client(emu, timeout=30)
    assert a.limiter is not None and a.limiter is b.limiter
    assert a.http.gate is a.limiter
    other = DatabricksChatClient(model="databricks-gpt-oss-120b", host=emu.host, token=emu.token)
    assert other.limiter is not a.limiter
    a.complete(MSGS, PARAMS)
    b.complete(MSGS, PARAMS)
    state = a.limiter.state()
    assert state.succeeded == 2 and state.in_flight == 0
    assert any(s.key.endswith(MODEL) and s.succeeded == 2 for s in limiter_states())


def test_adaptive_off_and_a_cap(emu):
    off = client(emu, adaptive_concurrency=False)
    assert off.limiter is None and off.http.gate is None
    capped_only = client(emu, adaptive_concurrency=False, max_concurrency=3)
    assert isinstance(capped_only.http.gate, AdaptiveLimiter) and capped_only.http.gate.limit == 3
    capped = client(emu, max_concurrency=2)
    assert isinstance(capped.http.gate, ChainedGate)
    with pytest.raises(ConfigurationError, match="max_concurrency must be >= 1"):
        client(emu, max_concurrency=0)


async def test_a_cap_holds_concurrent_async_calls(emu):
    emu.configure(latency=0.05)
    c = client(emu, max_concurrency=3)
    gate = c.http.gate
    assert isinstance(gate, ChainedGate)
    peak = 0

    async def watch():
        nonlocal peak
        while True:
            peak = max(peak, gate.own.in_flight)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(c.acomplete(MSGS, PARAMS) for _ in range(12)))
    finally:
        watcher.cancel()
        await c.aclose()
    assert peak == 3
    assert gate.shared.succeeded == 12 and gate.own.in_flight == 0


def test_threads_and_a_cap(emu):
    emu.configure(latency=0.05)
    c = client(emu, max_concurrency=2)
    gate = c.http.gate
    seen: list[int] = []

    def work():
        c.complete(MSGS, PARAMS)
        seen.append(gate.own.in_flight)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(seen) == 8 and max(seen) <= 2 and gate.own.in_flight == 0


def test_429_pauses_and_is_counted(emu):
    # a burst beyond the rate: the 429s are retried after Retry-After and counted
    emu.configure(rate_limit=5.0, rate_burst=5.0)
    c = client(emu)

    async def burst():
        return await asyncio.gather(*(c.acomplete(MSGS, PARAMS) for _ in range(12)))

    started = time.monotonic()
    results = asyncio.run(burst())
    assert len(results) == 12 and all(r.parts for r in results)
    state = c.limiter.state()
    stats = emu.rate_limit_stats
    assert state.rate_limited == stats.refused >= 1
    assert stats.admitted == 12
    assert time.monotonic() - started >= 1.0  # 7 calls beyond the burst wait for tokens


def test_langchain_and_llamaindex_pass_the_settings(emu):
    from langchain_plugin import ChatDatabricks
    from llamaindex_plugin import Databricks

    lc = ChatDatabricks(model=MODEL, host=emu.host, api_key=emu.token, max_concurrency=4)
    assert isinstance(lc.client.http.gate, ChainedGate) and lc.client.http.gate.own.limit == 4
    assert lc.client.limiter is client(emu).limiter  # one limiter for the endpoint
    li = Databricks(model=MODEL, host=emu.host, token=emu.token, adaptive_concurrency=False)
    assert li._client.http.gate is None


def test_abatch_settles_near_the_rate_limit():
    """LangChain abatch far beyond an endpoint's rate: near the ideal time, few 429s.

    The emulator runs in its own process (as a real endpoint would: no GIL shared with the
    client), allowing N calls per second with a model latency of ~0.2 s. The bench runs the
    2,000-call version side by side with a fixed concurrency."""
    from langchain_plugin import ChatDatabricks

    rate, calls = 100.0, 800
    with run_emulator_process(rate_limit=rate, latency=0.2) as server:
        llm = ChatDatabricks(model=MODEL, host=server.host, api_key=server.token, max_tokens=5)
        started = time.monotonic()
        out = asyncio.run(llm.abatch([f"row {i}" for i in range(calls)], return_exceptions=True))
        elapsed = time.monotonic() - started
    failures = [o for o in out if isinstance(o, Exception)]
    assert failures == []
    state = llm.client.limiter.state()
    attempts = state.succeeded + state.rate_limited
    assert state.succeeded == calls
    ideal = calls / rate
    assert elapsed <= 1.3 * ideal, (elapsed, ideal, str(state))
    assert state.rate_limited / attempts < 0.05, str(state)
