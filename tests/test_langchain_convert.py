"""LangChain <-> neutral conversions (langchain_plugin/convert.py): no HTTP, no emulator."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from core.accumulator import StreamAccumulator
from core.errors import InvalidRequestError
from core.types import (
    ChatResponse,
    FinishDelta,
    MediaPart,
    Message,
    MetaDelta,
    ReasoningDelta,
    ReasoningPart,
    ServerToolDelta,
    ServerToolPart,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallPart,
    ToolResultPart,
    Usage,
    UsageDelta,
)
from langchain_plugin.convert import (
    ai_message_to_neutral,
    messages_to_neutral,
    response_to_message,
    usage_to_metadata,
)
from langchain_plugin.stream import StreamConverter

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


# ---------------------------------------------------------------------------------------------
# responses -> AIMessage -> neutral: nothing lost
# ---------------------------------------------------------------------------------------------
ROUND_TRIP_CASES = {
    "plain": [TextPart("Hello there")],
    "claude_signed": [
        ReasoningPart(text="Let me think.", signature="EqoBsig==", block=0),
        TextPart("The answer is 4."),
    ],
    "claude_omitted_thinking": [
        ReasoningPart(text="", signature="sigonly", block=0),
        TextPart("ok"),
    ],
    "gpt_oss_no_signature": [ReasoningPart(text="thinking...", block=0), TextPart("done")],
    "empty_signature_kept": [ReasoningPart(text="x", signature="", block=0), TextPart("y")],
    "redacted": [
        ReasoningPart(redacted="opaque==", block=0),
        ReasoningPart(text="visible", signature="s2", block=1),
        TextPart("answer"),
    ],
    "multi_item_block": [
        ReasoningPart(text="a", signature="s1", block=0, extras={"$order": ["text", "type"]}),
        ReasoningPart(text="b", signature="s2", block=0),
        TextPart("c"),
    ],
    "gemini_thought_signature": [TextPart("hi", extras={"thoughtSignature": "abc"})],
    "tool_calls_raw_args": [
        TextPart("calling"),
        ToolCallPart(id="call_1", name="add", arguments='{"a":1,  "b" : 2}'),
        ToolCallPart(id="call_2", name="noargs", arguments=""),
        ToolCallPart(id="call_3", name="bad", arguments='{"a": '),
        ToolCallPart(id="call_4", name="x", arguments="{}", extras={"thoughtSignature": "t"}),
    ],
    "custom_tool_free_text": [
        ToolCallPart(id="ct", name="apply", arguments="*** patch ***", kind="custom"),
        ToolCallPart(id="fc", name="f", arguments="{}", extras={"id": "fc_1"}),
    ],
    "server_tool": [
        ServerToolPart({"type": "web_search_call", "id": "ws_1", "status": "completed"}),
        TextPart("found it"),
    ],
    "reasoning_then_tool": [
        ReasoningPart(text="need a tool", signature="sg", block=0),
        ToolCallPart(id="c1", name="get_weather", arguments='{"city": "Paris"}'),
    ],
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP_CASES))
def test_response_round_trip(name: str) -> None:
    parts = ROUND_TRIP_CASES[name]
    resp = ChatResponse(parts=copy.deepcopy(parts), model="m", id="r1", finish_reason="stop")
    msg = response_to_message(resp)
    back = ai_message_to_neutral(msg)
    assert back.role == "assistant"
    # A call without arguments goes back as "{}", never "" (Claude endpoints reject "").
    expected = [
        dataclasses.replace(p, arguments="{}")
        if isinstance(p, ToolCallPart) and not p.arguments.strip()
        else p
        for p in parts
    ]
    assert back.parts == expected
    # and through LangChain's own (de)serialization of the message
    again = ai_message_to_neutral(AIMessage.model_validate(msg.model_dump()))
    assert again.parts == expected


def test_plain_text_is_string_content_and_reasoning_is_blocks() -> None:
    msg = response_to_message(ChatResponse(parts=[TextPart("a"), TextPart("b")]))
    assert msg.content == "ab"
    msg = response_to_message(ChatResponse(parts=ROUND_TRIP_CASES["claude_signed"]))
    assert msg.content == [
        {
            "type": "reasoning",
            "reasoning": "Let me think.",
            "extras": {"signature": "EqoBsig==", "block": 0},
        },
        {"type": "text", "text": "The answer is 4."},
    ]
    assert msg.text == "The answer is 4."
    kinds = [b["type"] for b in msg.content_blocks]
    assert kinds == ["reasoning", "text"]


def test_tool_calls_parsed_and_invalid_kept() -> None:
    msg = response_to_message(ChatResponse(parts=ROUND_TRIP_CASES["tool_calls_raw_args"]))
    assert [tc["args"] for tc in msg.tool_calls] == [{"a": 1, "b": 2}, {}, {}]
    assert [tc["id"] for tc in msg.tool_calls] == ["call_1", "call_2", "call_4"]
    assert len(msg.invalid_tool_calls) == 1
    assert msg.invalid_tool_calls[0]["args"] == '{"a": '
    assert "not valid JSON" in (msg.invalid_tool_calls[0]["error"] or "")


def test_additional_kwargs_tool_calls_are_plain_openai_dicts() -> None:
    msg = response_to_message(ChatResponse(parts=ROUND_TRIP_CASES["custom_tool_free_text"]))
    assert msg.additional_kwargs["tool_calls"] == [
        {
            "id": "ct",
            "type": "function",
            "function": {"name": "apply", "arguments": "*** patch ***"},
        },
        {"id": "fc", "type": "function", "function": {"name": "f", "arguments": "{}"}},
    ]
    assert msg.additional_kwargs["tool_call_extras"] == {
        "ct": {"kind": "custom"},
        "fc": {"extras": {"id": "fc_1"}},
    }


def test_edited_tool_args_are_re_serialized() -> None:
    msg = response_to_message(ChatResponse(parts=[ToolCallPart("c", "add", '{"a":1}')]))
    msg.tool_calls[0]["args"] = {"a": 2}
    (part,) = ai_message_to_neutral(msg).parts
    assert isinstance(part, ToolCallPart)
    assert json.loads(part.arguments) == {"a": 2}


def test_usage_metadata() -> None:
    meta = usage_to_metadata(
        Usage(
            input_tokens=10,
            output_tokens=5,
            total_tokens=15,
            reasoning_tokens=3,
            cache_read_tokens=4,
            cache_creation_tokens=2,
        )
    )
    assert meta == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_token_details": {"cache_read": 4, "cache_creation": 2},
        "output_token_details": {"reasoning": 3},
    }
    assert usage_to_metadata(Usage(input_tokens=2, output_tokens=3))["total_tokens"] == 5


def test_null_usage_counts_are_not_zeros() -> None:
    raw = {"prompt_tokens": None, "completion_tokens": 10}
    usage = Usage(input_tokens=None, output_tokens=10, raw=raw)
    assert usage_to_metadata(usage) is None
    msg = response_to_message(ChatResponse(parts=[TextPart("x")], usage=usage))
    assert msg.usage_metadata is None  # no invented input count
    assert msg.response_metadata["token_usage"] == raw  # what the server said is kept
    conv = StreamConverter("m")
    conv.feed(UsageDelta(usage))
    last = conv.last_chunk()
    assert last.usage_metadata is None and last.response_metadata["token_usage"] == raw


def test_custom_outputs_attribute_as_the_official_class() -> None:
    for extras in ({"custom_outputs": {"k": 1}}, {"message": {"custom_outputs": {"k": 1}}}):
        msg = response_to_message(ChatResponse(parts=[TextPart("x")], extras=extras))
        assert msg.custom_outputs == {"k": 1}  # type: ignore[attr-defined]
        assert msg.response_metadata["custom_outputs"] == {"k": 1}
    plain = response_to_message(ChatResponse(parts=[TextPart("x")]))
    assert not hasattr(plain, "custom_outputs")
    conv = StreamConverter("m")
    conv.feed(MetaDelta(extras={"custom_outputs": {"k": 2}}))
    assert conv.last_chunk().custom_outputs == {"k": 2}  # type: ignore[attr-defined]


def test_response_metadata() -> None:
    resp = ChatResponse(
        parts=[TextPart("x")],
        model="databricks-x",
        id="abc",
        finish_reason="length",
        extras={"custom_outputs": {"k": 1}},
    )
    msg = response_to_message(resp)
    assert msg.id == "abc"
    assert msg.response_metadata["model_name"] == "databricks-x"
    assert msg.response_metadata["finish_reason"] == "length"
    assert msg.response_metadata["id"] == "abc"
    assert msg.response_metadata["custom_outputs"] == {"k": 1}
    assert msg.response_metadata["model_provider"] == "databricks"


# ---------------------------------------------------------------------------------------------
# streaming: chunks sum to the same message
# ---------------------------------------------------------------------------------------------
def _sum(deltas, model="m", include_usage=True, shared=False):
    conv = StreamConverter(model, shared_index=shared)
    chunks = [c for c in (conv.feed(d) for d in deltas) if c is not None]
    chunks.append(conv.last_chunk(include_usage=include_usage))
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return chunks, full


def test_stream_plain_text_is_string() -> None:
    chunks, full = _sum(
        [
            MetaDelta(id="r", model="served-model"),
            TextDelta("Hel"),
            TextDelta("lo"),
            FinishDelta("stop"),
            UsageDelta(Usage(input_tokens=3, output_tokens=2, total_tokens=5)),
        ]
    )
    assert full.content == "Hello"
    assert full.chunk_position == "last"
    assert full.response_metadata["model_name"] == "served-model"
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.id == "r"
    assert full.usage_metadata == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_stream_usage_can_be_dropped() -> None:
    _, full = _sum([TextDelta("x"), UsageDelta(Usage(1, 1, 2))], include_usage=False)
    assert full.usage_metadata is None


def _accumulated(deltas):
    acc = StreamAccumulator()
    for d in deltas:
        acc.add(d)
    return acc.response().parts


def test_stream_reasoning_merges_per_index() -> None:
    deltas = [
        MetaDelta(id="r", model="m"),
        ReasoningDelta("Let "),
        ReasoningDelta("me think."),
        ReasoningDelta(signature="SIG"),
        ReasoningDelta(redacted="RED"),
        ReasoningDelta("more"),
        TextDelta("The "),
        TextDelta("answer."),
        FinishDelta("stop"),
    ]
    chunks, full = _sum(deltas)
    assert full.text == "The answer."
    blocks = full.content_blocks
    assert [b["type"] for b in blocks] == ["reasoning", "reasoning", "reasoning", "text"]
    assert blocks[0]["reasoning"] == "Let me think."
    assert blocks[0]["extras"] == {"signature": "SIG", "block": 0}
    back = ai_message_to_neutral(full)
    assert back.parts == [
        ReasoningPart(text="Let me think.", signature="SIG", block=0),
        ReasoningPart(redacted="RED", block=0),
        ReasoningPart(text="more", block=0),
        TextPart("The answer."),
    ]
    assert back.parts == _accumulated(deltas)
    # a streamed reasoning piece is a reasoning chunk with an index
    assert chunks[0].content == [
        {"type": "reasoning", "reasoning": "Let ", "index": 0, "extras": {"block": 0}}
    ]


def test_stream_item_extras_sent_once() -> None:
    deltas = [
        ReasoningDelta("a", block=0, extras={"id": "rs_1"}),
        ReasoningDelta("b", block=0, extras={"id": "rs_1"}),
        ReasoningDelta(signature="s", block=0),
        TextDelta("x", extras={"thoughtSignature": "T"}),
        TextDelta("y", extras={"thoughtSignature": "T"}),
    ]
    _, full = _sum(deltas)
    back = ai_message_to_neutral(full)
    assert back.parts == [
        ReasoningPart(text="ab", signature="s", block=0, extras={"id": "rs_1"}),
        TextPart("xy", extras={"thoughtSignature": "T"}),
    ]
    assert back.parts == _accumulated(deltas)


_PIECES = [
    TextDelta("t1 "),
    TextDelta("t2"),
    ReasoningDelta("r1 "),
    ReasoningDelta("r2"),
    ReasoningDelta(signature="S"),
    ReasoningDelta(redacted="X"),
    ReasoningDelta("rb1", block=1),
    ReasoningDelta("rb3", block=3),
    ToolCallDelta(0, id="c0", name="f", arguments='{"a": '),
    ToolCallDelta(0, arguments="1}"),
    ToolCallDelta(1, id="c1", name="g", arguments="{}"),
    ServerToolDelta({"type": "web_search_call", "id": "w"}),
    TextDelta("", {"id": "msg_1"}),
    TextDelta("t3", {"annotations": []}),
]


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("seed", range(150))
def test_stream_matches_accumulator(seed: int, shared: bool) -> None:
    """Whatever the delta order, summed chunks convert back to the accumulator's parts."""
    import random

    rng = random.Random(seed)
    deltas = [copy.deepcopy(rng.choice(_PIECES)) for _ in range(rng.randint(1, 14))]
    # tool-call continuation pieces need their opening piece first
    seen: set[int] = set()
    ordered = []
    for d in deltas:
        if isinstance(d, ToolCallDelta) and d.id is None and d.index not in seen:
            continue
        if isinstance(d, ToolCallDelta):
            if d.id is not None and d.index in seen:
                continue
            seen.add(d.index)
        ordered.append(d)
    if not any(isinstance(d, (TextDelta, ReasoningDelta)) for d in ordered):
        ordered.append(TextDelta("end"))
    _, full = _sum(ordered, shared=shared)
    expected = _accumulated(ordered)
    got = ai_message_to_neutral(full).parts
    assert _wire_view(got) == _wire_view(expected)


