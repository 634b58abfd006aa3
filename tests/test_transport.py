"""Transport unit tests (respx): retries, Retry-After, error mapping, SSE, auth header rules."""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time

import httpx
import pytest
import respx

from core import __version__
from core.auth.base import AuthProvider
from core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConnectionError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseParseError,
    ServerError,
    StreamInterruptedError,
    TimeoutError,
)
from core.transport import HttpTransport, JsonBody, error_from_response, parse_retry_after
from core.transport.errors import parse_error_body

HOST = "https://ws.cloud.databricks.com"
URL = f"{HOST}/serving-endpoints/chat/completions"


class FakeAuth(AuthProvider):
    method = "fake"
    can_refresh = True

    def __init__(self, refreshable=True):
        self.n = 1
        self.invalidated: list[str | None] = []
        self.can_refresh = refreshable

    def header(self):
        return f"Bearer t{self.n}"

    def invalidate(self, used=None):
        self.invalidated.append(used)
        self.n += 1


def make(auth=None, **kw):
    kw.setdefault("kind", "httpx")
    t = HttpTransport(auth=auth if auth is not None else FakeAuth(), **kw)
    t.allow_url(HOST)
    t.sleeps = []
    t.sleep = t.sleeps.append

    async def asleep(s):
        t.sleeps.append(s)

    t.asleep = asleep
    t.random = lambda: 0.5
    return t


def ok(body=None):
    return httpx.Response(200, json=body if body is not None else {"ok": True})


# ------------------------------------------------------------------------------------------
# retries
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@respx.mock
def test_each_retryable_status_is_retried(status):
    route = respx.post(URL).mock(side_effect=[httpx.Response(status), httpx.Response(status), ok()])
    t = make()
    assert t.request_json("POST", URL, content=b"{}") == {"ok": True}
    assert route.call_count == 3
    assert len(t.sleeps) == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@respx.mock
async def test_each_retryable_status_is_retried_async(status):
    route = respx.post(URL).mock(side_effect=[httpx.Response(status), ok()])
    t = make()
    assert await t.arequest_json("POST", URL, content=b"{}") == {"ok": True}
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
@respx.mock
def test_retries_exhausted_raise_mapped_error(status, cls):
    route = respx.post(URL).mock(return_value=httpx.Response(status, json={"message": "busy"}))
    t = make(max_retries=2)
    with pytest.raises(cls) as err:
        t.request("POST", URL, content=b"{}")
    assert route.call_count == 3
    assert err.value.status_code == status


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
@respx.mock
def test_non_retryable_status_not_retried(status):
    route = respx.post(URL).mock(return_value=httpx.Response(status, json={"message": "no"}))
    with pytest.raises(APIError):
        make().request("POST", URL, content=b"{}")
    assert route.call_count == 1


@respx.mock
def test_max_retries_zero():
    route = respx.post(URL).mock(return_value=httpx.Response(503))
    with pytest.raises(ServerError):
        make(max_retries=0).request("POST", URL)
    assert route.call_count == 1


def test_backoff_is_exponential_with_jitter():
    t = make()
    t.random = lambda: 0.0
    lows = [t.backoff(i) for i in range(6)]
    t.random = lambda: 1.0
    highs = [t.backoff(i) for i in range(6)]
    assert lows[:4] == [0.25, 0.5, 1.0, 2.0]
    assert highs[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(highs) == 8.0  # capped
    t.random = __import__("random").random
    samples = {round(t.backoff(2), 6) for _ in range(20)}
    assert len(samples) > 1 and all(1.0 <= s <= 2.0 for s in samples)


@respx.mock
def test_retry_after_seconds_honoured():
    respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), ok()])
    t = make()
    t.request("POST", URL)
    assert t.sleeps == [7.0]


@respx.mock
def test_retry_after_http_date_honoured():
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    respx.post(URL).mock(side_effect=[httpx.Response(503, headers={"Retry-After": when}), ok()])
    t = make()
    t.request("POST", URL)
    assert len(t.sleeps) == 1 and 3.0 <= t.sleeps[0] <= 5.5


@respx.mock
def test_retry_after_beyond_cap_is_not_slept_through():
    route = respx.post(URL).mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "3600"},
            json={
                "error_code": "REQUEST_LIMIT_EXCEEDED",
                "message": "Exceeded workspace QPS rate limit",
            },
        )
    )
    t = make()
    with pytest.raises(RateLimitError) as err:
        t.request("POST", URL)
    assert route.call_count == 1 and t.sleeps == []
    assert err.value.retry_after == 3600.0
    assert err.value.error_code == "REQUEST_LIMIT_EXCEEDED"


