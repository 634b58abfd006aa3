"""User-facing configuration of one Databricks chat model: where, how to authenticate, how to send.

Validated once with pydantic (this is configuration, not the hot path). Secrets are
:class:`pydantic.SecretStr` so they never show in ``repr``/``str``/``model_dump_json``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from core.agents import AgentSchema

EndpointKind = Literal["gateway", "gateway-openai", "serving", "invocations", "openai"]
# The wire format: "chat" completions, the "responses" format (sent to /open-responses for
# non-OpenAI models), "open-responses" forced, or Google's native "gemini" generateContent.
ApiKind = Literal["chat", "responses", "open-responses", "gemini"]
TransportKind = Literal["auto", "httpx", "aiohttp"]
AuthType = (
    str  # "pat" | "oauth-m2m" | "token-provider" | "databricks-sdk" | any databricks-sdk auth_type
)


class ClientSettings(BaseModel):
    """Everything :class:`core.client.DatabricksChatClient` needs, all optional but ``model``.

    Unset values come from the environment (``DATABRICKS_HOST``, ``DATABRICKS_TOKEN``,
    ``DATABRICKS_CLIENT_ID``/``DATABRICKS_CLIENT_SECRET``, ``DATABRICKS_AUTH_TYPE``,
    ``DATABRICKS_CONFIG_PROFILE``, ``DATABRICKS_CONFIG_FILE``) and then from ``~/.databrickscfg``.

    ``transport`` picks the async HTTP backend: ``"auto"`` (aiohttp directly when it is installed,
    else httpx), ``"httpx"`` or ``"aiohttp"``. respx only intercepts httpx's own
    transport, so respx-based tests of async calls pass ``transport="httpx"``.
    ``proxy`` is an explicit proxy URL (``http://[user:password@]host:port``; its credentials
    are kept secret); unset, ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` apply as in httpx and
    requests. ``verify`` is True (the CA bundle of ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE`` or
    certifi's), False, a CA bundle path or an ``ssl.SSLContext``; both apply to sync and async.
    ``http_client`` / ``http_async_client`` are your own ``httpx.Client`` / ``httpx.AsyncClient``
    (langchain-openai's names): requests then go through them, with their proxy, TLS, timeouts,
    limits and event hooks, and with this library's credentials, retries, gate and error mapping
    on top; ``proxy``, ``verify`` and ``timeout`` apply only to the clients the library makes.
    Yours stay yours to close.
    ``api`` picks the wire format (see :mod:`core.endpoints`); ``use_responses_api=True`` is
    ``api="responses"``.
    ``timeout`` is in seconds per network operation; ``max_retries`` counts retries after the
    first attempt (429/5xx/connection errors; a stream only before its first event).
    ``max_concurrency`` caps this client's HTTP attempts in flight; ``adaptive_concurrency``
    (default on) sends them through the endpoint's adaptive limiter shared by the whole process
    (:mod:`core.limiter`); off, only ``max_concurrency`` (if set) holds them back.
    """

    model_config = ConfigDict(
        arbitrary_types_allowed=True, extra="forbid", hide_input_in_errors=True
    )

    model: str | None = None
    host: str | None = None
    token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    profile: str | None = None
    config_file: str | None = None
    auth_type: AuthType | None = None
    # () -> str, or () -> Awaitable[str]; may return "Bearer <token>" or the bare token.
    token_provider: Callable[[], Any] | None = Field(default=None, repr=False)
    # databricks.sdk.WorkspaceClient or databricks.sdk.core.Config (not imported here).
    workspace_client: Any = Field(default=None, repr=False)
    base_url: str | None = None
    endpoint_kind: EndpointKind | None = None
    use_responses_api: bool | None = None
    api: ApiKind | None = None
    # "responses_agent" | "chat_agent" | "chat_model"; None: from the endpoint's task (core.agents)
    agent_schema: AgentSchema | None = None
    external_model: bool = False
    timeout: float = 120.0
    max_retries: int = 3
    transport: TransportKind = "auto"
    adapter: str | None = None
    extra_headers: dict[str, str] | None = Field(default=None, repr=False)
    proxy: SecretStr | None = None
    verify: bool | str | ssl.SSLContext = True
    http_client: Any = Field(default=None, repr=False, exclude=True)
    http_async_client: Any = Field(default=None, repr=False, exclude=True)
    max_concurrency: int | None = None
    adaptive_concurrency: bool = True

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("timeout must be > 0 seconds")
        return v

    @field_validator("max_retries")
    @classmethod
    def _non_negative_retries(cls, v: int) -> int:
        if v < 0:
            raise ValueError("max_retries must be >= 0")
        return v

    @field_validator("proxy", mode="before")
    @classmethod
    def _usable_proxy(cls, v: Any) -> Any:
        from core.transport.network import check_proxy

        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise ValueError("proxy must be a URL string such as 'http://host:3128'")
        return SecretStr(check_proxy(raw))

    @field_validator("verify", mode="before")
    @classmethod
    def _usable_verify(cls, v: Any) -> Any:
        from core.transport.network import check_verify

        return check_verify(v)

    @field_validator("http_client", "http_async_client", mode="before")
    @classmethod
    def _httpx_client(cls, v: Any, info: Any) -> Any:
        if v is None:
            return None
        import httpx

        wanted = httpx.Client if info.field_name == "http_client" else httpx.AsyncClient
        if not isinstance(v, wanted):
            raise ValueError(
                f"{info.field_name} must be an {wanted.__module__}.{wanted.__name__}, got "
                f"{type(v).__name__} (for proxies and certificates pass proxy= and verify= "
                "instead of a client)"
            )
        return v

    @model_validator(mode="after")
    def _async_client_needs_httpx(self) -> ClientSettings:
        if self.http_async_client is not None and self.transport == "aiohttp":
            raise ValueError(
                "http_async_client is an httpx client but transport='aiohttp' was asked for: "
                "leave transport unset (your client is then used) or drop http_async_client"
            )
        return self

    @field_validator("max_concurrency")
    @classmethod
    def _positive_concurrency(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(
                "max_concurrency must be >= 1 (or None for no cap; "
                "adaptive_concurrency=False turns the shared limiter off)"
            )
        return v

    @field_validator("token", "client_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, v: Any) -> Any:
        if v == "" or (isinstance(v, SecretStr) and v.get_secret_value() == ""):
            return None
        return v
