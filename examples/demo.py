"""The README's main job: a LangChain chain and a LlamaIndex agent on Databricks-hosted models.

    python examples/demo.py              # your workspace if one is configured, else the emulator
    python examples/demo.py --emulator   # always the local emulator

A workspace counts as configured when DATABRICKS_HOST and credentials (DATABRICKS_TOKEN, or
DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET) are set, or ~/.databrickscfg (or
DATABRICKS_CONFIG_FILE) has a DEFAULT profile (or the DATABRICKS_CONFIG_PROFILE one) with a host.
Models: DEMO_LANGCHAIN_MODEL (default databricks-claude-sonnet-4-5, thinking on) and
DEMO_LLAMAINDEX_MODEL (default databricks-gpt-oss-120b).

What it shows:
1. LangChain: prompt | ChatDatabricks.bind_tools([get_weather]) streamed, with the model's
   reasoning printed (dimmed) as it arrives, then the tool call, the tool run, and the streamed
   final answer (the reasoning is sent back with its signature on the second turn).
2. LlamaIndex: a FunctionAgent with a multiply tool, its events printed as they happen.
3. Retrieval on Databricks models only (examples/rag.py): a LlamaIndex VectorStoreIndex query
   engine and a LangChain retrieval chain, embeddings from DatabricksEmbedding(s) and answers
   from Databricks / ChatDatabricks (DEMO_EMBEDDING_MODEL, DEMO_RAG_CHAT_MODEL).
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

COLOR = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def dim(text: str) -> str:
    return f"\x1b[2m{text}\x1b[0m" if COLOR and text else text


def bold(text: str) -> str:
    return f"\x1b[1m{text}\x1b[0m" if COLOR and text else text


def say(text: str = "", end: str = "\n") -> None:
    print(text, end=end, flush=True)


# ---------------------------------------------------------------------------------------------
# Where to run
# ---------------------------------------------------------------------------------------------
def workspace_configured() -> bool:
    env = os.environ
    if env.get("DATABRICKS_HOST") and (
        env.get("DATABRICKS_TOKEN")
        or (env.get("DATABRICKS_CLIENT_ID") and env.get("DATABRICKS_CLIENT_SECRET"))
    ):
        return True
    path = Path(env.get("DATABRICKS_CONFIG_FILE") or Path.home() / ".databrickscfg")
    if not path.is_file():
        return False
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return False
    profile = env.get("DATABRICKS_CONFIG_PROFILE") or "DEFAULT"
    section = parser.defaults() if profile == "DEFAULT" else (
        parser[profile] if parser.has_section(profile) else {}
    )  # fmt: skip
    return bool(section.get("host"))


@contextlib.contextmanager
def target(force_emulator: bool) -> Iterator[dict[str, Any]]:
    """Connection keyword arguments for both adapters: {} for the workspace, else the emulator."""
    if not force_emulator and workspace_configured():
        say(bold("Using your Databricks workspace") + " (configured credentials).")
        yield {}
        return
    from core.emulator import run_emulator

    with run_emulator(chunk_size=12, chunk_delay=0.004) as emu:
        say(
            bold("No workspace configured: using the local Databricks emulator") + f" at {emu.host}"
        )
        say(
            dim(
                "(set DATABRICKS_HOST and DATABRICKS_TOKEN, or a ~/.databrickscfg profile, to use yours)"
            )
        )
        yield {"host": emu.host, "token": emu.token}


# ---------------------------------------------------------------------------------------------
# 1. LangChain
# ---------------------------------------------------------------------------------------------
def langchain_demo(conn: dict[str, Any]) -> None:
    model_name = os.environ.get("DEMO_LANGCHAIN_MODEL", "databricks-claude-sonnet-4-5")
    say()
    say(bold(f"1. LangChain: prompt | ChatDatabricks({model_name!r}).bind_tools([get_weather])"))
    from langchain_core.messages import AIMessageChunk, ToolMessage
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool

    from langchain_plugin import ChatDatabricks

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"It is sunny and 21°C in {city}."

    llm = ChatDatabricks(model=model_name, max_tokens=4096, thinking_budget=2048, **conn)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a concise assistant."), ("human", "{question}")]
    )
    chain = prompt | llm.bind_tools([get_weather])
    question = "What's the weather in Paris? Use the get_weather tool."
    say(f"question: {question}")

    def stream(source: Any, inputs: Any) -> AIMessageChunk:
        full: AIMessageChunk | None = None
        mode = None
        for chunk in source.stream(inputs):
            full = chunk if full is None else full + chunk
            for block in chunk.content_blocks:
                kind = block.get("type")
                if kind == "reasoning" and block.get("reasoning"):
                    if mode != "reasoning":
                        say(dim("thinking: "), end="")
                        mode = "reasoning"
                    say(dim(str(block["reasoning"])), end="")
                elif kind == "text" and block.get("text"):
                    if mode != "text":
                        say("\n" + "answer: " if mode else "answer: ", end="")
                        mode = "text"
                    say(str(block["text"]), end="")
        if mode:
            say()
        assert full is not None, "the model returned nothing"
        return full

    first = stream(chain, {"question": question})
    if not first.tool_calls:
        say("(the model answered without calling the tool)")
        return
    messages: list[Any] = [
        *prompt.format_messages(question=question),
        first,
    ]
    for call in first.tool_calls:
        say(bold(f"tool call: {call['name']}({call['args']})"))
        result = get_weather.invoke(call)
        say(f"tool result: {result.content}")
        messages.append(
            result
            if isinstance(result, ToolMessage)
            else ToolMessage(str(result), tool_call_id=call["id"])
        )
    stream(llm.bind_tools([get_weather]), messages)
    llm.close()


# ---------------------------------------------------------------------------------------------
# 2. LlamaIndex
# ---------------------------------------------------------------------------------------------
async def llamaindex_demo(conn: dict[str, Any]) -> None:
    model_name = os.environ.get("DEMO_LLAMAINDEX_MODEL", "databricks-gpt-oss-120b")
    say()
    say(bold(f"2. LlamaIndex: FunctionAgent on Databricks({model_name!r}) with a multiply tool"))
    from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCall, ToolCallResult
    from llama_index.core.tools import FunctionTool

    from llamaindex_plugin import Databricks

    def multiply(a: int, b: int) -> int:
        """Multiply two integers and return the product."""
        return a * b

    llm = Databricks(model=model_name, max_tokens=2048, **conn)
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(fn=multiply)],
        llm=llm,
        system_prompt="You are a calculator. Use the multiply tool for products.",
    )
    question = "What is 6 times 7? Use the multiply tool."
    say(f"question: {question}")
    handler = agent.run(question)
    thinking = False
    async for ev in handler.stream_events():
        if isinstance(ev, AgentStream) and getattr(ev, "thinking_delta", None):
            if not thinking:
                say(dim("thinking: "), end="")
                thinking = True
            say(dim(ev.thinking_delta or ""), end="")
        elif isinstance(ev, ToolCall) and not isinstance(ev, ToolCallResult):
            if thinking:
                say()
                thinking = False
            say(bold(f"tool call: {ev.tool_name}({ev.tool_kwargs})"))
        elif isinstance(ev, ToolCallResult):
            say(f"tool result: {ev.tool_output.content}")
    result = await handler
    if thinking:
        say()
    say(f"answer: {result}")
    await llm.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="use the local emulator even if a workspace is configured",
    )
    args = parser.parse_args(argv)
    try:
        with target(args.emulator) as conn:
            langchain_demo(conn)
            asyncio.run(llamaindex_demo(conn))
            say()
            say(bold("3. Retrieval with Databricks embeddings and chat (examples/rag.py)"))
            from rag import langchain_rag, llamaindex_rag

            asyncio.run(llamaindex_rag(conn))
            langchain_rag(conn)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, no traceback, unless asked for
        if os.environ.get("DATABRICKS_LLM_DEBUG"):
            raise
        from core.errors import redact

        print(
            f"\nerror: {redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__}",
            file=sys.stderr,
        )
        hint = getattr(exc, "hint", None) or "set DATABRICKS_LLM_DEBUG=1 for the full traceback"
        print(f"hint: {hint}", file=sys.stderr)
        return 1
    say()
    say(
        bold("Done.")
        + " Next: `databricks-llm chat`, `databricks-llm models`, and the README's quickstarts."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
