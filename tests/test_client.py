"""DatabricksChatClient: the contract API end to end over respx (codecs are the real ones)."""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
import subprocess
import sys
import types

import httpx
import pytest
import respx

from core.accumulator import deltas_from_response
from core.client import MAX_PAYLOAD_BYTES, DatabricksChatClient
from core.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    StreamInterruptedError,
)
from core.settings import ClientSettings
from core.types import (
    ChatResponse,
    FinishDelta,
    GenerationParams,
    MediaPart,
    Message,
    ReasoningPart,
    TextDelta,
    TextPart,
    ToolCallPart,
    Usage,
    UsageDelta,
)

H = "https://ws.cloud.databricks.com"
SERVING = f"{H}/serving-endpoints/chat/completions"
GATEWAY = f"{H}/ai-gateway/mlflow/v1/chat/completions"
APP_URL = "https://my-agent-1234.aws.databricksapps.com"
SSE = {"content-type": "text/event-stream"}
MSGS = [Message("user", [TextPart("hi")])]
P = GenerationParams()


def chat_body(text="hello"):
    return {
        "id": "chatcmpl-1",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def chunk(delta, finish=None, usage=None):
    c = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        c["usage"] = usage
    return json.dumps(c)


def sse(*events):
    return httpx.Response(200, text="".join(f"data: {e}\n\n" for e in events), headers=SSE)


CHAT_STREAM = (
    chunk({"role": "assistant", "content": "hel"}),
    chunk({"content": "lo"}),
    chunk({}, "stop", {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}),
    "[DONE]",
)


def client(model="databricks-claude-sonnet-4-5", **kw):
    kw.setdefault("host", H)
    if not any(k in kw for k in ("token", "token_provider", "client_id", "workspace_client")):
        kw["token"] = "dapi0123456789abcdef"
    kw.setdefault("transport", "httpx")
    c = DatabricksChatClient(model=model, **kw)
    c.http.sleep = lambda s: None

    async def nosleep(s):
        return None

    c.http.asleep = nosleep
    return c


def text_of(deltas):
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))


# ------------------------------------------------------------------------------------------
# construction
# ------------------------------------------------------------------------------------------
def test_needs_a_model():
    with pytest.raises(ConfigurationError, match="no model"):
        DatabricksChatClient(host=H, token="t")


def test_configuration_errors_are_early():
    with pytest.raises(ConfigurationError, match="no Databricks credentials"):
        DatabricksChatClient(model="m", host=H)


def test_settings_plus_kwargs():
    s = ClientSettings(model="a", host=H, token="dapi1", timeout=5)
    c = DatabricksChatClient(s, model="b", max_retries=0)
    assert c.settings.model == "b" and c.settings.timeout == 5 and c.settings.max_retries == 0
    assert s.model == "a"  # caller's settings untouched
    assert DatabricksChatClient(s).settings is s


def test_invalid_kwargs_are_configuration_errors_without_secrets():
    with pytest.raises(ConfigurationError) as err:
        DatabricksChatClient(model="m", host=H, token="dapi-secret-999", timeout=-1)
    assert "timeout" in str(err.value) and "dapi-secret-999" not in str(err.value)
    with pytest.raises(ConfigurationError, match="tokn"):
        DatabricksChatClient(model="m", host=H, tokn="x")


def test_public_attributes_and_repr():
    c = client("system.ai.claude-sonnet-4-5")
    assert c.host == H and c.info.family == "claude"
    assert c.route.kind == "gateway" and c.route.url == GATEWAY
    assert c.auth_method == "pat"
    assert "dapi" not in repr(c) and "gateway" in repr(c)


def test_copy_and_pickle_make_a_fresh_client():
    c = client()
    for other in (copy.deepcopy(c), copy.copy(c), pickle.loads(pickle.dumps(c))):
        assert isinstance(other, DatabricksChatClient) and other is not c
        assert other.settings.model == c.settings.model and other.http is not c.http


