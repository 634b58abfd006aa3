"""DatabricksChatClient end to end against the local emulator (real sockets, both backends)."""

from __future__ import annotations

import asyncio

import pytest

from core.client import DatabricksChatClient
from core.errors import ServerError, StreamInterruptedError
from core.types import GenerationParams, Message, TextDelta, TextPart

pytest.importorskip("aiohttp")

MSGS = [Message("user", [TextPart("Say hello in five words.")])]
P = GenerationParams(max_tokens=64)
MODEL = "databricks-meta-llama-3-3-70b-instruct"


@pytest.fixture(scope="module")
def emu():
    from core.emulator import run_emulator

    with run_emulator(chunk_size=4) as e:
        yield e


def make(emu, model=MODEL, **kw):
    if not any(k in kw for k in ("client_id", "token_provider")):
        kw["token"] = emu.token
    c = DatabricksChatClient(model=model, host=emu.host, **kw)
    c.http.sleep = lambda s: None

    async def nosleep(s):
        return None

    c.http.asleep = nosleep
    return c


def text(deltas):
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))


def test_complete_and_stream_agree(emu):
    with make(emu) as c:
        whole = c.complete(MSGS, P).text
        streamed = text(c.stream(MSGS, P))
    assert whole and whole == streamed


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
def test_async_on_several_loops(emu, kind):
    c = make(emu, transport=kind)
    for _ in range(3):
        assert asyncio.run(c.acomplete(MSGS, P)).text
    assert c.http.async_backend == kind
    c.close()


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
async def test_oauth_m2m_one_token_for_concurrent_streams(emu, kind):
    before = sum(1 for r in emu.requests if r.path == "/oidc/v1/token")
    c = make(
        emu,
        model="system.ai.claude-sonnet-4-5",
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        transport=kind,
    )

    async def one():
        return text([d async for d in c.astream(MSGS, P)])

    results = await asyncio.gather(*(one() for _ in range(20)))
    assert all(results)
    after = sum(1 for r in emu.requests if r.path == "/oidc/v1/token")
    assert after - before == 1
    await c.aclose()


def test_retries_through_faults(emu):
    c = make(emu, model=MODEL + "+fault=503:2")
    assert c.complete(MSGS, P).text


def test_persistent_fault_surfaces(emu):
    c = make(emu, model=MODEL + "+fault=500", max_retries=1)
    with pytest.raises(ServerError):
        c.complete(MSGS, P)


def test_disconnect_mid_stream(emu):
    c = make(emu, model=MODEL + "+fault=disconnect")
    got = []
    with pytest.raises(StreamInterruptedError):
        for d in c.stream(MSGS, P):
            got.append(d)
    assert text(got)  # what arrived before the drop was delivered
    drops = [
        r for r in emu.requests if r.json and str(r.json.get("model", "")).endswith("disconnect")
    ]
    assert len(drops) == 1  # not retried after data


async def test_apps_agent_with_oauth(emu):
    c = make(emu, model="apps/my-agent", client_id=emu.client_id, client_secret=emu.client_secret)
    resp = await c.acomplete(MSGS, P)
    assert resp.text
    streamed = text([d async for d in c.astream(MSGS, P)])
    assert streamed
    assert c.route.url.endswith("/apps-proxy/my-agent/responses")
    await c.aclose()
