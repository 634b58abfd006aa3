"""Responses models end to end through both adapters (LangChain ChatDatabricks, LlamaIndex
Databricks) against the emulator: plain, streamed, tool loop with reasoning carried across
turns (the emulator refuses altered encrypted_content), codex auto-routing."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from weather_tool import get_weather, li_get_weather

from core.emulator import run_emulator
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

GPT5 = "databricks-gpt-5"
CODEX = "databricks-gpt-5-1-codex-max"


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=6) as emu:
        yield emu


def last_input(emu):
    req = emu.requests[-1]
    assert req.path == "/serving-endpoints/responses", req.path
    return req.json["input"]


def reasoning_items(items):
    return [i for i in items if i["type"] == "reasoning"]


# ---------------------------------------------------------------------------------------------
# LangChain
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def lc(emu):
    llm = ChatDatabricks(
        model=GPT5, host=emu.host, api_key=emu.token, use_responses_api=True,
        reasoning_effort="low", max_retries=0,
    )  # fmt: skip
    yield llm
    llm.close()


def test_langchain_plain_and_streamed(emu, lc):
    msg = lc.invoke("hello from langchain")
    assert isinstance(msg, AIMessage)
    assert 'You said: "hello from langchain"' in msg.text
    assert msg.usage_metadata["output_token_details"]["reasoning"] > 0
    kinds = [b["type"] for b in msg.content]
    assert kinds[0] == "reasoning" and kinds[-1] == "text"

    chunks = list(lc.stream("hello from langchain"))
    assert len(chunks) > 3
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.text == msg.text
    assert full.usage_metadata["total_tokens"] == msg.usage_metadata["total_tokens"]
    assert emu.requests[-1].json["stream"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_langchain_tool_loop_carries_reasoning(emu, lc, stream):
    llm = lc.bind_tools([get_weather])
    history = [HumanMessage('What is the weather in "Paris"?')]

    def call(msgs):
        if not stream:
            return llm.invoke(msgs)
        full = None
        for chunk in llm.stream(msgs):
            full = chunk if full is None else full + chunk
        return full

    first = call(history)
    assert first.tool_calls and first.tool_calls[0]["name"] == "get_weather"
    assert first.tool_calls[0]["args"] == {"city": "Paris"}
    history += [
        first,
        ToolMessage(
            get_weather.invoke(first.tool_calls[0]["args"]), tool_call_id=first.tool_calls[0]["id"]
        ),
    ]
    second = call(history)
    assert "18C and sunny in Paris" in second.text
    items = last_input(emu)
    (rs,) = reasoning_items(items)
    assert rs["id"].startswith("rs_") and rs["encrypted_content"].startswith("gAAAA")
    assert [i["type"] for i in items] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
    ]

    # third turn: both reasoning items go back, in order; the server verifies them
    history += [second, HumanMessage('and in "Rome"?')]
    call(history)
    assert len(reasoning_items(last_input(emu))) == 2


def test_langchain_edited_reasoning_is_refused(emu, lc):
    from core.errors import BadRequestError

    first = lc.invoke("think first")
    tampered = first.model_copy(deep=True)
    block = next(b for b in tampered.content if b["type"] == "reasoning" and b.get("reasoning"))
    block["reasoning"] += " (edited)"
    with pytest.raises(BadRequestError, match="modified"):
        lc.invoke([HumanMessage("think first"), tampered, HumanMessage("next")])
    lc.invoke([HumanMessage("think first"), first, HumanMessage("next")])


def test_langgraph_agent_on_responses(emu, lc):
    import warnings

    from langgraph import prebuilt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = prebuilt.create_react_agent(lc, [get_weather])
    out = agent.invoke({"messages": [HumanMessage('weather in "Oslo"?')]})
    assert "18C and sunny in Oslo" in out["messages"][-1].text
    assert len(reasoning_items(last_input(emu))) == 1


def test_langchain_codex_auto_responses(emu):
    llm = ChatDatabricks(model=CODEX, host=emu.host, api_key=emu.token)
    assert llm.client.route.api == "responses"
    assert '"write a function"' in llm.invoke("write a function").text
    assert emu.requests[-1].path == "/serving-endpoints/responses"


# ---------------------------------------------------------------------------------------------
# LlamaIndex
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def li(emu):
    return Databricks(
        model=GPT5, host=emu.host, token=emu.token, use_responses_api=True,
        reasoning_effort="low", max_retries=0,
    )  # fmt: skip


def test_llamaindex_plain_and_streamed(emu, li):
    r = li.chat([ChatMessage(role="user", content="hello from llamaindex")])
    assert 'You said: "hello from llamaindex"' in r.message.content
    assert any(type(b).__name__ == "ThinkingBlock" for b in r.message.blocks)
    pieces = list(li.stream_chat([ChatMessage(role="user", content="hello from llamaindex")]))
    assert len(pieces) > 3
    assert pieces[-1].message.content == r.message.content
    assert "".join(p.delta or "" for p in pieces) == r.message.content
    c = li.complete("complete me")
    assert '"complete me"' in c.text


@pytest.mark.parametrize("stream", [False, True])
def test_llamaindex_tool_loop_carries_reasoning(emu, li, stream):
    weather = FunctionTool.from_defaults(fn=li_get_weather)
    history = [ChatMessage(role="user", content='weather in "Paris"?')]

    def call(msgs):
        if not stream:
            return li.chat_with_tools([weather], chat_history=msgs)
        return list(li.stream_chat_with_tools([weather], chat_history=msgs))[-1]

    first = call(history)
    (sel,) = li.get_tool_calls_from_response(first, error_on_no_tool_call=True)
    assert sel.tool_name == "li_get_weather" and sel.tool_kwargs == {"city": "Paris"}
    result = weather.call(**sel.tool_kwargs)
    history += [
        first.message,
        ChatMessage(
            role="tool", content=str(result), additional_kwargs={"tool_call_id": sel.tool_id}
        ),
    ]
    second = call(history)
    assert "18C and sunny in Paris" in second.message.content
    (rs,) = reasoning_items(last_input(emu))
    assert rs["encrypted_content"].startswith("gAAAA")


async def test_llamaindex_async(emu, li):
    r = await li.achat([ChatMessage(role="user", content="async li")])
    gen = await li.astream_chat([ChatMessage(role="user", content="async li")])
    pieces = [p async for p in gen]
    assert pieces[-1].message.content == r.message.content


def test_llamaindex_codex_auto_responses(emu):
    llm = Databricks(model=CODEX, host=emu.host, token=emu.token)
    assert llm.client.route.api == "responses"
    assert '"write a function"' in llm.complete("write a function").text


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
def test_langchain_responses_text_is_typed_blocks_with_item_ids(emu, mode):
    """As databricks-langchain and langchain-openai's Responses output: ``content`` is a list
    of typed blocks, the text block carrying its message item id, so ``.content[0]["text"]``
    works; the id is never sent back."""
    import asyncio
    import operator
    from functools import reduce

    llm = ChatDatabricks(
        model=GPT5, host=emu.host, api_key=emu.token, use_responses_api=True, max_retries=0
    )
    prompt = "hello blocks"
    if mode == "invoke":
        msg = llm.invoke(prompt)
    elif mode == "stream":
        msg = reduce(operator.add, llm.stream(prompt))
    else:

        async def go():
            if mode == "ainvoke":
                return await llm.ainvoke(prompt)
            return reduce(operator.add, [c async for c in llm.astream(prompt)])

        msg = asyncio.run(go())
    assert isinstance(msg.content, list)
    (block,) = [b for b in msg.content if b["type"] == "text"]
    assert block["text"] == msg.text and 'You said: "hello blocks"' in block["text"]
    assert isinstance(block["id"], str) and block["id"].startswith("msg_")
    llm.invoke([HumanMessage(prompt), msg, HumanMessage("again")])
    items = last_input(emu)
    assistant = [i for i in items if i.get("role") == "assistant"]
    assert assistant and all("id" not in i for i in assistant)


@pytest.mark.parametrize("streamed", [False, True])
async def test_responses_answer_replayed_to_a_chat_model_as_plain_text(emu, streamed):
    # A LangGraph/LlamaIndex agent that switches models mid-conversation: the Responses answer's
    # message id (on its text block) must not become a key of a chat-completions content part.
    kw = {"host": emu.host, "token": emu.token}
    gpt = ChatDatabricks(model=GPT5, use_responses_api=True, **kw)
    claude = ChatDatabricks(model="databricks-claude-sonnet-4-5", **kw)
    answer = await gpt.ainvoke("hi")
    assert answer.content[0]["id"].startswith("msg_")  # the item id is there for the user
    history = [HumanMessage("hi"), answer, HumanMessage("again")]
    if streamed:
        async for _ in claude.astream(history):
            pass
    else:
        claude.invoke(history)
    sent = emu.requests[-1].json["messages"][1]
    assert sent == {"role": "assistant", "content": answer.text}

    li_gpt = Databricks(model=GPT5, use_responses_api=True, **kw)
    li_claude = Databricks(model="databricks-claude-sonnet-4-5", **kw)
    li_answer = (await li_gpt.achat([ChatMessage(role="user", content="hi")])).message
    await li_claude.achat([ChatMessage(role="user", content="hi"), li_answer,
                           ChatMessage(role="user", content="again")])
    sent = emu.requests[-1].json["messages"][1]
    assert sent == {"role": "assistant", "content": li_answer.content}
