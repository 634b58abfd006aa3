"""httpx's exceptions as :class:`~core.transport.failures.Failure` kinds."""

from __future__ import annotations

import httpx

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


def httpx_failure(exc: httpx.HTTPError) -> Failure:
    name, detail = type(exc).__name__, str(exc)
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Failure(CONNECT_TIMEOUT, name, detail)
    if isinstance(exc, httpx.TimeoutException):
        return Failure(TIMEOUT, name, detail)
    if isinstance(exc, httpx.ProxyError):
        return Failure(PROXY, name, detail)
    if isinstance(exc, httpx.ConnectError):
        cert = certificate_error(exc)
        if cert is not None:
            return Failure(TLS, name, cert.verify_message or str(cert))
        return Failure(CONNECT, name, detail)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return Failure(DROPPED, name, detail)
    return Failure(OTHER, name, detail)
