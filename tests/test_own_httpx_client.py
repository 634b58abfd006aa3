"""Your own httpx clients (``http_client`` / ``http_async_client``, as langchain-openai and
llama-index-llms-openai take them): requests go through them, with our credentials, retries,
headers and error mapping on top; they are never closed by us; what cannot apply to them warns.
Transport level with httpx.MockTransport, then both adapters against the emulator."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from core.emulator import run_emulator
from core.settings import ClientSettings
from core.transport import HttpTransport
from tests.test_transport import URL, FakeAuth, make


def flaky_then_ok(seen: list[httpx.Request]):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503, json={"error_code": "TEMPORARILY_UNAVAILABLE"})
        return httpx.Response(200, json={"ok": True})

    return handle


def transport_with(**clients: Any) -> HttpTransport:
    # the transport tests' own fixture: FakeAuth ("Bearer t1"), no sleeping between retries;
    # "auto" so that an async client of yours has to win over aiohttp
    return make(FakeAuth(refreshable=False), kind="auto", extra_headers={"X-Team": "ml"},
                **clients)


def check_sent(seen: list[httpx.Request]) -> None:
    assert len(seen) == 2  # the 503 was retried through the same client
    for request in seen:
        assert request.headers["authorization"] == "Bearer t1"
        assert request.headers["x-team"] == "ml"  # default_headers still go out
        assert request.headers["user-agent"].startswith("databricks-llm-plugins/")
        assert request.headers["x-own"] == "yes"  # and the client's own headers too


def test_sync_calls_go_through_your_client_which_stays_open() -> None:
    seen: list[httpx.Request] = []
    mine = httpx.Client(transport=httpx.MockTransport(flaky_then_ok(seen)),
                        headers={"X-Own": "yes"})
    t = transport_with(sync_client=mine)
    assert t.request_json("POST", URL, content=b"{}") == {"ok": True}
    check_sent(seen)
    t.close()
    assert not mine.is_closed
    mine.close()


async def test_async_calls_go_through_your_client_even_with_aiohttp_installed() -> None:
    seen: list[httpx.Request] = []
    mine = httpx.AsyncClient(transport=httpx.MockTransport(flaky_then_ok(seen)),
                             headers={"X-Own": "yes"})
    t = transport_with(async_client=mine)  # kind "auto": aiohttp otherwise
    assert t.async_backend == "httpx"
    assert await t.arequest_json("POST", URL, content=b"{}") == {"ok": True}
    check_sent(seen)
    await t.aclose()
    assert not mine.is_closed
    await mine.aclose()


def test_an_http_error_through_your_client_is_our_typed_error() -> None:
    from core.errors import NotFoundError

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error_code": "RESOURCE_DOES_NOT_EXIST",
                                         "message": "no such endpoint"})

    t = transport_with(sync_client=httpx.Client(transport=httpx.MockTransport(handle)))
    with pytest.raises(NotFoundError, match="no such endpoint"):
        t.request_json("POST", URL, content=b"{}")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("http_client", httpx.AsyncClient(), "http_client must be an httpx.Client"),
        ("http_async_client", httpx.Client(), "http_async_client must be an httpx.AsyncClient"),
        ("http_client", "https://proxy:3128", "pass proxy= and verify= instead"),
    ],
)
def test_a_client_of_the_wrong_kind_is_refused(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ClientSettings(model="m", **{field: value})


def test_an_async_client_with_transport_aiohttp_is_refused() -> None:
    with pytest.raises(ValidationError, match="leave transport unset"):
        ClientSettings(model="m", transport="aiohttp", http_async_client=httpx.AsyncClient())


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator() as e:
        yield e


def hooked() -> tuple[httpx.Client, httpx.AsyncClient, list[str]]:
    seen: list[str] = []

    async def note(request: httpx.Request) -> None:
        seen.append("async " + request.url.path)

    return (
        httpx.Client(event_hooks={"request": [lambda r: seen.append("sync " + r.url.path)]}),
        httpx.AsyncClient(event_hooks={"request": [note]}),
        seen,
    )


def quietly(make: Any) -> Any:
    """``make()`` raising on any warning: the clients are arguments, not body fields."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return make()


LLAMA = "databricks-meta-llama-3-3-70b-instruct"


def test_settings_that_cannot_apply_to_your_client_warn(emu: Any) -> None:
    from langchain_plugin import ChatDatabricks

    sync_client, async_client, _ = hooked()
    with pytest.warns(UserWarning, match=r"proxy, timeout not applied to the sync calls"):
        ChatDatabricks(model=LLAMA, host=emu.host, token=emu.token, http_client=sync_client,
                       proxy="http://127.0.0.1:3128", timeout=5)
    quietly(lambda: ChatDatabricks(model=LLAMA, host=emu.host, token=emu.token,
                                   http_client=sync_client, http_async_client=async_client))


def test_langchain_chat_databricks_takes_langchain_openais_client_arguments(emu: Any) -> None:
    from langchain_core.load import dumpd

    from langchain_plugin import ChatDatabricks

    sync_client, async_client, seen = hooked()
    llm = quietly(lambda: ChatDatabricks(model=LLAMA, host=emu.host, token=emu.token,
                                         http_client=sync_client, http_async_client=async_client))
    assert llm.invoke("hi").content
    assert "".join(c.text for c in llm.stream("hi"))
    assert asyncio.run(llm.ainvoke("hi")).content
    path = "/serving-endpoints/chat/completions"
    assert seen == [f"sync {path}", f"sync {path}", f"async {path}"]
    body = emu.requests[-1].json
    assert "http_client" not in body and "http_async_client" not in body
    dumped = str(dumpd(llm))
    assert "httpx" not in dumped and "http_client" not in dumped
    llm.close()
    assert not sync_client.is_closed


def test_llamaindex_databricks_takes_llama_index_openais_client_arguments(emu: Any) -> None:
    from llama_index.core.llms import ChatMessage

    from llamaindex_plugin import Databricks

    sync_client, async_client, seen = hooked()
    llm = quietly(lambda: Databricks(model=LLAMA, host=emu.host, token=emu.token,
                                     http_client=sync_client, async_http_client=async_client))
    messages = [ChatMessage(role="user", content="hi")]
    assert llm.chat(messages).message.content

    async def both() -> str:
        text = (await llm.achat(messages)).message.content or ""
        async for r in await llm.astream_chat(messages):
            text += r.delta or ""
        return text

    assert asyncio.run(both())
    path = "/serving-endpoints/chat/completions"
    assert seen == [f"sync {path}", f"async {path}", f"async {path}"]
    assert "http_client" not in str(llm.to_dict())
    assert "http_client" not in emu.requests[-1].json