# ------------------------------------------------------------------------------------------
# complete / acomplete
# ------------------------------------------------------------------------------------------
@respx.mock
def test_complete_serving():
    route = respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    resp = client().complete(MSGS, GenerationParams(max_tokens=10))
    assert isinstance(resp, ChatResponse) and resp.text == "hello"
    assert resp.usage.total_tokens == 5
    req = route.calls.last.request
    body = json.loads(req.content)
    assert body["model"] == "databricks-claude-sonnet-4-5"
    assert body["messages"][0]["content"] == "hi" and body["max_tokens"] == 10
    assert req.headers["authorization"] == "Bearer dapi0123456789abcdef"
    assert req.headers["content-type"] == "application/json"


@respx.mock
async def test_acomplete_gateway():
    route = respx.post(GATEWAY).mock(return_value=httpx.Response(200, json=chat_body("yo")))
    resp = await client("system.ai.claude-sonnet-4-5").acomplete(MSGS, P)
    assert resp.text == "yo"
    assert json.loads(route.calls.last.request.content)["model"] == "system.ai.claude-sonnet-4-5"


@respx.mock
def test_invocations_body_has_no_model():
    url = f"{H}/serving-endpoints/my-llm/invocations"
    route = respx.post(url).mock(return_value=httpx.Response(200, json=chat_body()))
    # an unknown name: the endpoint's configuration is asked once (here: not readable)
    config = respx.get(f"{H}/api/2.0/serving-endpoints/my-llm").mock(
        return_value=httpx.Response(403, json={"error_code": "PERMISSION_DENIED", "message": "no"})
    )
    c = client("my-llm", endpoint_kind="invocations")
    c.complete(MSGS, P)
    c.complete(MSGS, P)
    assert "model" not in json.loads(route.calls.last.request.content)
    assert config.call_count == 1 and route.call_count == 2


@respx.mock
def test_base_url_route_and_auth():
    route = respx.post("https://gw.example.com/v1/chat/completions").mock(
        return_value=httpx.Response(200, json=chat_body())
    )
    c = DatabricksChatClient(
        model="gpt-4o", base_url="https://gw.example.com/v1", token="t1", transport="httpx"
    )
    c.complete(MSGS, P)
    assert route.calls.last.request.headers["authorization"] == "Bearer t1"


@respx.mock
def test_responses_only_model_goes_to_responses():
    route = respx.post(f"{H}/serving-endpoints/responses").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "resp_1",
                "object": "response",
                "status": "completed",
                "model": "m",
                "output": [
                    {
                        "type": "message",
                        "id": "msg_1",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "done", "annotations": []}],
                    }
                ],
                "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
            },
        )
    )
    c = client("databricks-gpt-5-1-codex-max")
    assert c.route.api == "responses"
    assert c.complete(MSGS, P).text == "done"
    assert "input" in json.loads(route.calls.last.request.content)


@respx.mock
def test_user_agent_names_adapter():
    route = respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    client(adapter="llamaindex").complete(MSGS, P)
    assert "adapter/llamaindex" in route.calls.last.request.headers["user-agent"]


@respx.mock
def test_payload_over_limit_refused_before_sending():
    route = respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    big = "x" * (MAX_PAYLOAD_BYTES + 10)
    with pytest.raises(InvalidRequestError, match="10 MB"):
        client().complete([Message("user", [TextPart(big)])], P)
    assert not route.called


@respx.mock
def test_payload_just_under_limit_is_sent():
    route = respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    client().complete([Message("user", [TextPart("x" * (MAX_PAYLOAD_BYTES - 1000))])], P)
    assert route.called


@respx.mock
def test_inline_image_counts_toward_the_limit():
    respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    img = MediaPart(
        kind="image", data=b"\x89PNG\r\n\x1a\n" + b"0" * (8 * 1024 * 1024), mime_type="image/png"
    )  # base64 makes it ~10.7 MB
    with pytest.raises(InvalidRequestError, match="10 MB"):
        client().complete([Message("user", [TextPart("look"), img])], P)


