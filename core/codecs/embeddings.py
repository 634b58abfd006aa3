"""Embeddings wire codec: pure functions, no I/O.

Requests (``{"input": [...], "model": ...}``; ``model`` only on routes that name it in the
body) and the answers Databricks endpoints send:

- OpenAI-compatible (foundation and external models, on every route):
  ``{"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...]}],
  "model": ..., "usage": {"prompt_tokens": n, "total_tokens": n}}``. ``data`` is put back in
  ``index`` order; an ``embedding`` that is a string is base64 little-endian float32 (what
  OpenAI sends for ``encoding_format="base64"``).
- MLflow deployments / old AI Gateway: ``{"embeddings": [[...], ...]}``.
- a custom model's ``/invocations``: ``{"predictions": [[...], ...]}``.

Anything else raises :class:`core.errors.ResponseParseError` naming what arrived. Input checks
(:func:`check_inputs`) and batch planning (:func:`plan_batches`) live here too, so the client
and the CLI apply the same rules before anything is sent.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import APIError, InvalidRequestError, ResponseParseError

if TYPE_CHECKING:  # pragma: no cover
    from core.embedding_registry import EmbeddingModelInfo

# Endpoints serving foundation or external models take at most 4 MB per request (Databricks
# "Model Serving limits"; 16 MB for custom models): batches are planned under this budget.
MAX_BATCH_BYTES = 4 * 1024 * 1024
_BYTES_OVERHEAD = 8  # quotes, comma and slack per input in the JSON array
_WORD = re.compile(r"\w+")
_LITTLE_ENDIAN = sys.byteorder == "little"  # base64 embeddings are little-endian float32


@dataclass(slots=True, frozen=True)
class EmbeddingUsage:
    prompt_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: EmbeddingUsage) -> EmbeddingUsage:
        return EmbeddingUsage(
            self.prompt_tokens + other.prompt_tokens, self.total_tokens + other.total_tokens
        )


@dataclass(slots=True)
class EmbeddingBatch:
    """One answer: vectors in input order, usage if the endpoint reported it."""

    vectors: list[list[float]]
    usage: EmbeddingUsage | None = None
    model: str | None = None


@dataclass(slots=True)
class EmbeddingResult:
    """All batches of one call, in input order; ``usage`` summed over the batches that
    reported it (None when none did); ``requests`` = how many were sent."""

    vectors: list[list[float]]
    usage: EmbeddingUsage | None
    model: str | None
    requests: int


# -- input ----------------------------------------------------------------------------------
def min_tokens(text: str) -> int:
    """A lower bound of the token count: every run of word characters is at least one token
    for the WordPiece (BGE/GTE) and byte-level BPE (Qwen, OpenAI) tokenizers, which never merge
    across spaces or punctuation. Used to refuse only what is surely too long."""
    return len(_WORD.findall(text))


def check_inputs(texts: Any, info: EmbeddingModelInfo) -> list[str]:
    """The inputs as a list of strings, or an InvalidRequestError naming the first bad item."""
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise InvalidRequestError(
            f"embeddings take a list of strings, got {type(texts).__name__}",
            hint="wrap a single text in a list, or use the single-text method (embed_query)",
        )
    out = list(texts)
    limit = info.max_input_tokens
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise InvalidRequestError(
                f"input #{i} is a {type(text).__name__}, not a string",
                hint="embed text only: convert or drop the non-string items",
            )
        if limit is not None and len(text) > limit and min_tokens(text) > limit:
            raise InvalidRequestError(
                f"input #{i} has at least {min_tokens(text)} tokens; {info.name} accepts at "
                f"most {limit} tokens per input",
                hint="split long documents into chunks (e.g. a text splitter) before embedding",
            )
        if len(text) * 4 + _BYTES_OVERHEAD > MAX_BATCH_BYTES and _size(text) > MAX_BATCH_BYTES:
            raise InvalidRequestError(
                f"input #{i} is {_size(text) / 1_048_576:.1f} MB; a request to a Databricks "
                f"model endpoint may carry at most {MAX_BATCH_BYTES // 1_048_576} MB",
                hint="split long documents into chunks before embedding",
            )
    return out


def check_params(params: Mapping[str, Any], info: EmbeddingModelInfo) -> None:
    """Refuse what the registry knows the model does not take (``dimensions`` on a model
    without Matryoshka support); unknown models are given the benefit of the doubt."""
    size = params.get("dimensions")
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidRequestError(f"dimensions must be a positive integer, got {size!r}")
    if info.known and not info.supports_dimensions:
        raise InvalidRequestError(
            f"{info.name} always returns {info.dimensions} dimensions; it takes no "
            "'dimensions' parameter",
            hint="drop 'dimensions', or use a Matryoshka model such as "
            "databricks-qwen3-embedding-0-6b",
        )
    if info.dimensions is not None and size > info.dimensions:
        raise InvalidRequestError(
            f"dimensions={size} is more than the {info.dimensions} that {info.name} returns"
        )


def _size(text: str) -> int:
    return len(text.encode("utf-8")) + _BYTES_OVERHEAD


def plan_batches(
    texts: Sequence[str], max_batch: int, max_bytes: int = MAX_BATCH_BYTES
) -> list[tuple[int, int]]:
    """``(start, end)`` slices of at most ``max_batch`` inputs and ``max_bytes`` of text."""
    if max_batch < 1:
        raise InvalidRequestError(f"batch size must be >= 1, got {max_batch}")
    spans: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, text in enumerate(texts):
        # str.isascii() is O(1) (CPython keeps the flag): only non-ASCII text is encoded
        size = len(text) + _BYTES_OVERHEAD if text.isascii() else _size(text)
        if i > start and (i - start >= max_batch or used + size > max_bytes):
            spans.append((start, i))
            start, used = i, 0
        used += size
    if start < len(texts):
        spans.append((start, len(texts)))
    return spans


def build_request(
    texts: Sequence[str], *, model: str | None, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The body: ``params`` (e.g. ``instruction``, ``dimensions``) then ``input`` and, when the
    route names the model in the body, ``model``; ``input``/``model`` in params are refused."""
    body: dict[str, Any] = {}
    if params:
        clash = sorted({"input", "model"} & set(params))
        if clash:
            raise InvalidRequestError(
                f"{', '.join(clash)} cannot be passed as an embeddings parameter",
                hint="the texts and the model are given to the client, not in params",
            )
        body.update(params)
    body["input"] = list(texts)
    if model is not None:
        body["model"] = model
    return body


