"""Model rules end to end: both adapters, sync and async, streaming and not, against the
emulator, which refuses what the service refuses (core/emulator/rules.py). Each rule also has a
check that the emulator does say no when the client does not apply the rule, so these tests
fail where users would."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    TextBlock,
)

from core import registry
from core.emulator import run_emulator
from core.errors import BadRequestError
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

OPUS_47 = "databricks-claude-opus-4-7"
SONNET_45 = "databricks-claude-sonnet-4-5"
GPT_OSS = "databricks-gpt-oss-120b"
MODES = ["invoke", "ainvoke", "stream", "astream"]
ADAPTERS = ["langchain", "llamaindex"]


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator(chunk_size=64) as e:
        yield e


@pytest.fixture(autouse=True)
def _registry_overrides():
    yield
    registry._reset_overrides()


# -- one call through either adapter, in any mode ---------------------------------------------
def make(adapter: str, emu: Any, model: str, **kw: Any) -> Any:
    if adapter == "langchain":
        return ChatDatabricks(model=model, host=emu.host, token=emu.token, max_retries=0, **kw)
    return Databricks(model=model, host=emu.host, token=emu.token, max_retries=0, **kw)


def call(llm: Any, mode: str, history: list[Any]) -> tuple[str, str]:
    """(answer text, reasoning text) of one call."""
    if isinstance(llm, ChatDatabricks):
        return _lc(llm, mode, history)
    return _li(llm, mode, history)


def _lc(llm: ChatDatabricks, mode: str, history: list[Any]) -> tuple[str, str]:
    if mode == "invoke":
        msg = llm.invoke(history)
    elif mode == "ainvoke":
        msg = asyncio.run(llm.ainvoke(history))
    elif mode == "stream":
        msg = None
        for chunk in llm.stream(history):
            msg = chunk if msg is None else msg + chunk
    else:

        async def run() -> Any:
            out = None
            async for chunk in llm.astream(history):
                out = chunk if out is None else out + chunk
            return out

        msg = asyncio.run(run())
    assert msg is not None
    reasoning = "".join(
        b.get("reasoning", "") for b in msg.content_blocks if b.get("type") == "reasoning"
    )
    return msg.text, reasoning


def _li(llm: Databricks, mode: str, history: list[Any]) -> tuple[str, str]:
    if mode == "invoke":
        resp = llm.chat(history)
    elif mode == "ainvoke":
        resp = asyncio.run(llm.achat(history))
    elif mode == "stream":
        *_, resp = llm.stream_chat(history)
    else:

        async def run() -> Any:
            last = None
            async for r in await llm.astream_chat(history):
                last = r
            return last

        resp = asyncio.run(run())
    assert resp is not None
    reasoning = "".join(
        getattr(b, "content", "") or ""
        for b in resp.message.blocks
        if type(b).__name__ == "ThinkingBlock"
    )
    return resp.message.content or "", reasoning


def user(adapter: str, text: str) -> Any:
    return HumanMessage(text) if adapter == "langchain" else ChatMessage(role="user", content=text)


def last_body(emu: Any) -> dict[str, Any]:
    posts = [r for r in emu.requests if r.method == "POST" and r.json is not None]
    return posts[-1].json


def rule_warnings(caught: list[warnings.WarningMessage], word: str) -> list[str]:
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, UserWarning) and word in str(w.message)
    ]


# -- 1. parameters the model rejects ------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_sampling_params_left_out_for_opus_4_7_with_one_warning(emu, adapter, mode):
    llm = make(adapter, emu, OPUS_47, temperature=0.2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text, _ = call(llm, mode, [user(adapter, "hello there")])
        call(llm, mode, [user(adapter, "again")])
    assert "hello there" in text
    assert "temperature" not in last_body(emu)
    (msg,) = rule_warnings(caught, "temperature")  # once per instance, not per call
    assert "claude-opus-4-7" in msg and "400" in msg


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_without_the_rule_the_emulator_answers_the_services_400(emu, adapter):
    # The registry forgets the rule: the request carries temperature and the emulator refuses
    # it the way a Databricks workspace did.
    registry.register_model({"name": "claude-opus-4-7", "rejected_params": []})
    llm = make(adapter, emu, OPUS_47, temperature=0.2)
    with pytest.raises(BadRequestError) as err:
        call(llm, "invoke", [user(adapter, "hi")])
    assert err.value.message == (
        "BAD_REQUEST: Model us.anthropic.claude-opus-4-7 does not support the temperature "
        "parameter."
    )
    assert err.value.status_code == 400 and err.value.error_code == "BAD_REQUEST"
    assert err.value.param == "temperature"  # named, with a hint to leave it out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_budget_becomes_adaptive_with_visible_reasoning(emu, adapter, mode):
    llm = make(adapter, emu, OPUS_47, thinking_budget=6000, max_tokens=16000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text, reasoning = call(llm, mode, [user(adapter, "why is the sky blue")])
    body = last_body(emu)
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "medium"}
    assert reasoning  # display "summarized": the emulator, like Anthropic, hides it otherwise
    (msg,) = rule_warnings(caught, "thinking_budget")
    assert "adaptive" in msg and "'medium'" in msg


def test_emulator_refuses_budget_on_adaptive_only_and_hides_text_without_display(emu):
    h = {"Authorization": f"Bearer {emu.token}"}
    url = emu.host + "/serving-endpoints/chat/completions"
    base = {"model": OPUS_47, "messages": [{"role": "user", "content": "x"}], "max_tokens": 9000}
    r = httpx.post(
        url, headers=h, json={**base, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    )
    assert r.status_code == 400 and "thinking.type.enabled is not supported" in r.json()["message"]
    r = httpx.post(url, headers=h, json={**base, "thinking": {"type": "adaptive"}})
    (reasoning,) = [
        b for b in r.json()["choices"][0]["message"]["content"] if b["type"] == "reasoning"
    ]
    assert reasoning["summary"][0]["text"] == "" and reasoning["summary"][0]["signature"]
    r = httpx.post(
        url, headers=h, json={**base, "model": SONNET_45, "thinking": {"type": "adaptive"}}
    )
    assert r.status_code == 400 and "adaptive is not supported" in r.json()["message"]


@pytest.mark.parametrize("mode", ["invoke", "astream"])
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_effort_on_budget_only_claude_becomes_a_budget(emu, adapter, mode):
    llm = make(adapter, emu, SONNET_45, reasoning_effort="low", max_tokens=8000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, reasoning = call(llm, mode, [user(adapter, "think")])
    assert last_body(emu)["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert reasoning and rule_warnings(caught, "reasoning_effort")


@pytest.mark.parametrize("mode", ["invoke", "astream"])
@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("model", ["databricks-claude-opus-4-9", "databricks-claude-sonnet-5"])
def test_unseen_newer_claude_gets_newest_rules(emu, adapter, mode, model):
    # (top_p is a LangChain argument only; LlamaIndex's Databricks has none)
    extra = {"top_p": 0.9} if adapter == "langchain" else {}
    llm = make(adapter, emu, model, temperature=0.5, **extra)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text, _ = call(llm, mode, [user(adapter, "new model")])
    assert "new model" in text
    body = last_body(emu)
    assert "temperature" not in body and "top_p" not in body
    assert rule_warnings(caught, "temperature")
    assert bool(rule_warnings(caught, "top_p")) == (adapter == "langchain")


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_opaque_endpoint_name_gets_the_served_models_rules(emu, adapter, mode):
    emu.clear_requests()
    llm = make(adapter, emu, "my-claude", temperature=0.3)  # external model: claude-opus-4-7
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text, _ = call(llm, mode, [user(adapter, "opaque")])
        call(llm, mode, [user(adapter, "twice")])
    assert "opaque" in text and "temperature" not in last_body(emu)
    (msg,) = rule_warnings(caught, "temperature")
    assert "my-claude" in msg and "claude-opus-4-7" in msg
    gets = [r for r in emu.requests if r.method == "GET" and r.path.endswith("/my-claude")]
    assert len(gets) == 1


def test_unreadable_endpoint_config_stays_permissive(emu):
    # An endpoint the caller may not read: nothing is dropped, the request goes as asked.
    llm = make("langchain", emu, "nobody-knows", temperature=0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm.invoke("hi")
    assert last_body(emu)["temperature"] == 0.3 and not rule_warnings(caught, "temperature")


# -- 2. agent-loop histories ---------------------------------------------------------------------
def _raw_call(cid: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": arguments}}


def two_calls_history(adapter: str, args_b: str = "{}") -> list[Any]:
    """A turn with two tool calls (the second's raw arguments ``args_b``) and both results."""
    raw = [
        _raw_call("call_a", "get_weather", '{"city": "Paris"}'),
        _raw_call("call_b", "get_time", args_b),
    ]
    if adapter == "langchain":
        parsed = [
            {"id": "call_a", "name": "get_weather", "args": {"city": "Paris"}},
            {"id": "call_b", "name": "get_time", "args": {}},
        ]
        return [
            HumanMessage("weather and time in Paris"),
            AIMessage(content="", tool_calls=parsed, additional_kwargs={"tool_calls": raw}),
            ToolMessage("sunny", tool_call_id="call_a"),
            ToolMessage("noon", tool_call_id="call_b"),
        ]
    return [
        ChatMessage(role="user", content="weather and time in Paris"),
        ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": raw}),
        ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "call_a"}),
        ChatMessage(role="tool", content="noon", additional_kwargs={"tool_call_id": "call_b"}),
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_gpt_oss_history_replays_one_call_per_turn(emu, adapter, mode):
    llm = make(adapter, emu, GPT_OSS)
    text, _ = call(llm, mode, two_calls_history(adapter))
    assert text
    msgs = last_body(emu)["messages"]
    shape = [
        (m["role"], [c["id"] for c in m.get("tool_calls", [])] or m.get("tool_call_id"))
        for m in msgs
    ]
    assert shape == [
        ("user", None),
        ("assistant", ["call_a"]),
        ("tool", "call_a"),
        ("assistant", ["call_b"]),
        ("tool", "call_b"),
    ]


