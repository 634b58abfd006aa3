"""Faults end to end over real sockets: the emulator's fault injection against the core client
and both adapters, sync and async.

Each "driver" below is one way a user makes a call (core sync/async, LangChain invoke/ainvoke,
LlamaIndex chat/achat and their streaming forms). Every fault test runs through all of them, so
a behaviour proven here is proven for what users actually call. Retry sleeps are recorded by
wrapping the transport's injectable ``sleep``/``asleep`` (the real sleep still happens) and
the exponential backoff base is shrunk so the suite stays fast; ``Retry-After`` waits are real.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import core.transport.flow as http_mod
from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.errors import (
    ConnectionError,
    MalformedEventError,
    RateLimitError,
    ResponseParseError,
    ServerError,
    StreamError,
    StreamErrorEvent,
    StreamInterruptedError,
    TimeoutError,
)
from core.types import FinishDelta, GenerationParams, Message, TextDelta, TextPart, UsageDelta

LLAMA = "databricks-meta-llama-3-3-70b-instruct"
GPT5 = "databricks-gpt-5"
PROMPT = "Please tell me a fairly long story about the reliability of streaming clients"
RETRY_AFTER = 0.1
CHAT_PATHS = ("/serving-endpoints/chat/completions", "/serving-endpoints/responses")


@pytest.fixture(scope="module")
def emu():
    with run_emulator(retry_after=RETRY_AFTER, slow_seconds=2.0, fault_after=4, chunk_size=6) as e:
        yield e


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch, emu):
    # Exponential backoff base 0.5s -> 0.02s: same shape, milliseconds instead of seconds.
    monkeypatch.setattr(http_mod, "BACKOFF_BASE", 0.02)
    emu.set_fault(None)
    emu.configure(retry_after=RETRY_AFTER, slow_seconds=2.0)
    emu.clear_requests()
    yield
    emu.set_fault(None)


def model_calls(emu) -> list[Any]:
    return [r for r in emu.requests if r.path in CHAT_PATHS]


# ---------------------------------------------------------------------------------------------
# Drivers: one per public entry point
# ---------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    texts: list[str] = field(default_factory=list)  # text pieces as delivered, in order
    final_seen: bool = False  # something claimed completion (usage / finish / final chunk)
    error: BaseException | None = None


@dataclass
class Driver:
    name: str
    is_async: bool
    make: Callable[..., Any]
    complete: Callable[[Any, str], Any]  # returns text (sync) or awaitable of text
    stream: Callable[[Any, str, Outcome], Any]  # fills the Outcome
    core_client: Callable[[Any], DatabricksChatClient]


def _core_make(emu, model=LLAMA, **kw):
    kw.setdefault("max_retries", 3)
    if model == GPT5:
        kw.setdefault("use_responses_api", True)
    return DatabricksChatClient(model=model, host=kw.pop("host", emu.host), token=emu.token, **kw)


def _msgs(text: str) -> list[Message]:
    return [Message("user", [TextPart(text)])]


def _core_fold(d: Any, out: Outcome) -> None:
    if isinstance(d, TextDelta):
        out.texts.append(d.text)
    elif isinstance(d, (UsageDelta, FinishDelta)):
        out.final_seen = True


def _core_stream(c, text, out):
    for d in c.stream(_msgs(text), GenerationParams()):
        _core_fold(d, out)


async def _core_astream(c, text, out):
    async for d in c.astream(_msgs(text), GenerationParams()):
        _core_fold(d, out)


def _lc_make(emu, model=LLAMA, **kw):
    from langchain_plugin import ChatDatabricks

    kw.setdefault("max_retries", 3)
    if model == GPT5:
        kw.setdefault("use_responses_api", True)
    return ChatDatabricks(model=model, host=kw.pop("host", emu.host), api_key=emu.token, **kw)


def _lc_fold(chunk: Any, out: Outcome) -> None:
    if chunk.text:
        out.texts.append(chunk.text)
    if chunk.usage_metadata or chunk.response_metadata.get("finish_reason"):
        out.final_seen = True


def _lc_stream(llm, text, out):
    for chunk in llm.stream(text):
        _lc_fold(chunk, out)


async def _lc_astream(llm, text, out):
    async for chunk in llm.astream(text):
        _lc_fold(chunk, out)


def _li_make(emu, model=LLAMA, **kw):
    from llamaindex_plugin import Databricks

    kw.setdefault("max_retries", 3)
    if model == GPT5:
        kw.setdefault("use_responses_api", True)
    return Databricks(model=model, host=kw.pop("host", emu.host), token=emu.token, **kw)


def _li_msgs(text: str) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content=text)]


def _li_fold(chunk: Any, out: Outcome) -> None:
    if chunk.delta:
        out.texts.append(chunk.delta)
    if chunk.raw is not None:  # only the final response carries raw (usage, finish reason)
        out.final_seen = True


def _li_stream(llm, text, out):
    for chunk in llm.stream_chat(_li_msgs(text)):
        _li_fold(chunk, out)


async def _li_astream(llm, text, out):
    async for chunk in await llm.astream_chat(_li_msgs(text)):
        _li_fold(chunk, out)


async def _acore(c, text):
    return (await c.acomplete(_msgs(text), GenerationParams())).text


async def _alc(llm, text):
    return (await llm.ainvoke(text)).text


async def _ali(llm, text):
    return (await llm.achat(_li_msgs(text))).message.content


DRIVERS = [
    Driver("core", False, _core_make, lambda c, t: c.complete(_msgs(t), GenerationParams()).text,
           _core_stream, lambda c: c),
    Driver("core-async", True, _core_make, _acore, _core_astream, lambda c: c),
    Driver("langchain", False, _lc_make, lambda m, t: m.invoke(t).text, _lc_stream,
           lambda m: m.client),
    Driver("langchain-async", True, _lc_make, _alc, _lc_astream, lambda m: m.client),
    Driver("llamaindex", False, _li_make, lambda m, t: m.chat(_li_msgs(t)).message.content,
           _li_stream, lambda m: m.client),
    Driver("llamaindex-async", True, _li_make, _ali, _li_astream, lambda m: m.client),
]  # fmt: skip
DRIVER_IDS = [d.name for d in DRIVERS]


class Sleeps(list):
    """The delays the transport asked for, in order."""


def record_sleeps(driver: Driver, obj: Any) -> Sleeps:
    http = driver.core_client(obj).http
    sleeps = Sleeps()
    real_sleep, real_asleep = http.sleep, http.asleep

    def sleep(s: float) -> None:
        sleeps.append(s)
        real_sleep(s)

    async def asleep(s: float) -> None:
        sleeps.append(s)
        await real_asleep(s)

    http.sleep, http.asleep = sleep, asleep
    return sleeps


def run_complete(driver: Driver, obj: Any, text: str = PROMPT) -> Any:
    if not driver.is_async:
        return driver.complete(obj, text)

    async def go() -> Any:
        try:
            return await driver.complete(obj, text)
        finally:
            await driver.core_client(obj).aclose()

    return asyncio.run(go())


def run_stream(driver: Driver, obj: Any, text: str = PROMPT) -> Outcome:
    out = Outcome()
    try:
        if driver.is_async:

            async def go() -> None:
                try:
                    await driver.stream(obj, text, out)
                finally:
                    await driver.core_client(obj).aclose()

            asyncio.run(go())
        else:
            driver.stream(obj, text, out)
    except Exception as exc:  # the tests assert on the exact type
        out.error = exc
    return out


@pytest.fixture(params=DRIVERS, ids=DRIVER_IDS)
def driver(request) -> Driver:
    return request.param


# ---------------------------------------------------------------------------------------------
# 429
# ---------------------------------------------------------------------------------------------
def test_429_waits_as_told_then_succeeds(emu, driver):
    obj = driver.make(emu)
    sleeps = record_sleeps(driver, obj)
    emu.set_fault("429:2")
    t0 = time.perf_counter()
    text = run_complete(driver, obj)
    elapsed = time.perf_counter() - t0
    assert "You said" in text
    assert sleeps == [RETRY_AFTER, RETRY_AFTER]  # exactly what Retry-After said, not backoff
    assert elapsed >= 2 * RETRY_AFTER
    assert len(model_calls(emu)) == 3


def test_429_after_max_retries_raises_rate_limit_error(emu, driver):
    obj = driver.make(emu, max_retries=2)
    sleeps = record_sleeps(driver, obj)
    emu.set_fault("429")
    with pytest.raises(RateLimitError) as info:
        run_complete(driver, obj)
    err = info.value
    assert err.status_code == 429 and err.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert err.retry_after == RETRY_AFTER
    assert "Exceeded workspace QPS rate limit" in err.message  # the server's own words
    assert sleeps == [RETRY_AFTER, RETRY_AFTER]
    assert len(model_calls(emu)) == 3  # 1 + max_retries


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_429_retry_after_beyond_the_bound_is_not_slept(emu, is_async):
    """A server asking for 120 s is not obeyed blindly: the error comes at once with it."""
    driver = DRIVERS[1 if is_async else 0]
    obj = driver.make(emu)
    sleeps = record_sleeps(driver, obj)
    emu.configure(retry_after=120)
    emu.set_fault("429")
    t0 = time.perf_counter()
    with pytest.raises(RateLimitError) as info:
        run_complete(driver, obj)
    assert time.perf_counter() - t0 < 2.0
    assert info.value.retry_after == 120 and sleeps == []
    assert len(model_calls(emu)) == 1


# ---------------------------------------------------------------------------------------------
# 5xx and connection refused
# ---------------------------------------------------------------------------------------------
def _status_cases(statuses_for_adapters: tuple[str, ...]) -> list[Any]:
    """Every status through core sync/async; the adapters (same transport underneath) get a
    representative subset to keep the suite fast."""
    cases = []
    for d in DRIVERS:
        for status in ("500", "502", "503", "504"):
            if d.name.startswith("core") or status in statuses_for_adapters:
                cases.append(pytest.param(d, status, id=f"{d.name}-{status}"))
    return cases


@pytest.mark.parametrize(("driver", "status"), _status_cases(("500", "503")))
def test_5xx_retried_with_backoff_then_succeeds(emu, driver, status):
    obj = driver.make(emu)
    sleeps = record_sleeps(driver, obj)
    emu.set_fault(f"{status}:2")
    assert "You said" in run_complete(driver, obj)
    assert len(model_calls(emu)) == 3
    if status == "503":  # the emulator sends Retry-After with 503: honoured
        assert sleeps == [RETRY_AFTER, RETRY_AFTER]
    else:  # exponential backoff with jitter: attempt i waits in [cap/2, cap], cap = base * 2^i
        assert len(sleeps) == 2
        for i, s in enumerate(sleeps):
            cap = 0.02 * 2**i
            assert cap / 2 <= s <= cap


WORDS_5XX = {"500": "Internal error", "502": "502 Bad Gateway", "503": "temporarily unavailable",
             "504": "upstream request timed out"}  # fmt: skip


@pytest.mark.parametrize(("driver", "status"), _status_cases(("502",)))
def test_5xx_after_max_retries_raises_server_error(emu, driver, status):
    words = WORDS_5XX[status]
    obj = driver.make(emu, max_retries=2)
    sleeps = record_sleeps(driver, obj)
    emu.set_fault(status)
    with pytest.raises(ServerError) as info:
        run_complete(driver, obj)
    assert info.value.status_code == int(status)
    assert words in str(info.value)
    assert len(sleeps) == 2 and len(model_calls(emu)) == 3


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_retried_then_connection_error(emu, driver):
    host = f"http://127.0.0.1:{_closed_port()}"
    obj = driver.make(emu, host=host, max_retries=2)
    sleeps = record_sleeps(driver, obj)
    with pytest.raises(ConnectionError) as info:
        run_complete(driver, obj)
    assert host in str(info.value) and "connect" in str(info.value).lower()
    assert "timed out" not in str(info.value)  # a refused connection is not a timeout
    assert len(sleeps) == 2  # 3 attempts, backoff between them
    assert sleeps[1] > sleeps[0] / 2  # grows (jitter keeps each in [cap/2, cap])


def test_disconnect_without_response_is_retried_then_connection_error(emu):
    driver = DRIVERS[0]
    obj = driver.make(emu, max_retries=1)
    emu.set_fault("disconnect")
    with pytest.raises(ConnectionError, match="disconnected"):
        run_complete(driver, obj)
    assert len(model_calls(emu)) == 2


def test_malformed_json_body_is_response_parse_error_not_retried(emu, driver):
    obj = driver.make(emu)
    emu.set_fault("malformed")
    with pytest.raises(ResponseParseError, match="expected a JSON body"):
        run_complete(driver, obj)
    assert len(model_calls(emu)) == 1


# ---------------------------------------------------------------------------------------------
# Streams that break
# ---------------------------------------------------------------------------------------------
STREAM_FAULTS = [
    ("disconnect", StreamInterruptedError, "lost mid-stream"),
    ("malformed", MalformedEventError, "not JSON|not valid JSON"),
    ("error_event", StreamErrorEvent, "Emulated error event"),
]


_FULL: dict[tuple[str, str], str] = {}


def _full_answer(driver: Driver, emu, model: str) -> str:
    """The fault-free streamed answer (the emulator's scripted model is deterministic)."""
    key = (driver.name, model)
    if key not in _FULL:
        obj = driver.make(emu, model=model)
        out = run_stream(driver, obj)
        assert out.error is None and out.final_seen
        _FULL[key] = "".join(out.texts)
    return _FULL[key]


@pytest.mark.parametrize("model", [LLAMA, GPT5], ids=["chat", "responses"])
@pytest.mark.parametrize(("fault", "error", "words"), STREAM_FAULTS, ids=[f[0] for f in STREAM_FAULTS])
def test_stream_fault_keeps_what_was_delivered(emu, driver, model, fault, error, words):
    full = _full_answer(driver, emu, model)
    emu.clear_requests()
    obj = driver.make(emu, model=model)
    sleeps = record_sleeps(driver, obj)
    emu.set_fault(fault)
    out = run_stream(driver, obj)

    assert isinstance(out.error, error), repr(out.error)
    assert isinstance(out.error, StreamError)
    assert re.search(words, str(out.error))
    delivered = "".join(out.texts)
    assert delivered, "text before the fault must have been delivered"
    assert full.startswith(delivered) and delivered != full  # nothing duplicated, a true prefix
    assert not out.final_seen  # no usage, no finish reason, no final chunk: not complete
    assert len(model_calls(emu)) == 1 and sleeps == []  # never retried behind the caller


@pytest.mark.parametrize("model", [LLAMA, GPT5], ids=["chat", "responses"])
def test_stream_error_before_first_event_is_retried(emu, driver, model):
    full = _full_answer(driver, emu, model)
    emu.clear_requests()
    obj = driver.make(emu, model=model)
    emu.set_fault("500:1")
    out = run_stream(driver, obj)
    assert out.error is None and out.final_seen
    assert "".join(out.texts) == full  # the retry delivered everything once
    assert len(model_calls(emu)) == 2


def test_stream_429_exhausted_raises_before_any_text(emu, driver):
    obj = driver.make(emu, max_retries=1)
    emu.set_fault("429")
    out = run_stream(driver, obj)
    assert isinstance(out.error, RateLimitError) and out.error.retry_after == RETRY_AFTER
    assert out.texts == [] and not out.final_seen


# ---------------------------------------------------------------------------------------------
# Slow first byte
# ---------------------------------------------------------------------------------------------
TIMEOUT = 0.3
MARGIN = 1.0  # generous: CI machines are shared and loaded


def test_slow_first_byte_times_out_within_the_timeout(emu, driver):
    obj = driver.make(emu, timeout=TIMEOUT)
    emu.set_fault("slow")
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError) as info:
        run_complete(driver, obj)
    elapsed = time.perf_counter() - t0
    assert TIMEOUT <= elapsed < TIMEOUT + MARGIN, elapsed
    assert "timed out" in str(info.value)
    assert len(model_calls(emu)) == 1  # a timeout is not multiplied by retries


