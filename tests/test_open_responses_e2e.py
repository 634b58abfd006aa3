"""Open Responses end to end: Claude-, Gemini- and open-model-like endpoints with api="responses"
(or use_responses_api=True) through both adapters, sync and async, streamed and not, a tool loop
carrying reasoning across turns (the emulator refuses modified reasoning)."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from weather_tool import get_weather, li_get_weather

from core.emulator import run_emulator
from core.errors import BadRequestError
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

ROUTE = "/serving-endpoints/open-responses"
CLAUDE = "databricks-claude-sonnet-4-5"
GEMINI = "databricks-gemini-2-5-pro"
OSS = "databricks-gpt-oss-120b"
FAMILIES = [CLAUDE, GEMINI, OSS]


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=6) as emu:
        yield emu


def last_input(emu):
    req = emu.requests[-1]
    assert req.path == ROUTE, req.path
    return req.json["input"]


def reasoning_items(items):
    return [i for i in items if i["type"] == "reasoning"]


def lc_model(emu, model, **kw):
    return ChatDatabricks(
        model=model, host=emu.host, api_key=emu.token, api="responses",
        reasoning_effort="low", max_retries=0, **kw,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# LangChain
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", FAMILIES)
def test_langchain_invoke_and_stream(emu, model):
    llm = lc_model(emu, model)
    assert llm.client.route.api == "open-responses"
    msg = llm.invoke("hello open responses")
    assert emu.requests[-1].path == ROUTE
    # LangChain's own callback metadata ({"lc_versions": ...}) is no request parameter
    assert "metadata" not in emu.requests[-1].json
    assert 'You said: "hello open responses"' in msg.text
    assert [b["type"] for b in msg.content][0] == "reasoning"
    assert msg.usage_metadata["output_token_details"]["reasoning"] > 0

    chunks = list(llm.stream("hello open responses"))
    assert len(chunks) > 3
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.text == msg.text
    assert sum(1 for c in chunks if c.usage_metadata) == 1  # usage once
    assert full.usage_metadata["total_tokens"] == msg.usage_metadata["total_tokens"]
    llm.close()


@pytest.mark.parametrize("model", [CLAUDE, GEMINI])
@pytest.mark.parametrize("stream", [False, True])
def test_langchain_tool_loop_carries_reasoning(emu, model, stream):
    llm = lc_model(emu, model).bind_tools([get_weather])
    history = [HumanMessage('What is the weather in "Paris"?')]

    def call(msgs):
        if not stream:
            return llm.invoke(msgs)
        full = None
        for chunk in llm.stream(msgs):
            full = chunk if full is None else full + chunk
        return full

    first = call(history)
    assert first.tool_calls[0]["name"] == "get_weather"
    assert first.tool_calls[0]["args"] == {"city": "Paris"}
    history += [
        first,
        ToolMessage(get_weather.invoke(first.tool_calls[0]["args"]),
                    tool_call_id=first.tool_calls[0]["id"]),
    ]  # fmt: skip
    second = call(history)
    assert "18C and sunny in Paris" in second.text
    items = last_input(emu)
    assert [i["type"] for i in items] == [
        "message", "reasoning", "function_call", "function_call_output",
    ]  # fmt: skip
    assert reasoning_items(items)[0]["encrypted_content"].startswith("gAAAA")


def test_langchain_edited_reasoning_is_refused(emu):
    llm = lc_model(emu, CLAUDE)
    first = llm.invoke("think first")
    tampered = first.model_copy(deep=True)
    block = next(b for b in tampered.content if b["type"] == "reasoning" and b.get("reasoning"))
    block["reasoning"] += " (edited)"
    with pytest.raises(BadRequestError, match="modified"):
        llm.invoke([HumanMessage("think first"), tampered, HumanMessage("next")])
    assert llm.invoke([HumanMessage("think first"), first, HumanMessage("next")]).text


def test_langchain_use_responses_api_routes_claude_to_open_responses(emu):
    llm = ChatDatabricks(model=CLAUDE, host=emu.host, api_key=emu.token, use_responses_api=True)
    assert "hi" in llm.invoke("hi").text
    assert emu.requests[-1].path == ROUTE


async def test_langchain_async(emu):
    llm = lc_model(emu, GEMINI)
    msg = await llm.ainvoke("async hello")
    chunks = [c async for c in llm.astream("async hello")]
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.text == msg.text and 'async hello' in msg.text
    await llm.aclose()


# ---------------------------------------------------------------------------------------------
# LlamaIndex
# ---------------------------------------------------------------------------------------------
def li_model(emu, model):
    return Databricks(
        model=model, host=emu.host, token=emu.token, api="responses",
        reasoning_effort="low", max_retries=0,
    )  # fmt: skip


@pytest.mark.parametrize("model", FAMILIES)
def test_llamaindex_chat_and_stream(emu, model):
    li = li_model(emu, model)
    r = li.chat([ChatMessage(role="user", content="hello from llamaindex")])
    assert emu.requests[-1].path == ROUTE
    assert 'You said: "hello from llamaindex"' in r.message.content
    assert any(type(b).__name__ == "ThinkingBlock" for b in r.message.blocks)
    pieces = list(li.stream_chat([ChatMessage(role="user", content="hello from llamaindex")]))
    assert pieces[-1].message.content == r.message.content
    assert "".join(p.delta or "" for p in pieces) == r.message.content


@pytest.mark.parametrize("stream", [False, True])
def test_llamaindex_tool_loop_carries_reasoning(emu, stream):
    li = li_model(emu, CLAUDE)
    weather = FunctionTool.from_defaults(fn=li_get_weather)
    history = [ChatMessage(role="user", content='weather in "Paris"?')]

    def call(msgs):
        if not stream:
            return li.chat_with_tools([weather], chat_history=msgs)
        return list(li.stream_chat_with_tools([weather], chat_history=msgs))[-1]

    first = call(history)
    (sel,) = li.get_tool_calls_from_response(first, error_on_no_tool_call=True)
    assert sel.tool_name == "li_get_weather" and sel.tool_kwargs == {"city": "Paris"}
    history += [
        first.message,
        ChatMessage(role="tool", content=str(weather.call(**sel.tool_kwargs)),
                    additional_kwargs={"tool_call_id": sel.tool_id}),
    ]  # fmt: skip
    second = call(history)
    assert "18C and sunny in Paris" in second.message.content
    (rs,) = reasoning_items(last_input(emu))
    assert rs["content"][0]["type"] == "reasoning_text"
    assert rs["encrypted_content"].startswith("gAAAA")


async def test_llamaindex_async(emu):
    li = li_model(emu, OSS)
    r = await li.achat([ChatMessage(role="user", content="async li")])
    gen = await li.astream_chat([ChatMessage(role="user", content="async li")])
    pieces = [p async for p in gen]
    assert pieces[-1].message.content == r.message.content
    assert emu.requests[-1].path == ROUTE
