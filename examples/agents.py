"""Deployed agents inside your own agents: a LangGraph agent and a LlamaIndex FunctionAgent, each
using a Databricks agent as its model and another one as a tool.

    python examples/agents.py              # the local emulator (its scripted agents)
    python examples/agents.py --workspace  # your workspace: name your agents with the variables

Agents on Model Serving speak one of three schemas (ResponsesAgent, ChatAgent, legacy ChatModel);
the endpoint's task says which, so only the endpoint name is given. What it shows:

1. LangGraph: ``create_react_agent`` whose model is a deployed ResponsesAgent
   (``DEMO_RESPONSES_AGENT``, default ``my-agent``) calling our ``get_weather`` tool, and whose
   ``ask_research_agent`` tool is a deployed ChatAgent (``DEMO_CHAT_AGENT``, default
   ``my-chat-agent``) that runs its own tools: its steps come back in the message's content
   blocks, never as calls for LangGraph to run.
2. LlamaIndex: a ``FunctionAgent`` on a deployed ResponsesAgent with a ``multiply`` tool, and a
   tool that asks a deployed agent which answers in two cycles (``DEMO_TOOL_AGENT``, default
   ``my-tool-agent``), its own steps in ``additional_kwargs["server_tool_items"]``.

Needs the ``langchain`` and ``llamaindex`` extras and ``langgraph`` (``pip install langgraph``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

RESPONSES_AGENT = os.environ.get("DEMO_RESPONSES_AGENT", "my-agent")
CHAT_AGENT = os.environ.get("DEMO_CHAT_AGENT", "my-chat-agent")
TOOL_AGENT = os.environ.get("DEMO_TOOL_AGENT", "my-tool-agent")


def say(text: str = "") -> None:
    print(text, flush=True)


@contextlib.contextmanager
def target(workspace: bool) -> Iterator[dict[str, Any]]:
    """Connection keyword arguments for both adapters: {} for the workspace, else the emulator."""
    if workspace:
        say("Using your Databricks workspace (configured credentials).")
        yield {}
        return
    from core.emulator import run_emulator

    with run_emulator(chunk_size=12) as emu:
        say(f"Using the local Databricks emulator at {emu.host} (its scripted agents).")
        yield {"host": emu.host, "token": emu.token}


def agent_steps(content: Any) -> list[str]:
    """The deployed agent's own steps, from a LangChain message's content blocks."""
    steps = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "server_tool_call":
            steps.append(f"{block['name']}({block['args']})")
        elif isinstance(block, dict) and block.get("type") == "server_tool_result":
            steps.append(f"-> {block.get('output')}")
    return steps


# ---------------------------------------------------------------------------------------------
# 1. LangGraph
# ---------------------------------------------------------------------------------------------
def langgraph_demo(conn: dict[str, Any]) -> None:
    say()
    say(f"1. LangGraph: create_react_agent(ChatDatabricks({RESPONSES_AGENT!r}), tools=[get_weather, "
        f"ask_research_agent -> {CHAT_AGENT!r}])")  # fmt: skip
    import warnings

    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.tools import tool

    with warnings.catch_warnings():  # its successor lives in the `langchain` package, not needed
        warnings.simplefilter("ignore", DeprecationWarning)
        from langgraph.prebuilt import create_react_agent

    from langchain_plugin import ChatDatabricks

    research = ChatDatabricks(model=CHAT_AGENT, context={"conversation_id": "demo"}, **conn)

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"It is sunny and 21°C in {city}."

    @tool
    def ask_research_agent(question: str) -> str:
        """Ask the research agent, which looks things up with its own tools."""
        answer = research.invoke(question)
        for step in agent_steps(answer.content):
            say(f"   research agent step: {step}")
        return answer.content[-1]["text"] if isinstance(answer.content, list) else answer.text

    model = ChatDatabricks(model=RESPONSES_AGENT, custom_inputs={"source": "langgraph"}, **conn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = create_react_agent(model, [get_weather, ask_research_agent])
    for question in (
        "What's the weather in Paris? Use the get_weather tool.",
        "Use the ask_research_agent tool with the question 'Databricks agents'.",
    ):
        say(f"question: {question}")
        state = graph.invoke({"messages": [("user", question)]})
        for msg in state["messages"][1:]:
            if isinstance(msg, AIMessage) and msg.tool_calls:
                for call in msg.tool_calls:
                    say(f"   tool call: {call['name']}({call['args']})")
            elif isinstance(msg, ToolMessage):
                say(f"   tool result: {msg.content}")
        say(f"answer: {state['messages'][-1].text}")
    model.close()
    research.close()


# ---------------------------------------------------------------------------------------------
# 2. LlamaIndex
# ---------------------------------------------------------------------------------------------
async def llamaindex_demo(conn: dict[str, Any]) -> None:
    say()
    say(f"2. LlamaIndex: FunctionAgent(llm=Databricks({RESPONSES_AGENT!r}), tools=[multiply, "
        f"ask_lookup_agent -> {TOOL_AGENT!r}])")  # fmt: skip
    from llama_index.core.agent.workflow import FunctionAgent, ToolCall, ToolCallResult
    from llama_index.core.llms import ChatMessage
    from llama_index.core.tools import FunctionTool

    from llamaindex_plugin import Databricks

    lookup = Databricks(model=TOOL_AGENT, custom_inputs={"source": "llamaindex"}, **conn)

    def multiply(a: int, b: int) -> int:
        """Multiply two integers and return the product."""
        return a * b

    async def ask_lookup_agent(question: str) -> str:
        """Ask the lookup agent, which searches with its own tools and answers."""
        resp = await lookup.achat([ChatMessage(role="user", content=question)])
        for step in resp.message.additional_kwargs.get("server_tool_items", []):
            item = step["item"]
            shown = item.get("arguments") if "arguments" in item else f"-> {item.get('output')}"
            say(f"   lookup agent step: {item['type']} {shown}")
        return resp.message.blocks[-1].text  # its final answer (earlier text blocks: steps)

    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=multiply),
               FunctionTool.from_defaults(async_fn=ask_lookup_agent)],  # fmt: skip
        llm=Databricks(model=RESPONSES_AGENT, **conn),
    )
    for question in (
        "What is 6 times 7? Use the multiply tool.",
        "Use the ask_lookup_agent tool with the question 'weather in Oslo'.",
    ):
        say(f"question: {question}")
        handler = agent.run(question)
        async for ev in handler.stream_events():
            if isinstance(ev, ToolCallResult):
                say(f"   tool result: {ev.tool_output.content}")
            elif isinstance(ev, ToolCall):
                say(f"   tool call: {ev.tool_name}({ev.tool_kwargs})")
        say(f"answer: {await handler}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", action="store_true", help="use your configured workspace")
    args = parser.parse_args()
    with target(args.workspace) as conn:
        langgraph_demo(conn)
        asyncio.run(llamaindex_demo(conn))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
