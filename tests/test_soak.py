"""Load: thousands of mixed calls against the emulator - zero errors, bounded memory, no leaked
connections or file descriptors.

The full soak (10,000 calls) is marked ``soak`` and excluded by default: run it with
``pytest -m soak tests/test_soak.py -s``. A 300-call version runs in the default suite.

The mix: plain and streamed chat (sync and async), tool calls, Claude extended thinking,
GPT-5 on the Responses API with reasoning, LangChain invoke/stream with bound tools, LlamaIndex
chat/astream_chat, async bursts on one long-lived loop and on fresh ``asyncio.run`` loops (the
per-loop client path). Memory is the process RSS from /proc/self/statm (the emulator runs in
this process too, with its request log off); descriptors from /proc/self/fd.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.types import (
    GenerationParams,
    Message,
    ReasoningDelta,
    TextDelta,
    TextPart,
    Tool,
    ToolCallDelta,
)

LLAMA = "databricks-meta-llama-3-3-70b-instruct"
CLAUDE = "databricks-claude-sonnet-4-5"
GPT5 = "databricks-gpt-5"
WEATHER = Tool("get_weather", "Current weather for a city",
               {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})  # fmt: skip
MB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux) to measure RSS and fds"
)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def socket_count() -> int:
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


@dataclass
class Tally:
    calls: int = 0
    texts: int = 0
    tool_calls: int = 0
    reasoning: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, text: str = "", tools: int = 0, reasoning: int = 0) -> None:
        self.calls += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        assert text or tools, f"{kind}: empty answer"
        self.texts += bool(text)
        self.tool_calls += tools
        self.reasoning += reasoning


def _msgs(text: str) -> list[Message]:
    return [Message("user", [TextPart(text)])]


class Mix:
    """The clients and one round of the call mix."""

    def __init__(self, emu: Any) -> None:
        from langchain_plugin import ChatDatabricks
        from llamaindex_plugin import Databricks

        common = {"host": emu.host, "token": emu.token}
        self.llama = DatabricksChatClient(model=LLAMA, **common)
        self.claude = DatabricksChatClient(model=CLAUDE, **common)
        self.gpt5 = DatabricksChatClient(model=GPT5, use_responses_api=True, **common)
        self.lc = ChatDatabricks(model=CLAUDE, host=emu.host, api_key=emu.token)
        self.lc_tools = self.lc.bind_tools([{
            "type": "function", "function": {"name": "get_weather", "description": "weather",
                                             "parameters": WEATHER.parameters}}])  # fmt: skip
        self.li = Databricks(model=LLAMA, host=emu.host, token=emu.token)
        self.loop = asyncio.new_event_loop()
        self.tally = Tally()

    # -- sync -------------------------------------------------------------------------------
    def sync_round(self, i: int) -> None:
        t = self.tally
        k = i % 7
        if k == 0:
            t.note("chat", self.llama.complete(_msgs(f"hello {i}"), GenerationParams()).text)
        elif k == 1:
            text = "".join(
                d.text for d in self.llama.stream(_msgs(f"stream {i}"), GenerationParams())
                if isinstance(d, TextDelta)
            )  # fmt: skip
            t.note("chat-stream", text)
        elif k == 2:
            r = self.claude.complete(_msgs("What's the weather in Paris?"),
                                     GenerationParams(tools=[WEATHER]))  # fmt: skip
            t.note("tools", r.text, tools=len(r.tool_calls))
        elif k == 3:
            text, reasoning = "", 0
            for d in self.claude.stream(
                _msgs(f"think {i}"), GenerationParams(thinking_budget=1024, max_tokens=2048)
            ):
                if isinstance(d, TextDelta):
                    text += d.text
                elif isinstance(d, ReasoningDelta) and d.text:
                    reasoning += 1
            t.note("reasoning-stream", text, reasoning=reasoning)
        elif k == 4:
            text, reasoning, tools = "", 0, 0
            for d in self.gpt5.stream(_msgs(f"responses {i}"), GenerationParams(reasoning_effort="low")):
                if isinstance(d, TextDelta):
                    text += d.text
                elif isinstance(d, ReasoningDelta) and d.text:
                    reasoning += 1
                elif isinstance(d, ToolCallDelta):
                    tools += 1
            t.note("responses-stream", text, tools=tools, reasoning=reasoning)
        elif k == 5:
            if i % 2:
                msg = self.lc_tools.invoke("What's the weather in Oslo?")
                t.note("langchain-tools", msg.text, tools=len(msg.tool_calls))
            else:
                text = "".join(c.text for c in self.lc.stream(f"langchain {i}"))
                t.note("langchain-stream", text)
        else:
            from llama_index.core.llms import ChatMessage

            r = self.li.chat([ChatMessage(role="user", content=f"llamaindex {i}")])
            t.note("llamaindex", r.message.content or "")

    # -- async ------------------------------------------------------------------------------
    async def async_batch(self, i: int, size: int) -> None:
        from llama_index.core.llms import ChatMessage

        async def one(j: int) -> None:
            t = self.tally
            k = j % 4
            if k == 0:
                t.note("async-chat", (await self.llama.acomplete(_msgs(f"a{j}"), GenerationParams())).text)
            elif k == 1:
                text = "".join([d.text async for d in self.claude.astream(
                    _msgs(f"b{j}"), GenerationParams()) if isinstance(d, TextDelta)])  # fmt: skip
                t.note("async-stream", text)
            elif k == 2:
                msg = await self.lc_tools.ainvoke("What's the weather in Rome?")
                t.note("async-langchain-tools", msg.text, tools=len(msg.tool_calls))
            else:
                gen = await self.li.astream_chat([ChatMessage(role="user", content=f"c{j}")])
                chunks = [c async for c in gen]
                t.note("async-llamaindex-stream", chunks[-1].message.content if chunks else "")

        await asyncio.gather(*(one(i + j) for j in range(size)))

    def run(self, n_calls: int) -> None:
        """About n_calls calls: rounds of 7 sync calls, a 20-call async burst on the long-lived
        loop, and every 10th round a 10-call burst on a fresh asyncio.run loop."""
        start = self.tally.calls
        r = 0
        while self.tally.calls - start < n_calls:
            for k in range(7):
                self.sync_round(r * 7 + k)
            self.loop.run_until_complete(self.async_batch(r * 20, 20))
            if r % 10 == 0:
                asyncio.run(self.async_batch(r * 10, 10))
            r += 1

    def close(self) -> None:
        async def aclose() -> None:
            for c in (self.llama, self.claude, self.gpt5):
                await c.aclose()
            await self.lc.aclose()
            await self.li.aclose()

        self.loop.run_until_complete(aclose())
        self.loop.close()
        for c in (self.llama, self.claude, self.gpt5):
            c.close()
        self.lc.close()
        self.li.close()


@dataclass
class Figures:
    calls: int
    seconds: float
    rss_growth_mb: float
    fds_before: int
    fds_steady_start: int
    fds_steady_end: int
    fds_after_close: int
    sockets_steady_end: int
    tally: Tally


def soak(n_calls: int, warmup: int = 200) -> Figures:
    with run_emulator(record_requests=False, chunk_size=24) as emu:
        gc.collect()
        fds_before = fd_count()
        mix = Mix(emu)
        mix.run(warmup)  # pools, caches, imports and lazy clients reach their steady state
        gc.collect()
        rss0, fds0 = rss_bytes(), fd_count()
        t0 = time.perf_counter()
        mix.run(n_calls)
        seconds = time.perf_counter() - t0
        gc.collect()
        rss1, fds1, socks1 = rss_bytes(), fd_count(), socket_count()
        mix.close()
        calls = mix.tally.calls - warmup
        tally = mix.tally
        del mix
        gc.collect()
        deadline = time.monotonic() + 5
        while fd_count() > fds_before and time.monotonic() < deadline:
            time.sleep(0.05)  # the server side notices closed connections asynchronously
        fds_after = fd_count()
    return Figures(
        calls=calls, seconds=seconds, rss_growth_mb=(rss1 - rss0) / MB, fds_before=fds_before,
        fds_steady_start=fds0, fds_steady_end=fds1, fds_after_close=fds_after,
        sockets_steady_end=socks1, tally=tally,
    )  # fmt: skip


def _check(f: Figures, n: int, max_growth_mb: float) -> None:
    print(
        f"\nsoak: {f.calls} calls in {f.seconds:.1f}s ({f.calls / f.seconds:.0f}/s), "
        f"RSS growth {f.rss_growth_mb:+.1f} MB, fds {f.fds_before} -> steady "
        f"{f.fds_steady_start}..{f.fds_steady_end} (sockets {f.sockets_steady_end}) -> "
        f"{f.fds_after_close} after close; kinds {f.tally.kinds}; tool calls "
        f"{f.tally.tool_calls}, reasoning deltas {f.tally.reasoning}"
    )
    assert f.calls >= n  # every call returned an answer (Tally.note asserts non-empty)
    assert f.tally.tool_calls > 0 and f.tally.reasoning > 0  # the mix really had both
    assert f.rss_growth_mb < max_growth_mb, f"memory grew {f.rss_growth_mb:.1f} MB"
    # connection pools bounded: no growth in descriptors during the steady state
    assert f.fds_steady_end <= f.fds_steady_start + 8, (f.fds_steady_start, f.fds_steady_end)
    # closing the clients releases every connection and descriptor they opened
    assert f.fds_after_close <= f.fds_before + 2, (f.fds_before, f.fds_after_close)


def test_soak_short():
    """300 mixed calls (the default-suite version of the soak)."""
    _check(soak(300, warmup=100), 300, max_growth_mb=20)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_soak_10000_calls():
    _check(soak(10_000), 10_000, max_growth_mb=20)


def test_abandoned_streams_release_their_connections():
    """Callers that stop reading a stream half-way (break out of the loop) leak nothing: 120
    abandoned streams each way - more than the pool's 100 connections - neither block on the
    pool nor grow the descriptor count."""
    from langchain_plugin import ChatDatabricks

    msgs = _msgs("please tell me a long story about many, many things")
    with run_emulator(record_requests=False, chunk_size=2, chunk_delay=0.001) as emu:
        client = DatabricksChatClient(model=LLAMA, host=emu.host, token=emu.token, timeout=5)
        lc = ChatDatabricks(model=LLAMA, host=emu.host, api_key=emu.token, timeout=5)
        client.complete(msgs, GenerationParams())
        gc.collect()
        fds0 = fd_count()
        for _ in range(120):
            for _delta in client.stream(msgs, GenerationParams()):
                break
            for _chunk in lc.stream("please tell me a long story"):
                break

        async def abandon() -> None:
            for _ in range(120):
                async for _delta in client.astream(msgs, GenerationParams()):
                    break
            await client.aclose()

        asyncio.run(abandon())
        gc.collect()
        fds1 = fd_count()
        client.close()
        lc.close()
    assert fds1 <= fds0 + 8, (fds0, fds1)
