"""The flow's steps over httpx: ``HttpxSync`` (``httpx.Client``) and ``HttpxAsync``
(``httpx.AsyncClient``, also what respx intercepts). Each step is a line or two of I/O; every
decision is in :mod:`core.transport.flow`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from core.transport.httpx_failures import httpx_failure
from core.transport.steps import AsyncSteps, SyncSteps

if TYPE_CHECKING:  # pragma: no cover
    from core.transport.failures import Failure
    from core.transport.flow import Hop


class HttpxSync(SyncSteps):
    __slots__ = ()

    def open(self, hop: Hop) -> tuple[int, httpx.Headers, list[Any]] | Failure:
        client = self.t.sync_client()
        try:
            request = client.build_request(
                hop.method, hop.url, content=hop.content, headers=hop.headers
            )
            response = client.send(request, stream=hop.stream)
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


class HttpxAsync(AsyncSteps):
    __slots__ = ()

    async def open(self, hop: Hop) -> tuple[int, httpx.Headers, list[Any]] | Failure:
        client = self.t.async_client()
        try:
            request = client.build_request(
                hop.method, hop.url, content=hop.content, headers=hop.headers
            )
            response = await client.send(request, stream=hop.stream)
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
