"""Agents end to end over loopback: Databricks Apps (``apps/<name>``) and ResponsesAgent
serving endpoints (``/serving-endpoints/{name}/invocations``), through core.client."""

from __future__ import annotations

import pytest

from core.accumulator import StreamAccumulator
from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
)
from core.types import GenerationParams, Message, MetaDelta, TextDelta, TextPart, Tool

APP = "apps/my-agent"


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=5) as emu:
        yield emu


def user(text: str) -> Message:
    return Message("user", [TextPart(text)])


def oauth_client(emu, model=APP, **kw) -> DatabricksChatClient:
    return DatabricksChatClient(
        model=model, host=emu.host, client_id=emu.client_id, client_secret=emu.client_secret,
        max_retries=0, **kw,
    )  # fmt: skip


def fold(deltas):
    acc = StreamAccumulator()
    for d in deltas:
        acc.add(d)
    return acc.response()


# ---------------------------------------------------------------------------------------------
# The OAuth-only rule
# ---------------------------------------------------------------------------------------------
def test_pat_is_refused_before_sending(emu):
    n = len(emu.requests)
    with pytest.raises(ConfigurationError) as err:
        DatabricksChatClient(model=APP, host=emu.host, token=emu.token)
    msg = str(err.value)
    assert "OAuth" in msg and "personal access token" in msg
    assert "client_id" in msg  # says how to fix it
    assert emu.token not in msg
    assert len(emu.requests) == n


