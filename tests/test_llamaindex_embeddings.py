"""llamaindex_plugin.DatabricksEmbedding against the emulator: BaseEmbedding's sync/async and
batch methods, embed_batch_size, llama-index-embeddings-databricks' arguments, warnings for what
cannot be honoured, bad input refused before sending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from embedding_helpers import received

from core.emulator import run_emulator
from core.emulator.embeddings import embed_text
from core.errors import ConfigurationError, InvalidRequestError
from llamaindex_plugin import DatabricksEmbedding


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator() as e:
        yield e


def make(emu: Any, **kw: Any) -> DatabricksEmbedding:
    kw.setdefault("model", "databricks-gte-large-en")
    return DatabricksEmbedding(host=emu.host, token=emu.token, **kw)


def test_sync_methods_and_batches(emu: Any) -> None:
    emb = make(emu, embed_batch_size=250, batch_size=50)
    emu.clear_requests()
    texts = [f"paragraph {i} on topic {i % 9}" for i in range(600)]
    vectors = emb.get_text_embedding_batch(texts)
    assert vectors == [received(t) for t in texts]
    sizes = [len(r.json["input"]) for r in emu.requests]
    assert sorted(sizes) == [50] * 12  # 250 + 250 + 100 handed over, 50 per request
    assert emb.get_query_embedding("topic 3") == received("topic 3")
    assert emb.get_text_embedding("x") == received("x")
    assert emb.last_usage is not None and emb.last_usage.total_tokens == 1


async def test_async_methods(emu: Any) -> None:
    emb = make(emu, model="system.ai.bge-large-en")
    texts = [f"line {i}" for i in range(30)]
    assert await emb.aget_text_embedding_batch(texts) == [embed_text(t, 1024) for t in texts]
    assert await emb.aget_query_embedding("q") == embed_text("q", 1024)
    assert await emb.aget_text_embedding("t") == embed_text("t", 1024)
    assert emb.client.route.url.endswith("/ai-gateway/mlflow/v1/embeddings")
    await emb.aclose()


def test_llama_index_embeddings_databricks_arguments(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    emu.clear_requests()
    emb = DatabricksEmbedding(
        model="databricks-qwen3-embedding-0-6b",
        endpoint=f"{emu.host}/serving-endpoints",
        api_key=emu.token,
        additional_kwargs={"dimensions": 256},
        embed_batch_size=100,
        max_retries=2,
        timeout=30.0,
        default_headers={"X-Team": "rag"},
    )
    assert emb.model_name == "databricks-qwen3-embedding-0-6b" and emb.embed_batch_size == 100
    assert len(emb.get_text_embedding("hello")) == 256
    req = emu.requests[-1]
    assert req.path == "/serving-endpoints/embeddings" and req.json["dimensions"] == 256
    assert req.headers["X-Team"] == "rag"
    # DATABRICKS_SERVING_ENDPOINT + DATABRICKS_TOKEN, as the official class reads them
    monkeypatch.setenv("DATABRICKS_SERVING_ENDPOINT", f"{emu.host}/serving-endpoints")
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    from_env = DatabricksEmbedding(model="databricks-bge-large-en")
    assert from_env.client.host == emu.host
    assert len(from_env.get_query_embedding("x")) == 1024


def test_your_own_httpx_clients_carry_the_requests(emu: Any) -> None:
    import asyncio

    import httpx

    seen: list[str] = []
    sync_client = httpx.Client(event_hooks={"request": [lambda r: seen.append("sync")]})

    async def note(request: httpx.Request) -> None:
        seen.append("async")

    emb = make(emu, http_client=sync_client,
               async_http_client=httpx.AsyncClient(event_hooks={"request": [note]}))
    assert len(emb.get_query_embedding("q")) == 1024
    assert len(asyncio.run(emb.aget_query_embedding("q"))) == 1024
    assert seen == ["sync", "async"]
    assert emu.requests[-1].headers["authorization"] == f"Bearer {emu.token}"
    emb.client.close()
    assert not sync_client.is_closed  # yours to close
    sync_client.close()


def test_what_cannot_be_honoured_warns_and_near_misses_raise(emu: Any) -> None:
    with pytest.warns(UserWarning, match="reuse_client=False is ignored"):
        make(emu, reuse_client=False)
    with pytest.raises(InvalidRequestError, match="did you mean 'batch_size'"):
        make(emu, batchsize=10)
    with pytest.warns(UserWarning, match="'instruction' is not a parameter"):
        emb = make(emu, model="databricks-bge-large-en", instruction="Represent this")
    emu.clear_requests()
    emb.get_query_embedding("q")
    assert emu.requests[-1].json["instruction"] == "Represent this"


def test_bad_input_and_models_are_refused_before_sending(emu: Any) -> None:
    emb = make(emu, model="databricks-bge-large-en")
    emu.clear_requests()
    with pytest.raises(InvalidRequestError, match="input #1 has at least 600 tokens"):
        emb.get_text_embedding_batch(["ok", "word " * 600])
    with pytest.raises(InvalidRequestError, match="input #0 is a int"):
        emb.get_text_embedding(5)  # type: ignore[arg-type]
    assert emu.requests == []
    with pytest.raises(ConfigurationError, match="chat model"):
        make(emu, model="databricks-gpt-5")
    with pytest.raises(ValueError, match="model=...\\) is required"):
        DatabricksEmbedding(host=emu.host, token=emu.token)
    with pytest.raises(InvalidRequestError, match="takes no 'dimensions'"):
        make(emu, additional_kwargs={"dimensions": 64})


def test_settings_embed_model_and_secrets(emu: Any) -> None:
    from llama_index.core import Settings

    emb = make(emu)
    previous = Settings._embed_model
    Settings.embed_model = emb
    try:
        assert Settings.embed_model is emb
    finally:
        Settings._embed_model = previous
    assert emu.token not in repr(emb) and emu.token not in emb.model_dump_json()
    assert DatabricksEmbedding.class_name() == "DatabricksEmbedding"
