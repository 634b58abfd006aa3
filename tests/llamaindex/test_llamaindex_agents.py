"""LlamaIndex agents end to end against the emulator: FunctionAgent (streamed events, thinking
deltas, tool calls), ReActAgent and a multi-agent AgentWorkflow with a handoff."""

from __future__ import annotations

from typing import Any

from llama_index.core.agent.workflow import (
    AgentInput,
    AgentOutput,
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCall,
    ToolCallResult,
)
from llama_index.core.memory import Memory
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import Context

from core.emulator.model import sign


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny and 21 degrees in {city}"


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


async def _run(agent: Any, msg: str) -> tuple[Any, list[Any]]:
    handler = agent.run(user_msg=msg)
    events = [ev async for ev in handler.stream_events()]
    return await handler, events


async def test_function_agent_streaming_with_thinking(make_llm, log) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=get_weather)],
        llm=llm,
        system_prompt="You are a helpful assistant.",
    )
    result, events = await _run(agent, 'What is the weather in "Paris"?')

    streams = [e for e in events if isinstance(e, AgentStream)]
    thinking = "".join(e.thinking_delta or "" for e in streams)
    assert "get_weather" in thinking  # first turn reasons about the tool
    assert any(e.delta for e in streams)
    calls = [e for e in events if isinstance(e, ToolCall) and not isinstance(e, ToolCallResult)]
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [c.tool_name for c in calls] == ["get_weather"] and calls[0].tool_kwargs == {
        "city": "Paris"
    }
    assert results[0].tool_output.content == "sunny and 21 degrees in Paris"
    assert any(isinstance(e, AgentInput) for e in events)
    assert any(isinstance(e, AgentOutput) for e in events)
    assert "sunny and 21 degrees in Paris" in str(result)

    # turn 2 sent the first turn's reasoning back, signed, plus the tool result
    messages = log.bodies[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    reasoning = messages[2]["content"][0]
    text = reasoning["summary"][0]["text"]
    assert reasoning["summary"][0]["signature"] == sign(text)
    assert messages[3]["tool_call_id"] == messages[2]["tool_calls"][0]["id"]
    assert all(b.get("stream") for b in log.bodies)


async def test_function_agent_not_streaming(make_llm, log) -> None:
    llm = make_llm("databricks-gpt-5")
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=multiply)], llm=llm, streaming=False)
    result, events = await _run(agent, "Please multiply 6 and 7.")
    assert "42" in str(result)
    assert not any(b.get("stream") for b in log.bodies)
    assert [e.tool_kwargs for e in events if isinstance(e, ToolCallResult)] == [{"a": 6, "b": 7}]


async def test_function_agent_memory_across_runs(make_llm, log) -> None:
    from llama_index.core.memory import Memory

    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=get_weather)], llm=llm)
    memory = Memory.from_defaults(session_id="s1", token_limit=40000)
    first = await agent.run(user_msg='What is the weather in "Rome"?', memory=memory)
    assert "Rome" in str(first)
    second = await agent.run(user_msg="Thanks! Say hi.", memory=memory)
    assert "Say hi" in str(second)
    # the memory replayed the earlier assistant turns, reasoning included and still valid
    messages = log.bodies[-1]["messages"]
    assert any(
        isinstance(m.get("content"), list)
        and m["content"]
        and m["content"][0].get("type") == "reasoning"
        for m in messages
        if m["role"] == "assistant"
    )


async def test_function_agent_initial_tool_choice(make_llm, log) -> None:
    llm = make_llm("databricks-meta-llama-3-3-70b-instruct")
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=get_weather), FunctionTool.from_defaults(fn=multiply)],
        llm=llm,
        initial_tool_choice="multiply",
    )
    result = await agent.run(user_msg="numbers 3 and 4 please")
    assert "12" in str(result)
    assert log.bodies[0]["tool_choice"] == {"type": "function", "function": {"name": "multiply"}}


async def test_function_agent_parallel_tool_calls(make_llm, log) -> None:
    llm = make_llm("databricks-gpt-5", reasoning_effort="low")
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=get_weather), FunctionTool.from_defaults(fn=multiply)],
        llm=llm,
    )
    result, events = await _run(agent, 'Call get_weather for "Oslo" and multiply 6 by 7.')
    results = {e.tool_name: e.tool_output.content for e in events if isinstance(e, ToolCallResult)}
    assert results == {"get_weather": "sunny and 21 degrees in Oslo", "multiply": "42"}
    assert "42" in str(result) and "Oslo" in str(result)
    # one streamed assistant turn carried both calls; both results went back with their ids
    messages = log.bodies[-1]["messages"]
    calls = next(m for m in messages if m["role"] == "assistant")["tool_calls"]
    tool_ids = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert sorted(c["id"] for c in calls) == sorted(tool_ids) and len(calls) == 2


