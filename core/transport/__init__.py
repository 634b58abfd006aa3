"""HTTP for every surface: pooled httpx clients, auth header, retries, SSE, error mapping."""

from __future__ import annotations

from core.transport.errors import error_from_response, parse_retry_after, request_id_from
from core.transport.http import HttpTransport, JsonBody, user_agent

__all__ = [
    "HttpTransport",
    "JsonBody",
    "error_from_response",
    "parse_retry_after",
    "request_id_from",
    "user_agent",
]