def test_parse_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    past = email.utils.formatdate(1000, usegmt=True)
    assert parse_retry_after(past) == 0.0
    date = email.utils.formatdate(2000, usegmt=True)
    assert parse_retry_after(date, now=1990.0) == pytest.approx(10.0)


@respx.mock
def test_connection_errors_retried():
    route = respx.post(URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.RemoteProtocolError("eof"), ok()]
    )
    t = make()
    assert t.request_json("POST", URL) == {"ok": True}
    assert route.call_count == 3


@respx.mock
def test_connection_errors_exhausted():
    respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ConnectionError) as err:
        make(max_retries=1).request("POST", URL)
    assert URL in str(err.value)


@respx.mock
async def test_connect_timeout_retried_read_timeout_not():
    route = respx.post(URL).mock(side_effect=[httpx.ConnectTimeout("t"), httpx.ReadTimeout("t")])
    with pytest.raises(TimeoutError):
        await make().arequest("POST", URL)
    assert route.call_count == 2


# ------------------------------------------------------------------------------------------
# 401: one refresh, one retry
# ------------------------------------------------------------------------------------------
@respx.mock
def test_401_forces_one_refresh_and_retry():
    route = respx.post(URL).mock(side_effect=[httpx.Response(401), ok()])
    auth = FakeAuth()
    t = make(auth)
    t.request("POST", URL)
    assert auth.invalidated == ["Bearer t1"]
    assert [c.request.headers["authorization"] for c in route.calls] == ["Bearer t1", "Bearer t2"]
    assert t.sleeps == []


@respx.mock
async def test_401_twice_raises_authentication_error_async():
    route = respx.post(URL).mock(return_value=httpx.Response(401, json={"message": "bad token"}))
    auth = FakeAuth()
    with pytest.raises(AuthenticationError) as err:
        await make(auth).arequest("POST", URL)
    assert route.call_count == 2 and len(auth.invalidated) == 1
    assert "fake" in str(err.value)


@respx.mock
def test_401_without_refreshable_auth_not_retried():
    route = respx.post(URL).mock(return_value=httpx.Response(401))
    with pytest.raises(AuthenticationError):
        make(FakeAuth(refreshable=False)).request("POST", URL)
    assert route.call_count == 1


@respx.mock
def test_401_with_oauth_fetches_a_new_token():
    from pydantic import SecretStr

    from core.auth.oauth import OAuthM2MAuth

    token = respx.post(f"{HOST}/oidc/v1/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "old", "expires_in": 3600}),
            httpx.Response(200, json={"access_token": "new", "expires_in": 3600}),
        ]
    )
    api = respx.post(URL).mock(side_effect=[httpx.Response(401), ok()])
    auth = OAuthM2MAuth(HOST, "sp", SecretStr("s3cr3t"))
    t = make(auth)
    assert t.request_json("POST", URL) == {"ok": True}
    assert token.call_count == 2
    assert [c.request.headers["authorization"] for c in api.calls] == ["Bearer old", "Bearer new"]


# ------------------------------------------------------------------------------------------
# error mapping
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, APIError),
    ],
)
def test_status_to_error_class(status, cls):
    err = error_from_response(
        status, {"x-request-id": "rid-1"}, b'{"error_code":"X","message":"m"}'
    )
    assert type(err) is cls
    assert (err.status_code, err.error_code, err.message, err.request_id) == (
        status,
        "X",
        "m",
        "rid-1",
    )


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            b'{"error_code": "BAD_REQUEST", "message": "Invalid max_tokens", "details": []}',
            "BAD_REQUEST",
            "Invalid max_tokens",
        ),
        (b'{"error": "Model is overloaded"}', None, "Model is overloaded"),
        (
            b'{"error": {"message": "bad tool", "type": "invalid_request_error"}}',
            "invalid_request_error",
            "bad tool",
        ),
        (b'{"detail": "not here"}', None, "not here"),
        (
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            None,
            "502 Bad Gateway",
        ),
        (b"<html><body><h1>Upstream   error</h1></body></html>", None, "Upstream error"),
        (b"plain text failure", None, "plain text failure"),
        (b"[1, 2]", None, "[1, 2]"),
        (b"", None, None),
    ],
)
def test_error_body_shapes(body, code, message):
    got_code, got_message, _ = parse_error_body(body)
    assert (got_code, got_message) == (code, message)


