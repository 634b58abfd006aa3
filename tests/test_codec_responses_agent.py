"""ResponsesAgent answers: several cycles, tools the agent ran itself, streams without a terminal
event. Fixtures follow the shapes of databricks-ai-bridge's published live-agent fixture
(``integrations/ai-sdk-provider/tests/__fixtures__/llm-output-fixtures.ts``) and MLflow's
ResponsesAgent stream helpers (only ``response.output_item.done`` and text deltas by item id);
texts and ids are our own."""

from __future__ import annotations

import json

import pytest

from core.accumulator import StreamAccumulator
from core.codecs import responses, responses_agent
from core.errors import MalformedEventError, ResponseParseError
from core.types import (
    FinishDelta,
    MetaDelta,
    ServerToolDelta,
    ServerToolPart,
    TextPart,
    ToolCallDelta,
    ToolCallPart,
    UsageDelta,
)

CALL = {
    "type": "function_call",
    "id": "fc_item",
    "call_id": "toolu_1",
    "name": "python_exec",
    "arguments": '{"code": "print(6 * 7)"}',
    "status": None,
}
OUTPUT = {"type": "function_call_output", "call_id": "toolu_1", "output": "42\n"}


def _text_msg(item_id: str, text: str) -> dict:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _resp(rid: str, output: list, usage: dict | None) -> dict:
    return {"id": rid, "object": "response", "model": "databricks-claude-3-7-sonnet",
            "status": None, "output": output, "usage": usage}  # fmt: skip


USAGE_1 = {"input_tokens": 500, "output_tokens": 90, "total_tokens": 590,
           "input_tokens_details": {"cached_tokens": 0},
           "output_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip
USAGE_2 = {"input_tokens": 650, "output_tokens": 20, "total_tokens": 670,
           "input_tokens_details": {"cached_tokens": 0},
           "output_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip


def two_cycle_events() -> list[dict]:
    """The agent says what it will do, calls a tool, runs it itself (a bare output event between
    the cycles), then answers in a second cycle whose output_index starts at 0 again and whose
    added item reuses the first cycle's id."""
    first = _text_msg("text_1", "I will run some Python.")
    final = _text_msg("text_2", "The answer is 42.")
    ev = [
        {"type": "response.created", "response": _resp("resp_a", [], None)},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"id": "item_x", "type": "message", "role": "assistant", "content": []}},
        {"type": "response.content_part.added", "output_index": 0, "item_id": "part_x",
         "content_index": 0, "part": {"type": "output_text", "text": ""}},
        {"type": "response.output_text.delta", "output_index": 0, "item_id": "text_1",
         "content_index": 0, "delta": "I will run "},
        {"type": "response.output_text.delta", "output_index": 0, "item_id": "text_1",
         "content_index": 0, "delta": "some Python."},
        {"type": "response.output_item.added", "output_index": 1, "item": {**CALL, "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "output_index": 1,
         "item_id": "fc_item", "delta": '{"code": '},
        {"type": "response.function_call_arguments.delta", "output_index": 1,
         "item_id": "fc_item", "delta": '"print(6 * 7)"}'},
        {"type": "response.output_item.done", "output_index": 1, "item": CALL},
        {"type": "response.output_item.done", "output_index": 0, "item": first},  # late
        {"type": "response.completed", "response": _resp("resp_a", [first, CALL], USAGE_1)},
        OUTPUT,  # a bare item event: the tool ran inside the agent
        {"type": "response.created", "response": _resp("resp_b", [], None)},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"id": "item_x", "type": "message", "role": "assistant", "content": []}},
        {"type": "response.output_text.delta", "output_index": 0, "item_id": "text_2",
         "content_index": 0, "delta": "The answer "},
        {"type": "response.output_text.delta", "output_index": 0, "item_id": "text_2",
         "content_index": 0, "delta": "is 42."},
        {"type": "response.output_item.done", "output_index": 0, "item": final},
        {"type": "response.completed", "response": _resp("resp_b", [final], USAGE_2)},
    ]  # fmt: skip
    return ev


def decode(events, decoder=None):
    dec = decoder or responses_agent.StreamDecoder()
    deltas = []
    for e in events:
        deltas.extend(dec.feed(e if isinstance(e, str) else json.dumps(e)))
    deltas.extend(dec.close())
    return dec, deltas


def fold(deltas):
    acc = StreamAccumulator()
    for d in deltas:
        acc.add(d)
    return acc.response()


def test_two_cycles_keep_the_final_answer_and_the_agents_own_tool_step():
    dec, deltas = decode(two_cycle_events())
    assert dec.complete
    assert not any(isinstance(d, ToolCallDelta) for d in deltas)  # nothing for the caller to run
    resp = fold(deltas)
    assert [type(p) for p in resp.parts] == [TextPart, ServerToolPart, ServerToolPart, TextPart]
    assert resp.parts[0].text == "I will run some Python."
    assert resp.parts[-1].text == "The answer is 42."
    assert resp.parts[1].item == CALL and resp.parts[2].item == OUTPUT
    assert resp.tool_calls == [] and resp.finish_reason == "stop"
    # usage of the whole answer (both model calls), counted once
    assert [d for d in deltas if isinstance(d, UsageDelta)] == [UsageDelta(resp.usage)]
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.total_tokens) == (
        1150,
        110,
        1260,
    )
    assert resp.usage.raw["input_tokens"] == 1150
    assert resp.id == "resp_b"


