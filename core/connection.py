"""What every Databricks client in ``core`` does before its first request, in one place.

The chat client (:mod:`core.client`) and the embeddings client (:mod:`core.embeddings`) both:
validate settings (:func:`settings_from`), resolve host and credentials and open a pooled
:class:`core.transport.HttpTransport` that may send the credential to the workspace (and a
``base_url``) only (:func:`open_connection`), and encode JSON bodies within the payload limit
(:func:`encode_json`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError

from core.auth import AuthProvider, normalize_host, resolve_auth
from core.errors import ConfigurationError, InvalidRequestError
from core.jsonio import dumps
from core.limiter import AdaptiveLimiter, limiter_of
from core.settings import ClientSettings
from core.transport import HttpTransport

# Databricks documents a 10 MB total payload limit for model serving requests.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


def hide_secrets(kwargs: dict[str, Any]) -> None:
    """Raw secrets become SecretStr at once: a caller's frame locals show up in traceback
    summaries (``capture_locals``) if anything after this raises."""
    for key in ("token", "client_secret"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = SecretStr(kwargs[key])


def settings_from(settings: ClientSettings | None, kwargs: dict[str, Any]) -> ClientSettings:
    """``settings`` with ``kwargs`` applied on top, validated; a ConfigurationError if not."""
    try:
        if settings is None:
            return ClientSettings(**kwargs)
        if not kwargs:
            return settings
        values = {name: getattr(settings, name) for name in type(settings).model_fields}
        values.update(kwargs)
        return ClientSettings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None


@dataclass(slots=True)
class Connection:
    """A resolved workspace: where, as whom, and the transport that sends there."""

    host: str
    auth: AuthProvider
    auth_source: str
    base_url: str | None
    http: HttpTransport

    @property
    def limiter(self) -> AdaptiveLimiter | None:
        """The endpoint's shared adaptive limiter (``.state()`` for logs), None when off."""
        return limiter_of(self.http.gate)


def open_connection(s: ClientSettings) -> Connection:
    """Resolve host and credentials (a ConfigurationError now, not on the first call) and open
    the transport; the credential may go to the workspace and ``base_url`` origins only."""
    resolved = resolve_auth(s)
    base_url = normalize_host(s.base_url) if s.base_url else None
    http = HttpTransport(
        auth=resolved.provider,
        timeout=s.timeout,
        max_retries=s.max_retries,
        kind=s.transport,
        adapter=s.adapter,
        extra_headers=s.extra_headers,
        proxy=s.proxy.get_secret_value() if s.proxy is not None else None,
        verify=s.verify,
        sync_client=s.http_client,
        async_client=s.http_async_client,
    )
    _warn_unused_network_settings(s)
    http.allow_url(resolved.host)
    if base_url:
        http.allow_url(base_url)
    if s.model:
        from core.limiter import gate_for

        # every attempt to this endpoint, from any client in the process, goes through the
        # endpoint's shared limiter (core.limiter)
        http.gate = gate_for(
            base_url or resolved.host,
            s.model,
            max_concurrency=s.max_concurrency,
            adaptive=s.adaptive_concurrency,
        )
    return Connection(resolved.host, resolved.provider, resolved.source, base_url, http)


def _warn_unused_network_settings(s: ClientSettings) -> None:
    """proxy=, verify= and timeout= configure the clients this library makes: say so when the
    caller's own client takes their place on a path."""
    paths = [
        path
        for path, client in (("sync", s.http_client), ("async", s.http_async_client))
        if client is not None
    ]
    fields = type(s).model_fields
    given = [
        name for name in ("proxy", "verify", "timeout") if getattr(s, name) != fields[name].default
    ]
    if paths and given:
        warnings.warn(
            f"{', '.join(given)} not applied to the {' and '.join(paths)} calls: they go "
            "through the httpx client you passed, as it is; set these on that client",
            UserWarning,
            stacklevel=4,
        )


def encode_json(body: Any, *, limit: int = MAX_PAYLOAD_BYTES, hint: str | None = None) -> bytes:
    """Compact UTF-8 JSON; an InvalidRequestError if it cannot be encoded or is over ``limit``."""
    try:
        content = dumps(body)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"the request body is not JSON-serializable: {exc}") from None
    if len(content) > limit:
        raise InvalidRequestError(
            f"the request is {len(content) / 1_048_576:.1f} MB; Databricks model serving "
            f"accepts at most {limit // 1_048_576} MB per request",
            hint=hint,
        )
    return content

