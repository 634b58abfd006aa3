"""parse_response: every response shape in wire-formats.md, usage forms, errors, round trip."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.codecs.chat import build_request, normalize_finish_reason, parse_response, parse_usage
from core.errors import ResponseParseError
from core.registry import lookup_model
from core.types import (
    GenerationParams,
    Message,
    ReasoningPart,
    ServerToolPart,
    TextPart,
    ToolCallPart,
    Usage,
)

CLAUDE = lookup_model("databricks-claude-sonnet-4-5")


def body_with(message: dict, finish="stop", **top) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1763700000,
        "model": "databricks-claude-sonnet-4-5",
        "choices": [{"index": 0, "message": {"role": "assistant", **message},
                     "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        **top,
    }


def test_string_content():
    r = parse_response(body_with({"content": "Hello"}))
    assert r.parts == [TextPart("Hello")]
    assert r.text == "Hello"
    assert r.id == "chatcmpl-1"
    assert r.model == "databricks-claude-sonnet-4-5"
    assert r.finish_reason == "stop"
    assert r.usage == Usage(10, 5, 15, raw={"prompt_tokens": 10, "completion_tokens": 5,
                                            "total_tokens": 15})
    assert r.extras == {"created": 1763700000}


def test_null_content_with_tool_calls():
    r = parse_response(body_with({"content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": "{}"}},
    ]}, finish="tool_calls"))
    assert r.parts == [ToolCallPart("call_1", "get_weather", '{"city": "Paris"}'),
                       ToolCallPart("call_2", "f", "{}")]
    assert r.finish_reason == "tool_calls"


def test_reasoning_block_one_item_with_signature():
    r = parse_response(body_with({"content": [
        {"type": "reasoning", "summary": [
            {"type": "summary_text", "text": "Rayleigh...", "signature": "EqoB"}]},
        {"type": "text", "text": "The sky is blue because..."},
    ]}))
    assert r.parts == [ReasoningPart("Rayleigh...", signature="EqoB", block=0),
                       TextPart("The sky is blue because...")]
    assert r.reasoning[0].signature == "EqoB"


def test_reasoning_many_items_no_signature_and_signature_only():
    r = parse_response(body_with({"content": [
        {"type": "reasoning", "summary": [
            {"type": "summary_text", "text": "one"},
            {"type": "summary_text", "text": "two"},
            {"type": "summary_text", "text": "", "signature": "SIG"},
        ]},
        {"type": "text", "text": "done"},
    ]}))
    assert r.parts == [
        ReasoningPart("one", block=0),
        ReasoningPart("two", block=0),
        ReasoningPart("", signature="SIG", block=0),
        TextPart("done"),
    ]


def test_redacted_reasoning():
    r = parse_response(body_with({"content": [
        {"type": "reasoning", "summary": [{"type": "summary_encrypted_text", "data": "ENC=="}]},
        {"type": "text", "text": "ok"},
    ]}))
    assert r.parts[0] == ReasoningPart(redacted="ENC==", block=0)


def test_gemini_thought_signature_on_text():
    r = parse_response(body_with({"content": [
        {"type": "text", "text": "hi", "thoughtSignature": "TSIG"}]}))
    assert r.parts == [TextPart("hi", extras={"thoughtSignature": "TSIG"})]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_string_fields(field):
    r = parse_response(body_with({"content": "answer", field: "I thought"}))
    assert r.parts == [ReasoningPart("I thought", block=0), TextPart("answer")]


def test_unknown_block_type_kept_whole():
    block = {"type": "citation", "url": "https://x"}
    r = parse_response(body_with({"content": [block, {"type": "text", "text": "x"}]}))
    assert r.parts[0] == ServerToolPart(item=block)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
         Usage(1, 2, 3)),
        ({"prompt_tokens": 1, "completion_tokens": 2},
         Usage(1, 2, 3)),
        ({"prompt_tokens": 1, "completion_tokens": 9, "total_tokens": 10,
          "completion_tokens_details": {"reasoning_tokens": 7}},
         Usage(1, 9, 10, reasoning_tokens=7)),
        ({"prompt_tokens": 1, "completion_tokens": 9, "total_tokens": 10, "reasoning_tokens": 4},
         Usage(1, 9, 10, reasoning_tokens=4)),
        ({"prompt_tokens": 100, "completion_tokens": 9, "total_tokens": 109,
          "cache_read_input_tokens": 80, "cache_creation_input_tokens": 20},
         Usage(100, 9, 109, cache_read_tokens=80, cache_creation_tokens=20)),
        ({"prompt_tokens": 100, "completion_tokens": 9, "total_tokens": 109,
          "prompt_tokens_details": {"cached_tokens": 64}},
         Usage(100, 9, 109, cache_read_tokens=64)),
        ({"input_tokens": 5, "output_tokens": 6, "total_tokens": 11,
          "output_tokens_details": {"reasoning_tokens": 2}},
         Usage(5, 6, 11, reasoning_tokens=2)),
        ({"prompt_tokens": None, "completion_tokens": None, "total_tokens": None},
         Usage()),
    ],
)
def test_usage_forms(usage, expected):
    got = parse_usage(usage)
    assert got.raw is usage
    got.raw = None
    assert got == expected
    assert parse_response(body_with({"content": "x"}, usage=usage)).usage.raw == usage


@pytest.mark.parametrize(
    ("wire", "norm"),
    [("stop", "stop"), ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
     ("length", "length"), ("tool_use", "tool_calls"), ("tool_calls", "tool_calls"),
     ("content_filter", "content_filter"), ("STOP", "stop"), ("MAX_TOKENS", "length"),
     ("SAFETY", "content_filter"), ("something_new", "something_new")],
)
def test_finish_reason_normalized(wire, norm):
    assert normalize_finish_reason(wire) == norm
    assert parse_response(body_with({"content": "x"}, finish=wire)).finish_reason == norm


def test_unknown_fields_kept():
    body = body_with({"content": "x", "refusal": None, "annotations": [{"a": 1}]},
                     system_fingerprint="fp", service_tier="default")
    body["choices"][0]["logprobs"] = {"content": [{"token": "x", "logprob": -0.1}]}
    r = parse_response(body)
    assert r.extras["system_fingerprint"] == "fp"
    assert r.extras["service_tier"] == "default"
    assert r.extras["logprobs"] == {"content": [{"token": "x", "logprob": -0.1}]}
    assert r.extras["message"] == {"annotations": [{"a": 1}]}


def test_n_greater_than_one_keeps_other_choices():
    body = body_with({"content": "first"})
    second = {"index": 1, "message": {"role": "assistant", "content": "second"},
              "finish_reason": "stop"}
    body["choices"].append(second)
    r = parse_response(body)
    assert r.text == "first"
    assert r.extras["choices"] == [second]


def test_tool_call_without_id_and_object_arguments():
    r = parse_response(body_with({"content": None, "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}))
    assert r.parts == [ToolCallPart("call_0", "f", '{"a": 1}')]


@pytest.mark.parametrize(
    "body",
    [
        None, [], "text", 3, {}, {"choices": []}, {"choices": "x"}, {"choices": [None]},
        {"choices": [{"message": "x"}]},
        {"choices": [{"message": {"content": 5}}]},
        {"choices": [{"message": {"content": [5]}}]},
        {"choices": [{"message": {"content": [{"type": "reasoning"}]}}]},
        {"choices": [{"message": {"content": [{"type": "reasoning", "summary": [3]}]}}]},
        {"choices": [{"message": {"content": [{"type": "text", "text": 3}]}}]},
        {"choices": [{"message": {"tool_calls": {}}}]},
        {"choices": [{"message": {"tool_calls": [{"function": {"arguments": "{}"}}]}}]},
        {"choices": [{"message": {"content": "x"}, "finish_reason": 3}]},
        {"choices": [{"message": {"content": "x"}}], "usage": "lots"},
        {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "many"}},
        {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": float("inf")}},
        {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": 1.5}},
        {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": True}},
        {"error_code": "BAD_REQUEST", "message": "nope"},
        {"error": {"message": "nope", "type": "invalid_request"}},
    ],
)
def test_bad_shapes_raise_response_parse_error(body):
    with pytest.raises(ResponseParseError):
        parse_response(body)


def test_error_body_message_surfaces():
    with pytest.raises(ResponseParseError, match="nope") as exc:
        parse_response({"error_code": "BAD_REQUEST", "message": "nope"})
    assert exc.value.error_code == "BAD_REQUEST"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "text", "summary", "signature", "data", "content", "message",
                         "choices", "tool_calls", "function", "name", "arguments", "id",
                         "usage", "prompt_tokens", "finish_reason", "reasoning_content", "x"]),
        inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_fuzz_never_raises_python_errors(body):
    try:
        parse_response(body)
    except ResponseParseError:
        pass


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_inside_message(content):
    for body in (body_with({"content": content}), body_with({"tool_calls": content}),
                 {"choices": [content]}, body_with({"content": "x"}, usage=content)):
        try:
            parse_response(body)
        except ResponseParseError:
            pass


# -- round trip: parse_response -> build_request reproduces the assistant content byte for byte
ROUND_TRIP_SHAPES = {
    "one item with signature": [
        {"type": "reasoning", "summary": [
            {"type": "summary_text", "text": "Rayleigh scattering...", "signature": "EqoBCkgIBx"}]},
        {"type": "text", "text": "The sky is blue because..."},
    ],
    "many items, no signature (GPT OSS)": [
        {"type": "reasoning", "summary": [
            {"type": "summary_text", "text": "first"}, {"type": "summary_text", "text": "second"}]},
        {"type": "text", "text": "answer"},
    ],
    "signature only (thinking omitted)": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "", "signature": "S"}]},
        {"type": "text", "text": "answer"},
    ],
    "redacted": [
        {"type": "reasoning", "summary": [
            {"type": "summary_text", "text": "visible", "signature": "S1"},
            {"type": "summary_encrypted_text", "data": "ENCRYPTED=="}]},
        {"type": "text", "text": "answer"},
    ],
    "gemini thoughtSignature": [
        {"type": "text", "text": "Paris", "thoughtSignature": "CiQB0e2Kb"},
    ],
    "interleaved blocks": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "a", "signature": "1"}]},
        {"type": "text", "text": "mid"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "b", "signature": "2"}]},
        {"type": "text", "text": "end", "thoughtSignature": "T"},
    ],
    "adjacent reasoning blocks": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "b"}]},
        {"type": "text", "text": "end"},
    ],
    "unknown keys and odd order": [
        {"summary": [{"signature": "S", "type": "summary_text", "text": "t", "extra": 1}],
         "type": "reasoning", "id": "rs_1"},
        {"text": "x", "type": "text", "annotations": []},
    ],
    "missing type, null signature": [
        {"type": "reasoning", "summary": [{"text": "t"}, {"type": "summary_text", "text": "u",
                                                          "signature": None}]},
        {"type": "text", "text": "x"},
    ],
    "other item type": [
        {"type": "reasoning", "summary": [{"type": "reasoning_text", "text": "raw", "x": 1}]},
        {"type": "text", "text": "x"},
    ],
    "other item type, odd order": [
        {"type": "reasoning", "summary": [{"text": "raw", "type": "reasoning_text"}]},
    ],
    "reasoning only": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "hmm", "signature": "S"}]},
    ],
    "unknown block type": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "r", "signature": "S"}]},
        {"type": "citation", "cite": {"url": "u"}},
        {"type": "text", "text": "x"},
    ],
}

TOOL_CALLS = [{"id": "call_1", "type": "function",
               "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]


@pytest.mark.parametrize("with_tools", [False, True])
@pytest.mark.parametrize("shape", sorted(ROUND_TRIP_SHAPES))
def test_round_trip_byte_for_byte(shape, with_tools):
    content = ROUND_TRIP_SHAPES[shape]
    message = {"content": copy.deepcopy(content)}
    if with_tools:
        message["tool_calls"] = copy.deepcopy(TOOL_CALLS)
    r = parse_response(body_with(message))
    for info in (CLAUDE, lookup_model("databricks-gpt-oss-120b"), lookup_model("databricks-gemini-2-5-pro")):
        body = build_request(
            [Message("user", [TextPart("q")]), Message("assistant", r.parts)],
            GenerationParams(), model="m", info=info, stream=False,
        )
        sent = body["messages"][1]
        assert json.dumps(sent["content"]) == json.dumps(content)
        if with_tools:
            assert json.dumps(sent["tool_calls"]) == json.dumps(TOOL_CALLS)
        else:
            assert "tool_calls" not in sent


def test_round_trip_string_content_stays_string():
    r = parse_response(body_with({"content": "plain"}))
    body = build_request([Message("assistant", r.parts)], GenerationParams(), model=None,
                         info=CLAUDE, stream=False)
    assert body["messages"][0] == {"role": "assistant", "content": "plain"}


def test_reasoning_object_of_other_servers_is_kept_not_parsed():
    r = parse_response(body_with({"content": "x", "reasoning": {"effort": "low"}}))
    assert r.parts == [TextPart("x")]
    assert r.extras["message"] == {"reasoning": {"effort": "low"}}


def test_tool_call_unknown_keys_round_trip():
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
              "extra_content": {"google": {"thought_signature": "TS"}}}]
    r = parse_response(body_with({"content": None, "tool_calls": copy.deepcopy(calls)}))
    body = build_request([Message("assistant", r.parts)], GenerationParams(), model=None,
                         info=lookup_model("databricks-gemini-2-5-pro"), stream=False)
    assert json.dumps(body["messages"][0]["tool_calls"]) == json.dumps(calls)


# -- the round trip as a property: any block list the server may send comes back unchanged --
_extra_keys = st.sampled_from(["id", "extra", "annotations", "thoughtSignature", "cache_control"])
# A text block's "id"/"name" are read as a Responses/agent message's identity, which the chat codec
# keeps off the chat wire (see core/codecs/chat.py _chat_text_extras and its tests).
_text_extra_keys = st.sampled_from(["extra", "annotations", "thoughtSignature", "cache_control"])
_scalar = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6)


@st.composite
def _shuffled(draw, d: dict, keys=_extra_keys) -> dict:
    extra = draw(st.dictionaries(keys, _scalar, max_size=2))
    items = list(d.items()) + [(k, v) for k, v in extra.items() if k not in d]
    if draw(st.booleans()):
        items = draw(st.permutations(items))
    return dict(items)


@st.composite
def _summary_item(draw) -> dict:
    kind = draw(st.sampled_from(["text", "text_sig", "text_null_sig", "enc", "no_type"]))
    if kind == "enc":
        item = {"type": "summary_encrypted_text", "data": draw(st.text(max_size=8))}
    elif kind == "no_type":
        item = {"text": draw(st.text(max_size=8))}
    else:
        item = {"type": "summary_text", "text": draw(st.text(max_size=8))}
        if kind == "text_sig":
            item["signature"] = draw(st.text(max_size=8))
        elif kind == "text_null_sig":
            item["signature"] = None
    return draw(_shuffled(item))


@st.composite
def _block(draw) -> dict:
    kind = draw(st.sampled_from(["reasoning", "text", "unknown"]))
    if kind == "reasoning":
        summary = draw(st.lists(_summary_item(), min_size=1, max_size=3))
        return draw(_shuffled({"type": "reasoning", "summary": summary}))
    if kind == "text":
        return draw(_shuffled({"type": "text", "text": draw(st.text(max_size=8))}, _text_extra_keys))
    return {"type": "server_thing", "payload": draw(_scalar)}


@settings(max_examples=500, deadline=None)
@given(st.lists(_block(), min_size=1, max_size=5), st.booleans())
def test_round_trip_property(content, with_tools):
    message = {"content": copy.deepcopy(content)}
    if with_tools:
        message["tool_calls"] = copy.deepcopy(TOOL_CALLS)
    r = parse_response(body_with(message))
    body = build_request([Message("assistant", r.parts)], GenerationParams(), model=None,
                         info=lookup_model("databricks-gpt-oss-120b"), stream=False)
    sent = body["messages"][0]
    plain = all(b.get("type") == "text" and list(b) == ["type", "text"] for b in content)
    if plain:  # only plain text blocks: sent as the equivalent string
        assert sent["content"] == ("".join(b["text"] for b in content) or
                                   (None if with_tools else ""))
    else:
        assert json.dumps(sent["content"]) == json.dumps(content)
