"""Against a real Databricks workspace: run only when DATABRICKS_HOST and credentials are set.

Credentials come the usual way (DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID/SECRET). Models can be
chosen with DATABRICKS_TEST_CHAT_MODEL (default: databricks-claude-sonnet-4-5, which reasons
with signatures) and DATABRICKS_TEST_TOOL_MODEL (default: databricks-meta-llama-3-3-70b-instruct).
Without a workspace every test here is skipped by tests/conftest.py, with the reason.
"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.workspace

CHAT_MODEL = os.environ.get("DATABRICKS_TEST_CHAT_MODEL", "databricks-claude-sonnet-4-5")
TOOL_MODEL = os.environ.get(
    "DATABRICKS_TEST_TOOL_MODEL", "databricks-meta-llama-3-3-70b-instruct"
)


def test_langchain_invoke_and_stream_usage_once() -> None:
    from langchain_plugin import ChatDatabricks

    llm = ChatDatabricks(model=TOOL_MODEL, max_tokens=64, temperature=0)
    msg = llm.invoke("Reply with the single word: pong")
    assert "pong" in msg.text.lower()
    assert msg.usage_metadata and msg.usage_metadata["total_tokens"] > 0
    chunks = list(llm.stream("Count from 1 to 5."))
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert "".join(c.text for c in chunks).strip()


def test_langchain_reasoning_round_trip_with_a_tool() -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool

    from langchain_plugin import ChatDatabricks

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"It is sunny in {city}."

    llm = ChatDatabricks(model=CHAT_MODEL, thinking_budget=1024, max_tokens=2048).bind_tools(
        [get_weather]
    )
    history: list = [HumanMessage("What's the weather in Paris? Use the tool.")]
    first = llm.invoke(history)
    assert first.tool_calls, first
    assert any(b["type"] == "reasoning" for b in first.content_blocks)
    history += [first, ToolMessage(get_weather.invoke(first.tool_calls[0]["args"]),
                                   tool_call_id=first.tool_calls[0]["id"])]
    second = llm.invoke(history)  # the signed reasoning goes back unchanged
    assert "sunny" in second.text.lower()


async def test_llamaindex_achat_and_stream() -> None:
    from llama_index.core.llms import ChatMessage

    from llamaindex_plugin import Databricks

    llm = Databricks(model=TOOL_MODEL, max_tokens=64)
    resp = await llm.achat([ChatMessage(role="user", content="Reply with the word: pong")])
    assert "pong" in (resp.message.content or "").lower()
    responses = [r async for r in await llm.astream_chat([ChatMessage(role="user", content="Say hi")])]
    assert responses and (responses[-1].message.content or "").strip()


def test_cli_models_lists_endpoints(capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main

    assert main(["models", "--json"]) == 0
    assert capsys.readouterr().out.strip().startswith(("[", "{"))
