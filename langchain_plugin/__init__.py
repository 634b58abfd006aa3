"""LangChain integration: ``from langchain_plugin import ChatDatabricks``.

Importing the package is cheap; the chat model class (and LangChain's model machinery) loads on
first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from langchain_plugin.chat_models import ChatDatabricks

__all__ = ["ChatDatabricks"]


def __getattr__(name: str) -> Any:
    if name == "ChatDatabricks":
        from langchain_plugin.chat_models import ChatDatabricks

        globals()["ChatDatabricks"] = ChatDatabricks
        return ChatDatabricks
    raise AttributeError(f"module 'langchain_plugin' has no attribute {name!r}")