def test_slow_first_byte_on_a_stream_times_out(emu, driver):
    obj = driver.make(emu, timeout=TIMEOUT)
    emu.set_fault("slow")
    t0 = time.perf_counter()
    out = run_stream(driver, obj)
    elapsed = time.perf_counter() - t0
    assert isinstance(out.error, TimeoutError), repr(out.error)
    assert TIMEOUT <= elapsed < TIMEOUT + MARGIN, elapsed
    assert out.texts == [] and not out.final_seen


def test_slow_but_within_timeout_succeeds(emu):
    driver = DRIVERS[0]
    obj = driver.make(emu, timeout=5.0)
    emu.configure(slow_seconds=0.3)
    emu.set_fault("slow")
    assert "You said" in run_complete(driver, obj)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_stream_stalling_mid_way_times_out_keeping_what_arrived(emu, is_async):
    """Events stop coming for longer than the timeout after the stream started: a TimeoutError
    that says the stream stalled; what arrived stays delivered; no retry; nothing final."""
    driver = DRIVERS[1 if is_async else 0]
    full = _full_answer(driver, emu, LLAMA)
    emu.clear_requests()
    obj = driver.make(emu, timeout=TIMEOUT, extra_headers={"X-Emulator-Chunk-Delay": "1.0"})
    t0 = time.perf_counter()
    out = run_stream(driver, obj)
    elapsed = time.perf_counter() - t0
    assert isinstance(out.error, TimeoutError), repr(out.error)
    assert isinstance(out.error, StreamError), "a stall after the start is a stream error too"
    assert "stalled" in str(out.error)  # after the stream started (the first event is role-only)
    delivered = "".join(out.texts)
    assert full.startswith(delivered) and delivered != full
    assert not out.final_seen
    assert len(model_calls(emu)) == 1
    assert elapsed < 1.0 + TIMEOUT + MARGIN  # one inter-event gap at most, then the timeout