def test_empty_error_body_still_has_a_message():
    err = error_from_response(502, {}, b"", url=URL)
    assert "502" in err.message and URL in err.message


@pytest.mark.parametrize(
    "header", ["x-request-id", "x-databricks-request-id", "x-databricks-reqid", "request-id"]
)
def test_request_id_headers(header):
    err = error_from_response(500, httpx.Headers({header: "abc-123"}), b"{}")
    assert err.request_id == "abc-123"
    assert "abc-123" in str(err)


def test_echoed_token_is_redacted():
    body = b'{"message": "token dapi0123456789abcdef0123 is invalid"}'
    err = error_from_response(401, {}, body)
    assert "dapi0123456789abcdef0123" not in str(err)


def test_long_html_is_shortened():
    err = error_from_response(500, {}, b"<p>" + b"x" * 5000 + b"</p>")
    assert len(err.message) <= 300


@respx.mock
def test_error_from_request_carries_request_id():
    respx.post(URL).mock(
        return_value=httpx.Response(
            400,
            json={"error_code": "BAD_REQUEST", "message": "nope"},
            headers={"x-databricks-request-id": "r-9"},
        )
    )
    with pytest.raises(BadRequestError) as err:
        make().request("POST", URL)
    assert err.value.request_id == "r-9" and err.value.error_code == "BAD_REQUEST"


