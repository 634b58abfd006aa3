"""LangChain integration: ``from langchain_plugin import ChatDatabricks, DatabricksEmbeddings``.

Importing the package is cheap; each class (and LangChain's machinery) loads on first attribute
access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from langchain_plugin.chat_models import ChatDatabricks
    from langchain_plugin.embeddings import DatabricksEmbeddings

__all__ = ["ChatDatabricks", "DatabricksEmbeddings"]
_LAZY = {
    "ChatDatabricks": "langchain_plugin.chat_models",
    "DatabricksEmbeddings": "langchain_plugin.embeddings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'langchain_plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
