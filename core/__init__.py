"""Databricks model serving, framework-neutral: auth, routing, codecs, transport, registry.

Import is cheap on purpose: submodules load on first use (see ``__getattr__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core._version import __version__

_LAZY = {
    "DatabricksChatClient": "core.client",
    "DatabricksEmbeddingsClient": "core.embeddings",
    "ClientSettings": "core.settings",
    "ModelInfo": "core.registry",
    "lookup_model": "core.registry",
}

if TYPE_CHECKING:  # pragma: no cover
    from core.client import DatabricksChatClient
    from core.embeddings import DatabricksEmbeddingsClient
    from core.registry import ModelInfo, lookup_model
    from core.settings import ClientSettings


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ClientSettings",
    "DatabricksChatClient",
    "DatabricksEmbeddingsClient",
    "ModelInfo",
    "__version__",
    "lookup_model",
]
