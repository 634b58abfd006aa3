"""The emulator's embedding endpoints: routes, geometry that retrieval can use, limits refused
with a Databricks error body, through raw HTTP and through the core client."""

from __future__ import annotations

import asyncio
import base64
import math
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from embedding_helpers import received

from core.embeddings import DatabricksEmbeddingsClient
from core.emulator import arun_emulator, run_emulator
from core.emulator.embeddings import MAX_INPUTS, embed_text
from core.errors import BadRequestError, RateLimitError


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator() as e:
        yield e


def post(emu: Any, path: str, body: Any) -> httpx.Response:
    return httpx.post(
        emu.host + path, json=body, headers={"Authorization": f"Bearer {emu.token}"}, timeout=30
    )


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


DOCS = [
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar.",
    "The Databricks lakehouse stores tables in Delta Lake format.",
    "Mount Everest is the highest mountain above sea level.",
]


def test_vectors_are_unit_length_deterministic_and_similar_texts_are_close() -> None:
    a = embed_text("How do plants use sunlight?", 1024)
    assert math.isclose(math.sqrt(sum(x * x for x in a)), 1.0)
    assert a == embed_text("How do plants use sunlight?", 1024)
    scores = [cosine(a, embed_text(d, 1024)) for d in DOCS]
    assert max(range(len(DOCS)), key=scores.__getitem__) == 1
    assert embed_text("", 16) == embed_text("", 16)  # an empty text still gets a unit vector


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/serving-endpoints/embeddings", "databricks-gte-large-en"),
        ("/ai-gateway/mlflow/v1/embeddings", "system.ai.gte-large-en"),
        ("/serving-endpoints/databricks-bge-large-en/invocations", None),
    ],
)
def test_routes_answer_the_openai_shape(emu: Any, path: str, model: str | None) -> None:
    body: dict[str, Any] = {"input": ["alpha beta", "gamma"]}
    if model:
        body["model"] = model
    r = post(emu, path, body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["object"] == "list"
    assert [d["index"] for d in data["data"]] == [0, 1]
    assert len(data["data"][0]["embedding"]) == 1024
    assert data["usage"] == {"prompt_tokens": 3, "total_tokens": 3}


def test_a_single_string_input_and_base64(emu: Any) -> None:
    r = post(emu, "/serving-endpoints/embeddings", {"model": "databricks-gte-large-en", "input": "hi", "encoding_format": "base64"})  # fmt: skip
    packed = r.json()["data"][0]["embedding"]
    floats = struct.unpack("<1024f", base64.b64decode(packed))
    assert math.isclose(sum(x * x for x in floats), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "databricks-gte-large-en", "input": ["x"] * (MAX_INPUTS + 1)}, "Input batch size 101 exceeds"),
        ({"model": "databricks-bge-large-en", "input": ["ok", "word " * 513]}, "Input 1 has 513 tokens"),
        ({"model": "databricks-gte-large-en", "input": ["a"], "dimensions": 256}, "'dimensions' is not supported"),
        ({"model": "databricks-qwen3-embedding-0-6b", "input": ["a"], "dimensions": 4096}, "between 32 and 1024"),
        ({"model": "databricks-gte-large-en", "input": []}, "non-empty list"),
        ({"model": "databricks-gte-large-en", "input": ["a", 3]}, "'input[1]' must be a string"),
        ({"model": "databricks-claude-sonnet-4-5", "input": ["a"]}, "does not support embeddings"),
        ({"input": ["a"]}, "Missing required field 'model'"),
        ({"model": "databricks-gte-large-en", "input": ["a"], "encoding_format": "hex"}, "encoding_format"),
    ],
)  # fmt: skip
def test_limits_are_refused_with_a_databricks_error_body(emu: Any, body: dict, message: str) -> None:
    r = post(emu, "/serving-endpoints/embeddings", body)
    assert r.status_code == 400
    assert set(r.json()) == {"error_code", "message"}
    assert message in r.json()["message"]


def test_matryoshka_dimensions(emu: Any) -> None:
    r = post(emu, "/serving-endpoints/embeddings", {"model": "databricks-qwen3-embedding-0-6b", "input": ["a b"], "dimensions": 256})  # fmt: skip
    assert len(r.json()["data"][0]["embedding"]) == 256


def test_auth_and_missing_endpoints(emu: Any) -> None:
    r = httpx.post(emu.host + "/serving-endpoints/embeddings", json={"model": "x", "input": ["a"]})
    assert r.status_code == 401
    r = post(emu, "/serving-endpoints/embeddings", {"model": "does-not-exist-embed", "input": ["a"]})
    assert r.status_code == 404


def test_endpoint_list_shows_embedding_endpoints(emu: Any) -> None:
    r = httpx.get(emu.host + "/api/2.0/serving-endpoints", headers={"Authorization": f"Bearer {emu.token}"})
    tasks = {e["name"]: e["task"] for e in r.json()["endpoints"]}
    assert tasks["databricks-gte-large-en"] == "llm/v1/embeddings"
    assert tasks["databricks-claude-sonnet-4-5"] == "llm/v1/chat"


# -- through the core client -----------------------------------------------------------------
def test_client_retrieval_finds_the_right_document(emu: Any) -> None:
    for kind in (None, "invocations", "gateway"):
        model = "system.ai.gte-large-en" if kind == "gateway" else "databricks-gte-large-en"
        c = DatabricksEmbeddingsClient(model=model, host=emu.host, token=emu.token, endpoint_kind=kind)
        docs = c.embed(DOCS).vectors
        query = c.embed_one("Which format does the lakehouse use for tables?")
        best = max(range(len(DOCS)), key=lambda i: cosine(query, docs[i]))
        assert best == 2, kind


def test_client_over_the_emulator_limit_is_a_typed_error(emu: Any) -> None:
    c = DatabricksEmbeddingsClient(model="databricks-gte-large-en", host=emu.host, token=emu.token, batch_size=150)
    with pytest.raises(BadRequestError, match="exceeds the maximum of 100"):
        c.embed(["a"] * 150)
    # Within the client's lower bound but over the server's count (punctuation): the server says no.
    bge = DatabricksEmbeddingsClient(model="databricks-bge-large-en", host=emu.host, token=emu.token)
    with pytest.raises(BadRequestError, match="513 tokens"):
        bge.embed(["word " * 300 + "! " * 213])


def test_client_retries_a_429_from_the_emulator(emu: Any) -> None:
    c = DatabricksEmbeddingsClient(model="databricks-gte-large-en", host=emu.host, token=emu.token)
    c.http.sleep = lambda s: None
    emu.set_fault("429:1")
    try:
        assert len(c.embed(["a"]).vectors) == 1
        emu.set_fault("429")
        c.http.max_retries = 0
        with pytest.raises(RateLimitError):
            c.embed(["a"])
    finally:
        emu.set_fault(None)


async def test_async_client_against_the_async_emulator() -> None:
    async with arun_emulator() as e:
        c = DatabricksEmbeddingsClient(model="databricks-bge-large-en", host=e.host, token=e.token)
        texts = [f"note {i} about topic {i % 7}" for i in range(450)]
        result = await c.aembed(texts, concurrency=3)
        assert result.requests == 5
        assert result.vectors == [received(t) for t in texts]
        assert result.usage is not None and result.usage.prompt_tokens == 450 * 5
        await c.aclose()
    await asyncio.sleep(0)