async def test_react_agent(make_llm, log) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5")
    agent = ReActAgent(tools=[FunctionTool.from_defaults(fn=get_weather)], llm=llm)
    result, events = await _run(agent, "Hello, who are you?")
    # the scripted model does not speak ReAct: the agent takes its text as the answer
    assert "Hello, who are you?" in str(result)
    assert any(isinstance(e, AgentStream) and e.delta for e in events)
    system = log.bodies[0]["messages"][0]
    assert system["role"] == "system" and "get_weather" in str(system["content"])


async def test_react_agent_tool_loop(make_llm, log) -> None:
    """The scripted model echoes the user's words, so a ReAct-formatted prompt makes it emit a
    ReAct action: the agent parses it, runs the tool and feeds the observation back."""
    llm = make_llm("databricks-meta-llama-3-3-70b-instruct")
    agent = ReActAgent(tools=[FunctionTool.from_defaults(fn=get_weather)], llm=llm)
    result, events = await _run(
        agent, 'Thought: I need the tool.\nAction: get_weather\nAction Input: {"city": "Paris"}'
    )
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [(e.tool_name, e.tool_kwargs) for e in results] == [("get_weather", {"city": "Paris"})]
    assert "Observation: sunny and 21 degrees in Paris" in str(result)
    last = log.bodies[-1]["messages"]
    assert last[-1] == {"role": "user", "content": "Observation: sunny and 21 degrees in Paris"}
    assert last[-2]["role"] == "assistant" and last[-2]["content"].startswith("Thought:")


async def test_react_agent_with_thinking(make_llm) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    agent = ReActAgent(tools=[FunctionTool.from_defaults(fn=get_weather)], llm=llm)
    result, events = await _run(agent, "Hello there")
    assert any(isinstance(e, AgentStream) and e.thinking_delta for e in events)
    assert "Hello there" in str(result)


async def test_agent_workflow_handoff(make_llm, log) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    router = FunctionAgent(
        name="RouterAgent",
        description="Routes questions to the right agent.",
        system_prompt="Route the user to the right agent with the handoff tool.",
        llm=llm,
        tools=[],
        can_handoff_to=["WeatherAgent"],
    )
    weather = FunctionAgent(
        name="WeatherAgent",
        description="Answers weather questions.",
        system_prompt="You answer weather questions with the get_weather tool.",
        llm=llm,
        tools=[FunctionTool.from_defaults(fn=get_weather)],
    )
    workflow = AgentWorkflow(agents=[router, weather], root_agent="RouterAgent")
    ctx = Context(workflow)
    memory = Memory.from_defaults(session_id="wf", token_limit=40000)

    # turn 1: the router hands off (the scripted model answers in text after any tool result)
    handler = workflow.run(user_msg='handoff to "WeatherAgent" please', ctx=ctx, memory=memory)
    events = [ev async for ev in handler.stream_events()]
    await handler
    assert [e.tool_name for e in events if isinstance(e, ToolCallResult)] == ["handoff"]
    outputs = [e.current_agent_name for e in events if isinstance(e, AgentOutput)]
    assert outputs[0] == "RouterAgent" and outputs[-1] == "WeatherAgent"
    assert any(isinstance(e, AgentStream) and e.thinking_delta for e in events)

    # turn 2: the weather agent is now in charge and calls its tool
    handler = workflow.run(user_msg='What is the weather in "Lima"?', ctx=ctx, memory=memory)
    events = [ev async for ev in handler.stream_events()]
    result = await handler
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [(e.tool_name, e.tool_kwargs) for e in results] == [("get_weather", {"city": "Lima"})]
    assert {e.current_agent_name for e in events if isinstance(e, AgentOutput)} == {"WeatherAgent"}
    assert "sunny and 21 degrees in Lima" in str(result)
    # the whole history went back with every earlier reasoning block signed as received
    messages = log.bodies[-1]["messages"]
    for m in messages:
        for block in m.get("content") if isinstance(m.get("content"), list) else []:
            if block.get("type") == "reasoning":
                item = block["summary"][0]
                assert item["signature"] == sign(item["text"])
    assert sum(1 for m in messages if m["role"] == "tool") == 2
