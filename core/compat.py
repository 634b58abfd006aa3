"""Arguments of the official integrations (``databricks-langchain``,
``llama-index-llms-databricks``) translated to :class:`core.settings.ClientSettings` values, once
for both adapters.

| argument | meaning here |
|---|---|
| ``target_uri`` | ``"databricks"``, ``"databricks://<profile>"`` or a workspace URL (deprecated there too: warns) |
| ``api_base`` / ``DATABRICKS_SERVING_ENDPOINT`` | ``{host}/serving-endpoints`` -> host + serving endpoints; any other URL -> ``base_url`` |
| ``use_ai_gateway`` | ``True``: Unity AI Gateway (``/ai-gateway/mlflow/v1``); ``False``: serving endpoints |
| ``use_ai_gateway_native_api`` | AI Gateway's native OpenAI-compatible API (``{host}/ai-gateway/openai/v1``), as ``databricks-openai`` routes it |
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from core.errors import ConfigurationError

_SERVING_SUFFIX = "/serving-endpoints"
TARGET_URI_DEPRECATED = (
    "The 'target_uri' parameter is deprecated and will be removed in a future version. "
    "Use 'workspace_client' (or host/profile) instead."
)


def model_from(*names: tuple[str, Any]) -> str | None:
    """The model from its aliases (``("model", m), ("endpoint", e), ...``); two different
    values is an error."""
    given = [(alias, value) for alias, value in names if value]
    if len({value for _alias, value in given}) > 1:
        listed = ", ".join(f"{alias}={value!r}" for alias, value in given)
        raise ConfigurationError(f"conflicting model names: {listed}; pass only model=")
    return given[0][1] if given else None


def settings_from_aliases(
    *,
    host: str | None = None,
    base_url: str | None = None,
    endpoint_kind: str | None = None,
    profile: str | None = None,
    workspace_client: Any = None,
    target_uri: str | None = None,
    api_base: str | None = None,
    use_ai_gateway: bool | None = None,
    use_ai_gateway_native_api: bool | None = None,
    environ: Mapping[str, str] | None = None,
    target_uri_deprecated: bool = True,
) -> dict[str, Any]:
    """``host``/``base_url``/``endpoint_kind``/``profile`` after applying the aliases (only
    the keys that have a value). Contradictions raise :class:`ConfigurationError`."""
    env = os.environ if environ is None else environ
    if target_uri:
        if target_uri_deprecated:  # databricks-langchain's DatabricksEmbeddings still uses it
            warnings.warn(TARGET_URI_DEPRECATED, DeprecationWarning, stacklevel=4)
        if workspace_client is not None:
            raise ConfigurationError(
                "Cannot specify both 'workspace_client' and 'target_uri'. "
                "Please use 'workspace_client' only."
            )
        if target_uri.startswith(("http://", "https://")):
            host = host or target_uri
        elif target_uri.startswith("databricks://"):
            profile = profile or target_uri[len("databricks://") :] or None
        elif target_uri != "databricks":
            raise ConfigurationError(
                f"target_uri {target_uri!r} is not supported: use 'databricks', "
                "'databricks://<profile>' or a workspace URL"
            )
    # llama-index-llms-databricks: api_base ending in /serving-endpoints, or the
    # DATABRICKS_SERVING_ENDPOINT variable. Never OpenAI's variables.
    if host is None and base_url is None:
        api_base = api_base or env.get("DATABRICKS_SERVING_ENDPOINT") or None
    if api_base:
        base = api_base.rstrip("/")
        if base.endswith(_SERVING_SUFFIX):
            host = host or base[: -len(_SERVING_SUFFIX)]
            endpoint_kind = endpoint_kind or "serving"
        elif base_url is None:
            base_url = base
    if use_ai_gateway_native_api:
        if use_ai_gateway:
            raise ConfigurationError(
                "Cannot set both `use_ai_gateway` and `use_ai_gateway_native_api` to True. "
                "Please set only one of them."
            )
        if base_url is not None:
            raise ConfigurationError(
                "Cannot specify both 'use_ai_gateway_native_api' and 'base_url'."
            )
        if endpoint_kind not in (None, "gateway-openai"):
            raise ConfigurationError(
                f"use_ai_gateway_native_api=True contradicts endpoint_kind={endpoint_kind!r}"
            )
        endpoint_kind = "gateway-openai"
    elif use_ai_gateway is not None and base_url is None:
        wanted = "gateway" if use_ai_gateway else "serving"
        if endpoint_kind not in (None, wanted):
            raise ConfigurationError(
                f"use_ai_gateway={use_ai_gateway} contradicts endpoint_kind={endpoint_kind!r}"
            )
        endpoint_kind = wanted
    out = {"host": host, "base_url": base_url, "endpoint_kind": endpoint_kind, "profile": profile}
    return {k: v for k, v in out.items() if v is not None}
