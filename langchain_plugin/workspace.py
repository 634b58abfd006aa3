"""Workspace settings shared by the LangChain classes (``ChatDatabricks``, ``DatabricksEmbeddings``):
from the class's fields to the core client's keyword arguments, in one place."""

from __future__ import annotations

from typing import Any

# Fields handed to the core client as they are (None means "let the core decide").
WORKSPACE_FIELDS = (
    "host",
    "client_id",
    "config_file",
    "auth_type",
    "token_provider",
    "workspace_client",
    "base_url",
    "timeout",
    "max_retries",
)


def workspace_kwargs(obj: Any) -> dict[str, Any]:
    """Host, credentials and transport settings of ``obj`` for a core client: the plain
    fields, ``databricks_profile`` as ``profile``, the secrets, and ``databricks-langchain``'s
    ``target_uri`` when no host was given."""
    kw: dict[str, Any] = {}
    for name in WORKSPACE_FIELDS:
        value = getattr(obj, name)
        if value is not None:
            kw[name] = value
    if obj.databricks_profile is not None:
        kw["profile"] = obj.databricks_profile
    if obj.token is not None:
        kw["token"] = obj.token
    if obj.client_secret is not None:
        kw["client_secret"] = obj.client_secret
    if obj.target_uri and "host" not in kw:
        from core.connection import target_uri_settings

        for key, value in target_uri_settings(obj.target_uri).items():
            kw.setdefault(key, value)
    return kw
