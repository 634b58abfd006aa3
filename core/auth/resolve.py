"""Pick the host and the credential provider, with the databricks-sdk's precedence.

Sources, first match wins: explicit arguments (``token=``, ``client_id=``/``client_secret=``,
``token_provider=``, ``workspace_client=``), then the profile named by ``profile=`` if given,
then the environment (``DATABRICKS_*``), then the config file profile (``DATABRICKS_CONFIG_PROFILE``
or ``[DEFAULT]``). The host is taken attribute-wise in the same order. Two authentication methods
in the same source without ``auth_type`` is an error naming both; we never pick one silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from core.auth.base import AuthProvider
from core.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from core.settings import ClientSettings

OUR_METHODS = ("pat", "oauth-m2m", "token-provider", "databricks-sdk")
_LABEL = {
    "pat": "pat (token)",
    "oauth-m2m": "oauth-m2m (client_id/client_secret)",
    "token-provider": "token-provider (token_provider callable)",
    "databricks-sdk": "databricks-sdk (workspace_client)",
}

HOST_WAYS = (
    "pass host='https://<workspace>.cloud.databricks.com'",
    "set DATABRICKS_HOST",
    "put host = ... in a ~/.databrickscfg profile (profile= or DATABRICKS_CONFIG_PROFILE)",
    "pass workspace_client=WorkspaceClient(...) from databricks-sdk",
)
CREDENTIAL_WAYS = (
    "a personal access token: token='dapi...' or DATABRICKS_TOKEN",
    "OAuth M2M: client_id= and client_secret= or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET",
    "a ~/.databrickscfg profile with token or client_id/client_secret (profile= or "
    "DATABRICKS_CONFIG_PROFILE, file via DATABRICKS_CONFIG_FILE)",
    "token_provider=<callable returning a token>",
    "workspace_client=WorkspaceClient(...) (databricks-sdk: U2M login, Azure, notebooks)",
)


@dataclass
class ResolvedAuth:
    host: str
    provider: AuthProvider
    source: str


@dataclass
class _Level:
    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def methods(self) -> list[str]:
        v = self.values
        found = []
        if v.get("token"):
            found.append("pat")
        if v.get("client_id") or v.get("client_secret"):
            found.append("oauth-m2m")
        if v.get("token_provider") is not None:
            found.append("token-provider")
        if v.get("workspace_client") is not None:
            found.append("databricks-sdk")
        return found


def is_loopback(hostname: str) -> bool:
    import ipaddress

    name = hostname.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def normalize_host(raw: str) -> str:
    """``https://`` added when missing, trailing slash/query dropped; ``http://`` loopback only."""
    text = (raw or "").strip()
    if not text:
        raise ConfigurationError("host is empty")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"host {raw!r} is not an http(s) URL")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(f"host {raw!r} is not a URL: its port is not a number") from None
    if any(not (c.isalnum() or c in "-._:%") for c in parts.hostname) or any(
        c.isspace() for c in text
    ):
        raise ConfigurationError(
            f"host {raw!r} is not a URL; expected e.g. 'https://<workspace>.cloud.databricks.com'"
        )
    if scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"refusing plain http:// for {parts.hostname}: credentials would travel unencrypted. "
            "Use https:// (http is allowed only for 127.0.0.1, ::1 and localhost)."
        )
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def _secret(value: Any) -> SecretStr | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, SecretStr) else SecretStr(str(value))


def _levels(settings: ClientSettings) -> list[_Level]:
    from core.auth.config_file import config_path, load_profile

    explicit = _Level(
        "arguments",
        {
            "host": settings.host,
            "token": settings.token,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "auth_type": settings.auth_type,
            "token_provider": settings.token_provider,
            "workspace_client": settings.workspace_client,
        },
    )
    env = os.environ
    environment = _Level(
        "environment",
        {
            "host": env.get("DATABRICKS_HOST"),
            "token": _secret(env.get("DATABRICKS_TOKEN")),
            "client_id": env.get("DATABRICKS_CLIENT_ID") or None,
            "client_secret": _secret(env.get("DATABRICKS_CLIENT_SECRET")),
            "auth_type": env.get("DATABRICKS_AUTH_TYPE") or None,
        },
    )
    path = config_path(settings.config_file)
    if settings.profile:
        section = load_profile(settings.config_file, settings.profile, required=True)
        prof = _Level(f"profile {settings.profile!r} in {path}", _file_values(section))
        return [explicit, prof, environment]
    env_profile = env.get("DATABRICKS_CONFIG_PROFILE") or None
    section = load_profile(settings.config_file, env_profile, required=env_profile is not None)
    prof = _Level(f"profile {(env_profile or 'DEFAULT')!r} in {path}", _file_values(section))
    return [explicit, environment, prof]


def _file_values(section: dict[str, str]) -> dict[str, Any]:
    return {
        "host": section.get("host"),
        "token": _secret(section.get("token")),
        "client_id": section.get("client_id"),
        "client_secret": _secret(section.get("client_secret")),
        "auth_type": section.get("auth_type"),
    }


def _first(levels: list[_Level], key: str) -> tuple[Any, _Level | None]:
    for level in levels:
        value = level.values.get(key)
        if value is not None and value != "":
            return value, level
    return None, None


