"""Network failures: each backend names what went wrong, one place says what it means.

A backend (httpx, aiohttp) turns its own exception into a :class:`Failure` of a few kinds; the
flow decides from the kind whether to retry, and :meth:`Failure.error` / :meth:`interrupted`
give the typed error the caller sees, worded the same whatever backend was used.
"""

from __future__ import annotations

import ssl

from core.errors import (
    CertificateVerificationError,
    ConnectionError,
    DatabricksError,
    StreamInterruptedError,
    StreamTimeoutError,
    TimeoutError,
)

# kinds
CONNECT = "connect"  # could not open a connection (refused, DNS, reset while connecting)
CONNECT_TIMEOUT = "connect_timeout"  # connecting, or waiting for a pooled connection, timed out
DROPPED = "dropped"  # the connection broke after it was open (reset, peer closed, bad framing)
TIMEOUT = "timeout"  # reading or writing timed out: the server is slow, not gone
TLS = "tls"  # the server's certificate could not be verified: retrying will not help
PROXY = "proxy"  # the proxy refused the tunnel (e.g. 407: wrong or missing proxy credentials)
OTHER = "other"

TLS_HINT = (
    "the client does not trust the certificate authority that signed this certificate (a "
    "private CA, or a corporate proxy that re-signs TLS). Point the client at the right CA "
    "bundle: verify='/path/to/ca-bundle.pem' (or an ssl.SSLContext) on ChatDatabricks, "
    "Databricks or ClientSettings, or set SSL_CERT_FILE=/path/to/ca-bundle.pem "
    "(REQUESTS_CA_BUNDLE works too)"
)
PROXY_HINT = (
    "check the proxy URL and its credentials: proxy='http://user:password@host:port' or "
    "HTTPS_PROXY; NO_PROXY lists hosts to reach without it"
)

_RETRYABLE = frozenset({CONNECT, CONNECT_TIMEOUT, DROPPED})


class Failure:
    """A request attempt that got no usable answer."""

    __slots__ = ("kind", "name", "detail")

    def __init__(self, kind: str, name: str, detail: str = "") -> None:
        self.kind = kind
        self.name = name  # the backend's exception class name, for messages
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return self.kind in _RETRYABLE

    def error(self, url: str) -> DatabricksError:
        if self.kind == TLS:
            return CertificateVerificationError(
                f"could not verify the TLS certificate of {url}: {self.detail}", hint=TLS_HINT
            )
        if self.kind == PROXY:
            return ConnectionError(
                f"the proxy would not connect us to {url}: {self.detail}", hint=PROXY_HINT
            )
        if self.kind in (TIMEOUT, CONNECT_TIMEOUT):
            return TimeoutError(f"request to {url} timed out ({self.name})")
        if self.kind in (CONNECT, DROPPED):
            return ConnectionError(f"could not talk to {url}: {self.name}: {self.detail}")
        return ConnectionError(f"request to {url} failed: {self.name}: {self.detail}")

    def interrupted(self, url: str) -> DatabricksError:
        """The error for a failure after a stream delivered its first event."""
        if self.kind in (TIMEOUT, CONNECT_TIMEOUT):
            return StreamTimeoutError(f"stream from {url} stalled past the timeout ({self.name})")
        return StreamInterruptedError(
            f"the connection to {url} was lost mid-stream ({self.name}); "
            "what arrived before was delivered"
        )

    def __repr__(self) -> str:
        return f"<Failure {self.kind} {self.name}>"


def cause_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    for link in cause_chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            return link
    return None