def test_pat_from_environment_is_refused_too(emu, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    with pytest.raises(ConfigurationError, match="OAuth"):
        DatabricksChatClient(model=APP)


def test_oauth_m2m_works_and_app_url_is_cached(emu):
    emu.clear_requests()
    with oauth_client(emu) as c:
        assert c.route.api == "responses"
        r1 = c.complete([user("hello agent")], GenerationParams())
        r2 = c.complete([user("again")], GenerationParams())
        assert c.route.url == f"{emu.app_url('my-agent')}/responses"
    assert 'You said: "hello agent"' in r1.text and '"again"' in r2.text
    paths = [(q.method, q.path) for q in emu.requests]
    assert paths.count(("GET", "/api/2.0/apps/my-agent")) == 1
    assert paths.count(("POST", "/apps-proxy/my-agent/responses")) == 2
    assert ("POST", "/oidc/v1/token") in paths
    app_req = next(q for q in emu.requests if q.path.endswith("/responses"))
    assert app_req.headers["Authorization"].startswith("Bearer ")
    assert emu.token not in app_req.headers["Authorization"]
    assert "model" not in app_req.json  # the app is the model


def test_token_provider_returning_a_pat_gets_the_oauth_hint(emu):
    with DatabricksChatClient(
        model=APP, host=emu.host, token_provider=lambda: emu.token, max_retries=0
    ) as c:
        with pytest.raises(AuthenticationError) as err:
            c.complete([user("hi")], GenerationParams())
    assert "OAuth" in str(err.value)


# ---------------------------------------------------------------------------------------------
# Agent features
# ---------------------------------------------------------------------------------------------
def test_custom_inputs_context_and_custom_outputs(emu):
    params = GenerationParams(
        custom_inputs={"locale": "fr"}, context={"conversation_id": "conv-1", "user_id": "u-7"}
    )
    with oauth_client(emu) as c:
        r = c.complete([user("bonjour")], params)
    body = emu.requests[-1].json
    assert body["custom_inputs"] == {"locale": "fr"}
    assert body["context"] == {"conversation_id": "conv-1", "user_id": "u-7"}
    assert "include" not in body  # no reasoning knobs an agent would not understand
    assert r.extras["custom_outputs"] == {
        "locale": "fr",
        "agent": "my-agent",
        "conversation_id": "conv-1",
        "user_id": "u-7",
    }


def test_streamed_agent(emu):
    params = GenerationParams(custom_inputs={"k": 1})
    with oauth_client(emu) as c:
        deltas = list(c.stream([user("stream from the agent please")], params))
        whole = c.complete([user("stream from the agent please")], params)
    assert emu.requests[-2].json["stream"] is True
    assert len([d for d in deltas if isinstance(d, TextDelta)]) > 3
    metas = [d for d in deltas if isinstance(d, MetaDelta) and d.extras]
    assert metas and metas[-1].extras["custom_outputs"]["k"] == 1
    streamed = fold(deltas)
    assert streamed.text == whole.text
    assert streamed.extras["custom_outputs"] == whole.extras["custom_outputs"]
    assert streamed.usage is not None and streamed.finish_reason == "stop"


async def test_async_agent(emu):
    async with oauth_client(emu) as c:
        r = await c.acomplete([user("async agent")], GenerationParams())
        deltas = [d async for d in c.astream([user("async agent")], GenerationParams())]
    assert fold(deltas).text == r.text


def test_agent_tool_call_round_trip(emu):
    weather = Tool(
        "get_weather", "weather", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    with oauth_client(emu) as c:
        r = c.complete([user('weather in "Nice"?')], GenerationParams(tools=[weather]))
        assert r.finish_reason == "tool_calls"
        from core.types import ToolResultPart

        call = r.tool_calls[0]
        history = [
            user('weather in "Nice"?'),
            Message("assistant", r.parts),
            Message("tool", [ToolResultPart(call.id, "sunny")]),
        ]
        final = c.complete(history, GenerationParams(tools=[weather]))
    assert "sunny" in final.text


# ---------------------------------------------------------------------------------------------
# Error messages
# ---------------------------------------------------------------------------------------------
def test_unknown_app(emu):
    with oauth_client(emu, model="apps/missing-app") as c:
        with pytest.raises(NotFoundError, match="no Databricks App named 'missing-app'"):
            c.complete([user("hi")], GenerationParams())


@pytest.mark.parametrize("stream", [False, True])
def test_app_without_responses_route(emu, stream):
    with oauth_client(emu, model="apps/no-responses-app") as c:
        with pytest.raises(NotFoundError, match="does not implement POST /responses") as err:
            if stream:
                list(c.stream([user("hi")], GenerationParams()))
            else:
                c.complete([user("hi")], GenerationParams())
    assert err.value.status_code == 404


@pytest.mark.parametrize("stream", [False, True])
def test_app_forbidden_says_can_use(emu, stream):
    with oauth_client(emu, model="apps/forbidden-app") as c:
        with pytest.raises(PermissionDeniedError, match="CAN_USE") as err:
            if stream:
                list(c.stream([user("hi")], GenerationParams()))
            else:
                c.complete([user("hi")], GenerationParams())
    assert err.value.status_code == 403


def test_bad_app_model_name():
    with pytest.raises(ConfigurationError, match="apps/<app-name>"):
        DatabricksChatClient(
            model="apps/", host="http://127.0.0.1:9", client_id="a", client_secret="b"
        )


def test_apps_refuse_chat_api(emu):
    with pytest.raises(ConfigurationError, match="Responses API"):
        oauth_client(emu, use_responses_api=False)


# ---------------------------------------------------------------------------------------------
# ResponsesAgent on a serving endpoint: /serving-endpoints/{name}/invocations
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
def test_responses_agent_on_invocations(emu, stream):
    params = GenerationParams(custom_inputs={"mode": "serving"})
    with DatabricksChatClient(
        model="my-agent", host=emu.host, token=emu.token, endpoint_kind="invocations",
        use_responses_api=True,
    ) as c:  # fmt: skip
        assert c.route.url == f"{emu.host}/serving-endpoints/my-agent/invocations"
        if stream:
            r = fold(c.stream([user("serve me")], params))
        else:
            r = c.complete([user("serve me")], params)
    req = emu.requests[-1]
    assert req.path == "/serving-endpoints/my-agent/invocations"
    assert "model" not in req.json and req.json["input"][0]["content"] == "serve me"
    assert '"serve me"' in r.text
    assert r.extras["custom_outputs"]["mode"] == "serving"