@respx.mock
async def test_several_event_loops():
    respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    c = client()

    def run_in_new_loop():
        return asyncio.run(c.acomplete(MSGS, P)).text

    loop = asyncio.get_running_loop()
    for _ in range(3):  # each asyncio.run is a fresh loop in a worker thread
        assert await loop.run_in_executor(None, run_in_new_loop) == "hello"
    assert (await c.acomplete(MSGS, P)).text == "hello"


# ------------------------------------------------------------------------------------------
# stream / astream
# ------------------------------------------------------------------------------------------
@respx.mock
def test_stream():
    route = respx.post(SERVING).mock(return_value=sse(*CHAT_STREAM))
    deltas = list(client().stream(MSGS, P))
    assert text_of(deltas) == "hello"
    usage = [d for d in deltas if isinstance(d, UsageDelta)]
    assert len(usage) == 1 and usage[0].usage.total_tokens == 5
    assert any(isinstance(d, FinishDelta) and d.reason == "stop" for d in deltas)
    assert json.loads(route.calls.last.request.content)["stream"] is True


@respx.mock
async def test_astream():
    respx.post(SERVING).mock(return_value=sse(*CHAT_STREAM))
    deltas = [d async for d in client().astream(MSGS, P)]
    assert text_of(deltas) == "hello"
    assert sum(isinstance(d, UsageDelta) for d in deltas) == 1


@respx.mock
def test_stream_without_terminal_event_raises_after_delivering():
    respx.post(SERVING).mock(return_value=sse(chunk({"content": "partial"})))
    got = []
    with pytest.raises(StreamInterruptedError):
        for d in client().stream(MSGS, P):
            got.append(d)
    assert text_of(got) == "partial"


@respx.mock
async def test_astream_without_terminal_event_raises_after_delivering():
    respx.post(SERVING).mock(return_value=sse(chunk({"content": "partial"})))
    got = []
    with pytest.raises(StreamInterruptedError):
        async for d in client().astream(MSGS, P):
            got.append(d)
    assert text_of(got) == "partial"


@respx.mock
def test_stream_retried_before_first_event_only():
    route = respx.post(SERVING).mock(side_effect=[httpx.Response(429), sse(*CHAT_STREAM)])
    assert text_of(client().stream(MSGS, P)) == "hello"
    assert route.call_count == 2


@respx.mock
def test_stream_answered_with_a_json_body():
    from core.accumulator import StreamAccumulator

    respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body("whole")))
    acc = StreamAccumulator()
    for d in client().stream(MSGS, P):
        acc.add(d)
    resp = acc.response()
    assert resp.text == "whole" and resp.usage.total_tokens == 5 and resp.finish_reason == "stop"


@respx.mock
def test_stream_answered_with_a_json_error_body():
    from core.errors import APIError

    respx.post(SERVING).mock(
        return_value=httpx.Response(200, json={"error_code": "X", "message": "no stream"})
    )
    with pytest.raises(APIError, match="no stream"):
        list(client().stream(MSGS, P))


def test_deltas_from_response_round_trip():
    from core.accumulator import StreamAccumulator

    original = ChatResponse(
        parts=[
            ReasoningPart(text="think", signature="sig", block=0),
            TextPart("answer"),
            ToolCallPart(id="c1", name="f", arguments='{"a":1}'),
        ],
        usage=Usage(input_tokens=1, output_tokens=2, total_tokens=3),
        finish_reason="tool_calls",
        model="m",
        id="r1",
    )
    acc = StreamAccumulator()
    for d in deltas_from_response(original):
        acc.add(d)
    got = acc.response()
    assert got.text == "answer" and got.tool_calls[0].arguments == '{"a":1}'
    assert got.reasoning[0].text == "think" and got.reasoning[0].signature == "sig"
    assert got.finish_reason == "tool_calls" and got.usage.total_tokens == 3


@respx.mock
def test_stream_stops_reading_after_terminal_event():
    respx.post(SERVING).mock(return_value=sse(*CHAT_STREAM, chunk({"content": "IGNORED"})))
    assert text_of(client().stream(MSGS, P)) == "hello"


