"""Agents of every schema end to end over the emulator, through both adapters, sync and async,
streamed and not. The schema is found from each endpoint's task (nothing but the name is given).

Every scripted agent (core.emulator.agents) answers "Let me look that up." then runs its own
``lookup`` tool, then answers; the legacy ChatModel answers at once. The caller must get the
whole answer (the agent's steps in order, the final text last), no tool call to run, usage of
the whole answer once, and custom_outputs echoing the custom_inputs and context it was sent.
"""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.llms import ChatMessage

from core.emulator import run_emulator
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

QUESTION = "weather in Oslo"
FINAL = "Here is what I found: 3 results for 'weather in Oslo'."
INTRO = "Let me look that up."
CUSTOM_INPUTS = {"user_tier": "gold"}
CONTEXT = {"conversation_id": "conv-1", "user_id": "u-1"}
STEP_AGENTS = ["my-tool-agent", "my-items-agent", "my-json-agent", "my-chat-agent"]
ALL_AGENTS = [*STEP_AGENTS, "my-legacy-agent"]
USAGE_TOTAL = 86  # both model calls of the scripted answer (the items agent streams none)


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=5) as emu:
        yield emu


def check_wire(emu, name, stream):
    req = emu.requests[-1]
    assert req.path == f"/serving-endpoints/{name}/invocations"
    assert req.json["custom_inputs"] == CUSTOM_INPUTS and req.json["context"] == CONTEXT
    assert bool(req.json.get("stream")) is stream
    assert "model" not in req.json


def expected_custom_outputs(name):
    return {"agent": name, "custom_inputs": CUSTOM_INPUTS, "context": CONTEXT}


# ---------------------------------------------------------------------------------------------
# LangChain
# ---------------------------------------------------------------------------------------------
def lc_model(emu, name):
    return ChatDatabricks(model=name, host=emu.host, api_key=emu.token, max_retries=0,
                          custom_inputs=CUSTOM_INPUTS, context=CONTEXT)  # fmt: skip


def check_lc(msg: AIMessage, name: str, streamed: bool):
    assert msg.tool_calls == [] and msg.invalid_tool_calls == []  # nothing left to run
    assert msg.response_metadata["custom_outputs"] == expected_custom_outputs(name)
    if name == "my-legacy-agent":
        assert msg.text == FINAL
    else:
        kinds = [b["type"] if isinstance(b, dict) else "text" for b in msg.content]
        assert kinds == ["text", "server_tool_call", "server_tool_result", "text"], kinds
        call, result = msg.content[1], msg.content[2]
        assert call["name"] == "lookup" and call["args"] == {"query": QUESTION}
        assert result["tool_call_id"] == call["extras"]["item"]["call_id"]
        assert result["output"] == f"3 results for {QUESTION!r}"
        texts = [b if isinstance(b, str) else b.get("text") for b in msg.content]
        assert texts[0] == INTRO and texts[-1] == FINAL
        assert msg.text == INTRO + FINAL
    if not (streamed and name == "my-items-agent"):  # that agent streams no usage
        assert msg.usage_metadata["total_tokens"] == USAGE_TOTAL


def summed(chunks):
    assert chunks
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    # usage on exactly one chunk: counted once
    assert sum(1 for c in chunks if c.usage_metadata) <= 1
    return full


@pytest.mark.parametrize("name", ALL_AGENTS)
def test_langchain_sync(emu, name):
    llm = lc_model(emu, name)
    check_lc(llm.invoke(QUESTION), name, streamed=False)
    check_wire(emu, name, stream=False)
    full = summed(list(llm.stream([HumanMessage(QUESTION)])))
    check_wire(emu, name, stream=True)
    check_lc(full, name, streamed=True)


@pytest.mark.parametrize("name", ALL_AGENTS)
async def test_langchain_async(emu, name):
    llm = lc_model(emu, name)
    check_lc(await llm.ainvoke(QUESTION), name, streamed=False)
    full = summed([c async for c in llm.astream(QUESTION)])
    check_wire(emu, name, stream=True)
    check_lc(full, name, streamed=True)


# ---------------------------------------------------------------------------------------------
# LlamaIndex
# ---------------------------------------------------------------------------------------------
def li_model(emu, name):
    return Databricks(model=name, host=emu.host, token=emu.token, max_retries=0,
                      custom_inputs=CUSTOM_INPUTS, context=CONTEXT)  # fmt: skip


def check_li(resp, name: str, streamed: bool):
    msg = resp.message
    kw = msg.additional_kwargs
    assert "tool_calls" not in kw  # nothing left to run
    assert kw["custom_outputs"] == expected_custom_outputs(name)  # message level
    assert resp.additional_kwargs["custom_outputs"] == kw["custom_outputs"]  # and top level
    texts = [b.text for b in msg.blocks if hasattr(b, "text")]
    if name == "my-legacy-agent":
        assert texts == [FINAL] and "server_tool_items" not in kw
    else:
        assert texts == [INTRO, FINAL]
        steps = kw["server_tool_items"]
        assert [s["item"]["type"] for s in steps] == ["function_call", "function_call_output"]
        assert [s["index"] for s in steps] == [1, 1]  # both between the two text blocks
        assert steps[0]["item"]["name"] == "lookup"
        assert steps[1]["item"]["output"] == f"3 results for {QUESTION!r}"
    if not (streamed and name == "my-items-agent"):
        assert resp.raw["usage"]["total_tokens"] == USAGE_TOTAL


