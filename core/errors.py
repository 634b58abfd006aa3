"""One typed error hierarchy for everything that can go wrong talking to Databricks.

Every error carries what a user needs to act on it (HTTP status, Databricks ``error_code``,
the server's message, the request id) and never a credential: messages are built from server
text and our own words only, and :func:`redact` scrubs anything token-shaped that a server
echoed back.
"""

from __future__ import annotations

import re
from typing import Any

# Databricks PATs (dapi...), OAuth JWTs and bearer headers, in case a server echoes them.
_SECRET_PATTERNS = re.compile(
    r"(dapi[0-9a-f]{8,}(?:-\d+)?|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*|(?i:bearer)\s+[\w.~+/=-]{8,})"
)
# The userinfo of a URL (``http://user:secret@proxy:3128``): proxy credentials.
_URL_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")


def redact(text: str) -> str:
    """Replace anything that looks like a token, and URL credentials, with ``***``."""
    return _URL_USERINFO.sub("***@", _SECRET_PATTERNS.sub("***", text))


class DatabricksError(Exception):
    """Root of every error this library raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        details: Any = None,
    ) -> None:
        self.message = redact(message)
        self.status_code = status_code
        self.error_code = error_code
        self.request_id = request_id
        self.hint = hint
        self.details = details
        super().__init__(self._render())

    def _render(self) -> str:
        head = []
        if self.status_code is not None:
            head.append(str(self.status_code))
        if self.error_code:
            head.append(self.error_code)
        text = f"[{' '.join(head)}] {self.message}" if head else self.message
        if self.hint:
            text += f"\nHint: {self.hint}"
        if self.request_id:
            text += f"\n(request id: {self.request_id})"
        return text


class ConfigurationError(DatabricksError, ValueError):
    """Settings are missing, contradictory or malformed. Raised before any request."""


class InvalidRequestError(DatabricksError, ValueError):
    """The conversation, tools or parameters cannot be sent as given. Raised before sending."""


class APIError(DatabricksError):
    """The server answered with an error status."""


class BadRequestError(APIError):
    """HTTP 400. ``param`` names the request parameter the server refused, when it said which."""

    def __init__(self, message: str, *, param: str | None = None, **kw: Any) -> None:
        self.param = param
        super().__init__(message, **kw)


class AuthenticationError(APIError):
    """HTTP 401, or obtaining a token failed."""


class PermissionDeniedError(APIError):
    """HTTP 403."""


class NotFoundError(APIError):
    """HTTP 404."""


class RateLimitError(APIError):
    """HTTP 429. ``retry_after`` is the server's wish in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(APIError):
    """HTTP 5xx."""


class TimeoutError(DatabricksError):
    """The request did not complete within the configured timeout."""


class ConnectionError(DatabricksError):
    """The server could not be reached."""


class CertificateVerificationError(ConnectionError):
    """The server's TLS certificate could not be verified against the trusted CAs (a private
    CA, or a proxy that re-signs TLS): pass ``verify=`` a CA bundle path or an SSLContext, or
    set ``SSL_CERT_FILE``."""


class StreamError(DatabricksError):
    """A stream failed after it started. Text already delivered stays delivered."""


class StreamErrorEvent(StreamError):
    """The server sent an error event inside the stream."""


class StreamInterruptedError(StreamError):
    """The connection was lost before the stream ended."""


class StreamTimeoutError(StreamError, TimeoutError):
    """A stream stalled past the timeout after it started: both a stream and a timeout error."""


class ResponseParseError(DatabricksError):
    """A non-streaming response body was not of a known shape."""


class MalformedEventError(StreamError, ResponseParseError):
    """A stream event was not valid JSON or not of a known shape: a stream error (what came
    before was delivered) and a parse error (one ``except ResponseParseError`` catches an
    unknown shape whether it came whole or streamed)."""


_STATUS_TO_ERROR: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[APIError]:
    if status in _STATUS_TO_ERROR:
        return _STATUS_TO_ERROR[status]
    if status >= 500:
        return ServerError
    return APIError
