"""OAuth machine-to-machine (service principal) tokens from ``{host}/oidc/v1/token``.

Cached, refreshed *before* expiry, and fetched by exactly one caller at a time across threads
and asyncio tasks (and event loops): the first caller that finds the token stale becomes the
owner of a ``concurrent.futures.Future``; every other caller, sync or async, waits on that same
future. The owner fetches with the transport's sync or async client, so an async owner never
blocks its event loop and a sync owner never needs one.
"""

from __future__ import annotations

import base64
import concurrent.futures
import threading
import time
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import SecretStr

from core.auth.base import AuthProvider
from core.errors import AuthenticationError, DatabricksError

# Refresh when less than this share of the lifetime (capped at REFRESH_MARGIN_MAX s) is left.
REFRESH_FRACTION = 0.1
REFRESH_MARGIN_MAX = 60.0


class _Token:
    __slots__ = ("expires_at", "header", "refresh_at")

    def __init__(self, header: str, expires_in: float, now: float) -> None:
        self.header = header
        self.expires_at = now + expires_in
        self.refresh_at = self.expires_at - min(REFRESH_MARGIN_MAX, expires_in * REFRESH_FRACTION)


class _OwnerGone(Exception):
    """The caller fetching the token was cancelled/interrupted: waiters try again themselves."""


class OAuthM2MAuth(AuthProvider):
    method = "oauth-m2m"
    is_oauth = True
    can_refresh = True

    def __init__(
        self,
        host: str,
        client_id: str,
        client_secret: SecretStr,
        *,
        scope: str = "all-apis",
        clock: Any = time.monotonic,
    ) -> None:
        self.host = host
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.token_url = f"{host}/oidc/v1/token"
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._inflight: concurrent.futures.Future[_Token] | None = None
        self._http: Any = None
        self.fetch_count = 0  # token requests made (observability/tests)

    def bind(self, http: Any) -> None:
        self._http = http

    # -- the cache --------------------------------------------------------------------------
    def _fresh(self) -> _Token | None:
        tok = self._token
        if tok is not None and self._clock() < tok.refresh_at:
            return tok
        return None

    def _claim(self) -> tuple[_Token | None, concurrent.futures.Future[_Token] | None, bool]:
        """Under the lock: a fresh token, or the in-flight future and whether we own it."""
        with self._lock:
            tok = self._fresh()
            if tok is not None:
                return tok, None, False
            if self._inflight is not None:
                return None, self._inflight, False
            fut: concurrent.futures.Future[_Token] = concurrent.futures.Future()
            # RUNNING futures cannot be cancelled: a waiter that is itself cancelled must not
            # cancel the shared fetch for everybody else (asyncio.wrap_future would).
            fut.set_running_or_notify_cancel()
            self._inflight = fut
            return None, fut, True

    def _settle(
        self, fut: concurrent.futures.Future[_Token], tok: _Token | None, exc: BaseException | None
    ) -> None:
        with self._lock:
            if tok is not None:
                self._token = tok
            if self._inflight is fut:
                self._inflight = None
        if exc is not None:
            fut.set_exception(exc)
        else:
            assert tok is not None
            fut.set_result(tok)

    def invalidate(self, used: str | None = None) -> None:
        with self._lock:
            if self._token is not None and (used is None or self._token.header == used):
                self._token = None

    # -- header -----------------------------------------------------------------------------
    def header(self) -> str:
        while True:
            tok, fut, owner = self._claim()
            if tok is not None:
                return tok.header
            assert fut is not None
            if owner:
                try:
                    new = self._parse(*self._request_sync())
                except BaseException as exc:
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        self._settle(fut, None, _OwnerGone())
                        raise
                    wrapped = self._wrap(exc)
                    self._settle(fut, None, wrapped)
                    raise wrapped from None
                self._settle(fut, new, None)
                return new.header
            timeout = getattr(self._http, "timeout", 120.0) + 5.0
            try:
                return fut.result(timeout=timeout).header
            except _OwnerGone:
                continue
            except concurrent.futures.TimeoutError:
                raise AuthenticationError(
                    f"timed out waiting for an OAuth token from {self.token_url} (method oauth-m2m)"
                ) from None

    async def aheader(self) -> str:
        import asyncio

        while True:
            tok, fut, owner = self._claim()
            if tok is not None:
                return tok.header
            assert fut is not None
            if owner:
                try:
                    new = self._parse(*(await self._request_async()))
                except BaseException as exc:
                    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, SystemExit)):
                        self._settle(fut, None, _OwnerGone())
                        raise
                    wrapped = self._wrap(exc)
                    self._settle(fut, None, wrapped)
                    raise wrapped from None
                self._settle(fut, new, None)
                return new.header
            try:
                return (await asyncio.wrap_future(fut)).header
            except _OwnerGone:
                continue

    # -- the token request ------------------------------------------------------------------
    def _form(self) -> tuple[bytes, dict[str, str]]:
        body = urlencode({"grant_type": "client_credentials", "scope": self.scope}).encode()
        basic = base64.b64encode(
            f"{quote(self.client_id, safe='')}:{quote(self._secret.get_secret_value(), safe='')}".encode()
        ).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        return body, headers

    def _need_http(self) -> Any:
        if self._http is None:
            from core.transport import HttpTransport

            self._http = HttpTransport()
            self._http.allow_url(self.host)
        return self._http

    def _request_sync(self) -> tuple[Any, float]:
        body, headers = self._form()
        self.fetch_count += 1
        resp = self._need_http().request(
            "POST", self.token_url, content=body, headers=headers, auth=False
        )
        return _json(resp), self._clock()

    async def _request_async(self) -> tuple[Any, float]:
        body, headers = self._form()
        self.fetch_count += 1
        resp = await self._need_http().arequest(
            "POST", self.token_url, content=body, headers=headers, auth=False
        )
        return _json(resp), self._clock()

    def _parse(self, data: Any, now: float) -> _Token:
        access = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(access, str) or not access or not _header_safe(access):
            raise AuthenticationError(
                f"the token endpoint {self.token_url} answered without an access_token, or with "
                "an empty or malformed one (method oauth-m2m)"
            )
        token_type = data.get("token_type")
        if not isinstance(token_type, str) or not token_type or not _header_safe(token_type):
            token_type = "Bearer"
        if token_type.lower() == "bearer":
            token_type = "Bearer"
        try:
            expires_in = float(data.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        return _Token(f"{token_type} {data['access_token']}", max(expires_in, 0.0), now)

    def _wrap(self, exc: BaseException) -> BaseException:
        if isinstance(exc, AuthenticationError) and "oauth-m2m" in exc.message:
            return exc
        secret = self._secret.get_secret_value()
        if isinstance(exc, DatabricksError):
            detail = exc.message
            status, code, rid = exc.status_code, exc.error_code, exc.request_id
        else:
            detail, status, code, rid = f"{type(exc).__name__}: {exc}", None, None, None
        if secret:
            detail = detail.replace(secret, "***")
        return AuthenticationError(
            f"could not get an OAuth token from {self.token_url} (method oauth-m2m, "
            f"client_id {self.client_id}): {detail}",
            status_code=status,
            error_code=code,
            request_id=rid,
            hint="check the service principal's client id and secret and that it belongs to "
            "this workspace",
        )

    def __repr__(self) -> str:
        return f"<OAuthM2MAuth host={self.host!r} client_id={self.client_id!r}>"


def _header_safe(value: str) -> bool:
    """Printable, no whitespace: fit for an Authorization header value."""
    return value.isprintable() and not any(c.isspace() for c in value)


def _json(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
