"""The per-attempt gate hook of HttpTransport (core.transport.gate), with respx."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.errors import ConnectionError, RateLimitError, StreamInterruptedError
from core.transport import HttpTransport
from core.transport.gate import Gate
from tests.test_transport import URL, FakeAuth, chunked, make, ok, sse_response


class RecordingGate:
    """Records the order of acquire/release and what each attempt saw."""

    def __init__(self):
        self.events: list[tuple] = []
        self.held = 0

    def acquire(self):
        self.held += 1
        self.events.append(("acquire",))

    async def aacquire(self):
        self.held += 1
        self.events.append(("aacquire",))

    def release(self, status, retry_after):
        self.held -= 1
        self.events.append(("release", status, retry_after))


def gated(**kw):
    t = make(**kw)
    t.gate = RecordingGate()
    return t


def test_recording_gate_satisfies_the_protocol():
    assert isinstance(RecordingGate(), Gate)
    t = HttpTransport(auth=FakeAuth(), kind="httpx", gate=RecordingGate())
    assert isinstance(t.gate, RecordingGate)


@respx.mock
def test_each_attempt_acquires_and_releases_with_its_status_and_retry_after():
    def answer(request):
        # the gate is held while the request is in flight
        assert t.gate.held == 1
        return next(answers)

    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), ok()])
    respx.post(URL).mock(side_effect=answer)
    t = gated()
    assert t.request_json("POST", URL, content=b"{}") == {"ok": True}
    assert t.gate.events == [
        ("acquire",),
        ("release", 429, 2.0),
        ("acquire",),
        ("release", 200, None),
    ]
    assert t.sleeps == [2.0]  # the back-off sleep holds no slot: it came after the release


@respx.mock
async def test_async_attempts_use_aacquire():
    respx.post(URL).mock(side_effect=[httpx.Response(503), ok()])
    t = gated()
    assert await t.arequest_json("POST", URL, content=b"{}") == {"ok": True}
    assert t.gate.events == [
        ("aacquire",),
        ("release", 503, None),
        ("aacquire",),
        ("release", 200, None),
    ]


@respx.mock
def test_connection_error_releases_with_no_status():
    respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    t = gated(max_retries=1)
    with pytest.raises(ConnectionError):
        t.request("POST", URL, content=b"{}")
    assert t.gate.events == [("acquire",), ("release", None, None)] * 2
    assert t.gate.held == 0


@respx.mock
async def test_final_429_is_released_before_the_error_reaches_the_caller():
    respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    t = gated(max_retries=0)
    with pytest.raises(RateLimitError):
        await t.arequest("POST", URL, content=b"{}")
    assert t.gate.events == [("aacquire",), ("release", 429, 1.0)]


@respx.mock
def test_stream_holds_the_gate_until_it_ends():
    respx.post(URL).mock(return_value=sse_response("a", "[DONE]"))
    t = gated()
    events = t.stream_events(URL, content=b"{}")
    assert next(events) == "a"
    assert t.gate.held == 1  # still streaming
    assert list(events) == ["[DONE]"]
    assert t.gate.events == [("acquire",), ("release", 200, None)]


@respx.mock
def test_abandoned_stream_releases():
    respx.post(URL).mock(return_value=sse_response("a", "b", "[DONE]"))
    t = gated()
    events = t.stream_events(URL, content=b"{}")
    assert next(events) == "a"
    events.close()
    assert t.gate.events == [("acquire",), ("release", 200, None)]


@respx.mock
async def test_abandoned_async_stream_releases():
    respx.post(URL).mock(return_value=sse_response("a", "b", "[DONE]"))
    t = gated()
    events = t.astream_events(URL, content=b"{}")
    assert await events.__anext__() == "a"
    await events.aclose()
    assert t.gate.events == [("aacquire",), ("release", 200, None)]


@respx.mock
async def test_stream_dropped_mid_way_releases_with_no_status():
    respx.post(URL).mock(return_value=chunked(["data: one\n\n"], exc=httpx.ReadError("reset")))
    t = gated()
    with pytest.raises(StreamInterruptedError):
        async for _ in t.astream_events(URL, content=b"{}"):
            pass
    assert t.gate.events == [("aacquire",), ("release", None, None)]


@respx.mock
def test_no_gate_is_the_default():
    respx.post(URL).mock(return_value=ok())
    t = make()
    assert t.gate is None
    assert t.request_json("POST", URL, content=b"{}") == {"ok": True}


@respx.mock
def test_token_requests_skip_the_gate():
    # auth=False (the OAuth token exchange): a refresh never queues behind the calls waiting
    # for it, which would deadlock a full gate
    respx.post(URL).mock(return_value=ok())
    t = gated()
    t.request("POST", URL, content=b"{}", auth=False)
    assert t.gate.events == []


@respx.mock
def test_the_credential_is_taken_after_the_gate_admits_the_call():
    class Auth(FakeAuth):
        def header(self):
            order.append(("header", t.gate.held))
            return super().header()

    order: list[tuple] = []
    respx.post(URL).mock(return_value=ok())
    t = make(Auth())
    t.gate = RecordingGate()
    t.request("POST", URL, content=b"{}")
    assert order == [("header", 1)]  # inside the gate, not before it
