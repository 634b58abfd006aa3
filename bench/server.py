"""Canned Databricks chat-completions load server for the benchmarks (runs in its own process).

Answers every chat POST instantly with pre-rendered bytes, so what the benchmark measures is the
client. Two listening ports:

* the *instant* port: non-streaming JSON, or a 200-chunk SSE stream written in one go;
* the *first-chunk* port: sends the SSE headers, waits ``--first-delay`` seconds, sends ONE
  chunk whose text is the wall-clock send time (``time.time()``), waits ``--rest-delay``
  seconds, then sends a few more chunks and ``[DONE]``. A client that buffers instead of
  handing the first chunk over at once shows up as a gap of at least ``--rest-delay``.

Routes (both ports): ``POST .../chat/completions`` (OpenAI-compatible, the peers and our
client), ``POST /serving-endpoints/{name}/invocations`` and any other POST (same answer);
embeddings (``POST .../embeddings``, or ``/serving-endpoints/{EMBED_MODEL}/invocations``):
one pre-rendered 1024-dimension vector per input, as floats or, when asked with
``encoding_format: base64`` (the ``openai`` client's default), as base64 float32;
``GET /api/2.0/serving-endpoints[/{name}]`` (endpoint details, for databricks-sdk based
clients); ``POST /oidc/v1/token``; other GETs answer ``{}``. Paths seen are printed to stderr
once each, so a benchmark can check that nothing unexpected was asked for.

Run: ``python bench/server.py [--host 127.0.0.1]``; prints ``READY <instant_port>
<first_chunk_port>`` on stdout once listening. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import struct
import sys
import time

from aiohttp import web

MODEL = "databricks-meta-llama-3-3-70b-instruct"
N_CHUNKS = 200
ANSWER = "Hello! This is a canned answer from the benchmark load server."


def _chunk(i: int, content: str | None, *, role: bool = False, finish: str | None = None,
           usage: dict | None = None) -> bytes:
    delta: dict = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    body: dict = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1763700000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


USAGE = {"prompt_tokens": 12, "completion_tokens": N_CHUNKS, "total_tokens": 12 + N_CHUNKS}

COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1763700000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
    },
    separators=(",", ":"),
).encode()

# 200 content chunks (the first also carries the role), one finish chunk with usage, [DONE].
STREAM = b"".join(
    [_chunk(0, "tok0 ", role=True)]
    + [_chunk(i, f"tok{i} ") for i in range(1, N_CHUNKS)]
    + [_chunk(N_CHUNKS, None, finish="stop", usage=USAGE), b"data: [DONE]\n\n"]
)
STREAM_TEXT = "".join(f"tok{i} " for i in range(N_CHUNKS))

FC_TAIL = b"".join(
    [_chunk(i, f" tok{i}") for i in range(1, 5)]
    + [_chunk(5, None, finish="stop", usage=USAGE), b"data: [DONE]\n\n"]
)

EMBED_MODEL = "databricks-gte-large-en"
EMBED_DIMS = 1024
_VECTOR = [round(((i * 7919) % 2000 - 1000) / 31_250.0, 8) for i in range(EMBED_DIMS)]
EMBED_FLOATS = json.dumps(_VECTOR, separators=(",", ":"))
EMBED_BASE64 = '"' + base64.b64encode(struct.pack(f"<{EMBED_DIMS}f", *_VECTOR)).decode() + '"'


def embeddings_answer(raw: bytes) -> bytes:
    """One vector per input (a string input counts as one), with usage."""
    body = json.loads(raw)
    texts = body.get("input")
    n = 1 if isinstance(texts, str) else len(texts)
    vector = EMBED_BASE64 if body.get("encoding_format") == "base64" else EMBED_FLOATS
    data = ",".join(
        f'{{"object":"embedding","index":{i},"embedding":{vector}}}' for i in range(n)
    )
    tokens = 5 * n
    return (
        f'{{"object":"list","model":"gte-large-en","data":[{data}],'
        f'"usage":{{"prompt_tokens":{tokens},"total_tokens":{tokens}}}}}'
    ).encode()


def _is_embeddings(request: web.Request) -> bool:
    return request.path.endswith("/embeddings") or f"/{EMBED_MODEL}/" in request.path


SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
JSON_HEADERS = {"Content-Type": "application/json"}

_seen: set[str] = set()


def _note(request: web.Request) -> None:
    key = f"{request.method} {request.path}"
    if key not in _seen:
        _seen.add(key)
        print(f"bench-server: {key}", file=sys.stderr, flush=True)


async def _wants_stream(request: web.Request) -> bool:
    raw = await request.read()
    # Cheap check: every client serialises the flag as "stream": true / "stream":true.
    return b'"stream":true' in raw or b'"stream": true' in raw


def make_app(first_chunk_mode: bool, first_delay: float, rest_delay: float) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        _note(request)
        if _is_embeddings(request):
            return web.Response(body=embeddings_answer(await request.read()), headers=JSON_HEADERS)
        if not await _wants_stream(request):
            return web.Response(body=COMPLETION, headers=JSON_HEADERS)
        resp = web.StreamResponse(headers=SSE_HEADERS)
        await resp.prepare(request)
        if first_chunk_mode:
            await asyncio.sleep(first_delay)
            await resp.write(_chunk(0, repr(time.time()), role=True))
            await asyncio.sleep(rest_delay)
            await resp.write(FC_TAIL)
        else:
            await resp.write(STREAM)
        await resp.write_eof()
        return resp

    async def endpoint(request: web.Request) -> web.Response:
        _note(request)
        name = request.match_info.get("name", MODEL)
        body = {
            "name": name,
            "id": "bench-endpoint-id",
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "task": "llm/v1/chat",
            "endpoint_type": "FOUNDATION_MODEL_API",
            "config": {"served_entities": [{"name": name, "foundation_model": {"name": name}}]},
        }
        return web.json_response(body)

    async def endpoints(request: web.Request) -> web.Response:
        _note(request)
        return web.json_response({"endpoints": [{"name": MODEL, "task": "llm/v1/chat"}]})

    async def token(request: web.Request) -> web.Response:
        _note(request)
        return web.json_response(
            {"access_token": "bench-oauth-token", "token_type": "Bearer", "expires_in": 3600}
        )

    async def other_get(request: web.Request) -> web.Response:
        _note(request)
        return web.json_response({})

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get("/api/2.0/serving-endpoints", endpoints)
    app.router.add_get("/api/2.0/serving-endpoints/{name}", endpoint)
    app.router.add_post("/oidc/v1/token", token)
    app.router.add_post("/{tail:.*}", chat)
    app.router.add_get("/{tail:.*}", other_get)
    return app


async def serve(host: str, first_delay: float, rest_delay: float) -> None:
    runners = []
    ports = []
    for mode in (False, True):
        runner = web.AppRunner(make_app(mode, first_delay, rest_delay), access_log=None,
                               handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, 0, backlog=4096)
        await site.start()
        runners.append(runner)
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        ports.append(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    print(f"READY {ports[0]} {ports[1]}", flush=True)
    try:
        # Stop when the parent closes our stdin (or dies).
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--first-delay", type=float, default=0.03)
    parser.add_argument("--rest-delay", type=float, default=0.05)
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        raise SystemExit("the bench server listens on loopback only")
    # Ctrl-C reaches the whole process group: the parent stops us by closing our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(serve(args.host, args.first_delay, args.rest_delay))


if __name__ == "__main__":
    main()
