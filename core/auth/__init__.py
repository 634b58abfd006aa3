"""Credential providers behind one small interface: the Authorization header for the next request.

``resolve_auth(settings)`` picks the provider the way the databricks-sdk does (explicit
arguments, then environment, then ``~/.databrickscfg``) and returns ``(host, provider)``.
"""

from __future__ import annotations

from core.auth.base import AuthProvider
from core.auth.resolve import ResolvedAuth, normalize_host, resolve_auth

__all__ = ["AuthProvider", "ResolvedAuth", "normalize_host", "resolve_auth"]
