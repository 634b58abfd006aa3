"""StreamAccumulator: folding deltas into a ChatResponse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------------------------------------
# the part layer: every delta is stamped with the index of its part
# ---------------------------------------------------------------------------------------------
def test_deltas_are_stamped_with_their_part_and_start():
    deltas = [
        MetaDelta(id="r"),
        TextDelta(""),  # nothing open, nothing in it: no part
        ReasoningDelta("a"),
        ReasoningDelta("b"),
        ReasoningDelta(signature="S"),
        ReasoningDelta(redacted="ENC"),
        TextDelta("x"),
        ToolCallDelta(5, "c", "f", "{"),
        TextDelta("y"),
        ToolCallDelta(5, arguments="}"),
        ServerToolDelta({"type": "mcp_call"}),
        UsageDelta(Usage(1, 1, 2)),
    ]
    acc = StreamAccumulator()
    started = [acc.add(d) for d in deltas]
    stamps = [getattr(d, "part", None) for d in deltas]
    assert stamps == [None, None, 0, 0, 0, 1, 2, 3, 4, 3, 5, None]
    assert started == [False, False, True, False, False, True, True, True, True, False, True, False]
    assert [type(p).__name__ for p in acc.response().parts] == [
        "ReasoningPart", "ReasoningPart", "TextPart", "ToolCallPart", "TextPart", "ServerToolPart"]
    assert acc.part(3).name == "f"  # the live part, for what a consumer needs at its start


def test_stamp_does_not_change_equality():
    stamped = TextDelta("x")
    StreamAccumulator().add(stamped)
    assert stamped.part == 0 and stamped == TextDelta("x")


_PIECE = {TextDelta: TextPart, ReasoningDelta: ReasoningPart, ToolCallDelta: ToolCallPart,
          ServerToolDelta: ServerToolPart}
_any_delta = st.one_of(
    st.builds(TextDelta, st.text(max_size=3), st.sampled_from([None, {"k": 1}])),
    st.builds(ReasoningDelta, st.text(max_size=3), st.sampled_from([None, "S"]),
              st.sampled_from([None, None, "ENC"]), st.sampled_from([None, 0, 1])),
    st.builds(ToolCallDelta, st.integers(0, 2), st.sampled_from([None, "c"]),
              arguments=st.text(max_size=3)),
    st.builds(ServerToolDelta, st.just({"type": "mcp_call"})),
    st.builds(FinishDelta, st.just("stop")),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_any_delta, max_size=30))
def test_stamps_index_the_folded_parts(deltas):
    """Parts start in order (stamps 0, 1, 2... on the starting deltas), each delta's piece lands
    in the part its stamp names, and every part's text is exactly its deltas' pieces."""
    acc = StreamAccumulator()
    starts = []
    pieces: dict[int, list[str]] = {}
    for d in deltas:
        if acc.add(d):
            starts.append(d.part)
        part = getattr(d, "part", None)
        if part is not None:
            pieces.setdefault(part, []).append(
                d.arguments if isinstance(d, ToolCallDelta) else getattr(d, "text", ""))
    parts = acc.response().parts
    assert starts == list(range(len(parts)))
    for d in deltas:
        if getattr(d, "part", None) is not None:
            assert type(parts[d.part]) is _PIECE[type(d)]
    for i, p in enumerate(parts):
        text = p.arguments if isinstance(p, ToolCallPart) else getattr(p, "text", "")
        assert text == "".join(pieces.get(i, []))