# ------------------------------------------------------------------------------------------
# codec selection (stub codec injected)
# ------------------------------------------------------------------------------------------
@respx.mock
def test_client_uses_codec_module_by_route_api(monkeypatch):
    import core.codecs

    calls = []
    stub = types.ModuleType("stub_codec")

    def build_request(messages, params, *, model, info, stream, external=False):
        calls.append((model, stream, info.name))
        return {"stub": True, "model": model}

    stub.build_request = build_request
    stub.parse_response = lambda body: ChatResponse(parts=[TextPart(body["v"])])
    apis = []
    monkeypatch.setattr(core.codecs, "codec_for", lambda api: apis.append(api) or stub)
    route = respx.post(SERVING).mock(return_value=httpx.Response(200, json={"v": "stubbed"}))
    assert client().complete(MSGS, P).text == "stubbed"
    assert json.loads(route.calls.last.request.content) == {
        "stub": True,
        "model": "databricks-claude-sonnet-4-5",
    }
    assert calls[0][:2] == ("databricks-claude-sonnet-4-5", False)
    assert apis == ["chat"]


# ------------------------------------------------------------------------------------------
# OAuth through the client
# ------------------------------------------------------------------------------------------
@respx.mock
async def test_oauth_one_token_for_100_concurrent_calls():
    async def slow_token(request):
        await asyncio.sleep(0.05)
        return httpx.Response(200, json={"access_token": "oat", "expires_in": 3600})

    token = respx.post(f"{H}/oidc/v1/token").mock(side_effect=slow_token)
    api = respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    c = client(client_id="sp", client_secret="shh-secret")
    results = await asyncio.gather(*(c.acomplete(MSGS, P) for _ in range(100)))
    assert all(r.text == "hello" for r in results)
    assert token.call_count == 1 and api.call_count == 100
    assert {call.request.headers["authorization"] for call in api.calls} == {"Bearer oat"}


@respx.mock
def test_oauth_401_refreshes_once():
    token = respx.post(f"{H}/oidc/v1/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "a", "expires_in": 3600}),
            httpx.Response(200, json={"access_token": "b", "expires_in": 3600}),
        ]
    )
    api = respx.post(SERVING).mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json=chat_body())]
    )
    assert client(client_id="sp", client_secret="s").complete(MSGS, P).text == "hello"
    assert token.call_count == 2 and api.call_count == 2


# ------------------------------------------------------------------------------------------
# Databricks Apps
# ------------------------------------------------------------------------------------------
APPS_API = f"{H}/api/2.0/apps/my-agent"
APP_RESP = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "output": [
        {
            "type": "message",
            "id": "m1",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "agent says hi"}],
        }
    ],
}


def app_client(**kw):
    kw.setdefault("token_provider", lambda: "oauth-token")
    return client("apps/my-agent", **kw)


def test_app_refuses_pat():
    with pytest.raises(ConfigurationError) as err:
        client("apps/my-agent", token="dapi0123456789abcdef")
    text = str(err.value)
    assert "OAuth" in text and "client_id" in text and "databricks-sdk" in text
    assert "token_provider" in text and "dapi0123456789abcdef" not in text


def test_app_accepts_oauth_m2m():
    assert app_client(token_provider=None, client_id="sp", client_secret="s").route.kind == "app"


@respx.mock
def test_app_complete_resolves_and_caches_url():
    lookup = respx.get(APPS_API).mock(
        return_value=httpx.Response(200, json={"name": "my-agent", "url": APP_URL + "/"})
    )
    post = respx.post(f"{APP_URL}/responses").mock(return_value=httpx.Response(200, json=APP_RESP))
    c = app_client()
    assert c.complete(MSGS, P).text == "agent says hi"
    assert c.complete(MSGS, P).text == "agent says hi"
    assert lookup.call_count == 1 and post.call_count == 2
    assert post.calls.last.request.headers["authorization"] == "Bearer oauth-token"
    assert lookup.calls.last.request.headers["authorization"] == "Bearer oauth-token"
    assert "model" not in json.loads(post.calls.last.request.content)
    assert c.route.url == f"{APP_URL}/responses"


