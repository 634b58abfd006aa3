"""core.codecs.policy: one behaviour for both codecs (usage, finish, effort, validation)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.codecs import chat, codec_for, policy, responses
from core.errors import InvalidRequestError, MalformedEventError, ResponseParseError
from core.registry import lookup_model
from core.types import GenerationParams, Message, NamedToolChoice, ResponseFormat, TextPart, Tool

GPT = lookup_model("databricks-gpt-5")


def _chat_body(usage):
    return {"choices": [{"message": {"role": "assistant", "content": "hi"}}], "usage": usage}


def _responses_body(usage):
    return {
        "status": "completed",
        "output": [{"type": "message", "role": "assistant", "content": "hi"}],
        "usage": usage,
    }


BODIES = {"chat": _chat_body, "responses": _responses_body}


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_usage_null_counts_stay_none_and_cache_counts_kept(api):
    raw = {
        "prompt_tokens" if api == "chat" else "input_tokens": 100,
        "completion_tokens" if api == "chat" else "output_tokens": None,
        "total_tokens": None,
        "cache_read_input_tokens": 80,
        "cache_creation_input_tokens": 20,
    }
    u = codec_for(api).parse_response(BODIES[api](raw)).usage
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (100, None, None)
    # cached tokens are reported beside input_tokens, never added to it
    assert (u.cache_read_tokens, u.cache_creation_tokens) == (80, 20)


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("bad", ["12", -1, 1.5, True, [3]])
def test_usage_bad_count_raises_in_both_codecs(api, bad):
    key = "prompt_tokens" if api == "chat" else "input_tokens"
    with pytest.raises(ResponseParseError, match=key):
        codec_for(api).parse_response(BODIES[api]({key: bad, "total_tokens": 3}))


def test_responses_usage_details_and_float_counts():
    u = policy.parse_usage(
        {
            "input_tokens": 10.0,
            "output_tokens": 5,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens_details": {"reasoning_tokens": 2},
        }
    )
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (10, 5, 15)
    assert (u.cache_read_tokens, u.reasoning_tokens, u.cache_creation_tokens) == (4, 2, None)
    assert policy.usage_or_none(None) is None
    with pytest.raises(ResponseParseError):
        policy.usage_or_none("12 tokens")


def test_bad_usage_on_a_stream_is_a_malformed_event():
    dec = chat.StreamDecoder()
    dec.feed(json.dumps({"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}}]}))
    dec.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": "many"}}))
    with pytest.raises(MalformedEventError):
        dec.close()


def test_merge_usage_fills_nulls_from_earlier_chunks():
    u = policy.merge_usage(
        [
            {"prompt_tokens": 7, "completion_tokens": None},
            {"prompt_tokens": None, "completion_tokens": 3},
        ]
    )
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (7, 3, None)


@pytest.mark.parametrize(
    ("wire", "want"),
    [
        ("end_turn", "stop"),
        ("MAX_TOKENS", "length"),
        ("tool_use", "tool_calls"),
        ("SAFETY", "content_filter"),
        ("odd", "odd"),
    ],
)
def test_finish_reason_normalisation(wire, want):
    assert policy.normalize_finish_reason(wire) == want


def test_finish_from_status():
    assert policy.finish_from_status("completed", None, True) == "tool_calls"
    assert policy.finish_from_status(None, None, False) == "stop"
    assert (
        policy.finish_from_status("incomplete", {"reason": "max_output_tokens"}, False) == "length"
    )
    assert (
        policy.finish_from_status("incomplete", {"reason": "content_filter"}, False)
        == "content_filter"
    )
    assert policy.finish_from_status("incomplete", None, False) == "length"


@pytest.mark.parametrize(
    ("budget", "effort"),
    [(1024, "low"), (2048, "low"), (2049, "medium"), (8192, "medium"), (8193, "high")],
)
def test_effort_from_budget_same_in_both_codecs(budget, effort):
    assert policy.effort_from_budget(budget) == effort
    p = GenerationParams(thinking_budget=budget)
    assert (
        chat.build_request(
            [Message("user", [TextPart("x")])], p, model="m", info=GPT, stream=False
        )["reasoning_effort"]
        == effort
    )
    assert responses.build_request(
        [Message("user", [TextPart("x")])], p, model="m", info=GPT, stream=False
    )["reasoning"] == {"effort": effort}


def test_budget_from_effort():
    assert policy.budget_from_effort("low") == 2048
    assert policy.budget_from_effort("high") == 16384
    assert policy.budget_from_effort("max") is None


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_choice_rules_identical(api):
    build = codec_for(api).build_request
    msgs = [Message("user", [TextPart("x")])]

    def body(**kw):
        return build(msgs, GenerationParams(**kw), model="m", info=GPT, stream=False)

    assert "tool_choice" not in body(tool_choice="auto")  # nothing to choose from
    assert "tool_choice" not in body(tool_choice="none")
    with pytest.raises(InvalidRequestError, match="no tools"):
        body(tool_choice="required")
    with pytest.raises(InvalidRequestError, match="no tools"):
        body(tool_choice=NamedToolChoice("f"))
    with pytest.raises(InvalidRequestError, match="not among"):
        body(tools=[Tool("f")], tool_choice=NamedToolChoice("g"))
    with pytest.raises(InvalidRequestError, match="Unrecognized tool_choice type"):
        body(tools=[Tool("f")], tool_choice="sometimes")
    assert body(tools=[Tool("f")], tool_choice="required")["tool_choice"] == "required"


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize(
    ("rf", "match"),
    [
        (ResponseFormat("yaml"), "unknown response_format type"),  # type: ignore[arg-type]
        (ResponseFormat("json_schema"), "needs a JSON schema"),
        (ResponseFormat("json_schema", schema={"type": "object"}, name="has space"), "not allowed"),
    ],
)
def test_response_format_validation_identical(api, rf, match):
    with pytest.raises(InvalidRequestError, match=match):
        codec_for(api).build_request(
            [Message("user", [TextPart("x")])],
            GenerationParams(response_format=rf),
            model="m",
            info=GPT,
            stream=False,
        )


@pytest.mark.parametrize("args", ["", "  ", None])
def test_empty_tool_arguments_go_back_as_empty_object(args):
    assert policy.tool_call_arguments(args) == "{}"
    assert policy.tool_call_arguments('{"a": 1}') == '{"a": 1}'


def test_codec_for_unknown():
    with pytest.raises(ValueError, match="unknown API kind"):
        codec_for("soap")


def test_add_usage_sums_model_calls_fields_and_raw():
    from core.codecs.policy import add_usage, parse_usage

    a = parse_usage({"input_tokens": 5, "output_tokens": 2, "total_tokens": 7,
                     "output_tokens_details": {"reasoning_tokens": 1}})  # fmt: skip
    b = parse_usage({"input_tokens": 9, "output_tokens": 3, "total_tokens": 12})
    total = add_usage(add_usage(None, a), b)
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (14, 5, 19)
    assert total.reasoning_tokens == 1  # only one call reported it: kept, not lost
    assert total.raw == {"input_tokens": 14, "output_tokens": 5, "total_tokens": 19,
                         "output_tokens_details": {"reasoning_tokens": 1}}  # fmt: skip


# -- parse_usage's fast path for the plain chat usage gives what the general rule gives --------
_count_values = (
    st.none()
    | st.integers(min_value=-3, max_value=10**6)
    | st.sampled_from([12.0, 1.5, "12", True, [], {}])
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["prompt_tokens", "completion_tokens", "total_tokens"]
        ),
        _count_values,
    )
)
def test_plain_chat_usage_fast_path_agrees_with_the_general_rule(raw):
    def outcome(fn):
        try:
            return fn(raw)
        except ResponseParseError as exc:
            return ("error", str(exc))

    assert outcome(policy.parse_usage) == outcome(policy._parse_any_usage)