@respx.mock
def test_non_json_success_body():
    respx.post(URL).mock(return_value=httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(ResponseParseError, match="expected a JSON body"):
        make().request_json("POST", URL)


# ------------------------------------------------------------------------------------------
# headers: User-Agent, Authorization only where allowed
# ------------------------------------------------------------------------------------------
@respx.mock
def test_user_agent_names_package_version_adapter():
    route = respx.post(URL).mock(return_value=ok())
    make(adapter="langchain").request("POST", URL)
    ua = route.calls.last.request.headers["user-agent"]
    assert f"databricks-llm-plugins/{__version__}" in ua and "adapter/langchain" in ua


@respx.mock
def test_extra_headers_sent():
    route = respx.post(URL).mock(return_value=ok())
    make(extra_headers={"X-Custom": "1"}).request("POST", URL)
    assert route.calls.last.request.headers["x-custom"] == "1"


@respx.mock
def test_no_authorization_to_unregistered_host():
    other = "https://elsewhere.example.com/x"
    route = respx.get(other).mock(return_value=ok())
    make().request("GET", other)
    assert "authorization" not in route.calls.last.request.headers


@respx.mock
def test_redirect_to_other_host_drops_authorization():
    respx.post(URL).mock(
        return_value=httpx.Response(307, headers={"Location": "https://evil.example.com/steal"})
    )
    evil = respx.post("https://evil.example.com/steal").mock(return_value=ok())
    make().request("POST", URL, content=b"{}")
    assert evil.called
    assert "authorization" not in evil.calls.last.request.headers


@respx.mock
async def test_redirect_to_other_host_drops_authorization_async():
    respx.post(URL).mock(
        return_value=httpx.Response(308, headers={"Location": "http://evil.example.com/x"})
    )
    evil = respx.post("http://evil.example.com/x").mock(return_value=ok())
    await make().arequest("POST", URL, content=b"{}")
    assert "authorization" not in evil.calls.last.request.headers


@respx.mock
def test_redirect_within_workspace_keeps_authorization():
    respx.post(URL).mock(
        return_value=httpx.Response(307, headers={"Location": f"{HOST}/other/path"})
    )
    same = respx.post(f"{HOST}/other/path").mock(return_value=ok())
    make().request("POST", URL, content=b"{}")
    assert same.calls.last.request.headers["authorization"] == "Bearer t1"


@respx.mock
def test_redirect_never_carries_authorization_across_origins():
    # Even to an origin we would send it to directly: a redirect is not our choice of target.
    app = "https://my-app-123.aws.databricksapps.com"
    respx.post(URL).mock(return_value=httpx.Response(307, headers={"Location": f"{app}/r"}))
    target = respx.post(f"{app}/r").mock(return_value=ok())
    t = make()
    t.allow_url(app)
    t.request("POST", URL, content=b"{}")
    assert "authorization" not in target.calls.last.request.headers


@respx.mock
def test_explicit_basic_auth_not_forwarded_on_cross_host_redirect():
    token_url = f"{HOST}/oidc/v1/token"
    respx.post(token_url).mock(
        return_value=httpx.Response(307, headers={"Location": "https://evil.example.com/t"})
    )
    evil = respx.post("https://evil.example.com/t").mock(return_value=ok())
    t = make()
    t.request("POST", token_url, headers={"Authorization": "Basic abc"}, auth=False)
    assert "authorization" not in evil.calls.last.request.headers


# ------------------------------------------------------------------------------------------
# SSE
# ------------------------------------------------------------------------------------------
SSE = "text/event-stream"


def sse_response(*events: str, status=200):
    body = "".join(f"data: {e}\n\n" for e in events)
    return httpx.Response(status, text=body, headers={"content-type": SSE})


@respx.mock
def test_stream_yields_event_data():
    respx.post(URL).mock(return_value=sse_response('{"a":1}', '{"b":2}', "[DONE]"))
    assert list(make().stream_events(URL, content=b"{}")) == ['{"a":1}', '{"b":2}', "[DONE]"]


@respx.mock
async def test_astream_yields_event_data():
    respx.post(URL).mock(return_value=sse_response('{"a":1}', "[DONE]"))
    got = [e async for e in make().astream_events(URL, content=b"{}")]
    assert got == ['{"a":1}', "[DONE]"]


@respx.mock
def test_stream_sends_accept_and_auth():
    route = respx.post(URL).mock(return_value=sse_response("[DONE]"))
    list(make().stream_events(URL, content=b"{}"))
    h = route.calls.last.request.headers
    assert h["accept"] == SSE and h["authorization"] == "Bearer t1"


@respx.mock
def test_stream_retried_before_first_event():
    route = respx.post(URL).mock(
        side_effect=[httpx.Response(503), httpx.ConnectError("x"), sse_response("1", "[DONE]")]
    )
    t = make()
    assert list(t.stream_events(URL, content=b"{}")) == ["1", "[DONE]"]
    assert route.call_count == 3


@respx.mock
def test_stream_error_status_mapped():
    respx.post(URL).mock(
        return_value=httpx.Response(400, json={"error_code": "BAD_REQUEST", "message": "bad"})
    )
    with pytest.raises(BadRequestError, match="bad"):
        list(make().stream_events(URL, content=b"{}"))


@respx.mock
def test_stream_401_refresh_and_retry():
    route = respx.post(URL).mock(side_effect=[httpx.Response(401), sse_response("[DONE]")])
    auth = FakeAuth()
    assert list(make(auth).stream_events(URL, content=b"{}")) == ["[DONE]"]
    assert route.call_count == 2 and auth.invalidated == ["Bearer t1"]


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Chunks, then optionally an exception (a dropped connection)."""

    def __init__(self, chunks, exc=None, gate=None):
        self.chunks, self.exc, self.gate = chunks, exc, gate

    def __iter__(self):
        for i, c in enumerate(self.chunks):
            if i == 1 and self.gate is not None:
                assert self.gate.wait(5), "consumer never saw the first event"
            yield c
        if self.exc:
            raise self.exc

    async def __aiter__(self):
        for i, c in enumerate(self.chunks):
            if i == 1 and self.gate is not None:
                for _ in range(500):
                    if self.gate.is_set():
                        break
                    await asyncio.sleep(0.01)
                assert self.gate.is_set(), "consumer never saw the first event"
            yield c
        if self.exc:
            raise self.exc


def chunked(chunks, exc=None, gate=None):
    return httpx.Response(
        200, headers={"content-type": SSE}, stream=_Chunks([c.encode() for c in chunks], exc, gate)
    )


@respx.mock
def test_stream_first_event_arrives_before_the_rest():
    gate = threading.Event()
    respx.post(URL).mock(return_value=chunked(["data: first\n\n", "data: [DONE]\n\n"], gate=gate))
    events = make().stream_events(URL, content=b"{}")
    assert next(events) == "first"  # would deadlock (gate) if the body were read whole
    gate.set()
    assert list(events) == ["[DONE]"]


@respx.mock
async def test_astream_first_event_arrives_before_the_rest():
    gate = threading.Event()
    respx.post(URL).mock(return_value=chunked(["data: first\n\n", "data: [DONE]\n\n"], gate=gate))
    events = make().astream_events(URL, content=b"{}")
    assert await events.__anext__() == "first"
    gate.set()
    assert [e async for e in events] == ["[DONE]"]


@respx.mock
def test_stream_split_across_chunks():
    respx.post(URL).mock(return_value=chunked(['data: {"a"', ":1}\n", "\ndata: [DO", "NE]\n\n"]))
    assert list(make().stream_events(URL, content=b"{}")) == ['{"a":1}', "[DONE]"]


@respx.mock
def test_stream_not_retried_after_data():
    route = respx.post(URL).mock(
        return_value=chunked(["data: one\n\n"], exc=httpx.RemoteProtocolError("peer closed"))
    )
    got = []
    with pytest.raises(StreamInterruptedError):
        for e in make().stream_events(URL, content=b"{}"):
            got.append(e)
    assert got == ["one"] and route.call_count == 1


@respx.mock
async def test_astream_not_retried_after_data():
    route = respx.post(URL).mock(
        return_value=chunked(["data: one\n\n"], exc=httpx.ReadError("reset"))
    )
    got = []
    with pytest.raises(StreamInterruptedError):
        async for e in make().astream_events(URL, content=b"{}"):
            got.append(e)
    assert got == ["one"] and route.call_count == 1


@respx.mock
def test_stream_drop_before_first_event_is_retried():
    route = respx.post(URL).mock(
        side_effect=[chunked([], exc=httpx.ReadError("reset")), sse_response("x", "[DONE]")]
    )
    assert list(make().stream_events(URL, content=b"{}")) == ["x", "[DONE]"]
    assert route.call_count == 2


@respx.mock
def test_stream_stall_after_data_is_timeout():
    respx.post(URL).mock(return_value=chunked(["data: one\n\n"], exc=httpx.ReadTimeout("slow")))
    with pytest.raises(TimeoutError):
        list(make().stream_events(URL, content=b"{}"))


@respx.mock
def test_stream_answered_with_json_body():
    respx.post(URL).mock(return_value=httpx.Response(200, json={"choices": []}))
    got = list(make().stream_events(URL, content=b"{}"))
    assert len(got) == 1 and isinstance(got[0], JsonBody) and got[0].body == {"choices": []}


@respx.mock
def test_stream_comments_and_blank_events_skipped():
    body = ": keep-alive\n\ndata: a\n\nevent: ping\ndata: \n\ndata: [DONE]\n\n"
    respx.post(URL).mock(return_value=httpx.Response(200, text=body, headers={"content-type": SSE}))
    assert list(make().stream_events(URL, content=b"{}")) == ["a", "", "[DONE]"]


# ------------------------------------------------------------------------------------------
# clients: pooled, per loop, closing
# ------------------------------------------------------------------------------------------
def test_sync_client_reused_and_recreated_after_close():
    t = make()
    c1 = t.sync_client()
    assert t.sync_client() is c1
    t.close()
    assert c1.is_closed
    assert t.sync_client() is not c1


def test_async_client_per_loop_and_dead_loops_dropped():
    t = make()

    async def get():
        return t.async_client()

    c1 = asyncio.run(get())
    c2 = asyncio.run(get())
    assert c1 is not c2
    assert len(t._async) == 1  # the first loop closed; its client was dropped

    async def same():
        return t.async_client() is t.async_client()

    assert asyncio.run(same())


@respx.mock
def test_requests_on_several_loops():
    respx.post(URL).mock(return_value=ok())
    t = make()
    for _ in range(3):
        assert asyncio.run(t.arequest_json("POST", URL)) == {"ok": True}


async def test_aclose_closes_current_loop_client():
    t = make()
    c = t.async_client()
    s = t.sync_client()
    await t.aclose()
    assert c.is_closed and s.is_closed


def test_auto_backend_prefers_aiohttp(monkeypatch):
    import core.transport.http as http

    assert HttpTransport(kind="auto").async_backend == "aiohttp"  # installed in this venv
    monkeypatch.setattr(http, "aiohttp_available", lambda: False)
    assert HttpTransport(kind="auto").async_backend == "httpx"
    assert HttpTransport(kind="httpx").async_backend == "httpx"
    with pytest.raises(ValueError):
        HttpTransport(kind="curl")


async def test_aiohttp_backend_is_an_aiohttp_session():
    import aiohttp

    t = make(kind="aiohttp")
    client = t.async_client()
    assert isinstance(client.session, aiohttp.ClientSession) and not client.is_closed
    await t.aclose()
    assert client.is_closed


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@respx.mock
def test_retry_after_honoured_on_any_retryable_status(status):
    respx.post(URL).mock(side_effect=[httpx.Response(status, headers={"Retry-After": "2"}), ok()])
    t = make()
    t.request("POST", URL)
    assert t.sleeps == [2.0]
