"""The emulator's embedding endpoints: deterministic vectors whose geometry means something.

Routes: ``POST /serving-endpoints/embeddings`` and ``/ai-gateway/mlflow/v1/embeddings``
(``{"model", "input"}``), and ``/serving-endpoints/{name}/invocations`` for an embedding
endpoint (``{"input"}``; the server hands those over with :func:`is_embedding_endpoint`).

A vector is a hashed bag of words: each word (lower case, a crude stem, stop words dropped)
adds ``1 + log(count)`` to one of ``dimensions`` slots chosen by a hash, with a hashed sign;
the result is scaled to unit length. Texts sharing words are close in cosine similarity, so a
retriever finds the document that shares the question's words. Independent of the client's
code on purpose (like the rest of the emulator): its own limits table below.

Limits are enforced with a Databricks error body (HTTP 400 ``BAD_REQUEST``): too many inputs
per request, an input over the model's token limit (tokens counted as words and punctuation
marks, close to a WordPiece count), a ``dimensions`` parameter for a model without Matryoshka
support. The service's exact wording for these is not documented; the messages are ours.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import re
import struct
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.emulator.model import base_model_name, classify

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorApp

# name (without databricks-/system.ai. prefixes) -> (dimensions, max tokens per input, MRL)
MODELS: dict[str, tuple[int, int, bool]] = {
    "gte-large-en": (1024, 8192, False),
    "bge-large-en": (1024, 512, False),
    "qwen3-embedding-0-6b": (1024, 32768, True),
}
DEFAULT_MODEL = (1024, 8192, False)  # any other name that is not a chat model
MAX_INPUTS = 100  # inputs per request: an assumption, see docs/embeddings.md
ENDPOINTS = tuple(f"databricks-{name}" for name in MODELS)
_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    "a an and are as at be by for from has have how in is it its of on or that the this to "
    "was were what when where which who why will with does do did can".split()
)


def _bare(model: str) -> str:
    name = base_model_name(model).lower()
    for prefix in ("system.ai.", "databricks-"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


def is_embedding_endpoint(model: str) -> bool:
    return _bare(model) in MODELS or "embed" in _bare(model)


def register(app: EmulatorApp) -> None:
    r = app.app.router
    r.add_post("/serving-endpoints/embeddings", functools.partial(handle, app, path_model=None))
    r.add_post("/ai-gateway/mlflow/v1/embeddings", functools.partial(handle, app, path_model=None))


async def handle(
    app: EmulatorApp, request: web.Request, path_model: str | None
) -> web.StreamResponse:
    from core.emulator.server import HTTPError, _dumps

    _, parsed = await app._record(request)
    body_model = parsed.get("model") if isinstance(parsed, dict) else None
    model = path_model or body_model
    fault, early = await app._guard(request, model if isinstance(model, str) else None)
    if early is not None:
        return early
    body = app._json_body(parsed)
    if not isinstance(model, str) or not model:
        raise HTTPError(400, "Missing required field 'model'.", "INVALID_PARAMETER_VALUE")
    app._check_model_exists(model)
    if fault is not None:
        return await app._non_stream_fault(request, fault)
    dims, max_tokens, mrl = _spec(model)
    texts = _inputs(body.get("input"))
    if len(texts) > MAX_INPUTS:
        raise HTTPError(
            400, f"Input batch size {len(texts)} exceeds the maximum of {MAX_INPUTS} per request."
        )
    counts = [len(_TOKEN.findall(t)) for t in texts]
    for i, n in enumerate(counts):
        if n > max_tokens:
            raise HTTPError(
                400,
                f"Input {i} has {n} tokens, more than the maximum of {max_tokens} tokens per "
                f"input for {base_model_name(model)}.",
            )
    size = body.get("dimensions")
    if size is not None:
        if not mrl:
            raise HTTPError(400, f"Parameter 'dimensions' is not supported by {model}.")
        if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= dims:
            raise HTTPError(400, f"'dimensions' must be an integer between 32 and {dims}.")
        dims = size
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise HTTPError(400, f"Invalid 'encoding_format' {fmt!r}: use 'float' or 'base64'.")
    data = []
    for i, text in enumerate(texts):
        vector: Any = embed_text(text, dims)
        if fmt == "base64":  # OpenAI's packing; whether Databricks honours it is not documented
            vector = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": i, "embedding": vector})
    tokens = sum(counts)
    answer = {
        "id": app.state.next_id("emb-"),
        "object": "list",
        "model": base_model_name(model),
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return web.Response(body=_dumps(answer), content_type="application/json")


def _spec(model: str) -> tuple[int, int, bool]:
    from core.emulator.server import HTTPError

    bare = _bare(model)
    if bare in MODELS:
        return MODELS[bare]
    if classify(model) != "unknown":
        raise HTTPError(
            400,
            f"Endpoint {base_model_name(model)!r} serves the chat task (llm/v1/chat) and does "
            "not support embeddings.",
        )
    return DEFAULT_MODEL


def _inputs(value: Any) -> list[str]:
    from core.emulator.server import HTTPError

    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        raise HTTPError(400, "'input' must be a string or a non-empty list of strings.")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise HTTPError(400, f"'input[{i}]' must be a string.")
    return value


@functools.lru_cache(maxsize=65536)
def _slot(word: str, dims: int) -> tuple[int, float]:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dims, (1.0 if value >> 63 else -1.0)


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def embed_text(text: str, dims: int) -> list[float]:
    """The unit vector of ``text``: a hashed, signed bag of stemmed words (stop words out)."""
    counts: dict[str, int] = {}
    for word in _WORD.findall(text.lower()):
        if word not in _STOP:
            stem = _stem(word)
            counts[stem] = counts.get(stem, 0) + 1
    if not counts:  # nothing but stop words/punctuation: hash the text itself
        counts[text.strip().lower() or "<empty>"] = 1
    vector = [0.0] * dims
    for word, n in counts.items():
        slot, sign = _slot(word, dims)
        vector[slot] += sign * (1.0 + math.log(n))
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
