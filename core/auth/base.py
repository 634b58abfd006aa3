"""The one interface every credential provider implements."""

from __future__ import annotations

from typing import Any


class AuthProvider:
    """Gives the ``Authorization`` header value for the next request, sync or async.

    ``method`` names the provider for messages ("pat", "oauth-m2m", "token-provider",
    "databricks-sdk"); ``is_oauth`` says whether the header carries an OAuth token (Databricks
    Apps refuse personal access tokens). ``can_refresh`` says whether :meth:`invalidate` can
    produce a different header, so a 401 is worth one retry.
    """

    method: str = "unknown"
    is_oauth: bool = False
    can_refresh: bool = False

    def header(self) -> str:
        raise NotImplementedError

    async def aheader(self) -> str:
        return self.header()

    def extra_headers(self) -> dict[str, str] | None:
        """Other headers the credential needs next to Authorization (databricks-sdk Azure
        service principals add ``X-Databricks-Azure-SP-Management-Token``...). Read right
        after :meth:`header`/:meth:`aheader`."""
        return None

    def invalidate(self, used: str | None = None) -> None:
        """The server refused ``used`` (401): forget it so the next call gets a fresh one."""

    def bind(self, http: Any) -> None:
        """Give the provider the transport it may use to fetch tokens (OAuth)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} method={self.method!r}>"


def bearer(token: str) -> str:
    """``"Bearer <token>"``, accepting a value that already carries a scheme."""
    token = token.strip()
    low = token[:7].lower()
    if low.startswith("bearer ") or low.startswith("basic "):
        return token
    return f"Bearer {token}"
