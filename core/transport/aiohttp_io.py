"""The flow's steps over aiohttp directly (no httpx objects on the async hot path).

Per event loop one :class:`AiohttpClient` (a ``ClientSession`` on a ``TCPConnector`` with the
transport's TLS context); the proxy of each request comes from
:meth:`core.transport.network.Network.proxy_for` (the same rules as the httpx path). Redirects
are not followed here (``allow_redirects=False``): the flow follows them, with its credential
rules. Imported only when an async call is made on the aiohttp backend.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp

from core.errors import ConfigurationError
from core.transport.failures import (
    CONNECT,
    CONNECT_TIMEOUT,
    DROPPED,
    OTHER,
    PROXY,
    TIMEOUT,
    TLS,
    Failure,
    certificate_error,
)
from core.transport.steps import AsyncSteps

if TYPE_CHECKING:  # pragma: no cover
    from core.transport.flow import Hop
    from core.transport.http import HttpTransport
    from core.transport.network import ProxyChoice

_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


class AiohttpClient:
    """One event loop's aiohttp session, with the interface :mod:`core.transport.loops` uses."""

    __slots__ = ("session",)

    def __init__(self, transport: HttpTransport) -> None:
        timeout = transport.timeout
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=transport.max_connections, ssl=transport.network.ssl_context()
            ),
            headers=transport.base_headers,
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=timeout,  # includes the wait for a pooled connection
                sock_connect=min(timeout, 30.0),
                sock_read=timeout,
            ),
            trust_env=False,  # proxies: Network.proxy_for, the same rules as the httpx path
        )

    @property
    def is_closed(self) -> bool:
        return self.session.closed

    async def aclose(self) -> None:
        await self.session.close()

    def forget(self) -> None:
        """Its loop is closed: mark the connector closed without awaiting anything."""
        session = self.session
        connector = session._connector
        if connector is None:
            return
        try:
            connector._close()  # on a dead loop: just marks it closed
            connector._conns.clear()
        except Exception:  # pragma: no cover - best effort on a dead loop
            pass
        session._connector = None


class AiohttpAsync(AsyncSteps):
    __slots__ = ()

    async def open(self, hop: Hop) -> tuple[int, Any, aiohttp.ClientResponse] | Failure:
        t = self.t
        session = t.async_client().session
        choice = t.network.proxy_for(hop.url)
        via = _DIRECT if choice is None else _proxy_options(choice)
        try:
            response = await session.request(
                hop.method,
                hop.url,
                data=hop.content,
                headers=hop.headers,
                allow_redirects=False,
                **via,
            )
        except _ERRORS as exc:
            return aiohttp_failure(exc)
        return response.status, response.headers, response

    async def read(self, response: aiohttp.ClientResponse) -> bytes | Failure:
        try:
            return await response.read()
        except _ERRORS as exc:
            return aiohttp_failure(exc)
        finally:
            response.release()

    async def chunk(self, response: aiohttp.ClientResponse) -> bytes | Failure:
        try:
            data = await response.content.readany()
        except _ERRORS as exc:
            response.close()
            return aiohttp_failure(exc)
        if not data:
            response.release()
        return data

    async def close(self, response: aiohttp.ClientResponse) -> None:
        response.close()


_DIRECT: dict[str, Any] = {}


def _proxy_options(choice: ProxyChoice) -> dict[str, Any]:
    if not choice.url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"the proxy {choice.url} is not an HTTP proxy: the aiohttp transport speaks HTTP(S) "
            "proxies only; use transport='httpx' (with pip install 'httpx[socks]') for SOCKS"
        )
    return {"proxy": choice.url, "proxy_headers": choice.headers}


def aiohttp_failure(exc: BaseException) -> Failure:
    name = type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", None)
        return Failure(TLS, name, reason or str(exc.certificate_error))
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        # its str() names the proxy's URL; the status and reason are what the user needs
        return Failure(PROXY, name, f"{exc.status} {exc.message}")
    detail = str(exc)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failure(CONNECT_TIMEOUT, name, detail)
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return Failure(TIMEOUT, name, detail)
    if isinstance(exc, aiohttp.ClientConnectorError):
        verify = certificate_error(exc)
        if verify is not None:
            return Failure(TLS, name, verify.verify_message or str(verify))
        return Failure(CONNECT, name, detail)
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return Failure(DROPPED, name, detail)
    return Failure(OTHER, name, detail)
