"""Simple providers: personal access token, user callable, databricks-sdk hand-over."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from core.auth.base import AuthProvider, bearer
from core.errors import AuthenticationError, ConfigurationError


class PatAuth(AuthProvider):
    """A static personal access token (``dapi...``) or any fixed bearer token."""

    method = "pat"
    is_oauth = False
    can_refresh = False

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def header(self) -> str:
        return bearer(self._token.get_secret_value())


class TokenProviderAuth(AuthProvider):
    """A user callable returning a token (sync, or async returning an awaitable).

    Called for every request: caching is the callable's business. It is assumed to return an
    OAuth token (that is what people wrap in a callable); a 401 makes us call it once more.
    """

    method = "token-provider"
    is_oauth = True
    can_refresh = True

    def __init__(self, provider: Callable[[], Any]) -> None:
        if not callable(provider):
            raise ConfigurationError("token_provider must be a callable returning a token string")
        self._provider = provider

    def _check(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise AuthenticationError(
                "token_provider returned no token (expected a non-empty string)"
            )
        return bearer(value)

    def header(self) -> str:
        value = self._provider()
        if inspect.isawaitable(value):
            import asyncio

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return self._check(asyncio.run(_await(value)))
            close = getattr(value, "close", None)
            if close is not None:
                close()
            raise ConfigurationError(
                "an async token_provider cannot be used from a synchronous call inside a "
                "running event loop; use the async API (acomplete/astream) or a sync callable"
            )
        return self._check(value)

    async def aheader(self) -> str:
        value = self._provider()
        if inspect.isawaitable(value):
            value = await value
        return self._check(value)


async def _await(value: Any) -> Any:
    return await value


class SdkAuth(AuthProvider):
    """Hand-over of a databricks-sdk ``WorkspaceClient`` or ``Config``.

    Every auth method the SDK knows (U2M login, Azure, notebook runtime, ...) works through
    ``config.authenticate()``, which returns fresh headers and refreshes tokens itself.
    """

    method = "databricks-sdk"
    can_refresh = True

    def __init__(self, client_or_config: Any) -> None:
        config = getattr(client_or_config, "config", client_or_config)
        if not callable(getattr(config, "authenticate", None)):
            raise ConfigurationError(
                "workspace_client must be a databricks.sdk.WorkspaceClient or "
                "databricks.sdk.core.Config"
            )
        self.config = config
        self._extra: dict[str, str] | None = None
        auth_type = getattr(config, "auth_type", None)
        self.sdk_auth_type: str | None = auth_type if isinstance(auth_type, str) else None
        # PATs are the only non-OAuth credential the SDK hands out for workspace calls.
        self.is_oauth = self.sdk_auth_type != "pat"

    @property
    def host(self) -> str | None:
        host = getattr(self.config, "host", None)
        return host if isinstance(host, str) and host else None

    def header(self) -> str:
        try:
            headers = self.config.authenticate()
        except Exception as exc:  # the SDK raises its own types; keep its text, never a token
            raise AuthenticationError(
                f"databricks-sdk could not authenticate to {self.host or 'the workspace'} "
                f"(auth_type={self.sdk_auth_type or 'auto'}): {exc}"
            ) from None
        value = headers.get("Authorization") if isinstance(headers, dict) else None
        if not value:
            raise AuthenticationError(
                "databricks-sdk returned no Authorization header "
                f"(auth_type={self.sdk_auth_type or 'auto'})"
            )
        extra = {str(k): str(v) for k, v in headers.items() if k.lower() != "authorization"}
        self._extra = extra or None
        return str(value)

    def extra_headers(self) -> dict[str, str] | None:
        return self._extra

    async def aheader(self) -> str:
        # authenticate() may do blocking I/O when it refreshes; keep it off the event loop.
        import asyncio

        return await asyncio.to_thread(self.header)
