"""End to end over loopback: core.client -> Responses codec -> emulator ``/responses``.

Responses models: ``databricks-gpt-5`` with ``use_responses_api=True`` and a Responses-only
codex model (chosen automatically from the registry). Plain, streamed, tool loop, reasoning
carried across turns (the emulator refuses altered ``encrypted_content``), long ids, the
pay-per-token parameter rule.
"""

from __future__ import annotations

import copy

import httpx
import pytest

from core.accumulator import StreamAccumulator
from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.errors import BadRequestError, InvalidRequestError, StreamErrorEvent
from core.types import (
    GenerationParams,
    Message,
    NamedToolChoice,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

GPT5 = "databricks-gpt-5"
CODEX = "databricks-gpt-5-1-codex-max"
WEATHER = Tool(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=7) as emu:
        yield emu


@pytest.fixture
def client(emu):
    emu.set_fault(None)
    with DatabricksChatClient(
        model=GPT5, host=emu.host, token=emu.token, use_responses_api=True, max_retries=0
    ) as c:
        yield c


def user(text: str) -> Message:
    return Message("user", [TextPart(text)])


def fold(deltas) -> object:
    acc = StreamAccumulator()
    for d in deltas:
        acc.add(d)
    return acc.response()


def last_request(emu, path_suffix="/responses"):
    req = emu.requests[-1]
    assert req.path.endswith(path_suffix), req.path
    return req.json


def test_plain(emu, client):
    r = client.complete([user("hello there")], GenerationParams(max_tokens=200))
    assert r.text.startswith('You said: "hello there"')
    assert r.finish_reason == "stop"
    assert (
        r.usage is not None and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    )
    assert r.id and r.id.startswith("resp_")
    body = last_request(emu)
    assert emu.requests[-1].path == "/serving-endpoints/responses"
    assert body["model"] == GPT5 and body["max_output_tokens"] == 200
    assert body["input"] == [{"type": "message", "role": "user", "content": "hello there"}]
    assert "messages" not in body


def test_streamed_equals_complete(emu, client):
    params = GenerationParams(reasoning_effort="low")
    whole = client.complete([user("stream me please")], params)
    deltas = list(client.stream([user("stream me please")], params))
    assert len([d for d in deltas if type(d).__name__ == "TextDelta"]) > 3  # really streamed
    streamed = fold(deltas)
    assert streamed.text == whole.text
    assert [(p.text, p.redacted) for p in streamed.reasoning] == [
        (p.text, p.redacted) for p in whole.reasoning
    ]
    assert streamed.usage.total_tokens == whole.usage.total_tokens
    assert streamed.finish_reason == "stop"
    assert last_request(emu)["stream"] is True


async def test_async_complete_and_stream(emu):
    async with DatabricksChatClient(
        model=GPT5, host=emu.host, token=emu.token, use_responses_api=True
    ) as c:
        r = await c.acomplete([user("async hi")], GenerationParams())
        assert "async hi" in r.text
        deltas = [d async for d in c.astream([user("async hi")], GenerationParams())]
        assert fold(deltas).text == r.text


@pytest.mark.parametrize("stream", [False, True])
def test_tool_loop(emu, client, stream):
    params = GenerationParams(tools=[WEATHER])
    history = [user('What is the weather in "Paris"?')]

    def run():
        return fold(client.stream(history, params)) if stream else client.complete(history, params)

    first = run()
    assert first.finish_reason == "tool_calls"
    (call,) = first.tool_calls
    assert call.name == "get_weather" and '"Paris"' in call.arguments
    assert call.extras and call.extras["id"].startswith("fc_")
    sent_tools = last_request(emu)["tools"]
    assert sent_tools[0]["type"] == "function" and sent_tools[0]["strict"] is False

    history += [
        Message("assistant", first.parts),
        Message("tool", [ToolResultPart(call.id, "18C, sunny")]),
    ]
    second = run()
    assert second.finish_reason == "stop"
    assert "18C, sunny" in second.text
    items = last_request(emu)["input"]
    assert [i["type"] for i in items[1:]] == ["function_call", "function_call_output"]
    assert items[1]["call_id"] == items[2]["call_id"] == call.id


def test_forced_tool_choice_and_custom_tool(emu, client):
    patch = Tool("apply_diff", "Apply a unified diff", kind="custom")
    params = GenerationParams(tools=[WEATHER, patch], tool_choice=NamedToolChoice("apply_diff"))
    r = client.complete([user("fix the typo")], params)
    (call,) = r.tool_calls
    assert call.kind == "custom" and call.name == "apply_diff"
    body = last_request(emu)
    assert body["tool_choice"] == {"type": "custom", "name": "apply_diff"}
    assert body["tools"][1] == {
        "type": "custom",
        "name": "apply_diff",
        "description": "Apply a unified diff",
    }

    history = [
        user("fix the typo"),
        Message("assistant", r.parts),
        Message("tool", [ToolResultPart(call.id, "patched")]),
    ]
    final = client.complete(history, GenerationParams(tools=[WEATHER, patch]))
    assert "patched" in final.text
    items = last_request(emu)["input"]
    assert items[1]["type"] == "custom_tool_call"
    assert items[2] == {"type": "custom_tool_call_output", "call_id": call.id, "output": "patched"}


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_carried_across_turns(emu, client, stream):
    params = GenerationParams(reasoning_effort="low", tools=[WEATHER])
    history = [user('Weather in "Oslo"?')]

    def run():
        return fold(client.stream(history, params)) if stream else client.complete(history, params)

    first = run()
    assert last_request(emu)["include"] == ["reasoning.encrypted_content"]
    assert first.reasoning and any(p.redacted for p in first.reasoning)
    assert "Oslo" in "".join(p.text for p in first.reasoning)
    call = first.tool_calls[0]
    history += [
        Message("assistant", first.parts),
        Message("tool", [ToolResultPart(call.id, "-3C")]),
    ]
    second = run()
    assert "-3C" in second.text
    sent = last_request(emu)["input"]
    reasoning_items = [i for i in sent if i["type"] == "reasoning"]
    assert len(reasoning_items) == 1
    item = reasoning_items[0]
    assert (
        item["id"].startswith("rs_") and item["encrypted_content"] == first.reasoning[-1].redacted
    )
    assert item["summary"] == [{"type": "summary_text", "text": first.reasoning[0].text}]

    # a third turn carries both earlier reasoning items, in order
    history += [Message("assistant", second.parts), user('And in "Rome"?')]
    run()
    assert len([i for i in last_request(emu)["input"] if i["type"] == "reasoning"]) == 2


def test_altered_reasoning_is_refused_by_the_server(emu, client):
    params = GenerationParams(reasoning_effort="low")
    first = client.complete([user("think about it")], params)
    parts = copy.deepcopy(first.parts)
    text_part = next(p for p in parts if isinstance(p, ReasoningPart) and p.text)
    text_part.text += " (edited)"
    with pytest.raises(BadRequestError, match="modified"):
        client.complete([user("think about it"), Message("assistant", parts), user("next")], params)
    # untouched history is accepted
    client.complete(
        [user("think about it"), Message("assistant", first.parts), user("next")], params
    )


def test_reasoning_dropped_entirely_is_valid(emu, client):
    params = GenerationParams(reasoning_effort="low")
    first = client.complete([user("brief")], params)
    no_reasoning = [p for p in first.parts if not isinstance(p, ReasoningPart)]
    r = client.complete([user("brief"), Message("assistant", no_reasoning), user("more")], params)
    assert "more" in r.text


def test_codex_model_is_responses_only(emu):
    with DatabricksChatClient(model=CODEX, host=emu.host, token=emu.token) as c:
        assert c.route.api == "responses"
        r = c.complete([user("write code")], GenerationParams())
        assert "write code" in r.text
        assert emu.requests[-1].path == "/serving-endpoints/responses"
        assert fold(c.stream([user("write code")], GenerationParams())).text == r.text


def test_long_ids_shortened_so_history_replays(emu, client):
    long_id = "call_" + "z" * 90
    history = [
        user('weather in "Lima"'),
        Message(
            "assistant",
            [
                ToolCallPart(
                    long_id, "get_weather", '{"city": "Lima"}', extras={"id": "fc_" + "q" * 80}
                )
            ],
        ),
        Message("tool", [ToolResultPart(long_id, "warm")]),
    ]
    r = client.complete(history, GenerationParams(tools=[WEATHER]))  # the emulator refuses ids > 64
    assert "warm" in r.text
    items = last_request(emu)["input"]
    assert len(items[1]["call_id"]) <= 64 and len(items[1]["id"]) <= 64
    assert items[1]["call_id"] == items[2]["call_id"]


def test_pay_per_token_params_refused_before_sending(emu, client):
    n = len(emu.requests)
    with pytest.raises(InvalidRequestError, match="previous_response_id"):
        client.complete(
            [user("x")], GenerationParams(extra_body={"previous_response_id": "resp_1"})
        )
    assert len(emu.requests) == n  # nothing sent


def test_external_model_lets_stateful_params_through(emu):
    with DatabricksChatClient(
        model=GPT5, host=emu.host, token=emu.token, use_responses_api=True, external_model=True,
        max_retries=0,
    ) as c:  # fmt: skip
        # sent as asked; this emulated endpoint is pay-per-token, so the server says 400
        with pytest.raises(BadRequestError, match="store"):
            c.complete([user("x")], GenerationParams(extra_body={"store": True}))
    assert emu.requests[-1].json["store"] is True


def test_structured_output_and_params(emu, client):
    from core.types import ResponseFormat

    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    r = client.complete(
        [user('Extract: "Berlin"')],
        GenerationParams(
            response_format=ResponseFormat("json_schema", schema=schema, name="City", strict=True),
            metadata={"trace": "t1"},
            truncation="auto",
            temperature=0.1,
        ),
    )
    import json

    assert json.loads(r.text) == {"city": "Berlin"}
    body = last_request(emu)
    assert body["text"]["format"]["name"] == "City" and body["metadata"] == {"trace": "t1"}


def test_max_output_tokens_is_length(emu, client):
    r = client.complete(
        [user("one two three four five six seven eight")], GenerationParams(max_tokens=3)
    )
    assert r.finish_reason == "length"
    streamed = fold(
        client.stream(
            [user("one two three four five six seven eight")], GenerationParams(max_tokens=3)
        )
    )
    assert streamed.finish_reason == "length" and streamed.text == r.text


def test_stream_error_event_raises_typed_error(emu):
    with DatabricksChatClient(
        model=GPT5 + "+fault=error_event", host=emu.host, token=emu.token, use_responses_api=True
    ) as c:
        with pytest.raises(StreamErrorEvent):
            list(c.stream([user("hello")], GenerationParams()))


def test_non_openai_model_on_responses_goes_to_open_responses(emu):
    # /responses is OpenAI-only (the emulator says so, like the service) ...
    r = httpx.post(
        emu.host + "/serving-endpoints/responses",
        json={"model": "databricks-claude-sonnet-4-5", "input": "hi"},
        headers={"Authorization": f"Bearer {emu.token}"},
    )
    assert r.status_code == 400 and "OpenAI models" in r.json()["message"]
    # ... so the client sends Claude on the Responses format to /open-responses
    with DatabricksChatClient(
        model="databricks-claude-sonnet-4-5", host=emu.host, token=emu.token, use_responses_api=True,
        max_retries=0,
    ) as c:  # fmt: skip
        assert '"hi"' in c.complete([user("hi")], GenerationParams()).text
    assert emu.requests[-1].path == "/serving-endpoints/open-responses"


def test_ai_gateway_responses_route(emu):
    with DatabricksChatClient(
        model="system.ai.gpt-5", host=emu.host, token=emu.token, use_responses_api=True
    ) as c:
        r = c.complete([user("via the gateway")], GenerationParams(reasoning_effort="low"))
        streamed = fold(
            c.stream([user("via the gateway")], GenerationParams(reasoning_effort="low"))
        )
    assert emu.requests[-1].path == "/ai-gateway/mlflow/v1/responses"
    assert emu.requests[-1].json["model"] == "system.ai.gpt-5"
    assert '"via the gateway"' in r.text and streamed.text == r.text
    assert r.reasoning and streamed.reasoning[-1].redacted == r.reasoning[-1].redacted


def test_transient_errors_are_retried(emu):
    with DatabricksChatClient(
        model=GPT5 + "+fault=503:1", host=emu.host, token=emu.token, use_responses_api=True,
        max_retries=2,
    ) as c:  # fmt: skip
        emu.set_fault(None)
        r = c.complete([user("retry me")], GenerationParams())
    assert '"retry me"' in r.text
    sent = [q for q in emu.requests if isinstance(q.json, dict) and q.json.get("model") == c.model]
    assert len(sent) == 2  # one 503, one retry
