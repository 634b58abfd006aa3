"""HTTP for every surface: one sans-I/O flow (retries, auth refresh, redirects, SSE, error
mapping) run by thin sync and async drivers over pooled clients."""

from __future__ import annotations

from core.transport.errors import error_from_response, parse_retry_after, request_id_from
from core.transport.http import HttpTransport, user_agent
from core.transport.response import JsonBody, Response

__all__ = [
    "HttpTransport",
    "JsonBody",
    "Response",
    "error_from_response",
    "parse_retry_after",
    "request_id_from",
    "user_agent",
]