def test_two_cycles_fold_to_what_the_whole_answer_parses_to():
    first = _text_msg("text_1", "I will run some Python.")
    final = _text_msg("text_2", "The answer is 42.")
    parsed = responses_agent.parse_response(
        {"id": "resp_b", "output": [first, CALL, OUTPUT, final], "status": "completed"}
    )
    assert fold(decode(two_cycle_events())[1]).parts == parsed.parts
    assert parsed.tool_calls == [] and parsed.finish_reason == "stop"


def test_a_call_nothing_ran_is_the_callers_after_everything_else():
    events = [
        {"type": "response.output_item.done", "item": _text_msg("m1", "Checking.")},
        {"type": "response.output_item.done", "item": CALL},
    ]
    dec, deltas = decode(events)
    assert dec.complete  # MLflow agents need not send response.completed
    calls = [d for d in deltas if isinstance(d, ToolCallDelta)]
    assert len(calls) == 1 and calls[0].id == "toolu_1" and calls[0].arguments == CALL["arguments"]
    assert [d for d in deltas if isinstance(d, FinishDelta)] == [FinishDelta("tool_calls")]
    resp = fold(deltas)
    assert resp.parts == responses_agent.parse_response({"output": [events[0]["item"], CALL]}).parts
    assert isinstance(resp.parts[-1], ToolCallPart)


def test_a_call_followed_by_another_cycle_ran_inside_the_agent():
    events = [
        {"type": "response.created", "response": _resp("r1", [], None)},
        {"type": "response.output_item.done", "output_index": 0, "item": CALL},
        {"type": "response.completed", "response": _resp("r1", [CALL], USAGE_1)},
        {"type": "response.created", "response": _resp("r2", [], None)},
        {"type": "response.output_item.done", "output_index": 0, "item": _text_msg("m", "Done.")},
        {"type": "response.completed", "response": _resp("r2", [], USAGE_2)},
    ]
    _, deltas = decode(events)
    assert not any(isinstance(d, ToolCallDelta) for d in deltas)
    assert [d.item["type"] for d in deltas if isinstance(d, ServerToolDelta)] == ["function_call"]
    assert fold(deltas).text == "Done."


def test_mlflow_items_only_stream_without_a_terminal_event():
    events = [
        {"type": "response.output_text.delta", "item_id": "m1", "delta": "Hel"},
        {"type": "response.output_text.delta", "item_id": "m1", "delta": "lo"},
        {"type": "response.output_item.done", "item": _text_msg("m1", "Hello")},
        {"type": "response.output_item.done", "item": CALL},
        {"type": "response.output_item.done", "item": OUTPUT},
        {"type": "response.output_item.done", "item": _text_msg("m2", "Bye"), "custom_outputs": {"k": 1}},
    ]  # fmt: skip
    dec, deltas = decode(events)
    assert dec.complete and not dec.done
    resp = fold(deltas)
    assert [p.text for p in resp.parts if isinstance(p, TextPart)] == ["Hello", "Bye"]
    assert resp.extras["custom_outputs"] == {"k": 1}
    assert resp.finish_reason == "stop" and resp.usage is None


def test_an_item_left_open_is_an_incomplete_stream():
    dec = responses_agent.StreamDecoder()
    dec.feed(json.dumps({"type": "response.output_text.delta", "item_id": "m1", "delta": "Hel"}))
    assert not dec.complete  # the server opened m1 and never closed it: a cut stream
    dec.feed(json.dumps({"type": "response.output_item.done", "item": _text_msg("m1", "Hello")}))
    assert dec.complete
    empty = responses_agent.StreamDecoder()
    assert not empty.complete  # nothing at all is not an answer


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"foo": 1, "bar": 2}, "keys: bar, foo"),
        ({"type": "response.output_text.delta", "delta": 3}, "without a string delta"),
        ({"type": "response.output_item.done", "item": "x"}, "without an item"),
    ],
)
def test_unknown_shapes_raise_naming_the_shape(event, named):
    with pytest.raises(MalformedEventError, match=named) as info:
        responses_agent.StreamDecoder().feed(json.dumps(event))
    assert isinstance(info.value, ResponseParseError)  # whole or streamed: one error to catch


def test_model_streams_still_hand_calls_over_as_they_stream():
    """OpenAI models (not agents): calls stream piece by piece at their place."""
    dec = responses.StreamDecoder()
    got = dec.feed(json.dumps({"type": "response.output_item.added", "output_index": 0,
                               "item": {**CALL, "arguments": ""}}))  # fmt: skip
    assert got == [ToolCallDelta(0, "toolu_1", "python_exec", "", "function", {"id": "fc_item"})]
    got = dec.feed(json.dumps({"type": "response.function_call_arguments.delta",
                               "output_index": 0, "delta": "{}"}))  # fmt: skip
    assert got == [ToolCallDelta(0, arguments="{}")]


def test_chat_agent_chunks_on_a_responses_route_are_decoded_not_dropped():
    dec, deltas = decode(
        [{"delta": {"role": "assistant", "content": "Hi", "id": "m1"}, "custom_outputs": {"a": 1}}]
    )
    resp = fold(deltas)
    assert resp.text == "Hi" and resp.extras["custom_outputs"] == {"a": 1}
    assert dec.complete
    assert MetaDelta(extras={"custom_outputs": {"a": 1}}) in deltas


def test_adjacent_messages_are_separate_text_parts():
    out = [_text_msg("a", "First."), _text_msg("b", "Second.")]
    parsed = responses_agent.parse_response({"output": out})
    assert [p.text for p in parsed.parts] == ["First.", "Second."]
    events = [{"type": "response.output_text.delta", "item_id": i["id"], "delta": i["content"][0]["text"]}
              for i in out] + [{"type": "response.output_item.done", "item": i} for i in out]  # fmt: skip
    assert fold(decode(events)[1]).parts == parsed.parts