def resolve_auth(settings: ClientSettings) -> ResolvedAuth:
    """Host + provider for ``settings``; raises ConfigurationError early and explains itself."""
    levels = _levels(settings)
    explicit = levels[0]

    # The host, attribute-wise: explicit, a handed-over SDK client's host, then the rest.
    sdk_obj = explicit.values.get("workspace_client")
    sdk_provider = None
    if sdk_obj is not None:
        from core.auth.providers import SdkAuth

        sdk_provider = SdkAuth(sdk_obj)
    raw_host = settings.host or (sdk_provider.host if sdk_provider else None)
    if not raw_host:
        raw_host, _ = _first(levels[1:], "host")
    if not raw_host and settings.base_url:
        parts = urlsplit(settings.base_url.strip())
        if parts.scheme and parts.netloc:
            raw_host = f"{parts.scheme}://{parts.netloc}"
    if not raw_host:
        raise ConfigurationError(
            "no Databricks workspace host configured. Ways to provide it: "
            + "; ".join(HOST_WAYS)
            + "."
        )
    host = normalize_host(str(raw_host))

    auth_type, _ = _first(levels, "auth_type")
    if auth_type:
        provider, source = _by_auth_type(
            str(auth_type).strip().lower(), levels, host, settings, sdk_provider
        )
        return ResolvedAuth(host, provider, source)

    for level in levels:
        methods = level.methods()
        if not methods:
            continue
        if len(methods) > 1:
            named = " and ".join(_LABEL[m] for m in methods)
            raise ConfigurationError(
                f"more than one authentication method is configured in the {level.name}: "
                f"{named}. Remove one, or set auth_type to choose "
                f"(e.g. auth_type={methods[0]!r})."
            )
        return ResolvedAuth(host, _build(methods[0], level, levels, host, sdk_provider), level.name)
    raise ConfigurationError(
        f"no Databricks credentials configured for {host}. Ways to provide them: "
        + "; ".join(CREDENTIAL_WAYS)
        + "."
    )


def _build(
    method: str, level: _Level, levels: list[_Level], host: str, sdk_provider: AuthProvider | None
) -> AuthProvider:
    v = level.values
    if method == "pat":
        from core.auth.providers import PatAuth

        return PatAuth(_secret(v["token"]))  # type: ignore[arg-type]
    if method == "oauth-m2m":
        client_id, secret = v.get("client_id"), _secret(v.get("client_secret"))
        if not client_id or secret is None:
            missing = "client_secret" if client_id else "client_id"
            raise ConfigurationError(
                f"OAuth M2M in the {level.name} has client_id or client_secret but not both: "
                f"{missing} is missing"
            )
        from core.auth.oauth import OAuthM2MAuth

        return OAuthM2MAuth(host, str(client_id), secret)
    if method == "token-provider":
        from core.auth.providers import TokenProviderAuth

        return TokenProviderAuth(v["token_provider"])
    assert sdk_provider is not None
    return sdk_provider


def _by_auth_type(
    auth_type: str,
    levels: list[_Level],
    host: str,
    settings: ClientSettings,
    sdk_provider: AuthProvider | None,
) -> tuple[AuthProvider, str]:
    if auth_type in ("pat", "oauth-m2m"):
        key = "token" if auth_type == "pat" else "client_id"
        for level in levels:
            if level.values.get(key):
                if auth_type == "oauth-m2m" and not level.values.get("client_secret"):
                    # client id here, secret maybe from a lower source (attribute-wise)
                    secret, _ = _first(levels, "client_secret")
                    merged = _Level(level.name, {**level.values, "client_secret": secret})
                    return _build(auth_type, merged, levels, host, sdk_provider), level.name
                return _build(auth_type, level, levels, host, sdk_provider), level.name
        need = "a token" if auth_type == "pat" else "client_id and client_secret"
        raise ConfigurationError(f"auth_type={auth_type!r} but {need} is not configured")
    if auth_type == "token-provider":
        if settings.token_provider is None:
            raise ConfigurationError("auth_type='token-provider' but no token_provider was given")
        return _build(auth_type, levels[0], levels, host, sdk_provider), "arguments"
    if auth_type == "databricks-sdk" or sdk_provider is not None:
        if sdk_provider is None:
            raise ConfigurationError("auth_type='databricks-sdk' but no workspace_client was given")
        return sdk_provider, "arguments"
    # Any other auth_type is one the databricks-sdk knows (databricks-cli, external-browser,
    # azure-cli, runtime, ...): let the SDK do it.
    try:
        from databricks.sdk.core import Config
    except ImportError:
        raise ConfigurationError(
            f"auth_type={auth_type!r} is handled by the databricks-sdk, which is not installed: "
            "pip install 'databricks-llm-plugins[sdk]' (or use one of "
            + ", ".join(OUR_METHODS)
            + ")"
        ) from None
    from core.auth.providers import SdkAuth

    kwargs: dict[str, Any] = {"host": host, "auth_type": auth_type}
    if settings.profile:
        kwargs["profile"] = settings.profile
    if settings.config_file:
        kwargs["config_file"] = settings.config_file
    try:
        config = Config(**kwargs)
    except Exception as exc:
        raise ConfigurationError(
            f"databricks-sdk could not configure auth_type={auth_type!r} for {host}: {exc}"
        ) from None
    return SdkAuth(config), "databricks-sdk"
