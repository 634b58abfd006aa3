"""core.agents: the agent schema from the endpoint's task (read once), explicit overrides, routes."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from core.agents import agent_route, schema_for_task
from core.client import DatabricksChatClient
from core.endpoints import resolve_route
from core.errors import ConfigurationError
from core.types import GenerationParams, Message, TextPart

H = "https://ws.cloud.databricks.com"
MSGS = [Message("user", [TextPart("hi")])]
INVOKE = f"{H}/serving-endpoints/bot/invocations"
CONFIG = f"{H}/api/2.0/serving-endpoints/bot"
CHAT_AGENT_ANSWER = {"messages": [{"role": "assistant", "content": "hello", "id": "m1"}]}


def client(**kw):
    return DatabricksChatClient(model="bot", host=H, token="t", transport="httpx", **kw)


@pytest.mark.parametrize(
    ("task", "schema"),
    [
        ("agent/v1/responses", "responses_agent"),
        ("agent/v2/chat", "chat_agent"),
        ("agent/v1/chat", "chat_model"),
        ("AGENT/V2/CHAT", "chat_agent"),
        ("llm/v1/chat", None),
        ("llm/v1/embeddings", None),
        (None, None),
    ],
)
def test_schema_for_task(task, schema):
    assert schema_for_task(task) == schema


def test_agent_routes():
    serving = resolve_route("bot", host=H)
    for schema, api in (("responses_agent", "responses"), ("chat_agent", "chat_agent"),
                        ("chat_model", "chat")):  # fmt: skip
        r = agent_route(serving, schema, host=H, endpoint_kind=None)
        assert (r.url, r.api, r.kind, r.send_model, r.agent) == (INVOKE, api, "invocations", False, True)
    assert agent_route(serving, "responses_agent", host=H, endpoint_kind=None).codec == "responses_agent"
    explicit = agent_route(serving, "responses_agent", host=H, endpoint_kind="serving")
    assert explicit.url == f"{H}/serving-endpoints/responses" and explicit.send_model
    with pytest.raises(ConfigurationError, match="ChatAgent"):
        agent_route(serving, "chat_agent", host=H, endpoint_kind="serving")
    with pytest.raises(ConfigurationError, match="disagree"):
        agent_route(serving, "chat_agent", host=H, endpoint_kind=None, use_responses_api=True)
    app = resolve_route("apps/bot", host=H)
    assert app.agent and app.codec == "responses_agent"  # apps: ResponsesAgent unless told
    told = agent_route(app, "chat_agent", host=H, endpoint_kind=None).with_app_url("https://a.x")
    assert told.url == "https://a.x/invocations" and told.api == "chat_agent"


@respx.mock
def test_task_read_once_picks_the_chat_agent_codec():
    config = respx.get(CONFIG).mock(
        return_value=httpx.Response(200, json={"name": "bot", "task": "agent/v2/chat"})
    )
    post = respx.post(INVOKE).mock(return_value=httpx.Response(200, json=CHAT_AGENT_ANSWER))
    c = client()
    params = GenerationParams(custom_inputs={"k": 1}, context={"user_id": "u"})
    assert c.complete(MSGS, params).text == "hello"
    assert c.complete(MSGS, params).text == "hello"
    assert config.call_count == 1 and post.call_count == 2
    sent = json.loads(post.calls.last.request.content)
    assert sent == {"messages": [{"role": "user", "content": "hi"}], "context": {"user_id": "u"},
                    "custom_inputs": {"k": 1}, "stream": False}  # fmt: skip
    assert c.route.api == "chat_agent"
    # another client of the same endpoint does not read it again (cached per host and name)
    client().complete(MSGS, GenerationParams())
    assert config.call_count == 1


@respx.mock
async def test_task_read_async():
    respx.get(CONFIG).mock(
        return_value=httpx.Response(200, json={"name": "bot", "task": "agent/v1/responses"})
    )
    post = respx.post(INVOKE).mock(
        return_value=httpx.Response(200, json={"output": [{"type": "message", "role": "assistant",
                                    "content": [{"type": "output_text", "text": "yo"}]}]})  # fmt: skip
    )
    r = await client().acomplete(MSGS, GenerationParams(custom_inputs={"x": 2}))
    assert r.text == "yo"
    sent = json.loads(post.calls.last.request.content)
    assert sent["input"] == [{"type": "message", "role": "user", "content": "hi"}]
    assert sent["custom_inputs"] == {"x": 2} and "model" not in sent


@respx.mock
def test_explicit_schema_wins_over_the_task():
    respx.get(CONFIG).mock(
        return_value=httpx.Response(200, json={"name": "bot", "task": "agent/v1/responses"})
    )
    respx.post(INVOKE).mock(return_value=httpx.Response(200, json=CHAT_AGENT_ANSWER))
    c = client(agent_schema="chat_agent")
    assert c.complete(MSGS, GenerationParams()).text == "hello"
    assert c.route.api == "chat_agent"


@respx.mock
def test_unreadable_config_keeps_chat_completions():
    respx.get(CONFIG).mock(return_value=httpx.Response(403, json={"error_code": "PERMISSION_DENIED",
                                                                  "message": "no"}))  # fmt: skip
    post = respx.post(f"{H}/serving-endpoints/chat/completions").mock(
        return_value=httpx.Response(
            200,
            json={"choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "ok"}}]},  # fmt: skip
        )
    )
    assert client().complete(MSGS, GenerationParams()).text == "ok"
    assert post.call_count == 1


def test_known_models_and_explicit_settings_read_no_task():
    assert not DatabricksChatClient(
        model="databricks-claude-sonnet-4-5", host=H, token="t"
    )._task_pending
    assert not client(use_responses_api=True)._task_pending
    assert not client(base_url="https://x.example/v1")._task_pending
    assert client()._task_pending


def test_bad_agent_schema_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="agent_schema"):
        client(agent_schema="chatagent")
