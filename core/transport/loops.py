"""Async clients per event loop, closed when their loop shuts down.

An async client (an ``httpx.AsyncClient``, an aiohttp session) belongs to the loop it was
created on; LangChain's standard tests and ``asyncio.run`` scripts use several loops. A client
is created on first use in a loop and reused there; clients of loops that have closed are
dropped (their sockets closed directly, as a dead loop cannot).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol


class AsyncClient(Protocol):
    @property
    def is_closed(self) -> bool: ...

    async def aclose(self) -> None: ...


class LoopClients:
    """``get()`` the running loop's client, making it with ``factory`` the first time."""

    def __init__(self, factory: Callable[[], Any], lock: threading.Lock) -> None:
        self.factory = factory
        self._lock = lock
        self.clients: dict[asyncio.AbstractEventLoop, Any] = {}
        # per loop: the async generator that closes that loop's client at loop shutdown
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self.clients.get(loop)
        if client is not None and not client.is_closed:
            return client
        with self._lock:
            for dead in [lp for lp in self.clients if lp.is_closed()]:
                abandon(self.clients.pop(dead), dead)
                self._closers.pop(dead, None)
            client = self.clients.get(loop)
            if client is None or client.is_closed:
                client = self.factory()
                self.clients[loop] = client
                self._closers[loop] = _close_at_loop_shutdown(client)
        return client

    def take_all(self) -> dict[asyncio.AbstractEventLoop, Any]:
        with self._lock:
            clients, self.clients = self.clients, {}
            self._closers = {}
        return clients

    async def aclose_all(self) -> None:
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - aclose is always awaited
            current = None
        for loop, client in self.take_all().items():
            if loop is current:
                await client.aclose()
            else:
                close_from_outside(loop, client)

    def close_all(self) -> None:
        for loop, client in self.take_all().items():
            close_from_outside(loop, client)


async def _client_closer(client: AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


def _close_at_loop_shutdown(client: AsyncClient) -> AsyncGenerator[None, None]:
    """Close ``client`` on its own loop when the loop shuts down its async generators.

    ``asyncio.run`` (and pytest-asyncio) call ``loop.shutdown_asyncgens()`` before closing the
    loop: a started async generator registered with the loop is finalized there, so its
    ``finally`` closes the client while the loop still runs. Without this, a plain
    ``asyncio.run(llm.ainvoke(...))`` script ends with aiohttp's "Unclosed client session"
    warning. The caller keeps the returned generator alive (the loop only holds it weakly).
    """
    closer = _client_closer(client)
    step = closer.__anext__()  # registers the generator with the running loop's hooks
    try:
        step.send(None)  # run it to its ``yield`` without awaiting: nothing in it suspends
    except StopIteration:
        pass
    return closer


def abandon(client: Any, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Forget a client whose event loop is closed: it can no longer be closed the normal way.

    Its sockets are closed directly (a dead loop's transports cannot close themselves), and an
    aiohttp session is marked closed, so nothing leaks and nothing warns at garbage collection.
    """
    forget = getattr(client, "forget", None)  # an aiohttp session: mark it closed
    if forget is not None:
        forget()
    transports = getattr(loop, "_transports", None) if loop is not None else None
    if transports is None:
        return
    for tr in list(transports.values()):
        sock = getattr(tr, "_sock", None)
        if sock is None:
            continue
        try:
            tr._sock = None
            sock.close()
        except Exception:  # pragma: no cover
            pass


def close_from_outside(loop: asyncio.AbstractEventLoop, client: AsyncClient) -> None:
    if loop.is_closed():
        abandon(client, loop)
        return
    try:
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                try:
                    fut.result(timeout=5)
                except Exception:  # pragma: no cover
                    pass
        else:
            loop.run_until_complete(client.aclose())
    except Exception:  # pragma: no cover - best effort
        abandon(client, loop if loop.is_closed() else None)