def test_emulator_refuses_two_calls_in_one_gpt_oss_turn(emu):
    registry.register_model({"name": "gpt-oss-120b", "multiple_tool_calls": True})
    llm = make("langchain", emu, GPT_OSS)
    with pytest.raises(BadRequestError) as err:
        llm.invoke(two_calls_history("langchain"))
    assert err.value.message == "Multiple tool calls are not supported.\n"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_empty_arguments_go_back_as_empty_object(emu, adapter, mode):
    llm = make(adapter, emu, SONNET_45)
    call(llm, mode, two_calls_history(adapter, args_b=""))
    calls = [c for m in last_body(emu)["messages"] for c in m.get("tool_calls", [])]
    assert [c["function"]["arguments"] for c in calls] == ['{"city": "Paris"}', "{}"]


def test_emulator_refuses_empty_arguments_to_claude(emu):
    h = {"Authorization": f"Bearer {emu.token}"}
    body = {
        "model": SONNET_45,
        "messages": [
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
    }
    r = httpx.post(emu.host + "/serving-endpoints/chat/completions", headers=h, json=body)
    assert r.status_code == 400 and "function.arguments" in r.json()["message"]


# -- 3. system messages and prompt caching -----------------------------------------------------
def cached_history(adapter: str) -> list[Any]:
    long = "policy " * 40
    if adapter == "langchain":
        return [
            SystemMessage(
                content=[
                    {"type": "text", "text": "ctx1"},
                    {"type": "text", "text": long, "cache_control": {"type": "ephemeral"}},
                ]
            ),
            HumanMessage(
                content=[
                    {
                        "type": "text",
                        "text": "question",
                        "extras": {"cache_control": {"type": "ephemeral"}},
                    }
                ]
            ),
        ]
    return [
        ChatMessage(
            role="system",
            blocks=[
                TextBlock(text="ctx1"),
                TextBlock(text=long),
                CachePoint(cache_control=CacheControl(type="ephemeral")),
            ],
        ),
        ChatMessage(
            role="user",
            blocks=[
                TextBlock(text="question"),
                CachePoint(cache_control=CacheControl(type="ephemeral")),
            ],
        ),
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_cache_control_reaches_claude_as_content_blocks(emu, adapter, mode):
    llm = make(adapter, emu, SONNET_45)
    call(llm, mode, cached_history(adapter))
    system, question = last_body(emu)["messages"]
    assert system["content"][0] == {"type": "text", "text": "ctx1"}  # never glued to the next
    assert system["content"][1]["cache_control"]["type"] == "ephemeral"
    assert question["content"] == [
        {
            "type": "text",
            "text": "question",
            "cache_control": question["content"][0]["cache_control"],
        }
    ]
    assert question["content"][0]["cache_control"]["type"] == "ephemeral"


@pytest.mark.parametrize("mode", ["invoke", "astream"])
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_cache_tokens_reported_without_double_counting(emu, adapter, mode):
    """Databricks' prompt_tokens already includes the cached tokens (a live capture): the
    input count is the wire's prompt_tokens, the cache count is reported beside it."""
    llm = make(adapter, emu, SONNET_45)
    history = cached_history(adapter)
    if adapter == "langchain":
        if mode == "invoke":
            msg = llm.invoke(history)
        else:
            msg = None
            for chunk in llm.stream(history):
                msg = chunk if msg is None else msg + chunk
        usage = msg.usage_metadata
        wire = emu_usage(emu)
        assert usage["input_tokens"] == wire["prompt_tokens"]
        assert usage["input_token_details"]["cache_read"] == wire["cache_read_input_tokens"] > 0
        assert usage["input_token_details"]["cache_creation"] == wire["cache_creation_input_tokens"]
    else:
        if mode == "invoke":
            resp = llm.chat(history)
        else:
            *_, resp = llm.stream_chat(history)
        wire = emu_usage(emu)
        assert resp.additional_kwargs["prompt_tokens"] == wire["prompt_tokens"]
        assert resp.raw["usage"]["cache_read_input_tokens"] == wire["cache_read_input_tokens"] > 0


def emu_usage(emu: Any) -> dict[str, Any]:
    """The usage the emulator gives for the last request (deterministic), asked again raw."""
    body = {**last_body(emu), "stream": False}
    body.pop("stream_options", None)
    h = {"Authorization": f"Bearer {emu.token}"}
    r = httpx.post(emu.host + "/serving-endpoints/chat/completions", headers=h, json=body)
    return r.json()["usage"]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_cache_control_to_gpt_is_left_out_with_a_warning(emu, adapter):
    llm = make(adapter, emu, "databricks-gpt-5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(llm, "invoke", cached_history(adapter))
    system = last_body(emu)["messages"][0]
    assert system["content"] == "ctx1\n\n" + "policy " * 40
    assert "cache_control" not in json.dumps(last_body(emu))
    assert rule_warnings(caught, "cache_control")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_sampling_rule_on_open_responses(emu, adapter, mode):
    llm = make(adapter, emu, OPUS_47, temperature=0.2, api="open-responses")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text, _ = call(llm, mode, [user(adapter, "open responses")])
    assert "open responses" in text and "temperature" not in last_body(emu)
    assert emu.requests[-1].path.endswith("/open-responses")
    assert rule_warnings(caught, "temperature")


def test_emulator_refuses_sampling_on_open_responses(emu):
    h = {"Authorization": f"Bearer {emu.token}"}
    body = {"model": OPUS_47, "input": "x", "temperature": 0.2}
    r = httpx.post(emu.host + "/serving-endpoints/open-responses", headers=h, json=body)
    assert r.status_code == 400
    assert r.json() == {
        "error_code": "BAD_REQUEST",
        "message": "BAD_REQUEST: Model us.anthropic.claude-opus-4-7 does not support the "
        "temperature parameter.",
    }


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_opaque_endpoint_serving_a_responses_only_model_goes_to_responses(adapter):
    ep = {
        "name": "team-codex",
        "task": "llm/v1/chat",
        "endpoint_type": "EXTERNAL_MODEL",
        "state": {"ready": "READY"},
        "config": {
            "served_entities": [
                {"name": "x", "external_model": {"provider": "openai", "name": "gpt-5.1-codex-max"}}
            ]
        },
    }
    with run_emulator(endpoints=[ep]) as e:
        llm = make(adapter, e, "team-codex")
        text, _ = call(llm, "invoke", [user(adapter, "write code")])
        asyncio.run(_acall_once(llm, adapter))
        posts = [r.path for r in e.requests if r.method == "POST"]
        gets = [r.path for r in e.requests if r.method == "GET"]
    assert "write code" in text
    assert posts == ["/serving-endpoints/responses"] * 2
    assert gets == ["/api/2.0/serving-endpoints/team-codex"]


async def _acall_once(llm: Any, adapter: str) -> None:
    if adapter == "langchain":
        await llm.ainvoke("again")
    else:
        await llm.achat([ChatMessage(role="user", content="again")])
