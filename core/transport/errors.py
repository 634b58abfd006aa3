"""Map an HTTP error answer to the typed hierarchy in :mod:`core.errors`.

Understands ``{"error_code": ..., "message": ...}`` (Databricks), ``{"error": "..."}``,
``{"error": {"message": ..., "code"/"type": ...}}`` (OpenAI-style), ``{"detail": ...}`` and
non-JSON bodies (HTML error pages from proxies: their title or text, shortened).
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from core.errors import APIError, BadRequestError, RateLimitError, error_class_for_status

REQUEST_ID_HEADERS = (
    "x-request-id",
    "x-databricks-request-id",
    "x-databricks-reqid",
    "request-id",
    "x-amzn-requestid",
)
_MAX_TEXT = 300
_TAG = re.compile(r"<[^>]+>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_SPACE = re.compile(r"\s+")

_HINTS = {
    401: "the credentials were refused: check the token or service principal for this workspace",
    403: "the caller lacks permission on this endpoint (CAN_QUERY on serving endpoints)",
    404: "check the model/endpoint name and that it exists in this workspace",
    429: "rate limited: lower concurrency or ask for a higher QPS/TPM limit",
}


def request_id_from(headers: Mapping[str, str]) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def request_id_from_details(details: Any) -> str | None:
    """A Databricks error body may carry the request id only in ``details[].request_id``
    (google.rpc ``RequestInfo`` entries)."""
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict):
                rid = item.get("request_id")
                if isinstance(rid, str) and rid:
                    return rid
    return None


# How servers name the parameter they refuse (Databricks, OpenAI, vLLM/pydantic messages):
# "does not support the temperature parameter", "Unsupported parameter: 'top_p'",
# "Unknown parameter: 'x'", "'strict' is not supported", "Extra inputs are not permitted".
_PARAM_PATTERNS = tuple(
    re.compile(p, re.I)
    for p in (
        r"does not support (?:the )?['\"`]?([A-Za-z_][\w.]*)['\"`]? (?:parameter|argument|field)",
        r"(?:unsupported|unknown|unrecognized|invalid) (?:parameter|argument|field)s?"
        r"(?: value)?(?: for)?:?\s*['\"`]([A-Za-z_][\w.]*)['\"`]",
        r"['\"`]([A-Za-z_][\w.]*)['\"`] (?:is|are) not (?:supported|allowed|permitted)",
        r"(?:parameter|argument|field) ['\"`]([A-Za-z_][\w.]*)['\"`] (?:is|are) not",
        r"invalid value for ['\"`]([A-Za-z_][\w.]*)['\"`]",
    )
)


def param_from(message: str | None, details: Any = None) -> str | None:
    """The request parameter a 400 names: OpenAI's ``error.param`` or the message's words."""
    if isinstance(details, str) and details and " " not in details:
        return details  # parse_error_body hands OpenAI's error.param over as details
    if isinstance(details, dict) and isinstance(details.get("param"), str):
        return str(details["param"])
    if message:
        for pattern in _PARAM_PATTERNS:
            found = pattern.search(message)
            if found:
                return found.group(1)
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # rare path; keeps ``import core.transport`` light

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _shorten(text: str) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def parse_error_body(body: bytes | str) -> tuple[str | None, str | None, Any]:
    """(error_code, message, details) from an error body of any known shape."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text.strip():
        return None, None, None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        code = data.get("error_code")
        message = data.get("message")
        details = data.get("details")
        err = data.get("error")
        if isinstance(err, str) and message is None:
            message = err
        elif isinstance(err, dict):
            message = message or err.get("message")
            code = code or err.get("code") or err.get("type")
            details = details or err.get("details") or err.get("param")
        if message is None and "detail" in data:
            detail = data["detail"]
            message = detail if isinstance(detail, str) else json.dumps(detail)[:_MAX_TEXT]
        if message is None:
            message = _shorten(text)
        return (str(code) if code is not None else None), str(message), details
    if data is not None:  # JSON but not an object
        return None, _shorten(text), None
    title = _TITLE.search(text)
    if title:
        return None, _shorten(html.unescape(title.group(1))), None
    return None, _shorten(html.unescape(_TAG.sub(" ", text))), None


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes | str, *, url: str | None = None
) -> APIError:
    code, message, details = parse_error_body(body)
    if not message:
        message = f"HTTP {status}" + (f" from {url}" if url else "")
    cls = error_class_for_status(status)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "error_code": code,
        "request_id": request_id_from(headers) or request_id_from_details(details),
        "hint": _HINTS.get(status),
        "details": details,
    }
    if cls is BadRequestError:
        param = param_from(message, details)
        if param is not None:
            kwargs["hint"] = (
                f"the endpoint refused the {param!r} parameter: leave it out of the call and "
                "the constructor (or check its value), then retry"
            )
        return BadRequestError(message, param=param, **kwargs)
    if cls is RateLimitError:
        return RateLimitError(
            message, retry_after=parse_retry_after(headers.get("retry-after")), **kwargs
        )
    return cls(message, **kwargs)
