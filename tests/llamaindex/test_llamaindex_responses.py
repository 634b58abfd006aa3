"""The LlamaIndex adapter on the Responses API and on a Databricks Apps agent (emulator)."""

from __future__ import annotations

import pytest
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock
from llama_index.core.tools import FunctionTool

from core import errors
from core.emulator.model import decrypt_reasoning


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny in {city}"


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


def test_responses_plain_and_streamed(make_llm, log) -> None:
    llm = make_llm("databricks-gpt-5", use_responses_api=True, reasoning_effort="low")
    resp = llm.chat([user("hi")])
    assert resp.message.content.startswith('You said: "hi"')
    assert resp.additional_kwargs["total_tokens"] == resp.raw["usage"]["total_tokens"]
    assert log.all[-1].path == "/serving-endpoints/responses"
    thinking_blocks = [b for b in resp.message.blocks if isinstance(b, ThinkingBlock)]
    think = thinking_blocks[0]
    assert think.content and any(b.additional_information.get("redacted") for b in thinking_blocks)
    chunks = list(llm.stream_chat([user("hi")]))
    thinking = "".join(c.additional_kwargs.get("thinking_delta") or "" for c in chunks)
    assert thinking == think.content
    assert chunks[-1].message.content == resp.message.content
    assert chunks[-1].additional_kwargs == resp.additional_kwargs


def test_responses_tool_loop_carries_reasoning(make_llm, log) -> None:
    llm = make_llm("databricks-gpt-5", use_responses_api=True, reasoning_effort="low")
    tool = FunctionTool.from_defaults(fn=get_weather)
    first = llm.chat_with_tools([tool], user_msg='weather in "Oslo"?')
    (call,) = llm.get_tool_calls_from_response(first)
    assert call.tool_kwargs == {"city": "Oslo"}
    history = [
        user('weather in "Oslo"?'),
        first.message,
        ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": call.tool_id}),
    ]
    final = llm.chat_with_tools([tool], chat_history=history)
    assert "sunny" in final.message.content
    items = log.bodies[-1]["input"]
    reasoning = next(i for i in items if i["type"] == "reasoning")
    think = [b for b in first.message.blocks if isinstance(b, ThinkingBlock)]
    assert decrypt_reasoning(reasoning["encrypted_content"]) == think[0].content
    assert reasoning["encrypted_content"] == think[-1].additional_information["redacted"]
    assert reasoning["id"] == think[-1].additional_information["extras"]["id"]
    fc = next(i for i in items if i["type"] == "function_call")
    assert fc["call_id"] == call.tool_id and fc["name"] == "get_weather"


def test_responses_custom_tool_round_trip(make_llm, log) -> None:
    llm = make_llm("databricks-gpt-5", use_responses_api=True)
    tool = {"type": "custom", "name": "shell", "description": "run a shell command"}
    resp = llm.chat_with_tools([tool], user_msg="use shell: ls -la", tool_required=True)
    (sel,) = llm.get_tool_calls_from_response(resp)
    assert (sel.tool_name, sel.tool_kwargs) == ("shell", {"input": "use shell: ls -la"})
    history = [
        user("use shell: ls -la"),
        resp.message,
        ChatMessage(role="tool", content="a.txt", additional_kwargs={"tool_call_id": sel.tool_id}),
    ]
    final = llm.chat_with_tools([tool], chat_history=history)
    assert "a.txt" in final.message.content
    items = log.bodies[-1]["input"]
    call = next(i for i in items if i["type"] == "custom_tool_call")
    assert call["input"] == "use shell: ls -la" and call["call_id"] == sel.tool_id
    assert call["id"] == resp.message.additional_kwargs["tool_call_extras"][sel.tool_id]["id"]
    assert log.bodies[-1]["tools"] == [tool]


async def test_responses_function_agent(make_llm) -> None:
    llm = make_llm("databricks-gpt-5", use_responses_api=True, reasoning_effort="low")
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=get_weather)], llm=llm)
    handler = agent.run(user_msg='weather in "Kyiv"?')
    events = [ev async for ev in handler.stream_events()]
    result = await handler
    assert "sunny in Kyiv" in str(result)
    assert any(isinstance(e, AgentStream) and e.thinking_delta for e in events)
    assert [e.tool_name for e in events if isinstance(e, ToolCallResult)] == ["get_weather"]


def test_apps_agent_custom_inputs_and_outputs(make_llm, emu, log) -> None:
    app = make_llm(
        "apps/my-agent",
        token=None,
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        custom_inputs={"k": "v"},
    )
    resp = app.chat([user("hi app")], context={"conversation_id": "c1"})
    assert "hi app" in resp.message.content
    assert resp.additional_kwargs["custom_outputs"]["k"] == "v"
    assert resp.raw["custom_outputs"] == resp.additional_kwargs["custom_outputs"]
    body = log.bodies[-1]
    assert body["custom_inputs"] == {"k": "v"} and body["context"] == {"conversation_id": "c1"}
    chunks = list(app.stream_chat([user("hi app")], custom_inputs={"k": "w"}))
    assert chunks[-1].additional_kwargs["custom_outputs"]["k"] == "w"
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].message.content


def test_apps_agent_refuses_pat(make_llm) -> None:
    with pytest.raises(errors.ConfigurationError, match="OAuth"):
        make_llm("apps/my-agent").chat([user("x")])