def _wire_view(parts):
    """Content parts in order and tool calls in order (LangChain keeps tool calls apart from
    the content, and they travel in their own list on the chat wire)."""
    content = [p for p in parts if not isinstance(p, ToolCallPart)]
    return content, [p for p in parts if isinstance(p, ToolCallPart)]


def test_stream_tool_calls() -> None:
    deltas = [
        TextDelta("Let me check."),
        ToolCallDelta(0, id="call_a", name="get_weather", arguments=""),
        ToolCallDelta(0, arguments='{"city":'),
        ToolCallDelta(1, id="call_b", name="add", arguments='{"a": 1'),
        ToolCallDelta(0, arguments=' "Paris"}'),
        ToolCallDelta(1, arguments=', "b": 2}'),
        FinishDelta("tool_calls"),
    ]
    chunks, full = _sum(deltas)
    assert [(tc["name"], tc["args"], tc["id"]) for tc in full.tool_calls] == [
        ("get_weather", {"city": "Paris"}, "call_a"),
        ("add", {"a": 1, "b": 2}, "call_b"),
    ]
    assert chunks[1].tool_call_chunks[0]["index"] == 0  # first call (no indexed block yet)
    back = ai_message_to_neutral(full)
    assert back.parts[1:] == [
        ToolCallPart("call_a", "get_weather", '{"city": "Paris"}'),
        ToolCallPart("call_b", "add", '{"a": 1, "b": 2}'),
    ]
    # AIMessage (as LangChain turns an aggregated stream into) keeps the raw arguments too
    as_message = AIMessage(
        content=full.content,
        additional_kwargs=full.additional_kwargs,
        tool_calls=full.tool_calls,
    )
    assert ai_message_to_neutral(as_message).parts == back.parts


