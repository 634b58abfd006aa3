"""The flow's steps over httpx: ``HttpxSync`` (``httpx.Client``) and ``HttpxAsync``
(``httpx.AsyncClient``, also what respx intercepts). Each step is a line or two of I/O; every
decision is in :mod:`core.transport.flow`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from core.transport.httpx_failures import httpx_failure

if TYPE_CHECKING:  # pragma: no cover
    from core.transport.failures import Failure
    from core.transport.flow import Hop
    from core.transport.http import HttpTransport


class HttpxSync:
    __slots__ = ("t", "ops")

    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport
        self.ops = (self.auth, self.acquire, self.open, self.read, self.chunk, self.sleep)

    def auth(self, _: None) -> str:
        return self.t.auth.header()

    def acquire(self, _: None) -> None:
        self.t.gate.acquire()  # type: ignore[union-attr]

    def open(self, hop: Hop) -> tuple[int, httpx.Headers, list[Any]] | Failure:
        client = self.t.sync_client()
        try:
            request = client.build_request(
                hop.method, hop.url, content=hop.content, headers=hop.headers
            )
            response = client.send(request, stream=True)
        except httpx.HTTPError as exc:
            return httpx_failure(exc)
        return response.status_code, response.headers, [response, None]

    def read(self, handle: list[Any]) -> bytes | Failure:
        response = handle[0]
        try:
            return response.read()
        except httpx.HTTPError as exc:
            return httpx_failure(exc)
        finally:
            response.close()

    def chunk(self, handle: list[Any]) -> bytes | Failure:
        response, chunks = handle
        if chunks is None:
            chunks = handle[1] = response.iter_bytes()
        try:
            data: bytes = next(chunks, b"")
        except httpx.HTTPError as exc:
            response.close()
            return httpx_failure(exc)
        if not data:
            response.close()
        return data

    def close(self, handle: list[Any]) -> None:
        handle[0].close()

    def sleep(self, seconds: float) -> None:
        self.t.sleep(seconds)


class HttpxAsync:
    __slots__ = ("t", "ops")

    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport
        self.ops = (self.auth, self.acquire, self.open, self.read, self.chunk, self.sleep)

    async def auth(self, _: None) -> str:
        return await self.t.auth.aheader()

    async def acquire(self, _: None) -> None:
        await self.t.gate.aacquire()  # type: ignore[union-attr]

    async def open(self, hop: Hop) -> tuple[int, httpx.Headers, list[Any]] | Failure:
        client = self.t.async_client()
        try:
            request = client.build_request(
                hop.method, hop.url, content=hop.content, headers=hop.headers
            )
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            return httpx_failure(exc)
        return response.status_code, response.headers, [response, None]

    async def read(self, handle: list[Any]) -> bytes | Failure:
        response = handle[0]
        try:
            return await response.aread()
        except httpx.HTTPError as exc:
            return httpx_failure(exc)
        finally:
            await response.aclose()

    async def chunk(self, handle: list[Any]) -> bytes | Failure:
        response, chunks = handle
        if chunks is None:
            chunks = handle[1] = response.aiter_bytes()
        try:
            data: bytes = await chunks.__anext__()
        except StopAsyncIteration:
            data = b""
        except httpx.HTTPError as exc:
            await response.aclose()
            return httpx_failure(exc)
        if not data:
            await response.aclose()
        return data

    async def close(self, handle: list[Any]) -> None:
        await handle[0].aclose()

    async def sleep(self, seconds: float) -> None:
        await self.t.asleep(seconds)