@pytest.mark.parametrize("name", ALL_AGENTS)
def test_llamaindex_sync(emu, name):
    llm = li_model(emu, name)
    msgs = [ChatMessage(role="user", content=QUESTION)]
    check_li(llm.chat(msgs), name, streamed=False)
    check_wire(emu, name, stream=False)
    last = None
    deltas = []
    for last in llm.stream_chat(msgs):
        deltas.append(last.delta or "")
    check_wire(emu, name, stream=True)
    check_li(last, name, streamed=True)
    # every piece of text arrived once as a delta (LlamaIndex joins text blocks with "\n")
    assert "".join(deltas) == "".join(b.text for b in last.message.blocks if hasattr(b, "text"))


@pytest.mark.parametrize("name", ALL_AGENTS)
async def test_llamaindex_async(emu, name):
    llm = li_model(emu, name)
    msgs = [ChatMessage(role="user", content=QUESTION)]
    check_li(await llm.achat(msgs), name, streamed=False)
    chunks = [c async for c in await llm.astream_chat(msgs)]
    last = chunks[-1]
    check_wire(emu, name, stream=True)
    check_li(last, name, streamed=True)


# ---------------------------------------------------------------------------------------------
# The next turn, the service saying no, apps
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", STEP_AGENTS)
def test_next_turn_sends_the_agents_steps_back(emu, name):
    llm = lc_model(emu, name)
    first = llm.invoke(QUESTION)
    llm.invoke([HumanMessage(QUESTION), first, HumanMessage("and tomorrow?")])
    sent = emu.requests[-1].json
    if name == "my-chat-agent":
        roles = [m["role"] for m in sent["messages"]]
        assert roles == ["user", "assistant", "tool", "assistant", "user"]
        assert sent["messages"][1]["tool_calls"][0]["function"]["name"] == "lookup"
        assert sent["messages"][2]["name"] == "lookup"  # MLflow requires it on tool messages
    else:
        kinds = [i["type"] for i in sent["input"]]
        assert kinds == ["message", "message", "function_call", "function_call_output",
                         "message", "message"]  # fmt: skip


def test_chat_agent_refuses_tools_before_sending(emu):
    from core.errors import InvalidRequestError

    llm = lc_model(emu, "my-chat-agent")

    def lookup(query: str) -> str:
        """Look something up."""
        return query

    n = len(emu.requests)
    with pytest.raises(InvalidRequestError, match="takes no tools"):
        llm.bind_tools([lookup]).invoke(QUESTION)
    assert all(r.path != "/serving-endpoints/my-chat-agent/invocations" for r in emu.requests[n:])


def test_emulator_says_no_like_mlflow_to_a_nameless_tool_message(emu):
    import httpx

    r = httpx.post(
        f"{emu.host}/serving-endpoints/my-chat-agent/invocations",
        headers={"Authorization": f"Bearer {emu.token}"},
        json={"messages": [{"role": "tool", "content": "x", "tool_call_id": "c"}]},
    )
    assert r.status_code == 400
    assert "Both 'name' and 'tool_call_id' must be provided" in r.json()["message"]


def test_app_agent_with_two_cycles(emu):
    llm = ChatDatabricks(model="apps/my-tool-agent", host=emu.host, client_id=emu.client_id,
                         client_secret=emu.client_secret, max_retries=0,
                         custom_inputs=CUSTOM_INPUTS, context=CONTEXT)  # fmt: skip
    full = summed(list(llm.stream(QUESTION)))
    assert emu.requests[-1].path == "/apps-proxy/my-tool-agent/responses"
    check_lc(full, "my-tool-agent", streamed=True)


@pytest.mark.parametrize("name", ["my-chat-agent", "my-items-agent"])
def test_langchain_stream_chunks_carry_custom_outputs(emu, name):
    """As databricks-langchain: the chunk made from a wire chunk that carried custom_outputs has
    them as chunk.custom_outputs; the last chunk has the agent's final custom_outputs."""
    import asyncio

    llm = lc_model(emu, name)
    want = expected_custom_outputs(name)
    for chunks in (
        list(llm.stream("hello")),
        asyncio.run(_collect(llm.astream("hello"))),
    ):
        carrying = [c for c in chunks if hasattr(c, "custom_outputs")]
        assert carrying and all(c.custom_outputs == want for c in carrying)
        assert carrying[-1] is chunks[-1]
        if name == "my-chat-agent":  # its last chunk has text and custom_outputs together
            assert any(c.content for c in carrying)


async def _collect(agen):
    return [c async for c in agen]
