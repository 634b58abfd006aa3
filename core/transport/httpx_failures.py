"""httpx's exceptions as :class:`~core.transport.failures.Failure` kinds."""

from __future__ import annotations

import asyncio

import httpx

from core.transport.failures import (
    CONNECT,
    CONNECT_TIMEOUT,
    DROPPED,
    OTHER,
    TIMEOUT,
    Failure,
)


def httpx_failure(exc: httpx.HTTPError) -> Failure:
    name, detail = type(exc).__name__, str(exc)
    connecting = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
    if isinstance(exc, httpx.TimeoutException):
        # httpx-aiohttp maps every aiohttp.ClientConnectionError (connection refused, server
        # disconnected) to a timeout; its cause tells the truth.
        cause = exc.__cause__
        if (
            cause is not None
            and type(cause).__module__.startswith("aiohttp")
            and not isinstance(cause, asyncio.TimeoutError)
        ):
            return Failure(CONNECT if connecting else DROPPED, name, detail)
        return Failure(CONNECT_TIMEOUT if connecting else TIMEOUT, name, detail)
    if isinstance(exc, httpx.ConnectError):
        return Failure(CONNECT, name, detail)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return Failure(DROPPED, name, detail)
    return Failure(OTHER, name, detail)
