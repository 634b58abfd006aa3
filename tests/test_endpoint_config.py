"""core.endpoint_config: one GET per (host, name) for the process, sync and async, against the
emulator's realistic endpoint list."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from pydantic import SecretStr

from core.auth.providers import PatAuth
from core.emulator import run_emulator
from core.endpoint_config import (
    EndpointConfig,
    _reset_cache,
    aendpoint_config,
    endpoint_config,
    parse_endpoint_config,
)
from core.transport import HttpTransport


@pytest.fixture(scope="module")
def emu():
    with run_emulator() as e:
        yield e


@pytest.fixture(autouse=True)
def _fresh_cache():
    _reset_cache()
    yield
    _reset_cache()


def _http(emu, token: str | None = None) -> HttpTransport:
    t = HttpTransport(auth=PatAuth(SecretStr(token or emu.token)), kind="httpx", max_retries=0)
    t.allow_url(emu.host)
    return t


def _gets(emu, name: str) -> int:
    return sum(
        1
        for r in emu.requests
        if r.method == "GET" and r.path == f"/api/2.0/serving-endpoints/{name}"
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_kinds_of_endpoint(emu, mode):
    http = _http(emu)

    def read(name: str) -> EndpointConfig | None:
        if mode == "sync":
            return endpoint_config(http, emu.host, name)
        return asyncio.run(aendpoint_config(http, emu.host, name))

    fm = read("databricks-claude-opus-4-7")
    assert fm is not None and fm.task == "llm/v1/chat"
    assert fm.endpoint_type == "FOUNDATION_MODEL_API"
    assert fm.served_entities[0].foundation_model == "databricks-claude-opus-4-7"
    assert fm.model_names == ("databricks-claude-opus-4-7",)

    ext = read("my-claude")
    assert ext is not None and ext.endpoint_type == "EXTERNAL_MODEL"
    (entity,) = ext.served_entities
    assert (entity.external_provider, entity.external_model) == ("anthropic", "claude-opus-4-7")
    assert entity.foundation_model is None

    pt = read("my-llama-pt")
    assert pt is not None and pt.endpoint_type is None
    assert pt.model_names == ("system.ai.meta_llama_v3_3_70b_instruct",)

    tasks = {n: read(n).task for n in ("my-agent", "my-chat-agent", "my-legacy-agent")}  # type: ignore[union-attr]
    assert tasks == {
        "my-agent": "agent/v1/responses",
        "my-chat-agent": "agent/v2/chat",
        "my-legacy-agent": "agent/v1/chat",
    }
    http.close()


def test_read_once_per_host_and_name_across_threads_and_loops(emu):
    emu.clear_requests()
    http = _http(emu)
    results: list[EndpointConfig | None] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(endpoint_config(http, emu.host, "my-openai"))
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def many() -> list[EndpointConfig | None]:
        return list(
            await asyncio.gather(*(aendpoint_config(http, emu.host, "my-openai") for _ in range(8)))
        )

    results += asyncio.run(many())
    assert len(results) == 16 and all(r is results[0] and r is not None for r in results)
    assert _gets(emu, "my-openai") == 1
    # a trailing slash on the host is the same key
    assert endpoint_config(http, emu.host + "/", "my-openai") is results[0]
    assert _gets(emu, "my-openai") == 1
    http.close()


def test_async_concurrent_first_reads_share_one_request(emu):
    emu.clear_requests()
    http = _http(emu)

    async def main() -> list[EndpointConfig | None]:
        return list(
            await asyncio.gather(
                *(aendpoint_config(http, emu.host, "my-claude") for _ in range(10))
            )
        )

    out = asyncio.run(main())
    assert all(o is out[0] and o is not None for o in out)
    assert _gets(emu, "my-claude") == 1
    http.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_unreadable_is_none_logged_and_remembered(emu, mode, caplog):
    emu.clear_requests()
    http = _http(emu)
    bad = _http(emu, token="dapi-wrong")
    caplog.set_level(logging.DEBUG, logger="core.endpoint_config")

    def read(h: HttpTransport, name: str) -> EndpointConfig | None:
        if mode == "sync":
            return endpoint_config(h, emu.host, name)
        return asyncio.run(aendpoint_config(h, emu.host, name))

    assert read(http, "no-such-endpoint") is None
    assert read(http, "no-such-endpoint") is None
    assert _gets(emu, "no-such-endpoint") == 1
    assert "no-such-endpoint" in caplog.text and "permissive" in caplog.text
    assert emu.token not in caplog.text
    # 401 (bad token): also None, remembered for that (host, name)
    assert read(bad, "my-agent") is None
    assert read(http, "my-agent") is None
    # a network failure: None
    closed = "http://127.0.0.1:9"  # nothing listens there
    http.allow_url(closed)
    if mode == "sync":
        assert endpoint_config(http, closed, "x") is None
    else:
        assert asyncio.run(aendpoint_config(http, closed, "x")) is None
    assert "ConnectionError" in caplog.text
    http.close()
    bad.close()


def test_cancelled_waiter_does_not_cancel_the_shared_read(emu):
    emu.clear_requests()
    emu.options.chunk_delay = 0.0
    http = _http(emu)

    async def main() -> EndpointConfig | None:
        first = asyncio.ensure_future(aendpoint_config(http, emu.host, "my-chat-agent"))
        second = asyncio.ensure_future(aendpoint_config(http, emu.host, "my-chat-agent"))
        await asyncio.sleep(0)
        first.cancel()
        return await second

    cfg = asyncio.run(main())
    assert cfg is not None and cfg.task == "agent/v2/chat"
    assert _gets(emu, "my-chat-agent") == 1
    http.close()


def test_parse_older_and_odd_shapes():
    older = parse_endpoint_config(
        {
            "name": "old",
            "config": {
                "served_models": [{"name": "m-1", "model_name": "main.x.m", "model_version": "1"}]
            },
        },
        "old",
    )
    assert older is not None and older.task is None and older.endpoint_type is None
    assert older.served_entities[0].entity_name == "main.x.m"
    pending = parse_endpoint_config(
        {
            "name": "new",
            "pending_config": {
                "served_entities": [{"external_model": {"provider": "openai", "name": "gpt-5.2"}}]
            },
        },
        "new",
    )
    assert pending is not None and pending.model_names == ("gpt-5.2",)
    odd = parse_endpoint_config(
        {"config": {"served_entities": ["x", {"foundation_model": "no"}]}}, "odd"
    )
    assert odd is not None and odd.name == "odd"
    assert odd.served_entities[0].model_name is None
    assert parse_endpoint_config(["not", "an", "object"], "x") is None
