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


# ---------------------------------------------------------------------------------------------
# An MLflow-AgentServer-shaped app (whole items via response.output_item.done, text deltas keyed
# by item_id without output_index, tools the agent ran itself, "data: [DONE]", {"error": ...})
# ---------------------------------------------------------------------------------------------
MLFLOW_ITEMS = [
    {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": '{"q": "x"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "42"},
    {"type": "message", "id": "msg_1", "role": "assistant",
     "content": [{"type": "output_text", "text": "The answer is 42.", "annotations": []}]},
]  # fmt: skip


@pytest.fixture(scope="module")
def mlflow_app():
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _json(self, obj, status=200):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            name = self.path.rsplit("/", 1)[-1]
            self._json({"name": name, "url": f"http://127.0.0.1:{self.server.server_port}/{name}"})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/oidc/v1/token":
                return self._json(
                    {
                        "access_token": "eyJhbGciOi.oauth.tok",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                    }
                )
            if "get-only" in self.path:  # an app that serves something else on /responses
                return self._json({"detail": "Method Not Allowed"}, status=405)
            req = json.loads(body)
            seen.append(req)
            if "json-only" in self.path:  # ignores stream=true, answers one JSON body
                reasoning = {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAA-x",
                             "summary": [{"type": "summary_text", "text": "thinking"}]}  # fmt: skip
                return self._json(
                    {"output": [reasoning, *MLFLOW_ITEMS], "custom_outputs": {"k": 1}}
                )
            if not req.get("stream"):
                return self._json({"output": MLFLOW_ITEMS, "custom_outputs": {"trace_id": "t-1"}})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            events = [
                {"type": "response.output_item.done", "item": MLFLOW_ITEMS[0]},
                {"type": "response.output_item.done", "item": MLFLOW_ITEMS[1]},
                {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "The answer "},
                {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "is 42."},
                {"type": "response.output_item.done", "item": MLFLOW_ITEMS[2]},
            ]
            if "failing" in self.path:
                events = events[:1] + [{"error": "the agent's tool exploded"}]
            for e in events:
                self.wfile.write(f"data: {json.dumps(e)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def mlflow_client(host, name="legacy-agent"):
    return DatabricksChatClient(
        model=f"apps/{name}", host=host, client_id="id", client_secret="secret", max_retries=0
    )


def test_mlflow_agent_complete_keeps_agent_tool_history(mlflow_app):
    host, seen = mlflow_app
    with mlflow_client(host) as c:
        r = c.complete([user("what is it?")], GenerationParams())
    assert r.text == "The answer is 42."
    assert r.tool_calls == [] and r.finish_reason == "stop"  # the agent ran lookup itself
    assert [p.item["type"] for p in r.parts[:2]] == ["function_call", "function_call_output"]
    assert r.extras["custom_outputs"] == {"trace_id": "t-1"}
    # the history goes back whole on the next turn
    with mlflow_client(host) as c:
        c.complete(
            [user("what is it?"), Message("assistant", r.parts), user("why?")], GenerationParams()
        )
    assert [i["type"] for i in seen[-1]["input"]] == [
        "message", "function_call", "function_call_output", "message", "message",
    ]  # fmt: skip


def test_mlflow_agent_stream_ends_with_done_marker(mlflow_app):
    host, _ = mlflow_app
    with mlflow_client(host) as c:
        deltas = list(c.stream([user("what is it?")], GenerationParams()))
        whole = c.complete([user("what is it?")], GenerationParams())
    streamed = fold(deltas)
    assert [d.text for d in deltas if isinstance(d, TextDelta)] == ["The answer ", "is 42."]
    assert streamed.parts == whole.parts
    assert streamed.finish_reason == "stop"


def test_mlflow_agent_error_chunk(mlflow_app):
    from core.errors import StreamErrorEvent

    host, _ = mlflow_app
    with mlflow_client(host, "failing-agent") as c:
        with pytest.raises(StreamErrorEvent, match="tool exploded"):
            list(c.stream([user("go")], GenerationParams()))


def test_mlflow_agent_through_langchain(mlflow_app):
    from langchain_plugin import ChatDatabricks

    host, _ = mlflow_app
    llm = ChatDatabricks(
        model="apps/legacy-agent", host=host, client_id="id", client_secret="secret"
    )
    msg = llm.invoke("what is it?")
    assert msg.text == "The answer is 42." and msg.tool_calls == []
    full = None
    for chunk in llm.stream("what is it?"):
        full = chunk if full is None else full + chunk
    assert full.text == "The answer is 42." and full.tool_calls == []


def test_app_answering_405_does_not_implement_responses(mlflow_app):
    host, _ = mlflow_app
    with mlflow_client(host, "get-only-app") as c:
        with pytest.raises(NotFoundError, match="does not implement POST /responses") as err:
            c.complete([user("hi")], GenerationParams())
    assert err.value.status_code == 405


def test_app_answering_a_stream_with_one_json_body(mlflow_app):
    host, _ = mlflow_app
    with mlflow_client(host, "json-only-agent") as c:
        whole = c.complete([user("hi")], GenerationParams())
        streamed = fold(c.stream([user("hi")], GenerationParams()))
    assert streamed.text == whole.text == "The answer is 42."
    assert streamed.extras["custom_outputs"] == {"k": 1}
    assert streamed.parts == whole.parts
