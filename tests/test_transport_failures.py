"""Each backend's exceptions -> failure kinds -> the retry decision and the typed error."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import httpx
import pytest

from core.errors import (
    CertificateVerificationError,
    ConnectionError,
    StreamInterruptedError,
    StreamTimeoutError,
    TimeoutError,
)
from core.transport import failures as f
from core.transport.aiohttp_io import aiohttp_failure
from core.transport.httpx_failures import httpx_failure

URL = "https://ws.cloud.databricks.com/serving-endpoints/x/invocations"


def _cert_error() -> httpx.ConnectError:
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate in certificate chain"
    try:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]") from cause
    except httpx.ConnectError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), f.CONNECT),
        (httpx.ConnectTimeout("t"), f.CONNECT_TIMEOUT),
        (httpx.PoolTimeout("t"), f.CONNECT_TIMEOUT),
        (httpx.ReadTimeout("t"), f.TIMEOUT),
        (httpx.WriteTimeout("t"), f.TIMEOUT),
        (httpx.RemoteProtocolError("peer closed"), f.DROPPED),
        (httpx.ReadError("reset"), f.DROPPED),
        (httpx.ProxyError("407 Proxy Authentication Required"), f.PROXY),
        (_cert_error(), f.TLS),
        (httpx.UnsupportedProtocol("ftp"), f.OTHER),
    ],
)
def test_httpx_kinds(exc, kind):
    assert httpx_failure(exc).kind == kind


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiohttp.ServerDisconnectedError(), f.DROPPED),
        (aiohttp.ClientPayloadError("truncated"), f.DROPPED),
        (aiohttp.ClientOSError(104, "reset"), f.DROPPED),
        (aiohttp.ConnectionTimeoutError(), f.CONNECT_TIMEOUT),
        (aiohttp.SocketTimeoutError(), f.TIMEOUT),
        (asyncio.TimeoutError(), f.TIMEOUT),
        (aiohttp.ClientHttpProxyError(None, (), status=407, message="Auth Required"), f.PROXY),
        (aiohttp.InvalidURL("nope"), f.OTHER),
    ],
)
def test_aiohttp_kinds(exc, kind):
    assert aiohttp_failure(exc).kind == kind


def test_retry_only_what_a_retry_can_fix():
    retryable = {k for k in (f.CONNECT, f.CONNECT_TIMEOUT, f.DROPPED, f.TIMEOUT, f.TLS, f.PROXY,
                             f.OTHER) if f.Failure(k, "X").retryable}
    assert retryable == {f.CONNECT, f.CONNECT_TIMEOUT, f.DROPPED}


def test_errors_say_what_happened():
    tls = httpx_failure(_cert_error()).error(URL)
    assert isinstance(tls, CertificateVerificationError) and isinstance(tls, ConnectionError)
    assert "self-signed certificate" in str(tls) and "SSL_CERT_FILE" in str(tls)
    proxy = f.Failure(f.PROXY, "ProxyError", "407 Proxy Authentication Required").error(URL)
    assert type(proxy) is ConnectionError and "proxy" in str(proxy) and "407" in str(proxy)
    assert isinstance(f.Failure(f.TIMEOUT, "ReadTimeout").error(URL), TimeoutError)
    assert type(f.Failure(f.CONNECT, "ConnectError", "x").error(URL)) is ConnectionError
    assert isinstance(f.Failure(f.TIMEOUT, "ReadTimeout").interrupted(URL), StreamTimeoutError)
    dropped = f.Failure(f.DROPPED, "ReadError").interrupted(URL)
    assert type(dropped) is StreamInterruptedError and "mid-stream" in str(dropped)
