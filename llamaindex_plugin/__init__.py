"""LlamaIndex integration: ``from llamaindex_plugin import Databricks, DatabricksEmbedding``.

Importing the package is cheap; each class (and llama-index-core's stack) loads on first
attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from llamaindex_plugin.embeddings import DatabricksEmbedding
    from llamaindex_plugin.llm import Databricks

    DataBricks = Databricks

__all__ = ["DataBricks", "Databricks", "DatabricksEmbedding"]


def __getattr__(name: str) -> Any:
    if name in ("Databricks", "DataBricks"):  # DataBricks: llama-index-llms-databricks' old name
        from llamaindex_plugin.llm import Databricks

        globals()[name] = Databricks
        return Databricks
    if name == "DatabricksEmbedding":
        from llamaindex_plugin.embeddings import DatabricksEmbedding

        globals()[name] = DatabricksEmbedding
        return DatabricksEmbedding
    raise AttributeError(f"module 'llamaindex_plugin' has no attribute {name!r}")
