"""StreamDecoder: every streaming rule in wire-formats.md."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.codecs.chat import StreamDecoder
from core.errors import MalformedEventError, StreamErrorEvent
from core.types import (
    FinishDelta,
    MetaDelta,
    ReasoningDelta,
    ServerToolDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageDelta,
)

HEAD = {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 7,
        "model": "databricks-claude-sonnet-4-5"}


def chunk(delta=None, finish=None, **top):
    choices = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    return json.dumps({**HEAD, "choices": choices, **top})


def reasoning(text="", signature=None):
    item = {"type": "summary_text", "text": text}
    if signature is not None:
        item["signature"] = signature
    return {"content": [{"type": "reasoning", "summary": [item]}]}


def run(events):
    dec = StreamDecoder()
    out = []
    for e in events:
        out.extend(dec.feed(e))
    return dec, out


def no_meta(deltas):
    return [d for d in deltas if not isinstance(d, MetaDelta)]


def test_meta_on_first_chunk_only():
    dec, out = run([chunk({"role": "assistant", "content": ""}), chunk({"content": "x"})])
    assert out[0] == MetaDelta(id="chatcmpl-9", model="databricks-claude-sonnet-4-5",
                               extras={"created": 7})
    assert sum(isinstance(d, MetaDelta) for d in out) == 1


def test_string_and_null_content():
    _, out = run([chunk({"content": "Hel"}), chunk({"content": None}), chunk({"content": "lo"})])
    assert no_meta(out) == [TextDelta("Hel"), TextDelta("lo")]


def test_list_text_content_with_thought_signature():
    _, out = run([chunk({"content": [{"type": "text", "text": "a"}]}),
                  chunk({"content": [{"type": "text", "text": "b", "thoughtSignature": "T"}]})])
    assert no_meta(out) == [TextDelta("a"), TextDelta("b", {"thoughtSignature": "T"})]


def test_reasoning_pieces_then_signature():
    _, out = run([chunk(reasoning("Let me ", "")), chunk(reasoning("think", "")),
                  chunk(reasoning("", "SIG==")), chunk({"content": "Answer"})])
    assert no_meta(out) == [ReasoningDelta("Let me "), ReasoningDelta("think"),
                            ReasoningDelta(signature="SIG=="), TextDelta("Answer")]


def test_redacted_reasoning_delta():
    _, out = run([chunk({"content": [{"type": "reasoning", "summary": [
        {"type": "summary_encrypted_text", "data": "ENC"}]}]})])
    assert no_meta(out) == [ReasoningDelta(redacted="ENC")]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_string_delta_fields(field):
    _, out = run([chunk({field: "hmm"}), chunk({"content": "ok"})])
    assert no_meta(out) == [ReasoningDelta("hmm"), TextDelta("ok")]


def test_reasoning_and_tool_calls_in_one_chunk():
    delta = {**reasoning("why", ""), "tool_calls": [
        {"index": 0, "id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}}]}
    _, out = run([chunk(delta)])
    assert no_meta(out) == [ReasoningDelta("why"),
                            ToolCallDelta(0, "call_1", "get_weather", "")]


def test_tool_call_arguments_in_pieces_keyed_by_index():
    _, out = run([
        chunk({"tool_calls": [
            {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x"}},
            {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\":1}"}}]}),
    ])
    assert no_meta(out) == [
        ToolCallDelta(0, "a", "f", "{\"x"), ToolCallDelta(1, "b", "g", ""),
        ToolCallDelta(1, None, None, "{}"), ToolCallDelta(0, None, None, "\":1}"),
    ]


def test_tool_calls_without_index_keyed_by_id():
    _, out = run([
        chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]}),
        chunk({"tool_calls": [{"function": {"arguments": "}"}}]}),
        chunk({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]}),
    ])
    assert [d.index for d in no_meta(out)] == [0, 0, 1]


@pytest.mark.parametrize(
    ("wire", "norm"), [("stop", "stop"), ("end_turn", "stop"), ("tool_use", "tool_calls"),
                       ("max_tokens", "length"), ("content_filter", "content_filter")])
def test_finish_reason_normalized(wire, norm):
    dec, out = run([chunk({"content": "x"}, finish=wire)])
    assert out[-1] == FinishDelta(norm)
    assert dec.close() == []  # already emitted, no usage


USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


def test_usage_on_last_chunk_with_choices():
    dec, out = run([chunk({"content": "x"}), chunk({}, finish="stop", usage=USAGE), "[DONE]"])
    assert not any(isinstance(d, UsageDelta) for d in out)  # never from feed()
    assert dec.done
    assert dec.close() == [UsageDelta(Usage(5, 7, 12, raw=USAGE))]


def test_usage_on_empty_choices_chunk():
    dec, out = run([chunk({"content": "x"}, finish="stop"),
                    json.dumps({**HEAD, "choices": [], "usage": USAGE}), "[DONE]"])
    assert dec.close() == [UsageDelta(Usage(5, 7, 12, raw=USAGE))]


def test_cumulative_usage_on_every_chunk_counted_once():
    partial = {"prompt_tokens": 5, "completion_tokens": None, "total_tokens": None}
    partial2 = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": None}
    dec, _ = run([chunk({"content": "a"}, usage=partial), chunk({"content": "b"}, usage=partial2),
                  chunk({}, finish="stop", usage=USAGE), "[DONE]"])
    closed = dec.close()
    usage_deltas = [d for d in closed if isinstance(d, UsageDelta)]
    assert usage_deltas == [UsageDelta(Usage(5, 7, 12, raw=USAGE))]


def test_cumulative_usage_later_nulls_do_not_erase():
    dec, _ = run([chunk({"content": "a"}, usage={"prompt_tokens": 5, "completion_tokens": 2}),
                  chunk({}, finish="stop", usage={"prompt_tokens": None, "completion_tokens": 4})])
    (u,) = [d for d in dec.close() if isinstance(d, UsageDelta)]
    assert (u.usage.input_tokens, u.usage.output_tokens) == (5, 4)


def test_close_emits_finish_if_missing():
    dec, _ = run([chunk({"content": "a"}), "[DONE]"])
    assert dec.close() == [FinishDelta("stop")]
    dec, _ = run([chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f"}}]})])
    assert dec.close() == [FinishDelta("tool_calls")]


def test_done_flag():
    dec = StreamDecoder()
    assert not dec.done
    assert dec.feed(chunk({"content": "x"}))
    assert not dec.done
    assert dec.feed("[DONE]") == []
    assert dec.done


@pytest.mark.parametrize(
    ("event", "match"),
    [({"error": {"message": "overloaded", "code": "503"}}, "overloaded"),
     ({"error": "boom"}, "boom"),
     ({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Exceeded workspace QPS"}, "QPS"),
     ({"object": "error", "message": "vllm said no", "code": 400}, "vllm said no")],
)
def test_error_events(event, match):
    dec = StreamDecoder()
    with pytest.raises(StreamErrorEvent, match=match):
        dec.feed(json.dumps(event))


def test_error_event_mid_stream():
    dec = StreamDecoder()
    dec.feed(chunk({"content": "partial"}))
    with pytest.raises(StreamErrorEvent) as exc:
        dec.feed(json.dumps({"error_code": "INTERNAL_ERROR", "message": "died"}))
    assert exc.value.error_code == "INTERNAL_ERROR"


@pytest.mark.parametrize("data", ["{not json", "", "data: {}", "[1, 2]", "\"str\"", "null"])
def test_invalid_json_or_non_object(data):
    with pytest.raises(MalformedEventError):
        StreamDecoder().feed(data)


@pytest.mark.parametrize(
    "event",
    [{"choices": "x"}, {"choices": [3]}, {"choices": [{"delta": "x"}]},
     {"choices": [{"delta": {"content": 5}}]},
     {"choices": [{"delta": {"content": [{"type": "reasoning"}]}}]},
     {"choices": [{"delta": {"tool_calls": [5]}}]},
     {"choices": [{"delta": {"reasoning_content": 5}}]},
     {"choices": [], "usage": "x"}],
)
def test_bad_shapes_are_malformed_event_errors(event):
    dec = StreamDecoder()
    dec.feed(chunk({"content": "ok"}))
    with pytest.raises(MalformedEventError):
        dec.feed(json.dumps(event))


def test_bad_usage_values_surface_on_close():
    dec = StreamDecoder()
    dec.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": "many"}}))
    with pytest.raises(MalformedEventError):
        dec.close()


def test_other_choice_indexes_ignored():
    ev = json.dumps({**HEAD, "choices": [{"index": 1, "delta": {"content": "B"}},
                                         {"index": 0, "delta": {"content": "A"}}]})
    _, out = run([ev])
    assert no_meta(out) == [TextDelta("A")]


def test_unknown_block_passed_whole():
    block = {"type": "citation", "url": "u"}
    _, out = run([chunk({"content": [block]})])
    assert no_meta(out) == [ServerToolDelta(block)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["choices", "delta", "content", "type", "text", "summary", "signature",
                         "tool_calls", "index", "function", "arguments", "usage", "error",
                         "finish_reason", "reasoning_content", "data", "id"]),
        inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(json_values, max_size=4))
def test_fuzz_only_typed_errors(events):
    dec = StreamDecoder()
    try:
        for e in events:
            dec.feed(json.dumps(e))
        dec.close()
    except (MalformedEventError, StreamErrorEvent):
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=3))
def test_fuzz_deltas_are_well_typed(deltas):
    dec = StreamDecoder()
    out = []
    try:
        for d in deltas:
            out.extend(dec.feed(chunk(d if isinstance(d, dict) else {"content": d})))
        out.extend(dec.close())
    except (MalformedEventError, StreamErrorEvent):
        return
    for d in out:
        if isinstance(d, TextDelta):
            assert isinstance(d.text, str)
        elif isinstance(d, ReasoningDelta):
            assert isinstance(d.text, str)
            assert d.signature is None or isinstance(d.signature, str)
            assert d.redacted is None or isinstance(d.redacted, str)
        elif isinstance(d, ToolCallDelta):
            assert isinstance(d.index, int) and isinstance(d.arguments, str)
            assert d.name is None or isinstance(d.name, str)
        elif isinstance(d, FinishDelta):
            assert isinstance(d.reason, str)


def test_role_only_and_role_plus_content_deltas():
    _, out = run([chunk({"role": "assistant"}), chunk({"role": "assistant", "content": "a"}),
                  chunk({"content": "b", "tool_calls": [{"index": 0, "id": "c",
                                                          "function": {"name": "f"}}]})])
    assert no_meta(out) == [TextDelta("a"), TextDelta("b"), ToolCallDelta(0, "c", "f", "")]


def test_reasoning_object_delta_ignored():
    _, out = run([chunk({"reasoning": {"effort": "low"}, "content": "x"})])
    assert no_meta(out) == [TextDelta("x")]


@pytest.mark.parametrize("data", ['{"choices": []} x', '{"a": 1}{"b": 2}', "  ", "{\"a\": }",
                                  "[1,", "nul"])
def test_fast_json_path_rejects_what_json_loads_rejects(data):
    with pytest.raises(MalformedEventError):
        StreamDecoder().feed(data)


@pytest.mark.parametrize("data", ['  {"id": "a", "choices": []}', '{"id": "a", "choices": []}  \n'])
def test_fast_json_path_allows_surrounding_whitespace(data):
    assert StreamDecoder().feed(data) == [MetaDelta(id="a")]
