"""The emulator's /serving-endpoints/open-responses over real sockets with plain httpx: each
family's reasoning item, the documented refusals, echoed OpenAI-only fields, streaming."""

from __future__ import annotations

import json

import httpx
import pytest

from core.emulator import run_emulator

ROUTE = "/serving-endpoints/open-responses"
CLAUDE = "databricks-claude-sonnet-4-5"
GEMINI = "databricks-gemini-2-5-pro"
OSS = "databricks-gpt-oss-120b"
LLAMA = "databricks-meta-llama-3-3-70b-instruct"
GEMMA = "databricks-gemma-3-12b"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=8) as emulator:
        yield emulator


@pytest.fixture
def post(emu):
    with httpx.Client(base_url=emu.host, headers={"Authorization": f"Bearer {emu.token}"}) as c:

        def send(model: str, **body):
            return c.post(ROUTE, json={"model": model, "input": "hello there", **body})

        yield send


def test_claude_reasoning_item_is_raw_content_with_encrypted_content(post):
    r = post(CLAUDE, reasoning={"effort": "high"}, user="u1", metadata={"k": "v"})
    assert r.status_code == 200, r.text
    body = r.json()
    item = body["output"][0]
    assert item["type"] == "reasoning" and item["summary"] == []
    assert item["content"][0]["type"] == "reasoning_text" and item["content"][0]["text"]
    assert item["encrypted_content"].startswith("gAAAA")
    assert body["output"][1]["type"] == "message"
    assert body["user"] == "u1" and body["metadata"] == {"k": "v"}  # echoed, ignored


def test_gemini_summary_and_open_model_raw_reasoning(post):
    gem = post(GEMINI, reasoning={"effort": "low"}).json()["output"][0]
    assert gem["summary"][0]["type"] == "summary_text" and "encrypted_content" in gem
    oss = post(OSS).json()["output"][0]  # GPT OSS always reasons, nothing encrypted
    assert oss["content"][0]["type"] == "reasoning_text" and "encrypted_content" not in oss
    assert post(CLAUDE).json()["output"][0]["type"] == "message"  # no effort, no thinking


def test_modified_reasoning_is_refused(post):
    first = post(CLAUDE, reasoning={"effort": "high"}).json()["output"]
    turn = [{"role": "user", "content": "hello there"}, *first, {"role": "user", "content": "more"}]
    assert post(CLAUDE, input=turn).status_code == 200
    edited = json.loads(json.dumps(turn))
    edited[1]["content"][0]["text"] += " (edited)"
    r = post(CLAUDE, input=edited)
    assert r.status_code == 400 and "modified" in r.json()["message"]
    dropped = json.loads(json.dumps(turn))
    del dropped[1]["encrypted_content"]
    r = post(CLAUDE, input=dropped)
    assert r.status_code == 400 and "no encrypted_content" in r.json()["message"]


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (CLAUDE, {"previous_response_id": "resp_1"}, "stateless"),
        (GEMINI, {"conversation": "conv_1"}, "stateless"),
        (CLAUDE, {"tools": [{"type": "custom", "name": "x"}]}, "'custom' is not supported"),
        (CLAUDE, {"temperature": 2.5}, "between 0 and 2"),
        (LLAMA, {"reasoning": {"effort": "low"}}, "does not support reasoning"),
        (GEMMA, {"tools": [WEATHER]}, "does not support function calling"),
        (GEMMA, {"text": {"format": {"type": "json_object"}}}, "structured output"),
        (OSS, {"input": [{"role": "user", "content": [
            {"type": "input_image", "image_url": "https://example.com/a.png"}]}]}, "image input"),
        (LLAMA, {"input": [{"role": "user", "content": [
            {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE"}]}]},
         "file input"),
        ("databricks-gpt-5", {}, "OpenAI Responses API"),
    ],
)  # fmt: skip
def test_refusals(post, model, body, message):
    r = post(model, **body)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "BAD_REQUEST"
    assert message in r.json()["message"]


def test_claude_temperature_two_and_tools_accepted(post):
    r = post(CLAUDE, temperature=2.0, tools=[WEATHER], input='weather in "Paris"?')
    out = r.json()["output"]
    call = next(i for i in out if i["type"] == "function_call")
    assert json.loads(call["arguments"]) == {"city": "Paris"}


def test_streamed_claude_reasoning_uses_reasoning_text_events(emu):
    with httpx.Client(base_url=emu.host, headers={"Authorization": f"Bearer {emu.token}"}) as c:
        body = {"model": CLAUDE, "input": "stream it", "stream": True, "reasoning": {"effort": "low"}}
        with c.stream("POST", ROUTE, json=body) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            events = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    deltas = [e for e in events if e["type"] == "response.reasoning_text.delta"]
    assert len(deltas) > 1 and all(e["content_index"] == 0 for e in deltas)
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert "".join(e["delta"] for e in deltas) == done["item"]["content"][0]["text"]
    assert done["item"]["encrypted_content"].startswith("gAAAA")
