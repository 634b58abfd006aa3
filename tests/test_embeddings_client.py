"""core.embeddings.DatabricksEmbeddingsClient at the transport level (respx): routes, bodies,
batching, bounded concurrency, order whatever order answers arrive in, usage, typed errors,
bad input refused before any request."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest
import respx

from core.embedding_registry import _reset_overrides, register_embedding_model
from core.embeddings import DatabricksEmbeddingsClient
from core.errors import (
    BadRequestError,
    ConfigurationError,
    InvalidRequestError,
    RateLimitError,
    ResponseParseError,
)

HOST = "https://example.cloud.databricks.com"
SERVING = f"{HOST}/serving-endpoints/embeddings"


def client(model: str = "databricks-gte-large-en", **kw: Any) -> DatabricksEmbeddingsClient:
    kw.setdefault("transport", "httpx")
    return DatabricksEmbeddingsClient(model=model, host=HOST, token="dapi-test-token", **kw)


def vector_of(text: str) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text)) % 97)]


def answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [{"object": "embedding", "index": i, "embedding": vector_of(t)} for i, t in enumerate(texts)]
    data.reverse()  # index order is the contract, not array order
    n = sum(len(t.split()) for t in texts)
    return httpx.Response(
        200,
        json={"object": "list", "model": "gte", "data": data, "usage": {"prompt_tokens": n, "total_tokens": n}},
    )


@pytest.fixture(autouse=True)
def _registry() -> Any:
    yield
    _reset_overrides()


# -- routes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "kw", "url", "body_model"),
    [
        ("databricks-gte-large-en", {}, SERVING, "databricks-gte-large-en"),
        ("system.ai.gte-large-en", {}, f"{HOST}/ai-gateway/mlflow/v1/embeddings", "system.ai.gte-large-en"),
        ("databricks-bge-large-en", {"endpoint_kind": "invocations"}, f"{HOST}/serving-endpoints/databricks-bge-large-en/invocations", None),
        ("text-embedding-3-small", {"base_url": "https://proxy.example.com/v1"}, "https://proxy.example.com/v1/embeddings", "text-embedding-3-small"),
        ("databricks-gte-large-en", {"endpoint_kind": "gateway"}, f"{HOST}/ai-gateway/mlflow/v1/embeddings", "databricks-gte-large-en"),
    ],
)  # fmt: skip
@respx.mock
def test_routes_and_bodies(model: str, kw: dict[str, Any], url: str, body_model: str | None) -> None:
    route = respx.post(url).mock(side_effect=answer)
    result = client(model, **kw).embed(["hello world", "bye"])
    assert result.vectors == [vector_of("hello world"), vector_of("bye")]
    sent = json.loads(route.calls.last.request.content)
    assert sent.get("model") == body_model
    assert sent["input"] == ["hello world", "bye"]
    # base64 float32 on Databricks' OpenAI-compatible serving route; floats elsewhere
    assert sent.get("encoding_format") == ("base64" if url == SERVING else None)
    assert route.calls.last.request.headers["Authorization"] == "Bearer dapi-test-token"


def test_apps_and_empty_model_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="apps serve agents, not embeddings"):
        client("apps/my-app")
    with pytest.raises(ConfigurationError, match="no model"):
        DatabricksEmbeddingsClient(host=HOST, token="dapi-x")


def test_chat_format_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="leave them unset"):
        client(use_responses_api=True)
    with pytest.raises(ConfigurationError, match="leave them unset"):
        client(api="chat")


def test_a_known_chat_model_is_refused_before_credentials() -> None:
    with pytest.raises(ConfigurationError, match="chat model") as info:
        DatabricksEmbeddingsClient(model="databricks-claude-sonnet-4-5")  # no host: not needed
    assert "databricks-gte-large-en" in str(info.value)


# -- batching, order, concurrency, usage ----------------------------------------------------
@respx.mock
def test_batches_follow_the_registry_and_usage_is_summed() -> None:
    route = respx.post(SERVING).mock(side_effect=answer)
    texts = [f"text number {i}" for i in range(250)]
    result = client().embed(texts)
    sizes = sorted(len(json.loads(c.request.content)["input"]) for c in route.calls)
    assert sizes == [50, 100, 100]  # sent concurrently: in any order
    assert result.requests == 3
    assert result.vectors == [vector_of(t) for t in texts]
    assert result.usage is not None and result.usage.prompt_tokens == 750
    assert result.model == "gte"


@respx.mock
def test_a_registered_model_batches_by_its_limit() -> None:
    register_embedding_model({"name": "my-embedder", "max_batch": 7, "dimensions": 2})
    route = respx.post(SERVING).mock(side_effect=answer)
    client("my-embedder", max_concurrency=1).embed([str(i) for i in range(20)])
    assert [len(json.loads(c.request.content)["input"]) for c in route.calls] == [7, 7, 6]


@respx.mock
def test_sync_order_is_kept_when_answers_arrive_reversed_and_concurrency_is_bounded() -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    finished: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        first = json.loads(request.content)["input"][0]
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.6 if first == "doc 0" else 0.05)  # batch 0 answers last
        with lock:
            state["now"] -= 1
            finished.append(first)
        return answer(request)

    respx.post(SERVING).mock(side_effect=slow)
    texts = [f"doc {i}" for i in range(100)]
    c = client(batch_size=10, max_concurrency=3)
    result = c.embed(texts)
    assert result.vectors == [vector_of(t) for t in texts]
    assert state["max"] == 3
    assert finished[0] != "doc 0", finished  # answers really came back out of order
    c.max_concurrency = 1  # adjustable between calls
    state["max"] = 0
    c.embed(texts)
    assert state["max"] == 1


@respx.mock
async def test_async_order_is_kept_and_concurrency_is_bounded() -> None:
    state = {"now": 0, "max": 0}
    finished: list[str] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        first = json.loads(request.content)["input"][0]
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.6 if first == "doc 0" else 0.05)  # batch 0 answers last
        state["now"] -= 1
        finished.append(first)
        return answer(request)

    respx.post(SERVING).mock(side_effect=slow)
    texts = [f"doc {i}" for i in range(100)]
    result = await client(batch_size=10).aembed(texts, concurrency=4)
    assert result.vectors == [vector_of(t) for t in texts]
    assert state["max"] == 4
    assert finished[0] != "doc 0"
    assert result.usage is not None and result.usage.total_tokens == 200


@respx.mock
def test_progress_reports_every_input_once() -> None:
    respx.post(SERVING).mock(side_effect=answer)
    seen: list[tuple[int, int]] = []
    client(batch_size=30).embed([str(i) for i in range(100)], on_progress=lambda d, t: seen.append((d, t)))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (100, 100) and len(seen) == 4


# -- params ---------------------------------------------------------------------------------
@respx.mock
def test_encoding_format_can_be_chosen() -> None:
    route = respx.post(SERVING).mock(side_effect=answer)
    client(params={"encoding_format": "float"}).embed(["a"])
    assert json.loads(route.calls.last.request.content)["encoding_format"] == "float"


@respx.mock
def test_params_are_sent_and_per_call_params_win() -> None:
    route = respx.post(SERVING).mock(side_effect=answer)
    c = client("databricks-bge-large-en", params={"instruction": "doc"})
    c.embed(["a"])
    assert json.loads(route.calls.last.request.content)["instruction"] == "doc"
    c.embed(["a"], params={"instruction": "Represent this sentence for searching"})
    assert json.loads(route.calls.last.request.content)["instruction"].startswith("Represent")


def test_dimensions_for_a_fixed_size_model_are_refused_at_construction() -> None:
    with pytest.raises(InvalidRequestError, match="takes no 'dimensions'"):
        client(params={"dimensions": 256})


# -- bad input: nothing is sent ---------------------------------------------------------------
@respx.mock
def test_bad_input_is_refused_before_any_request() -> None:
    route = respx.post(SERVING).mock(side_effect=answer)
    c = client("databricks-bge-large-en")
    assert c.embed([]).vectors == []
    with pytest.raises(InvalidRequestError, match="input #1 is a int"):
        c.embed(["fine", 7])
    with pytest.raises(InvalidRequestError, match="input #0 has at least 600 tokens"):
        c.embed(["word " * 600, "fine"])
    with pytest.raises(InvalidRequestError, match="list of strings"):
        c.embed("a string, not a list")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="takes no 'dimensions'"):
        c.embed(["a"], params={"dimensions": 64})
    with pytest.raises(InvalidRequestError, match="batch_size"):
        c.embed(["a"], batch_size=0)
    assert route.call_count == 0


@respx.mock
async def test_async_empty_list_sends_nothing() -> None:
    route = respx.post(SERVING).mock(side_effect=answer)
    assert (await client().aembed([])).vectors == []
    assert route.call_count == 0


# -- errors ---------------------------------------------------------------------------------
@respx.mock
def test_server_errors_are_typed_and_retried() -> None:
    route = respx.post(SERVING).mock(
        side_effect=[
            httpx.Response(429, json={"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}, headers={"Retry-After": "0"}),
            httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0]}]}),
        ]
    )  # fmt: skip
    assert client().embed(["a"]).vectors == [[1.0]]
    assert route.call_count == 2
    route.side_effect = None
    route.return_value = httpx.Response(400, json={"error_code": "BAD_REQUEST", "message": "too many"})
    with pytest.raises(BadRequestError, match="too many"):
        client().embed(["a"])
    route.return_value = httpx.Response(429, json={"message": "no"}, headers={"Retry-After": "0"})
    with pytest.raises(RateLimitError):
        client(max_retries=0).embed(["a"])


@respx.mock
def test_one_failing_batch_fails_the_call() -> None:
    def fail_third(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["input"][0] == "20":
            return httpx.Response(200, json={"unexpected": True})
        return answer(request)

    respx.post(SERVING).mock(side_effect=fail_third)
    with pytest.raises(ResponseParseError, match="unexpected"):
        client(batch_size=10).embed([str(i) for i in range(50)])


@respx.mock
async def test_one_failing_batch_fails_the_async_call() -> None:
    def fail_third(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["input"][0] == "20":
            return httpx.Response(400, json={"error_code": "BAD_REQUEST", "message": "nope"})
        return answer(request)

    respx.post(SERVING).mock(side_effect=fail_third)
    with pytest.raises(BadRequestError, match="nope"):
        await client(batch_size=10).aembed([str(i) for i in range(50)])


def test_repr_and_copy_hide_the_token() -> None:
    import copy

    c = client()
    assert "dapi" not in repr(c)
    twin = copy.deepcopy(c)
    assert twin.route.url == c.route.url and twin is not c
    assert twin.batch_size == c.batch_size


@respx.mock
def test_attempts_pass_the_endpoints_shared_adaptive_limiter() -> None:
    c = client("limiter-test-embedder")  # an endpoint no other test has touched
    assert c.limiter is not None and c.limiter is client("limiter-test-embedder").limiter
    assert client("limiter-test-embedder", adaptive_concurrency=False).limiter is None
    before = c.limiter.limit
    respx.post(SERVING).mock(
        side_effect=[
            httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "0"}),
            httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0]}]}),
        ]
    )
    assert c.embed(["a"]).vectors == [[1.0]]
    assert c.limiter.limit < before  # the 429 cut the shared limit
