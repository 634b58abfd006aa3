"""Parsers under fuzzing, beyond the codec-level fuzz tests that already exist
(test_codec_chat_response/stream and test_codec_responses_property feed random JSON values to
``parse_response``/``StreamDecoder.feed``):

* mutation fuzzing: real, valid bodies and events recorded from the emulator (Claude reasoning
  and tool calls, GPT OSS, Llama, GPT-5 Responses with reasoning and function calls) with one
  subtree replaced by arbitrary JSON, or one key dropped - this reaches the deep branches
  random JSON never gets to;
* arbitrary byte streams served as ``text/event-stream`` (and as JSON bodies, and as error
  bodies with any status and Retry-After) through the real client, transport and SSE layer
  (httpx mocked by respx), sync and async, chat and Responses;
* the OAuth token answer and the error-body / Retry-After parsers.

Everything either parses or raises the library's own :class:`core.errors.DatabricksError`;
never ``KeyError``, ``TypeError``, ``AttributeError``, ``IndexError``, ``ValueError`` or
``UnicodeDecodeError``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core.codecs.chat as chat
import core.codecs.responses as responses
from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.errors import APIError, DatabricksError
from core.transport.errors import error_from_response, parse_error_body, parse_retry_after
from core.types import GenerationParams, Message, TextPart, Tool

HOST = "https://fuzz.cloud.databricks.com"
CHAT_URL = f"{HOST}/serving-endpoints/chat/completions"
RESP_URL = f"{HOST}/serving-endpoints/responses"
WEATHER = Tool("get_weather", "weather",
               {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})  # fmt: skip
# FUZZ_EXAMPLES=2500 for a deeper run (clean at 2,500 when written)
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Real payloads recorded from the emulator (once per module)
# ---------------------------------------------------------------------------------------------
def _events(text: str) -> list[str]:
    return [ln[6:] for ln in text.splitlines() if ln.startswith("data: ")]


def _record() -> dict[str, list[Any]]:
    chat_bodies: list[Any] = []
    chat_streams: list[list[str]] = []
    resp_bodies: list[Any] = []
    resp_streams: list[list[str]] = []
    msgs = [{"role": "user", "content": "What's the weather in Paris? Think first."}]
    tools = [{"type": "function", "function": {"name": "get_weather",
                                                "parameters": WEATHER.parameters}}]  # fmt: skip
    with run_emulator(chunk_size=5) as emu, httpx.Client(
        base_url=emu.host, headers={"Authorization": f"Bearer {emu.token}"}, timeout=30
    ) as c:
        chat_reqs = [
            {"model": "databricks-claude-sonnet-4-5", "messages": msgs, "tools": tools,
             "thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
            {"model": "databricks-claude-sonnet-4-5", "messages": msgs,
             "thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
            {"model": "databricks-gpt-oss-120b", "messages": msgs, "reasoning_effort": "low"},
            {"model": "databricks-meta-llama-3-3-70b-instruct", "messages": msgs, "tools": tools},
            {"model": "databricks-gemini-2-5-pro", "messages": msgs},
        ]  # fmt: skip
        for body in chat_reqs:
            r = c.post("/serving-endpoints/chat/completions", json=body)
            assert r.status_code == 200, r.text
            chat_bodies.append(r.json())
            r = c.post("/serving-endpoints/chat/completions", json={**body, "stream": True})
            assert r.status_code == 200, r.text
            chat_streams.append(_events(r.text))
        resp_input = [{"role": "user", "content": "What's the weather in Paris? Think first."}]
        resp_tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER.parameters}]
        for body in (
            {"model": "databricks-gpt-5", "input": resp_input, "tools": resp_tools,
             "reasoning": {"effort": "low", "summary": "auto"}},
            {"model": "databricks-gpt-5", "input": resp_input,
             "reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"]},
        ):  # fmt: skip
            r = c.post("/serving-endpoints/responses", json=body)
            assert r.status_code == 200, r.text
            resp_bodies.append(r.json())
            r = c.post("/serving-endpoints/responses", json={**body, "stream": True})
            assert r.status_code == 200, r.text
            resp_streams.append(_events(r.text))
    return {"chat_bodies": chat_bodies, "chat_streams": chat_streams,
            "resp_bodies": resp_bodies, "resp_streams": resp_streams}  # fmt: skip


RECORDED = _record()


def test_recorded_payloads_parse_cleanly():
    """The seeds are valid: the mutations below start from things that parse."""
    assert any(chat.parse_response(b).tool_calls for b in RECORDED["chat_bodies"])
    assert any(chat.parse_response(b).reasoning for b in RECORDED["chat_bodies"])
    assert any(responses.parse_response(b).reasoning for b in RECORDED["resp_bodies"])
    for codec, key in ((chat, "chat_streams"), (responses, "resp_streams")):
        for events in RECORDED[key]:
            dec = codec.StreamDecoder()
            for e in events:
                dec.feed(e)
            dec.close()
            assert dec.complete


# ---------------------------------------------------------------------------------------------
# Mutation fuzzing
# ---------------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=6) | st.sampled_from(["", "text", "reasoning", "function", "[DONE]"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated(draw: Any, seed: Any) -> Any:
    """``seed`` with one subtree replaced by arbitrary JSON, or one key/element removed."""
    doc = copy.deepcopy(seed)
    paths = _paths(doc)
    path = draw(st.sampled_from(paths))
    if not path:
        return draw(json_values)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()):
        parent[path[-1]] = draw(json_values)
    else:
        del parent[path[-1]]
    return doc


def _only_library_errors(fn: Any) -> None:
    try:
        fn()
    except DatabricksError:
        pass


@FUZZ
@given(st.data())
def test_mutated_chat_bodies(data):
    seed = data.draw(st.sampled_from(RECORDED["chat_bodies"]))
    body = data.draw(mutated(seed))
    _only_library_errors(lambda: chat.parse_response(body))


@FUZZ
@given(st.data())
def test_mutated_responses_bodies(data):
    seed = data.draw(st.sampled_from(RECORDED["resp_bodies"]))
    body = data.draw(mutated(seed))
    _only_library_errors(lambda: responses.parse_response(body))


def _feed_all(codec: Any, events: list[str]) -> None:
    dec = codec.StreamDecoder()
    for e in events:
        dec.feed(e)
    dec.close()


@st.composite
def mutated_stream(draw: Any, streams: list[list[str]]) -> list[str]:
    events = list(draw(st.sampled_from(streams)))
    for _ in range(draw(st.integers(1, 3))):
        if not events:
            break
        i = draw(st.integers(0, len(events) - 1))
        try:
            seed = json.loads(events[i])
        except ValueError:  # "[DONE]"
            seed = None
        action = draw(st.sampled_from(["mutate", "drop", "duplicate", "truncate"]))
        if action == "mutate" and seed is not None:
            events[i] = json.dumps(draw(mutated(seed)))
        elif action == "drop":
            del events[i]
        elif action == "duplicate":
            events.insert(i, events[i])
        else:
            events[i] = events[i][: draw(st.integers(0, len(events[i])))]
    return events


@FUZZ
@given(st.data())
def test_mutated_chat_streams(data):
    events = data.draw(mutated_stream(RECORDED["chat_streams"]))
    _only_library_errors(lambda: _feed_all(chat, events))


@FUZZ
@given(st.data())
def test_mutated_responses_streams(data):
    events = data.draw(mutated_stream(RECORDED["resp_streams"]))
    _only_library_errors(lambda: _feed_all(responses, events))


# ---------------------------------------------------------------------------------------------
# Arbitrary bytes through the real client, transport and SSE layer
# ---------------------------------------------------------------------------------------------
def _sse_piece(events: list[str]) -> Any:
    return st.one_of(
        st.binary(max_size=40),
        st.text(max_size=40).map(lambda t: t.encode("utf-8", "replace")),
        st.sampled_from(events).map(lambda e: f"data: {e}\n\n".encode()),
        st.sampled_from(events).map(lambda e: f"data: {e[: len(e) // 2]}".encode()),
        st.sampled_from([b"\n", b"\r\n", b"\n\n", b"data: [DONE]\n\n", b"event: error\n",
                         b": keep-alive\n\n", b"data:\n\n", b"id: 7\nretry: 10\n",
                         b'data: {"error": {"message": "boom"}}\n\n', b"\xef\xbb\xbf",
                         b"\xff\xfe\x00", b"data: {\n"]),  # fmt: skip
    )


def sse_bodies(key: str) -> Any:
    events = [e for stream in RECORDED[key] for e in stream]
    return st.lists(_sse_piece(events), max_size=12).map(b"".join)


_CLIENTS: dict[str, DatabricksChatClient] = {}


def _client(kind: str = "chat") -> DatabricksChatClient:
    """One client per API for the whole module: building one per example (an SSL context each)
    would dominate the run time."""
    if kind not in _CLIENTS:
        extra: dict[str, Any] = {"model": "databricks-claude-sonnet-4-5"}
        if kind == "responses":
            extra = {"model": "databricks-gpt-5", "use_responses_api": True}
        _CLIENTS[kind] = DatabricksChatClient(host=HOST, token="dapi" + "0" * 32, max_retries=0,
                                              transport="httpx", **extra)  # fmt: skip
    return _CLIENTS[kind]


@pytest.fixture(scope="module")
def router():
    with respx.mock(assert_all_called=False) as mock:
        mock.post(CHAT_URL, name="chat")
        mock.post(RESP_URL, name="responses")
        yield mock


MSGS = [Message("user", [TextPart("hi")])]


def _answer(router: Any, name: str, status: int, body: bytes, headers: dict[str, str]) -> None:
    router[name].return_value = httpx.Response(status, content=body, headers=headers)


@FUZZ
@given(sse_bodies("chat_streams"))
def test_random_bytes_as_chat_event_stream(router, body):
    _answer(router, "chat", 200, body, {"content-type": "text/event-stream"})
    _only_library_errors(lambda: list(_client().stream(MSGS, GenerationParams())))


@FUZZ
@given(sse_bodies("resp_streams"))
def test_random_bytes_as_responses_event_stream(router, body):
    _answer(router, "responses", 200, body, {"content-type": "text/event-stream"})
    _only_library_errors(lambda: list(_client("responses").stream(MSGS, GenerationParams())))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(sse_bodies("chat_streams"))
def test_random_bytes_as_event_stream_async(router, body):
    _answer(router, "chat", 200, body, {"content-type": "text/event-stream"})
    client = _client()

    async def go() -> None:
        try:
            async for _ in client.astream(MSGS, GenerationParams()):
                pass
        except DatabricksError:
            pass
        finally:
            await client.http.aclose()

    asyncio.run(go())


@FUZZ
@given(st.one_of(st.binary(max_size=80), st.sampled_from(RECORDED["chat_bodies"]).map(
    lambda b: json.dumps(b).encode()[: len(json.dumps(b)) // 2])),  # fmt: skip
    st.sampled_from(["application/json", "text/event-stream", "", "text/html"]))
def test_random_bytes_as_a_json_answer(router, body, ctype):
    _answer(router, "chat", 200, body, {"content-type": ctype} if ctype else {})
    _only_library_errors(lambda: _client().complete(MSGS, GenerationParams()))
    _only_library_errors(lambda: list(_client().stream(MSGS, GenerationParams())))


@FUZZ
@given(st.integers(400, 599), st.binary(max_size=80) | json_values.map(lambda v: json.dumps(v).encode()),
       st.none() | st.text(max_size=30))  # fmt: skip
def test_random_error_answers_are_api_errors(router, status, body, retry_after):
    headers = {} if retry_after is None else {"retry-after": retry_after.encode("ascii", "ignore").decode()}
    _answer(router, "chat", status, body, headers)
    with pytest.raises(APIError) as info:
        _client().complete(MSGS, GenerationParams())
    assert info.value.status_code == status
    assert isinstance(info.value.message, str) and info.value.message


# ---------------------------------------------------------------------------------------------
# Small parsers
# ---------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_retry_after_never_raises(value):
    seconds = parse_retry_after(value, now=1_700_000_000.0)
    assert seconds is None or (seconds >= 0 and seconds == seconds)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120) | json_values.map(lambda v: json.dumps(v).encode()),
       st.dictionaries(st.sampled_from(["retry-after", "x-request-id", "content-type"]),
                       st.text(max_size=20).map(lambda t: t.encode("ascii", "ignore").decode())))  # fmt: skip
def test_error_body_parsers_never_raise(body, headers):
    code, message, _details = parse_error_body(body)
    assert code is None or isinstance(code, str)
    assert message is None or isinstance(message, str)
    err = error_from_response(503, headers, body, url=CHAT_URL)
    assert isinstance(err, APIError) and err.status_code == 503


@settings(max_examples=300, deadline=None)
@given(json_values | st.dictionaries(
    st.sampled_from(["access_token", "token_type", "expires_in", "scope"]), json_values))  # fmt: skip
def test_oauth_token_answer_parses_or_is_an_authentication_error(data):
    from pydantic import SecretStr

    from core.auth.oauth import OAuthM2MAuth
    from core.errors import AuthenticationError

    auth = OAuthM2MAuth(HOST, "client", SecretStr("secret"))
    try:
        token = auth._parse(data, 0.0)
    except AuthenticationError:
        return
    assert token.header.split(" ", 1)[1] == data["access_token"]
    assert token.expires_at >= 0
