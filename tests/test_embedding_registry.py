"""core.embedding_registry: the data file, name forms, defaults for unknown names, overrides."""

from __future__ import annotations

import pytest

from core.embedding_registry import (
    _reset_overrides,
    is_embedding_model,
    lookup_embedding_model,
    register_embedding_model,
)


@pytest.fixture(autouse=True)
def _clean() -> object:
    yield
    _reset_overrides()


@pytest.mark.parametrize("name", ["databricks-gte-large-en", "system.ai.gte-large-en", "GTE-Large-En"])
def test_name_forms_find_one_entry(name: str) -> None:
    info = lookup_embedding_model(name)
    assert info.known and info.name == "gte-large-en"
    assert (info.dimensions, info.max_input_tokens, info.max_batch) == (1024, 8192, 100)


def test_hosted_models() -> None:
    assert lookup_embedding_model("databricks-bge-large-en").max_input_tokens == 512
    qwen = lookup_embedding_model("databricks-qwen3-embedding-0-6b")
    assert qwen.supports_dimensions and qwen.dimensions == 1024
    assert lookup_embedding_model("text-embedding-3-large").dimensions == 3072


def test_unknown_names_get_safe_defaults() -> None:
    info = lookup_embedding_model("my-team-embedder")
    assert not info.known and info.name == "my-team-embedder"
    assert info.max_input_tokens is None and info.max_batch == 100
    assert not is_embedding_model("databricks-claude-sonnet-4-5")


def test_register_overrides_and_aliases() -> None:
    info = register_embedding_model({"name": "my-team-embedder", "dimensions": 384, "aliases": ["team-emb"]})
    assert info.known and lookup_embedding_model("team-emb").dimensions == 384
    bigger = register_embedding_model({"name": "databricks-gte-large-en", "max_batch": 16})
    assert bigger.max_batch == 16 and bigger.dimensions == 1024  # the rest kept
    _reset_overrides()
    assert lookup_embedding_model("databricks-gte-large-en").max_batch == 100
    assert not lookup_embedding_model("team-emb").known


@pytest.mark.parametrize(
    "entry",
    [{"name": ""}, {"name": "x", "max_batch": 0}, {"name": "x", "dimensions": -1}, {"name": "x", "colour": "red"}],
)
def test_register_refuses_bad_entries(entry: dict) -> None:
    with pytest.raises(ValueError):
        register_embedding_model(entry)
