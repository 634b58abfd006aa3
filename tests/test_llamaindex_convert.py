"""Unit tests of LlamaIndex <-> neutral conversions (no client, no network)."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.tools import FunctionTool

from core.types import (
    MediaPart,
    ReasoningPart,
    ServerToolPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from llamaindex_plugin.convert import (
    message_to_neutral,
    messages_to_neutral,
    parse_arguments,
    parts_to_message,
    tools_to_neutral,
    usage_dict,
    usage_kwargs,
)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def test_roles_and_text() -> None:
    msgs = messages_to_neutral(
        [
            ChatMessage(role="system", content="be brief"),
            ChatMessage(role="user", content="hi"),
            ChatMessage(role="assistant", content="hello"),
            ChatMessage(role=MessageRole.DEVELOPER, content="dev"),
        ]
    )
    assert [m.role for m in msgs] == ["system", "user", "assistant", "developer"]
    assert [m.text for m in msgs] == ["be brief", "hi", "hello", "dev"]


def test_image_url_bytes_and_path(tmp_path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    msg = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="what is this?"),
            ImageBlock(url="https://example.com/cat.jpg", detail="low"),
            ImageBlock(image=PNG),
            ImageBlock(path=path),
            ImageBlock(image=base64.b64encode(PNG), image_mimetype="image/png"),
        ],
    )
    parts = message_to_neutral(msg).parts
    assert parts[0] == TextPart("what is this?")
    assert parts[1] == MediaPart(
        kind="image", url="https://example.com/cat.jpg", detail="low", mime_type="image/jpeg"
    )
    for p in parts[2:]:
        assert isinstance(p, MediaPart) and p.kind == "image"
        assert p.data == PNG and p.mime_type == "image/png" and p.url is None


def test_audio_video_document() -> None:
    msg = ChatMessage(
        role="user",
        blocks=[
            AudioBlock(audio=b"ID3\x03\x00\x00\x00\x00\x00\x00fakeaudio", format="mp3"),
            AudioBlock(url="https://example.com/a.wav"),
            VideoBlock(url="https://example.com/v.mp4"),
            VideoBlock(video=b"\x00\x00\x00\x18ftypmp42fake", video_mimetype="video/mp4"),
            DocumentBlock(
                data=b"%PDF-1.4 fake", title="report.pdf", document_mimetype="application/pdf"
            ),
        ],
    )
    parts = message_to_neutral(msg).parts
    assert [p.kind for p in parts] == ["audio", "audio", "video", "video", "file"]  # type: ignore[union-attr]
    assert parts[0].data == b"ID3\x03\x00\x00\x00\x00\x00\x00fakeaudio"  # type: ignore[union-attr]
    assert parts[0].mime_type == "audio/mpeg"  # type: ignore[union-attr]
    assert parts[1].url == "https://example.com/a.wav" and parts[1].data is None  # type: ignore[union-attr]
    assert parts[2].url == "https://example.com/v.mp4"  # type: ignore[union-attr]
    assert parts[3].data == b"\x00\x00\x00\x18ftypmp42fake" and parts[3].mime_type == "video/mp4"  # type: ignore[union-attr]
    doc = parts[4]
    assert isinstance(doc, MediaPart) and doc.data == b"%PDF-1.4 fake"
    assert doc.filename == "report.pdf" and doc.mime_type == "application/pdf"


def test_assistant_reasoning_and_tool_calls_round_trip() -> None:
    parts = [
        ReasoningPart(text="Let me think", signature="EqoBsig==", block=0),
        ReasoningPart(text="", redacted="opaque-data", block=0),
        ReasoningPart(text="gpt-oss style, no signature"),
        TextPart("Calling the tool", extras={"thoughtSignature": "abc"}),
        ServerToolPart(item={"type": "mcp_call", "id": "mcp_1", "output": "x"}),
        ToolCallPart(id="call_1", name="get_weather", arguments='{"city": "Zürich",  "unit":"c"}'),
        ToolCallPart(
            id="fc_2", name="shell", arguments="ls -la", kind="custom", extras={"id": "fc_item_2"}
        ),
    ]
    msg = parts_to_message(parts)
    thinking = [b for b in msg.blocks if isinstance(b, ThinkingBlock)]
    assert thinking[0].content == "Let me think"
    assert thinking[0].additional_information == {"signature": "EqoBsig==", "block": 0}
    assert thinking[1].additional_information == {"redacted": "opaque-data", "block": 0}
    assert thinking[2].additional_information == {}
    calls = [b for b in msg.blocks if isinstance(b, ToolCallBlock)]
    assert calls[0].tool_kwargs == {"city": "Zürich", "unit": "c"}
    assert calls[1].tool_kwargs == "ls -la"
    assert msg.content == "Calling the tool"
    assert (
        msg.additional_kwargs["tool_calls"][0]["function"]["arguments"]
        == '{"city": "Zürich",  "unit":"c"}'
    )
    # additional_kwargs["tool_calls"] stays plain OpenAI shape; item extras live beside it
    legacy = msg.additional_kwargs["tool_calls"]
    assert set(legacy[0]) == {"id", "type", "function"}
    assert legacy[1] == {
        "id": "fc_2",
        "type": "custom",
        "custom": {"name": "shell", "input": "ls -la"},
    }
    assert msg.additional_kwargs["tool_call_extras"] == {"fc_2": {"id": "fc_item_2"}}

    back = message_to_neutral(msg)
    assert back.role == "assistant"
    assert back.parts == parts

    # agent memory stores messages as JSON: the round trip must survive that too
    revived = ChatMessage.model_validate_json(msg.model_dump_json())
    assert message_to_neutral(revived).parts == parts


def test_edited_tool_kwargs_win_over_stale_raw_arguments() -> None:
    msg = parts_to_message([ToolCallPart(id="c1", name="f", arguments='{"a": 1}')])
    block = next(b for b in msg.blocks if isinstance(b, ToolCallBlock))
    block.tool_kwargs = {"a": 2}
    (part,) = message_to_neutral(msg).parts
    assert isinstance(part, ToolCallPart) and json.loads(part.arguments) == {"a": 2}


def test_tool_call_blocks_without_additional_kwargs() -> None:
    msg = ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id="t1", tool_name="add", tool_kwargs={"x": "ü"})],
    )
    (part,) = message_to_neutral(msg).parts
    assert part == ToolCallPart(id="t1", name="add", arguments='{"x": "ü"}')


def test_legacy_additional_kwargs_tool_calls() -> None:
    as_dict = ChatMessage(
        role="assistant",
        content="",
        additional_kwargs={
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"q":1}'}}
            ]
        },
    )
    as_obj = ChatMessage(
        role="assistant",
        additional_kwargs={
            "tool_calls": [
                SimpleNamespace(
                    id="b", type="function", function=SimpleNamespace(name="g", arguments='{"r":2}')
                )
            ]
        },
    )
    p1 = [p for p in message_to_neutral(as_dict).parts if isinstance(p, ToolCallPart)]
    p2 = [p for p in message_to_neutral(as_obj).parts if isinstance(p, ToolCallPart)]
    assert p1 == [ToolCallPart(id="a", name="f", arguments='{"q":1}')]
    assert p2 == [ToolCallPart(id="b", name="g", arguments='{"r":2}')]


def test_tool_results() -> None:
    plain = ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "call_1"})
    (part,) = message_to_neutral(plain).parts
    assert part == ToolResultPart(tool_call_id="call_1", content="42")

    block_based = ChatMessage(
        role="tool",
        blocks=[ToolCallBlock(tool_call_id="call_2", tool_name="f"), TextBlock(text="ok")],
    )
    (part,) = message_to_neutral(block_based).parts
    assert (
        isinstance(part, ToolResultPart) and part.tool_call_id == "call_2" and part.content == "ok"
    )
    assert part.name == "f"

    with_image = ChatMessage(
        role="tool",
        blocks=[TextBlock(text="chart:"), ImageBlock(image=PNG)],
        additional_kwargs={"tool_call_id": "call_3"},
    )
    (part,) = message_to_neutral(with_image).parts
    assert isinstance(part, ToolResultPart) and isinstance(part.content, list)
    assert part.content[0] == TextPart("chart:")
    assert isinstance(part.content[1], MediaPart) and part.content[1].data == PNG


def test_tools_to_neutral() -> None:
    def get_weather(city: str, unit: str = "c") -> str:
        """Get the weather for a city."""
        return "sunny"

    tool = FunctionTool.from_defaults(fn=get_weather)
    (t,) = tools_to_neutral([tool])
    assert t.name == "get_weather" and "weather" in t.description
    assert t.parameters["properties"]["city"]["type"] == "string"
    assert t.parameters["required"] == ["city"]

    as_dict = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    assert tools_to_neutral([as_dict])[0] == Tool(name="f", parameters={"type": "object"})
    builtin = {"type": "image_generation", "quality": "low"}
    (b,) = tools_to_neutral([builtin])
    assert b.kind == "image_generation" and b.raw == builtin
    core_tool = Tool(name="x")
    assert tools_to_neutral([core_tool])[0] is core_tool


def test_parse_arguments() -> None:
    assert parse_arguments("") == {}
    assert parse_arguments('{"a": [1]}') == {"a": [1]}
    assert parse_arguments('{"a": ') == '{"a": '  # partial JSON while streaming stays text
    assert parse_arguments("[1]") == "[1]"
    assert parse_arguments("free text", "custom") == "free text"


def test_usage_shapes() -> None:
    u = Usage(
        input_tokens=10,
        output_tokens=5,
        reasoning_tokens=3,
        raw={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    )
    assert usage_kwargs(u) == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    d = usage_dict(u)
    assert d is not None and d["reasoning_tokens"] == 3 and d["total_tokens"] == 15
    assert usage_kwargs(None) == {}
    responses_style = Usage(
        input_tokens=7,
        output_tokens=2,
        total_tokens=9,
        raw={"input_tokens": 7, "output_tokens": 2, "total_tokens": 9},
    )
    d2 = usage_dict(responses_style)
    assert d2 == {
        "input_tokens": 7,
        "output_tokens": 2,
        "total_tokens": 9,
        "prompt_tokens": 7,
        "completion_tokens": 2,
    }


def test_media_out_of_model() -> None:
    msg = parts_to_message(
        [MediaPart(kind="image", data=PNG, mime_type="image/png"), TextPart("ok")]
    )
    assert isinstance(msg.blocks[0], ImageBlock)
    assert message_to_neutral(msg).parts[0] == MediaPart(
        kind="image", data=PNG, mime_type="image/png"
    )


@pytest.mark.parametrize("role", ["system", "developer", "user", "assistant", "chatbot", "model"])
@pytest.mark.parametrize("texts", [[], ["hi"], ["a", "", "b"]])
def test_plain_text_turn_fast_path_gives_what_the_full_conversion_gives(role, texts):
    plain = ChatMessage(role=role, blocks=[TextBlock(text=t) for t in texts])
    # an unrelated additional_kwargs key sends the same turn through the full conversion
    full = ChatMessage(role=role, blocks=[TextBlock(text=t) for t in texts],
                       additional_kwargs={"unrelated": True})
    assert message_to_neutral(plain) == message_to_neutral(full)
