"""OAuth M2M under load and when the token endpoint fails, over real sockets (the emulator's
``/oidc/v1/token`` counts the tokens it issues).

"Exactly one token request per expiry": every token the client fetched was used, no two
fetches for one expiry, and zero calls failed - for a burst of 500 concurrent async calls and
for 100 threads, whether the client notices the expiry itself (its clock passes the refresh
point) or the server says so first (401 EXPIRED_TOKEN on requests already in flight).
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from typing import Any

import pytest

import core.transport.flow as http_mod
from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.errors import AuthenticationError
from core.types import GenerationParams, Message, TextPart

LLAMA = "databricks-meta-llama-3-3-70b-instruct"
CHAT = "/serving-endpoints/chat/completions"
MSGS = [Message("user", [TextPart("hi")])]
PARAMS = GenerationParams(max_tokens=4)


@pytest.fixture(scope="module")
def emu():
    with run_emulator(retry_after=0.05, record_requests=True) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu, monkeypatch):
    monkeypatch.setattr(http_mod, "BACKOFF_BASE", 0.01)
    emu.set_fault(None)
    emu.configure(token_lifetime=3600.0)
    emu.clear_requests()
    yield
    emu.set_fault(None)


def oauth_client(emu, **kw: Any) -> DatabricksChatClient:
    return DatabricksChatClient(
        model=LLAMA, host=kw.pop("host", emu.host), client_id=emu.client_id,
        client_secret=kw.pop("client_secret", emu.client_secret), **kw,
    )  # fmt: skip


def bearer_tokens_used(emu) -> list[str]:
    return [r.headers.get("Authorization", "") for r in emu.requests if r.path == CHAT]


class Clock:
    """The OAuth provider's monotonic clock, with a jump we control (client-side expiry)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def expire(self) -> None:
        self.offset += 3600.0  # past refresh_at of any token issued so far


def _expiring(client: DatabricksChatClient, emu, how: str) -> Any:
    if how == "client":
        clock = Clock()
        client.auth._clock = clock  # type: ignore[attr-defined]
        return clock.expire
    return emu.expire_tokens  # the server starts answering 401 EXPIRED_TOKEN