@respx.mock
async def test_app_astream():
    respx.get(APPS_API).mock(return_value=httpx.Response(200, json={"url": APP_URL}))
    events = [
        json.dumps(
            {
                "type": "response.output_text.delta",
                "item_id": "m1",
                "output_index": 0,
                "content_index": 0,
                "delta": "agent ",
            }
        ),
        json.dumps(
            {
                "type": "response.output_text.delta",
                "item_id": "m1",
                "output_index": 0,
                "content_index": 0,
                "delta": "streams",
            }
        ),
        json.dumps({"type": "response.completed", "response": {**APP_RESP, "output": []}}),
    ]
    respx.post(f"{APP_URL}/responses").mock(return_value=sse(*events))
    deltas = [d async for d in app_client().astream(MSGS, P)]
    assert text_of(deltas) == "agent streams"


@pytest.mark.parametrize("status", [404, 405])
@respx.mock
def test_app_without_responses_endpoint(status):
    respx.get(APPS_API).mock(return_value=httpx.Response(200, json={"url": APP_URL}))
    respx.post(f"{APP_URL}/responses").mock(return_value=httpx.Response(status, text="nope"))
    with pytest.raises(NotFoundError, match="does not implement POST /responses"):
        app_client().complete(MSGS, P)


@respx.mock
async def test_app_forbidden_means_can_use():
    respx.get(APPS_API).mock(return_value=httpx.Response(200, json={"url": APP_URL}))
    respx.post(f"{APP_URL}/responses").mock(return_value=httpx.Response(403, text="denied"))
    with pytest.raises(PermissionDeniedError, match="CAN_USE"):
        await app_client().acomplete(MSGS, P)


@respx.mock
def test_app_unauthorized_explains_oauth():
    respx.get(APPS_API).mock(return_value=httpx.Response(200, json={"url": APP_URL}))
    respx.post(f"{APP_URL}/responses").mock(return_value=httpx.Response(401))
    with pytest.raises(AuthenticationError) as err:
        app_client().complete(MSGS, P)
    assert "OAuth" in str(err.value)


@respx.mock
def test_app_not_found_in_workspace():
    respx.get(APPS_API).mock(
        return_value=httpx.Response(404, json={"error_code": "NOT_FOUND", "message": "x"})
    )
    with pytest.raises(NotFoundError, match="no Databricks App named 'my-agent'"):
        app_client().complete(MSGS, P)


@respx.mock
def test_app_without_url():
    respx.get(APPS_API).mock(return_value=httpx.Response(200, json={"name": "my-agent"}))
    with pytest.raises(NotFoundError, match="deployed and running"):
        app_client().complete(MSGS, P)


# ------------------------------------------------------------------------------------------
# lifecycle and import cost
# ------------------------------------------------------------------------------------------
async def test_close_and_context_managers():
    c = client()
    s, a = c.http.sync_client(), c.http.async_client()
    async with c:
        pass
    assert s.is_closed and a.is_closed
    with client() as c2:
        s2 = c2.http.sync_client()
    assert s2.is_closed


