"""core.codecs.embeddings: input checks, batch planning, request bodies, every answer shape."""

from __future__ import annotations

import base64
import struct

import pytest

from core.codecs.embeddings import (
    MAX_BATCH_BYTES,
    EmbeddingUsage,
    build_request,
    check_inputs,
    check_params,
    min_tokens,
    parse_response,
    plan_batches,
)
from core.embedding_registry import lookup_embedding_model
from core.errors import APIError, InvalidRequestError, ResponseParseError

GTE = lookup_embedding_model("databricks-gte-large-en")
BGE = lookup_embedding_model("databricks-bge-large-en")
QWEN = lookup_embedding_model("databricks-qwen3-embedding-0-6b")
UNKNOWN = lookup_embedding_model("my-custom-embedder")


# -- inputs ---------------------------------------------------------------------------------
def test_check_inputs_accepts_strings_and_tuples() -> None:
    assert check_inputs(("a", "b"), GTE) == ["a", "b"]
    assert check_inputs([], GTE) == []
    assert check_inputs([""], GTE) == [""]


@pytest.mark.parametrize("bad", ["one string", b"bytes", 42, None, {"a": 1}])
def test_check_inputs_refuses_a_non_list(bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="list of strings"):
        check_inputs(bad, GTE)


def test_check_inputs_names_the_non_string_item() -> None:
    with pytest.raises(InvalidRequestError, match=r"input #2 is a int, not a string"):
        check_inputs(["a", "b", 3, "d"], GTE)
    with pytest.raises(InvalidRequestError, match=r"input #0 is a NoneType"):
        check_inputs([None], GTE)


def test_check_inputs_names_the_item_over_the_token_limit() -> None:
    ok = "word " * 512
    too_long = "word " * 513
    assert check_inputs([ok], BGE) == [ok]
    with pytest.raises(InvalidRequestError) as info:
        check_inputs([ok, ok, too_long], BGE)
    assert "input #2 has at least 513 tokens" in str(info.value)
    assert "bge-large-en accepts at most 512 tokens" in str(info.value)
    assert check_inputs([too_long], GTE) == [too_long]  # GTE takes 8192
    assert check_inputs(["word " * 100_000], UNKNOWN)  # limit unknown: not checked


def test_min_tokens_is_a_lower_bound_not_a_guess() -> None:
    # A long word without spaces is one run: the check never refuses what might fit.
    assert min_tokens("x" * 10_000) == 1
    assert min_tokens("Hello, world! It's 2026.") == 5
    assert check_inputs(["x" * 10_000], BGE)


def test_check_inputs_refuses_a_single_input_larger_than_a_request() -> None:
    huge = "x" * (MAX_BATCH_BYTES + 1)
    with pytest.raises(InvalidRequestError, match=r"input #1 is 4\.0 MB"):
        check_inputs(["ok", huge], UNKNOWN)


def test_check_params_refuses_dimensions_where_the_model_has_none() -> None:
    check_params({"dimensions": 256}, QWEN)
    check_params({"dimensions": 256}, UNKNOWN)  # unknown model: the endpoint decides
    check_params({"instruction": "Represent this"}, GTE)
    with pytest.raises(InvalidRequestError, match="takes no 'dimensions'"):
        check_params({"dimensions": 256}, GTE)
    with pytest.raises(InvalidRequestError, match="more than the 1024"):
        check_params({"dimensions": 2048}, QWEN)
    with pytest.raises(InvalidRequestError, match="positive integer"):
        check_params({"dimensions": "256"}, QWEN)


# -- batches --------------------------------------------------------------------------------
def test_plan_batches_by_count() -> None:
    texts = [str(i) for i in range(250)]
    assert plan_batches(texts, 100) == [(0, 100), (100, 200), (200, 250)]
    assert plan_batches(texts[:100], 100) == [(0, 100)]
    assert plan_batches([], 100) == []


def test_plan_batches_by_bytes_keeps_each_request_under_the_budget() -> None:
    texts = ["é" * 1000] * 50  # 2,000 UTF-8 bytes each
    spans = plan_batches(texts, 100, max_bytes=10_000)
    assert spans[0] == (0, 4)
    assert all(end - start <= 4 for start, end in spans)
    assert spans[-1] == (48, 50)
    assert [start for start, _ in spans] == list(range(0, 50, 4))


def test_plan_batches_puts_an_oversized_item_alone() -> None:
    texts = ["a", "b" * 50, "c"]
    assert plan_batches(texts, 100, max_bytes=40) == [(0, 1), (1, 2), (2, 3)]


def test_plan_batches_refuses_a_zero_batch() -> None:
    with pytest.raises(InvalidRequestError):
        plan_batches(["a"], 0)


