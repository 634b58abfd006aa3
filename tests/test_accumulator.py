"""StreamAccumulator: folding deltas into a ChatResponse."""

from __future__ import annotations

import pytest

from core.accumulator import StreamAccumulator
from core.types import (
    FinishDelta,
    MetaDelta,
    ReasoningDelta,
    ReasoningPart,
    ServerToolDelta,
    ServerToolPart,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallPart,
    Usage,
    UsageDelta,
)


def fold(*deltas):
    acc = StreamAccumulator()
    for d in deltas:
        acc.add(d)
    return acc.response()


def test_empty():
    r = fold()
    assert r.parts == [] and r.usage is None and r.finish_reason is None and r.extras == {}


def test_consecutive_text_merged_and_empty_ignored():
    r = fold(TextDelta(""), TextDelta("Hel"), TextDelta(""), TextDelta("lo"))
    assert r.parts == [TextPart("Hello")]


def test_text_extras_merged():
    r = fold(TextDelta("a"), TextDelta("b", {"thoughtSignature": "T"}), TextDelta("c", {"k": 1}))
    assert r.parts == [TextPart("abc", {"thoughtSignature": "T", "k": 1})]


def test_extras_only_text_delta_creates_part():
    assert fold(TextDelta("", {"thoughtSignature": "T"})).parts == [
        TextPart("", {"thoughtSignature": "T"})]


def test_reasoning_pieces_then_signature_closes():
    r = fold(ReasoningDelta("Let "), ReasoningDelta("me"), ReasoningDelta(signature="S1"),
             ReasoningDelta("again"), ReasoningDelta(signature="S2"), TextDelta("ok"))
    assert r.parts == [ReasoningPart("Let me", signature="S1", block=0),
                       ReasoningPart("again", signature="S2", block=0),
                       TextPart("ok")]


def test_signature_only_item():
    r = fold(ReasoningDelta(signature="S"), TextDelta("x"))
    assert r.parts == [ReasoningPart("", signature="S", block=0), TextPart("x")]


def test_redacted_is_its_own_part_in_the_same_block():
    r = fold(ReasoningDelta("vis"), ReasoningDelta(redacted="ENC"), ReasoningDelta("more"))
    assert r.parts == [ReasoningPart("vis", block=0), ReasoningPart(redacted="ENC", block=0),
                       ReasoningPart("more", block=0)]


def test_reasoning_after_text_starts_new_block():
    r = fold(ReasoningDelta("a"), TextDelta("t"), ReasoningDelta("b"), ToolCallDelta(0, "c", "f"),
             ReasoningDelta("c"))
    assert [p.block for p in r.parts if isinstance(p, ReasoningPart)] == [0, 1, 2]


def test_explicit_blocks_responses_style():
    r = fold(ReasoningDelta("a", block=0), ReasoningDelta("b", block=1), ReasoningDelta("c", block=0),
             ReasoningDelta(signature="S", block=1))
    assert r.parts == [ReasoningPart("a", block=0), ReasoningPart("b", block=1),
                       ReasoningPart("c", block=0), ReasoningPart(signature="S", block=1)]


def test_reasoning_extras_merged():
    r = fold(ReasoningDelta("a", extras={"id": "rs_1"}), ReasoningDelta("b"),
             ReasoningDelta(signature="S", extras={"x": 2}))
    assert r.parts == [ReasoningPart("ab", signature="S", block=0, extras={"id": "rs_1", "x": 2})]


def test_tool_calls_keyed_by_index():
    r = fold(
        TextDelta("Let me check."),
        ToolCallDelta(0, "call_a", "get_weather", '{"ci'),
        ToolCallDelta(1, "call_b", "get_time", ""),
        ToolCallDelta(0, arguments='ty":"Paris"}'),
        ToolCallDelta(1, arguments="{}", extras={"id_item": "fc_1"}),
    )
    assert r.parts == [
        TextPart("Let me check."),
        ToolCallPart("call_a", "get_weather", '{"city":"Paris"}'),
        ToolCallPart("call_b", "get_time", "{}", extras={"id_item": "fc_1"}),
    ]
    assert [c.id for c in r.tool_calls] == ["call_a", "call_b"]


def test_tool_call_id_and_name_may_arrive_late_or_never():
    r = fold(ToolCallDelta(3, arguments="{"), ToolCallDelta(3, id="x", name="f", arguments="}"),
             ToolCallDelta(4, name="g"))
    assert r.parts == [ToolCallPart("x", "f", "{}"), ToolCallPart("call_4", "g", "")]


def test_custom_tool_kind_kept():
    r = fold(ToolCallDelta(0, "c", "patch", "diff", kind="custom"))
    assert r.parts == [ToolCallPart("c", "patch", "diff", kind="custom")]


def test_response_level_fields():
    u1, u2 = Usage(1, 2, 3), Usage(4, 5, 9)
    r = fold(MetaDelta(id="r1", model="m", extras={"created": 1}), TextDelta("x"),
             MetaDelta(extras={"custom_outputs": {"a": 1}}), UsageDelta(u1), UsageDelta(u2),
             FinishDelta("length"))
    assert (r.id, r.model, r.finish_reason, r.usage) == ("r1", "m", "length", u2)
    assert r.extras == {"created": 1, "custom_outputs": {"a": 1}}


def test_server_tool_delta():
    item = {"type": "mcp_call", "id": "m1"}
    r = fold(TextDelta("a"), ServerToolDelta(item), TextDelta("b"))
    assert r.parts == [TextPart("a"), ServerToolPart(item), TextPart("b")]


def test_response_is_a_snapshot():
    acc = StreamAccumulator()
    acc.add(TextDelta("a"))
    acc.add(ToolCallDelta(0, "c", "f", "{"))
    first = acc.response()
    acc.add(ToolCallDelta(0, arguments="}"))
    acc.add(TextDelta("b"))
    second = acc.response()
    assert first.parts == [TextPart("a"), ToolCallPart("c", "f", "{")]
    assert second.parts == [TextPart("a"), ToolCallPart("c", "f", "{}"), TextPart("b")]
    assert acc.response() == second


def test_not_a_delta():
    with pytest.raises(TypeError):
        StreamAccumulator().add("text")  # type: ignore[arg-type]