def test_stream_server_tool() -> None:
    item = {"type": "mcp_call", "id": "m1", "name": "lookup", "arguments": '{"q": 1}'}
    _, full = _sum([ServerToolDelta(item), TextDelta("ok")])
    blocks = full.content
    assert blocks[0]["type"] == "server_tool_call"
    assert blocks[0]["name"] == "lookup"
    assert blocks[0]["args"] == {"q": 1}
    assert ai_message_to_neutral(full).parts == [ServerToolPart(item), TextPart("ok")]


def test_stream_custom_outputs() -> None:
    _, full = _sum([MetaDelta(extras={"custom_outputs": {"a": 1}}), TextDelta("x")])
    assert full.response_metadata["custom_outputs"] == {"a": 1}


# ---------------------------------------------------------------------------------------------
# LangChain inputs -> neutral
# ---------------------------------------------------------------------------------------------
def test_basic_roles() -> None:
    msgs = messages_to_neutral(
        [
            SystemMessage("sys"),
            SystemMessage("dev", additional_kwargs={"__openai_role__": "developer"}),
            HumanMessage("hi", name="bob"),
            ChatMessage(role="user", content="again"),
        ]
    )
    assert msgs == [
        Message("system", [TextPart("sys")]),
        Message("developer", [TextPart("dev")]),
        Message("user", [TextPart("hi")], name="bob"),
        Message("user", [TextPart("again")]),
    ]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
            MediaPart("image", url="https://x/y.png", detail="low"),
        ),
        (
            {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"},
            MediaPart("image", url=f"data:image/png;base64,{PNG}", mime_type="image/png"),
        ),
        (
            {"type": "image", "base64": PNG, "mime_type": "image/png"},
            MediaPart("image", url=f"data:image/png;base64,{PNG}", mime_type="image/png"),
        ),
        (
            {"type": "image", "url": "https://x/y.jpg"},
            MediaPart("image", url="https://x/y.jpg"),
        ),
        (
            {"type": "image", "source_type": "base64", "data": PNG, "mime_type": "image/png"},
            MediaPart("image", url=f"data:image/png;base64,{PNG}", mime_type="image/png"),
        ),
        (
            {"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"},
            MediaPart("audio", url="data:audio/wav;base64,AAAA", mime_type="audio/wav"),
        ),
        (
            {"type": "video", "url": "https://x/v.mp4", "mime_type": "video/mp4"},
            MediaPart("video", url="https://x/v.mp4", mime_type="video/mp4"),
        ),
        (
            {
                "type": "file",
                "base64": "JVBE",
                "mime_type": "application/pdf",
                "extras": {"filename": "a.pdf"},
            },
            MediaPart(
                "file",
                url="data:application/pdf;base64,JVBE",
                mime_type="application/pdf",
                filename="a.pdf",
            ),
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "mp3"}},
            MediaPart("audio", url="data:audio/mp3;base64,AAAA", mime_type="audio/mp3"),
        ),
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": PNG},
            },
            MediaPart("image", url=f"data:image/png;base64,{PNG}", mime_type="image/png"),
        ),
        (
            {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}},
            MediaPart("video", url="https://x/v.mp4"),
        ),
    ],
)
def test_media_blocks(block, expected) -> None:
    (msg,) = messages_to_neutral([HumanMessage(content=[{"type": "text", "text": "see"}, block])])
    assert msg.parts == [TextPart("see"), expected]


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "file_id": "file-123"},
        {"type": "image", "base64": PNG},  # no mime type
        {"type": "image_url", "image_url": {}},
        {"type": "mystery", "x": 1},
        {"type": "text", "text": 5},
    ],
)
def test_bad_blocks_raise_before_sending(block) -> None:
    with pytest.raises(InvalidRequestError, match="message 0"):
        messages_to_neutral([HumanMessage(content=[block])])