def test_build_request() -> None:
    assert build_request(["a"], model="m", params=None) == {"input": ["a"], "model": "m"}
    assert build_request(["a"], model=None, params={"instruction": "q"}) == {
        "instruction": "q",
        "input": ["a"],
    }
    with pytest.raises(InvalidRequestError, match="input"):
        build_request(["a"], model="m", params={"input": ["x"]})


# -- answers --------------------------------------------------------------------------------
def test_openai_shape_is_put_back_in_index_order_with_usage() -> None:
    data = {
        "object": "list",
        "model": "gte-large-en",
        "data": [
            {"object": "embedding", "index": 2, "embedding": [3, 3.5]},
            {"object": "embedding", "index": 0, "embedding": [1.0, 1.5]},
            {"object": "embedding", "index": 1, "embedding": [2.0, 2.5]},
        ],
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    }
    batch = parse_response(data, 3)
    assert batch.vectors == [[1.0, 1.5], [2.0, 2.5], [3.0, 3.5]]
    assert all(isinstance(x, float) for x in batch.vectors[2])
    assert batch.usage == EmbeddingUsage(7, 7)
    assert batch.model == "gte-large-en"


def test_openai_shape_without_index_keeps_position_and_no_usage_is_none() -> None:
    batch = parse_response({"data": [{"embedding": [1.0]}, {"embedding": [2.0]}]}, 2)
    assert batch.vectors == [[1.0], [2.0]]
    assert batch.usage is None


def test_huge_finite_values_are_kept() -> None:
    assert parse_response({"embeddings": [[1e308, 1e308]]}, 1).vectors == [[1e308, 1e308]]


def test_base64_embeddings_are_decoded() -> None:
    packed = base64.b64encode(struct.pack("<3f", 0.5, -1.0, 2.0)).decode()
    batch = parse_response({"data": [{"index": 0, "embedding": packed}]}, 1)
    assert batch.vectors == [[0.5, -1.0, 2.0]]


def test_mlflow_and_predictions_shapes() -> None:
    assert parse_response({"embeddings": [[1, 2], [3, 4]]}, 2).vectors == [[1.0, 2.0], [3.0, 4.0]]
    assert parse_response({"predictions": [[0.1]]}, 1).vectors == [[0.1]]


@pytest.mark.parametrize(
    ("data", "expected", "message"),
    [
        ({"result": []}, 1, r"keys \[result\]"),
        ([1, 2], 2, "JSON object"),
        ({"data": {"x": 1}}, 1, "'data' is a dict"),
        ({"data": [{"index": 0}]}, 1, "not an embedding object"),
        ({"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}, 2, "repeated"),
        ({"data": [{"index": 5, "embedding": [1.0]}]}, 1, "bad or repeated index 5"),
        ({"data": [{"index": 0, "embedding": [1.0, "x"]}]}, 1, "not a finite number"),
        ({"data": [{"index": 0, "embedding": [1.0, None]}]}, 1, "not a finite number"),
        ({"data": [{"index": 0, "embedding": [float("inf")]}]}, 1, "not a finite number"),
        ({"data": [{"index": 0, "embedding": base64.b64encode(struct.pack("<2f", 1.0, float("nan"))).decode()}]}, 1, "NaN or an infinity"),
        ({"data": [{"index": 0, "embedding": [float("nan")]}]}, 1, "not a finite number"),
        ({"data": [{"index": 0, "embedding": "not base64!"}]}, 1, "not base64"),
        ({"embeddings": [[1.0], [1.0, 2.0]]}, 2, "has 2 dimensions"),
        ({"embeddings": [[]]}, 1, "has 0 dimensions"),
        ({"predictions": {"a": 1}}, 1, "'predictions' is a dict"),
    ],
)
def test_unknown_or_broken_shapes_raise_naming_what_arrived(
    data: object, expected: int, message: str
) -> None:
    with pytest.raises(ResponseParseError, match=message):
        parse_response(data, expected)


def test_a_count_mismatch_raises() -> None:
    with pytest.raises(ResponseParseError, match="answered 1 embeddings for 2 inputs"):
        parse_response({"data": [{"index": 0, "embedding": [1.0]}]}, 2)


def test_an_error_body_with_status_200_is_an_api_error() -> None:
    with pytest.raises(APIError, match="quota") as info:
        parse_response({"error_code": "QUOTA_EXCEEDED", "message": "quota"}, 1)
    assert info.value.error_code == "QUOTA_EXCEEDED"
    with pytest.raises(APIError, match="boom"):
        parse_response({"error": {"message": "boom", "code": "x"}}, 1)
