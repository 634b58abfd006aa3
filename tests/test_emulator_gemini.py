"""The emulator's Gemini native routes over real sockets with plain httpx: answers, streams,
signatures it checks, and Gemini's refusals."""

from __future__ import annotations

import json

import httpx
import pytest

from core.emulator import run_emulator

G3 = "system.ai.gemini-3-1-pro"
G25 = "databricks-gemini-2-5-pro"
WEATHER = {"functionDeclarations": [{
    "name": "get_weather", "description": "Weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}]}  # fmt: skip


def url(model, method="generateContent"):
    return f"/ai-gateway/gemini/v1beta/models/{model}:{method}"


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=8) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    with httpx.Client(base_url=emu.host, headers={"Authorization": f"Bearer {emu.token}"}) as c:
        yield c


def user(text):
    return {"role": "user", "parts": [{"text": text}]}


def test_answer_shape_thoughts_and_signature(client):
    body = {"contents": [user("hello there")],
            "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingLevel": "low"}}}  # fmt: skip
    r = client.post(url(G3), json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    cand = data["candidates"][0]
    assert cand["finishReason"] == "STOP" and cand["content"]["role"] == "model"
    thought, text = cand["content"]["parts"]
    assert thought["thought"] is True and thought["text"]
    assert 'You said: "hello there"' in text["text"] and text["thoughtSignature"]
    usage = data["usageMetadata"]
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )
    assert data["modelVersion"] == G3 and data["responseId"]


def test_modified_or_missing_signature_is_refused(client):
    first = client.post(url(G3), json={"contents": [user('weather in "Paris"?')], "tools": [WEATHER]})
    model_turn = first.json()["candidates"][0]["content"]
    call = model_turn["parts"][0]
    assert call["functionCall"] == {"name": "get_weather", "args": {"city": "Paris"}}
    reply = {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"t": 18}}}]}
    history = [user('weather in "Paris"?'), model_turn, reply]
    ok = client.post(url(G3), json={"contents": history, "tools": [WEATHER]})
    assert ok.status_code == 200 and "18" in ok.json()["candidates"][0]["content"]["parts"][0]["text"]

    edited = json.loads(json.dumps(history))
    edited[1]["parts"][0]["functionCall"]["args"]["city"] = "Rome"
    r = client.post(url(G3), json={"contents": edited, "tools": [WEATHER]})
    assert r.status_code == 400 and "Corrupted thought signature" in r.json()["message"]

    unsigned = json.loads(json.dumps(history))
    del unsigned[1]["parts"][0]["thoughtSignature"]
    r = client.post(url(G3), json={"contents": unsigned, "tools": [WEATHER]})
    assert r.status_code == 400 and "missing a `thought_signature`" in r.json()["message"]
    # Gemini 2.5 does not enforce it
    assert client.post(url(G25), json={"contents": unsigned, "tools": [WEATHER]}).status_code == 200

    text_turn = client.post(url(G3), json={"contents": [user("hi")]}).json()["candidates"][0]["content"]
    text_turn["parts"][0]["text"] += "!"
    r = client.post(url(G3), json={"contents": [user("hi"), text_turn, user("again")]})
    assert r.status_code == 400 and "Corrupted" in r.json()["message"]


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (G3, {"contents": []}, "contents is not specified"),
        (G3, {"contents": [{"role": "user", "parts": [{"txt": "x"}]}]}, 'Unknown name "txt"'),
        (G3, {"contents": [user("x"), {"role": "user", "parts": [
            {"functionResponse": {"name": "f", "response": {}}}]}]}, "immediately after"),
        (G25, {"contents": [user("x")], "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}}},
         "Thinking level is not supported"),
        (G3, {"contents": [user("x")], "generationConfig": {"temperature": 3}}, "between 0 and 2"),
        (G3, {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "audio/mp3", "data": "%%"}}]}]},
         "not base64"),
        ("databricks-claude-sonnet-4-5", {"contents": [user("x")]}, "not a Gemini model"),
    ],
)  # fmt: skip
def test_refusals(client, model, body, message):
    r = client.post(url(model), json=body)
    assert r.status_code == 400, r.text
    assert message in r.json()["message"]


def test_media_inline_and_by_uri_accepted(client):
    parts = [{"text": "describe"},
             {"inlineData": {"mimeType": "video/mp4", "data": "AAAA"}},
             {"fileData": {"mimeType": "audio/mp3", "fileUri": "https://example.com/a.mp3"}}]  # fmt: skip
    assert client.post(url(G3), json={"contents": [{"role": "user", "parts": parts}]}).status_code == 200


def test_stream_is_sse_of_whole_chunks_with_cumulative_usage(client):
    body = {"contents": [user("stream please")],
            "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}  # fmt: skip
    with client.stream("POST", url(G3, "streamGenerateContent"), params={"alt": "sse"}, json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read()
    assert b"\r\n\r\n" in raw and b"[DONE]" not in raw
    chunks = [json.loads(line[5:]) for line in raw.decode().splitlines() if line.startswith("data:")]
    assert len(chunks) > 3
    totals = [c["usageMetadata"]["totalTokenCount"] for c in chunks]
    assert totals == sorted(totals)
    last = chunks[-1]["candidates"][0]
    assert last["finishReason"] == "STOP"
    assert last["content"]["parts"] == [{"text": "", "thoughtSignature": last["content"]["parts"][0]["thoughtSignature"]}]
    text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"]
                   if not p.get("thought"))  # fmt: skip
    assert 'You said: "stream please"' in text


def test_stream_without_alt_sse_is_one_json_array(client):
    from core.codecs.gemini import parse_response

    body = {"contents": [user("array please")]}
    r = client.post(url(G3, "streamGenerateContent"), json=body)
    assert r.headers["content-type"].startswith("application/json")
    chunks = r.json()
    assert isinstance(chunks, list) and len(chunks) > 1
    whole = client.post(url(G3), json=body).json()
    assert parse_response(chunks).parts == parse_response(whole).parts