def test_tool_messages() -> None:
    msgs = messages_to_neutral(
        [
            ToolMessage("42", tool_call_id="c1", name="add"),
            ToolMessage(
                [{"type": "text", "text": "see"}, {"type": "image", "url": "https://i"}],
                tool_call_id="c2",
            ),
            ToolMessage("boom", tool_call_id="c3", status="error"),
            ToolMessage([{"weird": 1}], tool_call_id="c4"),
        ]
    )
    assert msgs[0] == Message("tool", [ToolResultPart("c1", "42", name="add")])
    assert msgs[1].parts[0] == ToolResultPart(
        "c2", [TextPart("see"), MediaPart("image", url="https://i")]
    )
    assert msgs[2].parts[0] == ToolResultPart("c3", "boom", is_error=True)
    assert msgs[3].parts[0] == ToolResultPart("c4", [TextPart('{"weird": 1}')])


def test_anthropic_history_blocks() -> None:
    ai = AIMessage(
        content=[
            {"type": "thinking", "thinking": "hmm", "signature": "S"},
            {"type": "redacted_thinking", "data": "R"},
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}},
        ],
        tool_calls=[{"name": "add", "args": {"a": 1}, "id": "t1"}],
    )
    user = HumanMessage(
        content=[{"type": "tool_result", "tool_use_id": "t1", "content": "2"}, "thanks"]
    )
    a, tool, u = messages_to_neutral([ai, user])
    assert a.parts == [
        ReasoningPart(text="hmm", signature="S"),
        ReasoningPart(redacted="R"),
        TextPart("hi"),
        ToolCallPart("t1", "add", '{"a": 1}'),
    ]
    assert tool == Message("tool", [ToolResultPart("t1", "2")])
    assert u == Message("user", [TextPart("thanks")])


