"""Embeddings against a real Databricks workspace: only when DATABRICKS_HOST and credentials are
set (skipped otherwise, with the reason, by tests/conftest.py). The model can be chosen with
DATABRICKS_TEST_EMBEDDING_MODEL (default databricks-gte-large-en). These check the facts the
client assumes and docs/embeddings.md marks uncertain: the OpenAI-compatible route, base64
answers, 100 inputs per request, the AI Gateway route for the Unity Catalog name."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.workspace

MODEL = os.environ.get("DATABRICKS_TEST_EMBEDDING_MODEL", "databricks-gte-large-en")


def test_serving_route_batches_usage_and_similarity() -> None:
    from core.embeddings import DatabricksEmbeddingsClient

    client = DatabricksEmbeddingsClient(model=MODEL)
    texts = ["The cat sat on the mat.", "A cat was sitting on a rug.", "Quarterly revenue grew."]
    result = client.embed(texts * 40)  # 120 inputs: two requests of at most 100
    assert result.requests == 2 and len(result.vectors) == 120
    size = len(result.vectors[0])
    assert all(len(v) == size for v in result.vectors)
    if client.info.dimensions:
        assert size == client.info.dimensions
    assert result.usage is None or result.usage.prompt_tokens > 0

    def cos(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b, strict=True))
        return dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)

    v = result.vectors
    assert cos(v[0], v[1]) > cos(v[0], v[2])


def test_invocations_and_float_answers_match_base64() -> None:
    from core.embeddings import DatabricksEmbeddingsClient

    b64 = DatabricksEmbeddingsClient(model=MODEL).embed_one("hello world")
    floats = DatabricksEmbeddingsClient(model=MODEL, params={"encoding_format": "float"}).embed_one(
        "hello world"
    )
    native = DatabricksEmbeddingsClient(model=MODEL, endpoint_kind="invocations").embed_one(
        "hello world"
    )
    assert b64 == pytest.approx(floats, rel=1e-6, abs=1e-6)
    assert native == pytest.approx(floats, rel=1e-6, abs=1e-6)


async def test_adapters_sync_and_async() -> None:
    from langchain_plugin import DatabricksEmbeddings
    from llamaindex_plugin import DatabricksEmbedding

    lc = DatabricksEmbeddings(model=MODEL)
    assert len(lc.embed_documents(["a", "b"])) == 2
    assert len(await lc.aembed_query("a")) == len(lc.embed_query("a"))
    li = DatabricksEmbedding(model=MODEL)
    assert len(await li.aget_text_embedding_batch(["a", "b", "c"])) == 3