# -- output ---------------------------------------------------------------------------------
def parse_response(data: Any, expected: int) -> EmbeddingBatch:
    """One answer body -> vectors in input order (exactly ``expected`` of them)."""
    if not isinstance(data, dict):
        raise ResponseParseError(
            f"expected a JSON object with embeddings, got {type(data).__name__}"
        )
    if "data" in data:
        batch = _openai_shape(data)
    elif "embeddings" in data:
        batch = EmbeddingBatch(_vector_list(data["embeddings"], "embeddings"))
    elif "predictions" in data:
        batch = EmbeddingBatch(_vector_list(data["predictions"], "predictions"))
    elif "error_code" in data or "error" in data:
        raise _error_body(data)
    else:
        keys = ", ".join(sorted(map(str, data))[:8]) or "none"
        raise ResponseParseError(
            f"unknown embeddings answer: an object with keys [{keys}] (expected 'data', "
            "'embeddings' or 'predictions')"
        )
    if len(batch.vectors) != expected:
        raise ResponseParseError(
            f"the endpoint answered {len(batch.vectors)} embeddings for {expected} inputs"
        )
    if batch.vectors:
        size = len(batch.vectors[0])
        for i, vector in enumerate(batch.vectors):
            if len(vector) != size or not vector:
                raise ResponseParseError(
                    f"embedding #{i} has {len(vector)} dimensions, #0 has {size}"
                )
    return batch


def _openai_shape(data: dict[str, Any]) -> EmbeddingBatch:
    items = data["data"]
    if not isinstance(items, list):
        raise ResponseParseError(f"'data' is a {type(items).__name__}, expected a list")
    slots: list[list[float] | None] = [None] * len(items)
    for pos, item in enumerate(items):
        if not isinstance(item, dict) or "embedding" not in item:
            raise ResponseParseError(f"data[{pos}] is not an embedding object: {item!r:.80}")
        index = item.get("index", pos)
        if not isinstance(index, int) or not 0 <= index < len(items) or slots[index] is not None:
            raise ResponseParseError(f"data[{pos}] has a bad or repeated index {index!r}")
        slots[index] = _vector(item["embedding"], f"data[{pos}].embedding")
    model = data.get("model")
    return EmbeddingBatch(
        [v for v in slots if v is not None],
        _usage(data.get("usage")),
        model if isinstance(model, str) else None,
    )


def _vector_list(value: Any, where: str) -> list[list[float]]:
    if not isinstance(value, list):
        raise ResponseParseError(f"'{where}' is a {type(value).__name__}, expected a list")
    return [_vector(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _vector(value: Any, where: str) -> list[float]:
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise ResponseParseError(f"{where} is a string but not base64") from None
        if len(raw) % 4:
            raise ResponseParseError(f"{where}: base64 data is not a float32 array")
        if _LITTLE_ENDIAN:
            floats: list[float] = array("f", raw).tolist()
        else:  # pragma: no cover - big-endian hosts
            floats = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        if not math.isfinite(math.fsum(floats)):
            raise ResponseParseError(f"{where} holds a NaN or an infinity")
        return floats
    if not isinstance(value, list):
        raise ResponseParseError(f"{where} is a {type(value).__name__}, expected numbers")
    # Fast path in C (fsum refuses non-numbers; a NaN or an infinity makes the sum non-finite):
    # a per-element Python check cost more than the rest of the call for 1,024-float vectors.
    try:
        if math.isfinite(math.fsum(value)):
            return list(map(float, value))
    except (TypeError, OverflowError):
        pass
    for x in value:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ResponseParseError(f"{where} holds {x!r}, not a finite number")
    return list(map(float, value))  # huge but finite values whose sum overflowed


def _usage(value: Any) -> EmbeddingUsage | None:
    if not isinstance(value, dict):
        return None
    prompt = value.get("prompt_tokens")
    total = value.get("total_tokens", prompt)
    if not isinstance(prompt, int) and isinstance(total, int):
        prompt = total
    if not isinstance(prompt, int) or not isinstance(total, int):
        return None
    return EmbeddingUsage(prompt, total)


def _error_body(data: dict[str, Any]) -> APIError:
    """A 200 carrying an error object (some proxies do this) is still an error."""
    err = data.get("error")
    if isinstance(err, dict):
        code, message = err.get("code") or err.get("error_code"), err.get("message")
    else:
        code, message = data.get("error_code"), data.get("message") or err
    return APIError(str(message or "error"), error_code=str(code) if code else None)