def test_v1_content_blocks_in_history() -> None:
    ai = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "r"},
            {"type": "text", "text": "t"},
            {"type": "tool_call", "id": "c", "name": "f", "args": {}},
        ],
        tool_calls=[{"name": "f", "args": {}, "id": "c"}],
    )
    assert ai_message_to_neutral(ai).parts == [
        ReasoningPart(text="r"),
        TextPart("t"),
        ToolCallPart("c", "f", "{}"),
    ]


def test_chunk_history_uses_tool_call_chunk_args() -> None:
    chunk = AIMessageChunk(
        content="",
        tool_call_chunks=[{"name": "f", "args": '{"x":1}', "id": "c", "index": 0}],
    )
    assert ai_message_to_neutral(chunk).parts == [ToolCallPart("c", "f", '{"x":1}')]


def test_tool_call_chunks_share_the_content_index_space() -> None:
    """Tool-call chunk indexes never collide with content block indexes (LangChain v1 output
    and the stream_events v3 bridge key both by ``index``)."""
    deltas = [
        ReasoningDelta("think"),
        ReasoningDelta(signature="S"),
        ToolCallDelta(0, id="c", name="f", arguments='{"a": 1}'),
        ToolCallDelta(1, id="d", name="g", arguments="{}"),
    ]
    chunks, full = _sum(deltas, shared=True)
    tool_indexes = [c.tool_call_chunks[0]["index"] for c in chunks if c.tool_call_chunks]
    assert tool_indexes == [1, 2]
    chunks, full = _sum([TextDelta("hi")], shared=True)
    assert chunks[0].content == [{"type": "text", "text": "hi", "index": 0}]
    chunks, _ = _sum(deltas)  # v0 output: the same index space
    assert [c.tool_call_chunks[0]["index"] for c in chunks if c.tool_call_chunks] == [1, 2]
    chunks, _ = _sum([TextDelta("x"), *deltas[2:]])  # string text has no index
    assert [c.tool_call_chunks[0]["index"] for c in chunks if c.tool_call_chunks] == [0, 1]