def test_import_core_stays_light():
    code = (
        "import sys, core, core.client, core.settings, core.transport, core.auth\n"
        "heavy = [m for m in ('langchain_core', 'llama_index', 'databricks.sdk', 'aiohttp',"
        " 'httpx_aiohttp', 'core.emulator') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bare_import_core_imports_no_http_stack():
    code = "import sys, core; print([m for m in ('httpx', 'pydantic') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _SdkConfig:
    def __init__(self, auth_type):
        self.host = H
        self.auth_type = auth_type

    def authenticate(self):
        return {"Authorization": "Bearer from-sdk"}


def test_app_refuses_sdk_pat_but_accepts_sdk_oauth():
    with pytest.raises(ConfigurationError, match="OAuth"):
        DatabricksChatClient(model="apps/my-agent", workspace_client=_SdkConfig("pat"))
    c = DatabricksChatClient(model="apps/my-agent", workspace_client=_SdkConfig("databricks-cli"))
    assert c.auth_method == "databricks-sdk" and c.host == H


@respx.mock
async def test_sdk_handover_async_request():
    route = respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    c = DatabricksChatClient(
        model="databricks-claude-sonnet-4-5", workspace_client=_SdkConfig("pat"), transport="httpx"
    )
    await c.acomplete(MSGS, P)
    assert route.calls.last.request.headers["authorization"] == "Bearer from-sdk"


@respx.mock
def test_stream_error_event_and_malformed_event_surface():
    from core.errors import MalformedEventError, StreamErrorEvent

    respx.post(SERVING).mock(
        side_effect=[
            sse(chunk({"content": "a"}), json.dumps({"error": {"message": "overloaded"}})),
            sse(chunk({"content": "a"}), "{not json"),
        ]
    )
    c = client()
    with pytest.raises(StreamErrorEvent, match="overloaded"):
        list(c.stream(MSGS, P))
    with pytest.raises(MalformedEventError):
        list(c.stream(MSGS, P))


@respx.mock
def test_timeout_and_connection_errors_through_client():
    from core.errors import ConnectionError, TimeoutError

    respx.post(SERVING).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.ConnectError("down")])
    c = client(max_retries=0)
    with pytest.raises(TimeoutError):
        c.complete(MSGS, P)
    with pytest.raises(ConnectionError):
        c.complete(MSGS, P)


@respx.mock
def test_sdk_extra_headers_are_sent():
    class AzureSp(_SdkConfig):
        def authenticate(self):
            return {"Authorization": "Bearer aad", "X-Databricks-Azure-SP-Management-Token": "m"}

    route = respx.post(SERVING).mock(return_value=httpx.Response(200, json=chat_body()))
    c = DatabricksChatClient(
        model="databricks-claude-sonnet-4-5",
        workspace_client=AzureSp("azure-client-secret"),
        transport="httpx",
    )
    c.complete(MSGS, P)
    h = route.calls.last.request.headers
    assert h["authorization"] == "Bearer aad"
    assert h["x-databricks-azure-sp-management-token"] == "m"


@respx.mock
def test_sdk_extra_headers_not_forwarded_on_redirect():
    class AzureSp(_SdkConfig):
        def authenticate(self):
            return {"Authorization": "Bearer aad", "X-Databricks-Azure-SP-Management-Token": "m"}

    respx.post(SERVING).mock(
        return_value=httpx.Response(307, headers={"Location": "https://other.example.com/x"})
    )
    other = respx.post("https://other.example.com/x").mock(
        return_value=httpx.Response(200, json=chat_body())
    )
    c = DatabricksChatClient(
        model="databricks-claude-sonnet-4-5",
        workspace_client=AzureSp("azure-client-secret"),
        transport="httpx",
    )
    c.complete(MSGS, P)
    h = other.calls.last.request.headers
    assert "authorization" not in h and "x-databricks-azure-sp-management-token" not in h


@respx.mock
async def test_stream_answered_by_an_error_body_keeps_the_request_id_from_details():
    """A stream request answered 200 with one JSON error body whose request id is only in
    details[].request_id (a Databricks error body): the error carries it, sync and async."""
    from core.errors import APIError

    body = {
        "error_code": "BAD_REQUEST",
        "message": "no",
        "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "request_id": "r-9"}],
    }
    respx.post(f"{H}/serving-endpoints/chat/completions").mock(
        return_value=httpx.Response(200, json=body)
    )
    c = client()
    params = GenerationParams()
    msgs = [Message("user", [TextPart("hi")])]
    with pytest.raises(APIError) as info:
        list(c.stream(msgs, params))
    assert info.value.request_id == "r-9"
    with pytest.raises(APIError) as info:
        [d async for d in c.astream(msgs, params)]
    assert info.value.request_id == "r-9"
