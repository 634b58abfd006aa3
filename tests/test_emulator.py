"""End-to-end tests of the emulator over real sockets, with plain httpx (not the project client)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from core.emulator import run_emulator
from core.emulator.model import Filler, classify, sign

CLAUDE = "databricks-claude-sonnet-4-5"
GPT_OSS = "databricks-gpt-oss-120b"
GEMINI = "databricks-gemini-2-5-pro"
GPT5 = "databricks-gpt-5"
LLAMA = "databricks-meta-llama-3-3-70b-instruct"
CHAT = "/serving-endpoints/chat/completions"

MAGIC = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Apply a magic function to an input.",
        "parameters": {
            "type": "object",
            "properties": {
                "input": {"type": "integer", "exclusiveMinimum": -1000, "exclusiveMaximum": 1000}
            },
            "required": ["input"],
        },
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather at a location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=8) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    emu.set_fault(None)
    emu.configure(chunk_size=8, chunk_delay=0.0, usage_mode="final")
    with httpx.Client(
        base_url=emu.host, headers={"Authorization": f"Bearer {emu.token}"}, timeout=10
    ) as c:
        yield c


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def sse(text: str) -> list[Any]:
    """The data payloads of an SSE body, parsed ("[DONE]" kept as a string)."""
    out: list[Any] = []
    for block in text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                data = line[6:]
                out.append(data if data == "[DONE]" else json.loads(data))
    return out


def chat(
    client: httpx.Client, model: str, messages: Any, path: str = CHAT, **kw: Any
) -> httpx.Response:
    return client.post(path, json={"model": model, "messages": messages, **kw})


def message(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    return resp.json()["choices"][0]["message"]


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if b.get("type") == "text")


# ---------------------------------------------------------------------------------------------
# Classification and schema filling (pure)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("databricks-claude-sonnet-4-5", "claude"),
        ("system.ai.claude-opus-4-1", "claude"),
        ("databricks-gpt-oss-20b", "gpt-oss"),
        ("system.ai.gpt-5", "gpt"),
        ("databricks-gpt-5-1+fault=429", "gpt"),
        ("databricks-gemini-2-5-flash", "gemini"),
        ("databricks-gemma-3-12b", "gemma"),
        ("databricks-meta-llama-3-3-70b-instruct", "llama"),
        ("my-custom-endpoint", "unknown"),
    ],
)
def test_classify(name, family):
    assert classify(name) == family


def test_filler_nested_schema_enum_unicode_and_numbers():
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "count": {"type": "integer", "minimum": 1},
            "ratio": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {"$ref": "#/$defs/Address"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
        },
        "$defs": {"Address": {"type": "object", "properties": {"zip": {"type": "integer"}}}},
    }
    value = Filler(
        "Create 'こんにちは株式会社' with 3 items at 0.5 in fahrenheit, zip 94105", schema
    ).fill(schema)
    assert value["name"] == "こんにちは株式会社"
    assert value["unit"] == "fahrenheit"
    assert value["count"] == 3
    assert value["ratio"] == 0.5
    assert isinstance(value["tags"], list) and value["tags"]
    assert value["address"] == {"zip": 94105}
    assert value["maybe"] is True


# ---------------------------------------------------------------------------------------------
# Auth
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
def test_bad_or_missing_token_is_401_in_databricks_format(emu, header):
    headers = {"Authorization": header} if header else {}
    r = httpx.post(emu.host + CHAT, json={"model": LLAMA, "messages": user("hi")}, headers=headers)
    assert r.status_code == 401
    assert r.json()["error_code"] == "UNAUTHENTICATED"
    assert r.json()["message"]


def test_oauth_client_credentials_token_works_and_is_counted(emu):
    before = emu.token_requests
    r = httpx.post(
        emu.host + "/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(emu.client_id, emu.client_secret),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert emu.token_requests == before + 1
    ok = httpx.post(
        emu.host + CHAT,
        json={"model": LLAMA, "messages": user("hi")},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert ok.status_code == 200


def test_oauth_wrong_secret_and_wrong_grant(emu):
    r = httpx.post(
        emu.host + "/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(emu.client_id, "nope"),
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = httpx.post(
        emu.host + "/oidc/v1/token",
        data={"grant_type": "password", "scope": "all-apis"},
        auth=(emu.client_id, emu.client_secret),
    )
    assert r.status_code == 400


def test_oauth_token_expires():
    with run_emulator(token_lifetime=1.5) as emu:
        tok = httpx.post(
            emu.host + "/oidc/v1/token",
            data={"grant_type": "client_credentials", "scope": "all-apis"},
            auth=(emu.client_id, emu.client_secret),
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {tok}"}
        body = {"model": LLAMA, "messages": user("hi")}
        assert httpx.post(emu.host + CHAT, json=body, headers=h).status_code == 200
        time.sleep(1.6)
        r = httpx.post(emu.host + CHAT, json=body, headers=h)
        assert r.status_code == 401 and "expired" in r.json()["message"].lower()


def test_expire_tokens_helper(emu):
    tok = httpx.post(
        emu.host + "/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(emu.client_id, emu.client_secret),
    ).json()["access_token"]
    emu.expire_tokens()
    r = httpx.post(
        emu.host + CHAT,
        json={"model": LLAMA, "messages": user("hi")},
        headers={"Authorization": f"Bearer {tok}"},
    )
    assert r.status_code == 401


# ---------------------------------------------------------------------------------------------
# Chat surfaces and families
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "model", "body_model"),
    [
        ("/ai-gateway/mlflow/v1/chat/completions", "system.ai.claude-sonnet-4-5", True),
        (CHAT, CLAUDE, True),
        (f"/serving-endpoints/{CLAUDE}/invocations", CLAUDE, False),
    ],
)
def test_three_chat_surfaces_echo_the_prompt(client, path, model, body_model):
    body: dict[str, Any] = {"messages": user("Hello, world!")}
    if body_model:
        body["model"] = model
    r = client.post(path, json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == model
    assert "Hello, world!" in data["choices"][0]["message"]["content"]
    assert data["choices"][0]["finish_reason"] == "stop"
    usage = data["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_missing_model_is_400(client):
    r = client.post(CHAT, json={"messages": user("hi")})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_unknown_endpoint_is_404(client):
    r = chat(client, "databricks-does-not-exist", user("hi"))
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_claude_thinking_gives_signed_reasoning(client):
    msg = message(
        chat(client, CLAUDE, user("Why is the sky blue?"), max_tokens=4000,
             thinking={"type": "enabled", "budget_tokens": 2048})
    )  # fmt: skip
    reasoning, text = msg["content"]
    item = reasoning["summary"][0]
    assert reasoning["type"] == "reasoning" and item["type"] == "summary_text"
    assert item["signature"] == sign(item["text"])
    assert text["type"] == "text" and "Why is the sky blue?" in text["text"]
    usage = client.post(
        CHAT,
        json={
            "model": "databricks-claude-sonnet-4-6",
            "messages": user("x"),
            "thinking": {"type": "adaptive"},
        },
    ).json()["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] > 0


def test_claude_without_thinking_is_plain_text(client):
    assert isinstance(message(chat(client, CLAUDE, user("hi")))["content"], str)


@pytest.mark.parametrize(
    ("thinking", "max_tokens"),
    [
        ({"type": "enabled", "budget_tokens": 100}, 4000),
        ({"type": "enabled", "budget_tokens": 2048}, 1000),
    ],
)
def test_claude_thinking_budget_rules(client, thinking, max_tokens):
    r = chat(client, CLAUDE, user("hi"), thinking=thinking, max_tokens=max_tokens)
    assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"


def test_gpt_oss_always_reasons_without_signature(client):
    reasoning, text = message(chat(client, GPT_OSS, user("hi")))["content"]
    assert reasoning["type"] == "reasoning" and "signature" not in reasoning["summary"][0]
    assert "hi" in text["text"]


def test_gemini_thought_signature_with_reasoning_effort(client):
    content = message(chat(client, GEMINI, user("hi"), reasoning_effort="low"))["content"]
    assert content[0]["type"] == "text" and content[0]["thoughtSignature"]
    assert isinstance(message(chat(client, GEMINI, user("hi")))["content"], str)


def test_gpt5_reasoning_only_with_effort(client):
    content = message(chat(client, GPT5, user("hi"), reasoning_effort="medium"))["content"]
    assert content[0]["type"] == "reasoning"
    assert isinstance(
        message(chat(client, GPT5, user("hi"), reasoning_effort="none"))["content"], str
    )


def test_max_tokens_truncates_with_length(client):
    r = chat(client, LLAMA, user("one two three four five six seven"), max_tokens=3)
    data = r.json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert len(data["choices"][0]["message"]["content"].split()) == 3
    assert data["usage"]["completion_tokens"] == 3


def test_stop_sequence_cuts_before_it(client):
    msg = message(chat(client, LLAMA, user("hi"), stop=["scripted"]))
    assert msg["content"].endswith("This is a ")


def test_n_choices(client):
    data = chat(client, LLAMA, user("hi"), n=3).json()
    assert [c["index"] for c in data["choices"]] == [0, 1, 2]


def test_logprobs(client):
    data = chat(client, LLAMA, user("hi"), logprobs=True).json()
    assert data["choices"][0]["logprobs"]["content"][0]["token"] == "You"


@pytest.mark.parametrize("param", ["presence_penalty", "frequency_penalty", "seed"])
def test_unsupported_params_are_400(client, param):
    assert chat(client, LLAMA, user("hi"), **{param: 1}).status_code == 400


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
def test_tool_named_in_prompt_with_number_argument(client):
    msg = message(
        chat(
            client,
            LLAMA,
            user("What is the value of magic_function(3)? Use the tool."),
            tools=[MAGIC],
        )
    )
    (call,) = msg["tool_calls"]
    assert call["function"]["name"] == "magic_function"
    assert json.loads(call["function"]["arguments"]) == {"input": 3}
    assert call["id"].startswith("call_")


def test_tool_by_keyword_with_place_argument(client):
    r = chat(
        client, LLAMA, user("What is the weather in San Francisco, CA?"), tools=[MAGIC, WEATHER]
    )
    data = r.json()
    assert data["choices"][0]["finish_reason"] == "tool_calls"
    (call,) = data["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"location": "San Francisco, CA"}


def test_no_tool_when_prompt_unrelated(client):
    msg = message(chat(client, LLAMA, user("Hello!"), tools=[MAGIC, WEATHER]))
    assert "tool_calls" not in msg and "Hello!" in msg["content"]


@pytest.mark.parametrize(
    ("choice", "name"),
    [
        ("required", "magic_function"),
        ("any", "magic_function"),
        ({"type": "function", "function": {"name": "get_weather"}}, "get_weather"),
    ],
)
def test_tool_choice_forces_a_call(client, choice, name):
    msg = message(chat(client, LLAMA, user("Hello!"), tools=[MAGIC, WEATHER], tool_choice=choice))
    assert msg["tool_calls"][0]["function"]["name"] == name
    assert isinstance(json.loads(msg["tool_calls"][0]["function"]["arguments"]), dict)


def test_tool_choice_none_and_unknown_name(client):
    msg = message(chat(client, LLAMA, user("magic_function(3)"), tools=[MAGIC], tool_choice="none"))
    assert "tool_calls" not in msg
    bad = chat(
        client,
        LLAMA,
        user("x"),
        tools=[MAGIC],
        tool_choice={"type": "function", "function": {"name": "nope"}},
    )
    assert bad.status_code == 400


def test_unicode_quoted_argument(client):
    tool = {
        "type": "function",
        "function": {
            "name": "unicode_customer",
            "description": "Tool for creating a customer with Unicode name.",
            "parameters": {
                "type": "object",
                "properties": {
                    "customer_name": {"type": "string"},
                    "description": {"type": "string"},
                },
                "required": ["customer_name", "description"],
            },
        },
    }
    r = chat(client, LLAMA, user("Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company"),
             tools=[tool], tool_choice="required")  # fmt: skip
    raw = r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert "你好啊集团" in raw  # not \u-escaped
    assert json.loads(raw)["customer_name"] == "你好啊集团"


def test_two_tools_named_give_parallel_calls(client):
    msg = message(
        chat(
            client,
            LLAMA,
            user("Call magic_function on 5 and get_weather in Paris"),
            tools=[MAGIC, WEATHER],
        )
    )
    assert [c["function"]["name"] for c in msg["tool_calls"]] == ["magic_function", "get_weather"]
    msg = message(chat(client, LLAMA, user("Call magic_function on 5 and get_weather in Paris"),
                       tools=[MAGIC, WEATHER], parallel_tool_calls=False))  # fmt: skip
    assert len(msg["tool_calls"]) == 1


def test_after_tool_result_answers_in_text_once_per_turn(client):
    messages = [
        *user("What is the value of magic_function(3)?"),
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "abc123", "type": "function", "function": {"name": "magic_function", "arguments": '{"input": 3}'}}]},
        {"role": "tool", "tool_call_id": "abc123", "content": "5"},
    ]  # fmt: skip
    data = chat(client, LLAMA, messages, tools=[MAGIC]).json()
    msg = data["choices"][0]["message"]
    assert "tool_calls" not in msg
    assert "magic_function" in msg["content"] and "5" in msg["content"]
    assert data["choices"][0]["finish_reason"] == "stop"


def test_tool_result_with_unknown_call_id_is_400(client):
    messages = [*user("hi"), {"role": "tool", "tool_call_id": "zzz", "content": "5"}]
    assert chat(client, LLAMA, messages).status_code == 400


def test_claude_rejects_empty_text_next_to_tool_calls(client):
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "magic_function", "arguments": "{}"},
    }
    messages = [
        *user("magic_function(3)"),
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "5"},
    ]
    assert chat(client, CLAUDE, messages, tools=[MAGIC]).status_code == 400
    messages[1]["content"] = " "
    assert chat(client, CLAUDE, messages, tools=[MAGIC]).status_code == 200
    assert (
        chat(
            client, LLAMA, [*messages[:1], {**messages[1], "content": ""}, messages[2]]
        ).status_code
        == 200
    )


def test_strict_rejected_for_non_gpt_and_bad_names(client):
    strict = {"type": "function", "function": {**MAGIC["function"], "strict": True}}
    assert chat(client, CLAUDE, user("hi"), tools=[strict]).status_code == 400
    assert chat(client, GPT5, user("hi"), tools=[strict]).status_code == 200
    bad = {"type": "function", "function": {**MAGIC["function"], "name": "bad name!"}}
    assert chat(client, GPT5, user("hi"), tools=[bad]).status_code == 400


# ---------------------------------------------------------------------------------------------
# Structured output
# ---------------------------------------------------------------------------------------------
def _check(schema: dict[str, Any], value: Any) -> None:
    kind = schema.get("type")
    types = {
        "object": dict,
        "string": str,
        "integer": int,
        "number": (int, float),
        "array": list,
        "boolean": bool,
    }
    if kind in types:
        assert isinstance(value, types[kind]), (schema, value)
    if kind == "object":
        for key in schema.get("required", []):
            assert key in value
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(sub, value[key])


def test_json_schema_response_format(client):
    schema = {
        "type": "object",
        "properties": {
            "setup": {"type": "string", "description": "question to set up a joke"},
            "punchline": {"type": "string", "description": "answer to resolve the joke"},
            "rating": {"type": "integer"},
        },
        "required": ["setup", "punchline", "rating"],
    }
    rf = {"type": "json_schema", "json_schema": {"name": "Joke", "schema": schema, "strict": True}}
    msg = message(chat(client, LLAMA, user("Tell me a joke about cats."), response_format=rf))
    value = json.loads(msg["content"])
    _check(schema, value)
    assert "cats" in value["setup"]


def test_json_object_uses_keys_named_in_prompt(client):
    prompt = ("Tell me a joke about cats. Return the result as a JSON with 'setup' and "
              "'punchline' keys. Return nothing other than JSON.")  # fmt: skip
    msg = message(chat(client, LLAMA, user(prompt), response_format={"type": "json_object"}))
    assert set(json.loads(msg["content"])) == {"setup", "punchline"}


# ---------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------
def test_stream_text_with_usage_on_final_chunk(client):
    r = chat(client, LLAMA, user("Hello"), stream=True)
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse(r.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == message(chat(client, LLAMA, user("Hello")))["content"]
    assert max(len(c["choices"][0]["delta"].get("content") or "") for c in chunks) == 8
    assert [c for c in chunks if "usage" in c] == [chunks[-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_usage_modes(client):
    sep = sse(client.post(CHAT, json={"model": LLAMA, "messages": user("hi"), "stream": True},
                          headers={"X-Emulator-Usage-Mode": "separate"}).text)[:-1]  # fmt: skip
    assert sep[-1]["choices"] == [] and sep[-1]["usage"]["total_tokens"] > 0
    assert sum("usage" in c for c in sep) == 1
    every = sse(client.post(CHAT, json={"model": LLAMA, "messages": user("hi"), "stream": True},
                            headers={"X-Emulator-Usage-Mode": "every"}).text)[:-1]  # fmt: skip
    assert all("usage" in c for c in every)
    assert every[0]["usage"]["total_tokens"] is None and every[-1]["usage"]["total_tokens"] > 0
    none = sse(
        chat(client, LLAMA, user("hi"), stream=True, stream_options={"include_usage": False}).text
    )
    assert not any("usage" in c for c in none[:-1])


def test_stream_claude_reasoning_list_deltas_then_signature(client):
    r = chat(client, CLAUDE, user("hi"), stream=True, max_tokens=3000,
             thinking={"type": "enabled", "budget_tokens": 1024})  # fmt: skip
    chunks = sse(r.text)[:-1]
    blocks = [c["choices"][0]["delta"]["content"][0] for c in chunks
              if isinstance(c["choices"][0]["delta"].get("content"), list)]  # fmt: skip
    pieces = [b["summary"][0] for b in blocks]
    assert all(p["signature"] == "" for p in pieces[:-1])
    assert pieces[-1]["text"] == "" and pieces[-1]["signature"] == sign(
        "".join(p["text"] for p in pieces)
    )


def test_stream_tool_call_deltas(client):
    r = chat(
        client, LLAMA, user("What is the value of magic_function(3)?"), tools=[MAGIC], stream=True
    )
    chunks = sse(r.text)[:-1]
    deltas = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert deltas[0]["id"] and deltas[0]["function"]["name"] == "magic_function"
    assert all("id" not in d and "name" not in d["function"] for d in deltas[1:])
    assert len(deltas) > 2
    assert json.loads("".join(d["function"]["arguments"] for d in deltas)) == {"input": 3}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_gemini_rejects_stream_options_and_streams_thought_signature(client):
    r = chat(client, GEMINI, user("hi"), stream=True, stream_options={"include_usage": True})
    assert r.status_code == 400
    chunks = sse(chat(client, GEMINI, user("hi"), stream=True, reasoning_effort="low").text)[:-1]
    firsts = [
        c["choices"][0]["delta"]["content"]
        for c in chunks
        if isinstance(c["choices"][0]["delta"].get("content"), list)
    ]
    assert firsts[0][0]["thoughtSignature"]
    assert "usage" in chunks[-1]


def test_stream_n_choices(client):
    chunks = sse(chat(client, LLAMA, user("hi"), stream=True, n=2).text)[:-1]
    assert {c["choices"][0]["index"] for c in chunks} == {0, 1}


def test_chunk_size_and_delay_headers(client):
    t0 = time.perf_counter()
    r = client.post(CHAT, json={"model": LLAMA, "messages": user("hi"), "stream": True},
                    headers={"X-Emulator-Chunk-Size": "2", "X-Emulator-Chunk-Delay": "0.01"})  # fmt: skip
    chunks = sse(r.text)[:-1]
    assert max(len(c["choices"][0]["delta"].get("content") or "") for c in chunks) == 2
    assert time.perf_counter() - t0 >= 0.01 * len(chunks) * 0.8


# ---------------------------------------------------------------------------------------------
# Multi-turn reasoning check
# ---------------------------------------------------------------------------------------------
def _claude_turn(client: httpx.Client) -> dict[str, Any]:
    return message(chat(client, CLAUDE, user("first question"), max_tokens=3000,
                        thinking={"type": "enabled", "budget_tokens": 1024}))  # fmt: skip


def test_reasoning_sent_back_unmodified_is_accepted(client):
    assistant = _claude_turn(client)
    history = [*user("first question"), assistant, *user("second question")]
    r = chat(
        client,
        CLAUDE,
        history,
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert r.status_code == 200, r.text


def test_reasoning_omitted_entirely_is_accepted(client):
    assistant = _claude_turn(client)
    stripped = {
        "role": "assistant",
        "content": [b for b in assistant["content"] if b["type"] != "reasoning"],
    }
    assert chat(client, CLAUDE, [*user("q"), stripped, *user("again")]).status_code == 200


def test_reasoning_altered_text_is_400(client):
    assistant = _claude_turn(client)
    assistant["content"][0]["summary"][0]["text"] += " (edited)"
    r = chat(client, CLAUDE, [*user("q"), assistant, *user("again")])
    assert r.status_code == 400 and "signature" in r.json()["message"]


def test_reasoning_lost_signature_is_400(client):
    assistant = _claude_turn(client)
    del assistant["content"][0]["summary"][0]["signature"]
    r = chat(client, CLAUDE, [*user("q"), assistant, *user("again")])
    assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"


def test_gemini_thought_signature_altered_is_400(client):
    content = message(chat(client, GEMINI, user("hi"), reasoning_effort="low"))["content"]
    assert (
        chat(
            client, GEMINI, [*user("hi"), {"role": "assistant", "content": content}, *user("more")]
        ).status_code
        == 200
    )
    content[0]["text"] += "!"
    assert (
        chat(
            client, GEMINI, [*user("hi"), {"role": "assistant", "content": content}, *user("more")]
        ).status_code
        == 400
    )


# ---------------------------------------------------------------------------------------------
# Responses API
# ---------------------------------------------------------------------------------------------
RESP = "/serving-endpoints/responses"
FN_TOOL = {"type": "function", "name": "get_weather", "description": "Get the weather at a location.",
           "parameters": WEATHER["function"]["parameters"]}  # fmt: skip


@pytest.mark.parametrize("path", [RESP, "/ai-gateway/mlflow/v1/responses"])
def test_responses_plain(client, path):
    r = client.post(path, json={"model": GPT5, "input": "Hello there"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["object"] == "response" and data["status"] == "completed"
    (item,) = data["output"]
    assert item["type"] == "message" and item["content"][0]["type"] == "output_text"
    assert "Hello there" in item["content"][0]["text"] and item["content"][0]["annotations"] == []
    u = data["usage"]
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"]


def test_responses_reasoning_and_tool_loop(client):
    body = {"model": GPT5, "input": [{"role": "user", "content": "What is the weather in Paris?"}],
            "tools": [FN_TOOL], "reasoning": {"effort": "low", "summary": "auto"}}  # fmt: skip
    data = client.post(RESP, json=body).json()
    kinds = [i["type"] for i in data["output"]]
    assert kinds == ["reasoning", "function_call"]
    reasoning, call = data["output"]
    assert reasoning["encrypted_content"] and reasoning["summary"][0]["text"]
    assert json.loads(call["arguments"]) == {"location": "Paris"}
    assert data["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    # second turn: send output back with the tool result
    body["input"] = [*body["input"], *data["output"],
                     {"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21C"}]  # fmt: skip
    second = client.post(RESP, json=body)
    assert second.status_code == 200, second.text
    msg = [i for i in second.json()["output"] if i["type"] == "message"][0]
    assert "Sunny, 21C" in msg["content"][0]["text"]
    # tampered reasoning summary -> 400; lost encrypted_content -> 400
    tampered = json.loads(json.dumps(body))
    tampered["input"][1]["summary"][0]["text"] = "something else"
    assert client.post(RESP, json=tampered).status_code == 400
    lost = json.loads(json.dumps(body))
    del lost["input"][1]["encrypted_content"]
    assert client.post(RESP, json=lost).status_code == 400
    omitted = json.loads(json.dumps(body))
    del omitted["input"][1]
    assert client.post(RESP, json=omitted).status_code == 200


@pytest.mark.parametrize(
    "param",
    [
        {"background": True},
        {"store": True},
        {"previous_response_id": "resp_1"},
        {"service_tier": "flex"},
    ],
)
def test_responses_rejected_params(client, param):
    r = client.post(RESP, json={"model": GPT5, "input": "hi", **param})
    assert r.status_code == 400 and next(iter(param)) in r.json()["message"]


def test_responses_long_ids_rejected_and_non_openai_rejected(client):
    long_id = "x" * 65
    body = {
        "model": GPT5,
        "input": [{"type": "function_call", "call_id": long_id, "name": "f", "arguments": "{}"}],
    }
    r = client.post(RESP, json=body)
    assert r.status_code == 400 and "64" in r.json()["message"]
    assert client.post(RESP, json={"model": CLAUDE, "input": "hi"}).status_code == 400


def test_responses_function_call_output_needs_known_call(client):
    body = {
        "model": GPT5,
        "input": [{"type": "function_call_output", "call_id": "nope", "output": "x"}],
    }
    assert client.post(RESP, json=body).status_code == 400


def test_responses_json_schema_and_custom_tool(client):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["city", "n"],
    }
    body = {
        "model": GPT5,
        "input": "Name 'Oslo' and 4",
        "text": {"format": {"type": "json_schema", "name": "x", "schema": schema}},
    }
    out = client.post(RESP, json=body).json()["output"][0]
    assert json.loads(out["content"][0]["text"]) == {"city": "Oslo", "n": 4}
    body = {
        "model": GPT5,
        "input": "run the code_exec tool",
        "tools": [{"type": "custom", "name": "code_exec", "description": "runs code"}],
    }
    out = client.post(RESP, json=body).json()["output"]
    assert out[0]["type"] == "custom_tool_call" and out[0]["input"] == "run the code_exec tool"


def test_responses_stream_events(client):
    body = {
        "model": GPT_OSS,
        "input": "What is the weather in Rome?",
        "tools": [FN_TOOL],
        "stream": True,
    }
    r = client.post(RESP, json=body)
    events = sse(r.text)
    types = [e["type"] for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in types
    assert "response.function_call_arguments.delta" in types
    assert types.count("response.output_item.done") == 2
    args = "".join(
        e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"
    )
    assert json.loads(args) == {"location": "Rome"}
    assert events[-1]["response"]["usage"]["total_tokens"] > 0
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert "event: response.created\n" in r.text
    text_events = sse(client.post(RESP, json={"model": GPT5, "input": "hey", "stream": True}).text)
    text = "".join(e["delta"] for e in text_events if e["type"] == "response.output_text.delta")
    assert "hey" in text


def test_invocations_accepts_responses_agent_input(client):
    r = client.post("/serving-endpoints/my-agent/invocations",
                    json={"input": [{"role": "user", "content": "hello agent"}], "custom_inputs": {"k": 1}})  # fmt: skip
    data = r.json()
    assert data["object"] == "response" and data["custom_outputs"]["k"] == 1
    assert "hello agent" in data["output"][0]["content"][0]["text"]


# ---------------------------------------------------------------------------------------------
# Apps
# ---------------------------------------------------------------------------------------------
def _oauth(emu) -> dict[str, str]:
    tok = httpx.post(emu.host + "/oidc/v1/token", data={"grant_type": "client_credentials", "scope": "all-apis"},
                     auth=(emu.client_id, emu.client_secret)).json()["access_token"]  # fmt: skip
    return {"Authorization": f"Bearer {tok}"}


def test_app_lookup_and_responses_with_oauth(emu, client):
    app = client.get("/api/2.0/apps/my-agent-app").json()
    assert app["name"] == "my-agent-app" and app["url"] == emu.app_url("my-agent-app")
    body = {"input": [{"role": "user", "content": "hi app"}], "custom_inputs": {"session": "s1"},
            "context": {"conversation_id": "conv-1", "user_id": "u1"}}  # fmt: skip
    r = httpx.post(app["url"] + "/responses", json=body, headers=_oauth(emu))
    assert r.status_code == 200, r.text
    data = r.json()
    assert (
        data["custom_outputs"]["session"] == "s1"
        and data["custom_outputs"]["conversation_id"] == "conv-1"
    )
    assert "hi app" in data["output"][0]["content"][0]["text"]
    events = sse(
        httpx.post(
            app["url"] + "/responses", json={**body, "stream": True}, headers=_oauth(emu)
        ).text
    )
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["custom_outputs"]["session"] == "s1"


def test_app_rejects_pat_and_knows_missing_forbidden(emu, client):
    r = client.post(emu.app_url("my-agent-app") + "/responses", json={"input": "hi"})
    assert r.status_code == 401 and "OAuth" in r.json()["message"]
    assert client.get("/api/2.0/apps/missing-app").status_code == 404
    assert (
        httpx.post(
            emu.app_url("forbidden-app") + "/responses", json={"input": "hi"}, headers=_oauth(emu)
        ).status_code
        == 403
    )
    assert (
        httpx.post(
            emu.app_url("no-responses-app") + "/responses",
            json={"input": "hi"},
            headers=_oauth(emu),
        ).status_code
        == 404
    )


# ---------------------------------------------------------------------------------------------
# Workspace APIs
# ---------------------------------------------------------------------------------------------
def test_serving_endpoints_list_and_get(client):
    eps = client.get("/api/2.0/serving-endpoints").json()["endpoints"]
    names = [e["name"] for e in eps]
    assert CLAUDE in names and "my-agent" in names
    one = client.get(f"/api/2.0/serving-endpoints/{CLAUDE}").json()
    assert one["state"]["ready"] == "READY" and one["task"] == "llm/v1/chat"
    missing = client.get("/api/2.0/serving-endpoints/nope")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_custom_endpoint_list():
    with run_emulator(endpoints=[{"name": "only-one", "task": "llm/v1/chat"}]) as emu:
        r = httpx.get(
            emu.host + "/api/2.0/serving-endpoints",
            headers={"Authorization": f"Bearer {emu.token}"},
        )
        assert [e["name"] for e in r.json()["endpoints"]] == ["only-one"]


# ---------------------------------------------------------------------------------------------
# Request log
# ---------------------------------------------------------------------------------------------
def test_request_log(emu, client):
    emu.clear_requests()
    chat(client, LLAMA, user("logged"), temperature=0.2)
    (rec,) = emu.requests
    assert rec.method == "POST" and rec.path == CHAT
    assert rec.headers["authorization"] == f"Bearer {emu.token}"
    assert rec.json["temperature"] == 0.2 and rec.json["messages"][0]["content"] == "logged"


def test_emulator_repr_hides_token(emu):
    assert emu.token not in repr(emu)


def test_combined_chunks_signature_with_tool_call_and_finish_on_content(client):
    r = client.post(
        CHAT,
        json={"model": CLAUDE, "messages": user("magic_function(3) please"), "tools": [MAGIC],
              "stream": True, "max_tokens": 3000, "thinking": {"type": "enabled", "budget_tokens": 1024}},
        headers={"X-Emulator-Combined-Chunks": "1"},
    )  # fmt: skip
    chunks = sse(r.text)[:-1]
    both = [
        c
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"] and "content" in c["choices"][0]["delta"]
    ]
    assert len(both) == 1
    assert both[0]["choices"][0]["delta"]["content"][0]["summary"][0]["signature"]
    assert both[0]["choices"][0]["delta"]["tool_calls"][0]["id"]
    assert (
        chunks[-1]["choices"][0]["delta"]
        and chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    )
    assert all(c["choices"][0]["delta"] for c in chunks)  # no empty finish chunk


def test_anthropic_finish_reason_style():
    with run_emulator(finish_reason_style="anthropic") as emu:
        h = {"Authorization": f"Bearer {emu.token}"}
        r = httpx.post(emu.host + CHAT, json={"model": CLAUDE, "messages": user("hi")}, headers=h)
        assert r.json()["choices"][0]["finish_reason"] == "end_turn"
        r = httpx.post(emu.host + CHAT, json={"model": LLAMA, "messages": user("hi")}, headers=h)
        assert r.json()["choices"][0]["finish_reason"] == "stop"


def test_claude_cache_control_reports_cache_read_tokens(client):
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "long shared context " * 10,
                                        "cache_control": {"type": "ephemeral"}}]},
        *user("hi"),
    ]  # fmt: skip
    usage = chat(client, CLAUDE, messages).json()["usage"]
    assert usage["cache_read_input_tokens"] == 30
    assert "cache_read_input_tokens" not in chat(client, LLAMA, messages).json()["usage"]


def test_unknown_path_is_databricks_404(client):
    r = client.post("/serving-endpoints/nope/somewhere", json={})
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert client.get("/api/2.0/unknown").json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_stateful_responses_params_allowed_for_external_endpoints(client):
    r = client.post(RESP, json={"model": "my-external-gpt-4o", "input": "hi", "store": True})
    assert r.status_code == 200, r.text


IMG = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


@pytest.mark.parametrize(
    ("model", "blocks", "status"),
    [
        (CLAUDE, [IMG], 200),
        (GEMINI, [IMG, {"type": "audio_url", "audio_url": {"url": "https://x/a.wav"}},
                  {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}}], 200),
        (GPT5, [IMG] * 6, 200),
        ("databricks-llama-4-maverick", [IMG] * 5, 200),
        ("databricks-llama-4-maverick", [IMG] * 6, 400),
        ("databricks-gemma-3-12b", [IMG] * 6, 400),
        (LLAMA, [IMG], 400),
        (GPT_OSS, [IMG], 400),
        (CLAUDE, [{"type": "audio_url", "audio_url": {"url": "https://x/a.wav"}}], 400),
    ],
)  # fmt: skip
def test_media_rules_per_family(client, model, blocks, status):
    r = chat(
        client, model, [{"role": "user", "content": [{"type": "text", "text": "what?"}, *blocks]}]
    )
    assert r.status_code == status, r.text


def test_payload_over_10mb_is_400(client):
    big = "x" * (10 * 1024 * 1024 + 10)
    assert chat(client, CLAUDE, user(big)).status_code == 400


def test_media_checks_can_be_turned_off():
    with run_emulator(check_modalities=False) as emu:
        r = httpx.post(emu.host + CHAT, headers={"Authorization": f"Bearer {emu.token}"},
                       json={"model": LLAMA, "messages": [{"role": "user", "content": [IMG]}]})  # fmt: skip
        assert r.status_code == 200


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_body_with_a_non_json_number_is_refused(client, literal):
    # Python's json would read it; JSON has no such literal (the client refuses to send one)
    body = (
        '{"model": "databricks-meta-llama-3-3-70b-instruct", "temperature": ' + literal
        + ', "messages": [{"role": "user", "content": "hi"}]}'
    )
    r = client.post("/serving-endpoints/chat/completions", content=body,
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON object" in r.json()["message"]
    ok = client.post("/serving-endpoints/chat/completions", content=body.replace(literal, "0.5"),
                     headers={"Content-Type": "application/json"})
    assert ok.status_code == 200