def test_late_text_extras_attach_to_the_streamed_string() -> None:
    deltas = [TextDelta("Hel"), TextDelta("lo"), TextDelta("", {"id": "msg_1"})]
    chunks, full = _sum(deltas)
    assert full.content == "Hello"  # still plain string chunks for the caller
    assert full.additional_kwargs["text_extras"] == {"id": "msg_1"}
    assert ai_message_to_neutral(full).parts == [TextPart("Hello", extras={"id": "msg_1"})]
    assert ai_message_to_neutral(full).parts == _accumulated(deltas)


# --- free-text (Responses "custom") tool calls --------------------------------------------------
def test_custom_tool_call_is_a_runnable_tool_call() -> None:
    msg = response_to_message(
        ChatResponse(parts=[ToolCallPart("ct", "apply_patch", '*** "patch" ***\n', kind="custom")])
    )
    assert msg.invalid_tool_calls == []
    assert msg.tool_calls == [
        {"type": "tool_call", "name": "apply_patch", "args": {"__arg1": '*** "patch" ***\n'}, "id": "ct"}
    ]
    # replayed as the same free text, still a custom call
    (part,) = ai_message_to_neutral(msg).parts
    assert (part.kind, part.arguments) == ("custom", '*** "patch" ***\n')


def test_streamed_custom_tool_call_sums_to_the_same_tool_call() -> None:
    pieces = ['*** "pa', "tch\\", ' ü ***\n']
    deltas = [ToolCallDelta(index=0, id="ct", name="apply_patch", kind="custom")]
    deltas += [ToolCallDelta(index=0, arguments=p, kind="custom") for p in pieces]
    _, full = _sum(deltas)
    assert full.invalid_tool_calls == []
    assert full.tool_calls == [
        {"type": "tool_call", "name": "apply_patch", "args": {"__arg1": "".join(pieces)}, "id": "ct"}
    ]
    (part,) = ai_message_to_neutral(full).parts
    assert (part.kind, part.arguments) == ("custom", "".join(pieces))


def test_an_empty_piece_starts_no_block() -> None:
    """A reasoning piece with nothing in it belongs to no part (core's part layer), so the text
    part around it stays one plain string (it used to split into a string and a text block)."""
    chunks, full = _sum([TextDelta("Hel"), ReasoningDelta(""), TextDelta("lo")])
    assert full.content == "Hello"
    assert ai_message_to_neutral(full).parts == _accumulated(
        [TextDelta("Hel"), ReasoningDelta(""), TextDelta("lo")]
    )


def test_stream_chunks_carry_their_wire_chunks_custom_outputs() -> None:
    """An agent streaming custom_outputs with each chunk: each LangChain chunk carries its own
    (``chunk.custom_outputs``, as databricks-langchain), the last chunk all of them."""
    conv = StreamConverter("agent")
    chunks = [
        conv.feed(d)
        for d in (
            MetaDelta(extras={"custom_outputs": {"k1": "v1"}}),
            TextDelta("369"),
            MetaDelta(extras={"custom_outputs": {"k2": "v2"}}),
            TextDelta("39"),
            TextDelta("!"),
        )
    ]
    texts = [c for c in chunks if c is not None]
    assert [c.content for c in texts] == ["369", "39", "!"]
    assert texts[0].custom_outputs == {"k1": "v1"}  # type: ignore[attr-defined]
    assert texts[1].custom_outputs == {"k2": "v2"}  # type: ignore[attr-defined]
    assert not hasattr(texts[2], "custom_outputs")
    assert conv.last_chunk().response_metadata["custom_outputs"] is not None