# ---------------------------------------------------------------------------------------------
# Bursts
# ---------------------------------------------------------------------------------------------
def _plan(how: str, total: int) -> tuple[list[int], int]:
    """When to expire (after how many completed calls) and how many tokens that must take.

    The client's own clock can pass the refresh point twice in one burst. A server-side expiry
    is applied once: the transport refreshes once per call, so a single call that saw two
    server-side expiries (each an hour apart in real life) would rightly fail."""
    if how == "client":
        return [total * 3 // 10, total * 7 // 10], 3
    return [total // 3], 2


@pytest.mark.parametrize("how", ["client", "server"])
async def test_500_concurrent_async_calls_one_token_request_per_expiry(emu, how):
    client = oauth_client(emu)
    expire = _expiring(client, emu, how)
    done = 0
    expiries, expected = _plan(how, 1000)

    async def one() -> None:
        # 500 concurrent tasks, two calls each: the second call asks for a header after the
        # expiry (a single call per task would have taken its header before any expiry).
        nonlocal done
        for _ in range(2):
            await client.acomplete(MSGS, PARAMS)
            done += 1
            if expiries and done >= expiries[0]:
                expiries.pop(0)
                expire()

    try:
        results = await asyncio.gather(*(one() for _ in range(500)), return_exceptions=True)
    finally:
        await client.aclose()
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], failures[:3]
    # one initial token + one per expiry, and every one of them was used
    issued = _issued(emu)
    assert issued == expected, f"{issued} token requests, expected {expected}"
    assert len(set(bearer_tokens_used(emu))) == expected
    assert client.auth.fetch_count == expected  # type: ignore[attr-defined]


def _issued(emu) -> int:
    return sum(1 for r in emu.requests if r.path == "/oidc/v1/token")


@pytest.mark.parametrize("how", ["client", "server"])
def test_100_threads_one_token_request_per_expiry(emu, how):
    client = oauth_client(emu)
    expire = _expiring(client, emu, how)
    lock = threading.Lock()
    done = 0
    expiries, expected = _plan(how, 300)
    failures: list[BaseException] = []
    start = threading.Barrier(100)

    def worker() -> None:
        nonlocal done
        start.wait()
        for _ in range(3):
            try:
                client.complete(MSGS, PARAMS)
            except BaseException as exc:  # collected and asserted on below
                failures.append(exc)
            with lock:
                done += 1
                if expiries and done >= expiries[0]:
                    expiries.pop(0)
                    expire()

    threads = [threading.Thread(target=worker) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    client.close()
    assert failures == [], failures[:3]
    assert _issued(emu) == expected
    assert len(set(bearer_tokens_used(emu))) == expected


async def test_natural_expiry_under_steady_async_load(emu):
    """Short-lived tokens (1 s) and 30 concurrent callers for ~2.5 s: no call fails, every
    fetched token is used, and the fetch count stays within one per lifetime."""
    emu.configure(token_lifetime=1.0)
    client = oauth_client(emu)
    failures: list[BaseException] = []
    t_end = time.monotonic() + 2.5

    async def worker() -> None:
        while time.monotonic() < t_end:
            try:
                await client.acomplete(MSGS, PARAMS)
            except BaseException as exc:
                failures.append(exc)

    t0 = time.monotonic()
    try:
        await asyncio.gather(*(worker() for _ in range(30)))
    finally:
        await client.aclose()
    elapsed = time.monotonic() - t0
    assert failures == [], failures[:3]
    issued = _issued(emu)
    assert issued >= 2  # it did expire and refresh
    assert issued <= math.ceil(elapsed / 0.9) + 1  # refresh at 90% of the lifetime, no more
    assert len(set(bearer_tokens_used(emu))) == issued


# ---------------------------------------------------------------------------------------------
# Token endpoint down or refusing
# ---------------------------------------------------------------------------------------------
def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _assert_auth_error(err: BaseException, host: str, secret: str) -> None:
    assert isinstance(err, AuthenticationError), repr(err)
    text = str(err)
    assert f"{host}/oidc/v1/token" in text  # names the host
    assert "oauth-m2m" in text  # and the method
    for shown in (text, repr(err), repr(err.args), str(err.details)):
        assert secret not in shown


def _call(client: DatabricksChatClient, is_async: bool) -> None:
    if is_async:

        async def go() -> None:
            try:
                await client.acomplete(MSGS, PARAMS)
            finally:
                await client.aclose()

        asyncio.run(go())
    else:
        client.complete(MSGS, PARAMS)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("status", ["500", "503"])
def test_token_endpoint_down(emu, is_async, status):
    client = oauth_client(emu, max_retries=1)
    emu.set_fault(status)
    with pytest.raises(AuthenticationError) as info:
        _call(client, is_async)
    _assert_auth_error(info.value, emu.host, emu.client_secret)
    assert info.value.status_code == int(status)
    assert [r.path for r in emu.requests] == ["/oidc/v1/token"] * 2  # retried, no model call


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_token_endpoint_unreachable(emu, is_async):
    host = f"http://127.0.0.1:{_closed_port()}"
    client = oauth_client(emu, host=host, max_retries=1)
    with pytest.raises(AuthenticationError) as info:
        _call(client, is_async)
    _assert_auth_error(info.value, host, emu.client_secret)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_token_endpoint_refuses_the_secret(emu, is_async):
    wrong = "dose" + "f00d" * 8
    client = oauth_client(emu, client_secret=wrong)
    with pytest.raises(AuthenticationError) as info:
        _call(client, is_async)
    _assert_auth_error(info.value, emu.host, wrong)
    assert info.value.status_code == 401 and "invalid_client" in str(info.value)
    assert [r.path for r in emu.requests] == ["/oidc/v1/token"]  # a refusal is not retried


def test_token_endpoint_blip_is_retried(emu):
    client = oauth_client(emu)
    emu.set_fault("503:1")
    assert "You said" in client.complete(MSGS, PARAMS).text
    assert _issued(emu) == 2 and emu.token_requests >= 1


@pytest.mark.parametrize("adapter", ["langchain", "llamaindex"])
def test_token_endpoint_refusal_through_adapters(emu, adapter):
    wrong = "dose" + "beef" * 8
    if adapter == "langchain":
        from langchain_plugin import ChatDatabricks

        llm: Any = ChatDatabricks(
            model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=wrong
        )
        call = lambda: llm.invoke("hi")  # noqa: E731
    else:
        from llama_index.core.llms import ChatMessage

        from llamaindex_plugin import Databricks

        llm = Databricks(model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=wrong)
        call = lambda: llm.chat([ChatMessage(role="user", content="hi")])  # noqa: E731
    with pytest.raises(AuthenticationError) as info:
        call()
    _assert_auth_error(info.value, emu.host, wrong)
