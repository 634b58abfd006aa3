"""Fault injection, proxy mode, the async variant and load, end to end over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from core.emulator import arun_emulator, run_emulator

LLAMA = "databricks-meta-llama-3-3-70b-instruct"
CHAT = "/serving-endpoints/chat/completions"


@pytest.fixture(scope="module")
def emu():
    with run_emulator(retry_after=0.25, slow_seconds=0.3) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    emu.set_fault(None)
    with httpx.Client(
        base_url=emu.host, headers={"Authorization": f"Bearer {emu.token}"}, timeout=10
    ) as c:
        yield c


def body(model: str = LLAMA, **kw: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "Hello there, emulator"}],
        **kw,
    }


def fault(name: str) -> dict[str, str]:
    return {"X-Emulator-Fault": name}


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("429", 429, "REQUEST_LIMIT_EXCEEDED"),
        ("500", 500, "INTERNAL_ERROR"),
        ("503", 503, "TEMPORARILY_UNAVAILABLE"),
        ("504", 504, "DEADLINE_EXCEEDED"),
        ("403", 403, "PERMISSION_DENIED"),
    ],
)
def test_status_faults_in_databricks_error_format(client, name, status, code):
    r = client.post(CHAT, json=body(), headers=fault(name))
    assert r.status_code == status
    assert r.json()["error_code"] == code and r.json()["message"]


def test_429_and_503_carry_retry_after(client):
    for name in ("429", "503"):
        assert client.post(CHAT, json=body(), headers=fault(name)).headers["Retry-After"] == "0.25"
    assert "QPS" in client.post(CHAT, json=body(), headers=fault("429")).json()["message"]


def test_502_is_an_html_page(client):
    r = client.post(CHAT, json=body(), headers=fault("502"))
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")


def test_count_form_then_success(client):
    statuses = [
        client.post(CHAT, json=body(), headers=fault("429:2")).status_code for _ in range(3)
    ]
    assert statuses == [429, 429, 200]


def test_model_suffix_fault_with_count(client):
    model = LLAMA + "+fault=503:1"
    first = client.post(CHAT, json=body(model))
    second = client.post(CHAT, json=body(model))
    assert (first.status_code, second.status_code) == (503, 200)
    assert second.json()["model"] == LLAMA  # suffix stripped


def test_model_suffix_on_invocations_path(client):
    r = client.post(
        f"/serving-endpoints/{LLAMA}+fault=500/invocations", json={"messages": body()["messages"]}
    )
    assert r.status_code == 500


def test_set_fault_applies_to_every_request(emu, client):
    emu.set_fault("500:1")
    assert client.post(CHAT, json=body()).status_code == 500
    assert client.post(CHAT, json=body()).status_code == 200
    emu.set_fault(None)


def test_auth_checked_before_faults(emu):
    r = httpx.post(emu.host + CHAT, json=body(), headers=fault("429"))
    assert r.status_code == 401


def test_unknown_fault_is_400(client):
    r = client.post(CHAT, json=body(), headers=fault("explode"))
    assert r.status_code == 400 and "explode" in r.json()["message"]


def test_slow_first_byte(client):
    t0 = time.perf_counter()
    r = client.post(CHAT, json=body(), headers=fault("slow"))
    assert r.status_code == 200 and time.perf_counter() - t0 >= 0.3
    t0 = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            CHAT,
            json=body(),
            headers={**fault("slow"), "X-Emulator-Slow-Seconds": "1"},
            timeout=0.2,
        )


def _stream_lines(
    client: httpx.Client, headers: dict[str, str], path: str = CHAT, **kw: Any
) -> tuple[list[str], Exception | None]:
    lines: list[str] = []
    try:
        with client.stream(
            "POST", path, json=kw.pop("json", None) or body(stream=True), headers=headers
        ) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line:
                    lines.append(line)
    except Exception as exc:
        return lines, exc
    return lines, None


def test_disconnect_mid_stream(client):
    lines, exc = _stream_lines(client, fault("disconnect"))
    assert isinstance(exc, httpx.RemoteProtocolError)
    assert len(lines) == 2 and "data: [DONE]" not in lines
    json.loads(lines[0][6:])  # what arrived is intact


def test_disconnect_non_streaming(client):
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=body(), headers=fault("disconnect"))
    assert client.post(CHAT, json=body()).status_code == 200  # server still fine


def test_malformed_event(client):
    lines, exc = _stream_lines(client, fault("malformed"))
    assert exc is None
    bad = [
        ln
        for ln in lines
        if ln.startswith("data: ") and ln != "data: [DONE]" and not _is_json(ln[6:])
    ]
    assert len(bad) == 1
    r = client.post(CHAT, json=body(), headers=fault("malformed"))
    assert r.status_code == 200 and not _is_json(r.text)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_error_event_chat(client):
    lines, exc = _stream_lines(client, fault("error_event"))
    assert exc is None
    last = json.loads(lines[-1][6:])
    assert last["error"]["message"] and "data: [DONE]" not in lines
    assert len(lines) == 3


def test_error_event_responses(client):
    lines, _ = _stream_lines(
        client, fault("error_event"), path="/serving-endpoints/responses",
        json={"model": "databricks-gpt-5", "input": "hi", "stream": True},
    )  # fmt: skip
    assert lines[-2] == "event: error"
    assert json.loads(lines[-1][6:])["type"] == "error"


def test_faults_apply_to_token_endpoint(emu):
    r = httpx.post(
        emu.host + "/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(emu.client_id, emu.client_secret),
        headers=fault("503"),
    )
    assert r.status_code == 503


# ---------------------------------------------------------------------------------------------
# Proxy mode
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def upstream():
    """A tiny OpenAI-compatible server (like vLLM/Ollama) that sends reasoning_content."""
    from aiohttp import web

    from core.emulator import Emulator

    seen: list[dict[str, Any]] = []

    async def completions(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        seen.append({"body": data, "auth": request.headers.get("Authorization")})
        if not data.get("stream"):
            return web.json_response(
                {
                    "id": "up-1",
                    "object": "chat.completion",
                    "model": data["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": "42",
                                "reasoning_content": "Thinking hard.",
                            },
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        deltas = [
            {"role": "assistant", "reasoning": "Think"},
            {"reasoning": "ing."},
            {"content": "4"},
            {"content": "2"},
        ]
        for d in deltas:
            chunk = {"id": "up-1", "object": "chat.completion.chunk", "model": data["model"],
                     "choices": [{"index": 0, "delta": d, "finish_reason": None}]}  # fmt: skip
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    # reuse the emulator's thread runner machinery for a plain app
    emu = Emulator()
    emu._app.app.router.add_post("/v1/chat/completions", completions)
    emu.start()
    try:
        yield emu.host + "/v1", seen
    finally:
        emu.stop()


def test_proxy_mode_translates_reasoning(upstream):
    url, seen = upstream
    with run_emulator(upstream=url, upstream_api_key="sk-up", upstream_model="qwen3") as emu:
        h = {"Authorization": f"Bearer {emu.token}"}
        r = httpx.post(emu.host + CHAT, json=body("databricks-claude-sonnet-4-5"), headers=h)
        content = r.json()["choices"][0]["message"]["content"]
        assert content == [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Thinking hard."}]},
            {"type": "text", "text": "42"},
        ]
        assert seen[-1]["body"]["model"] == "qwen3" and seen[-1]["auth"] == "Bearer sk-up"
        r = httpx.post(emu.host + CHAT, json=body(stream=True), headers=h)
        chunks = [json.loads(ln[6:]) for ln in r.text.splitlines() if ln.startswith("data: {")]
        reasoning = [c["choices"][0]["delta"]["content"][0]["summary"][0]["text"] for c in chunks
                     if isinstance(c["choices"][0]["delta"].get("content"), list)]  # fmt: skip
        assert reasoning == ["Think", "ing."]
        assert "".join(c["choices"][0]["delta"]["content"] for c in chunks
                       if isinstance(c["choices"][0]["delta"].get("content"), str)) == "42"  # fmt: skip
        assert r.text.rstrip().endswith("data: [DONE]")


def test_proxy_mode_upstream_down_is_502():
    with run_emulator(upstream="http://127.0.0.1:9/v1") as emu:
        r = httpx.post(
            emu.host + CHAT, json=body(), headers={"Authorization": f"Bearer {emu.token}"}
        )
        assert r.status_code == 502


# ---------------------------------------------------------------------------------------------
# Async variant and load
# ---------------------------------------------------------------------------------------------
async def test_arun_emulator_in_running_loop():
    async with arun_emulator() as emu:
        async with httpx.AsyncClient(
            base_url=emu.host, headers={"Authorization": f"Bearer {emu.token}"}
        ) as c:
            r = await c.post(CHAT, json=body())
            assert (
                r.status_code == 200
                and "Hello there" in r.json()["choices"][0]["message"]["content"]
            )


async def test_many_concurrent_requests():
    """The emulator doubles as a load server: 1,000 concurrent calls finish quickly."""
    import aiohttp

    with run_emulator(record_requests=False) as emu:
        headers = {"Authorization": f"Bearer {emu.token}"}
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

            async def one(i: int) -> bytes:
                async with session.post(emu.host + CHAT, json=body(stream=bool(i % 2))) as r:
                    assert r.status == 200
                    return await r.read()

            t0 = time.perf_counter()
            results = await asyncio.gather(*(one(i) for i in range(1000)))
            elapsed = time.perf_counter() - t0
        assert all(b"Hello there" in r for r in results[::2])
        assert all(r.endswith(b"data: [DONE]\n\n") for r in results[1::2])
        assert elapsed < 60, f"1,000 concurrent requests took {elapsed:.1f}s"  # ~2-4 s here
        assert emu.requests == []  # record_requests=False
