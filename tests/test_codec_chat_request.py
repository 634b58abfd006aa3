"""build_request: every chat completions parameter, media, tools, reasoning knobs, quirks."""

from __future__ import annotations

import base64
import json

import pytest

from core.codecs.chat import build_request
from core.errors import InvalidRequestError
from core.params import response_format_from
from core.registry import lookup_model
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    NamedToolChoice,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

CLAUDE = lookup_model("databricks-claude-sonnet-4-5")
GPT5 = lookup_model("databricks-gpt-5")
GPT_OSS = lookup_model("databricks-gpt-oss-120b")
GEMINI = lookup_model("databricks-gemini-2-5-pro")
LLAMA = lookup_model("databricks-meta-llama-3-3-70b-instruct")
GEMMA = lookup_model("databricks-gemma-3-12b")
UNKNOWN = lookup_model("my-custom-endpoint")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 10
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 8

USER = [Message("user", [TextPart("hi")])]
WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    strict=True,
)


def build(messages=USER, info=GPT5, stream=False, model="m", **params):
    return build_request(messages, GenerationParams(**params), model=model, info=info, stream=stream)


def test_minimal_body():
    assert build() == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_model_none_leaves_model_out():
    body = build(model=None)
    assert "model" not in body


def test_all_sampling_parameters():
    body = build(
        max_tokens=100, temperature=0.2, top_p=0.9, top_k=40, stop=["\n\n"], n=2,
        logprobs=True, top_logprobs=3,
    )
    assert body["max_tokens"] == 100
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["top_k"] == 40
    assert body["stop"] == ["\n\n"]
    assert body["n"] == 2
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 3


def test_top_logprobs_turns_logprobs_on():
    assert build(top_logprobs=2)["logprobs"] is True


def test_stream_sets_stream_options_except_gemini():
    body = build(stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    gem = build(stream=True, info=GEMINI)
    assert gem["stream"] is True
    assert "stream_options" not in gem
    assert "stream" not in build(stream=False)


@pytest.mark.parametrize(
    ("fmt", "wire"),
    [
        (ResponseFormat("text"), {"type": "text"}),
        (ResponseFormat("json_object"), {"type": "json_object"}),
        (
            ResponseFormat("json_schema", schema={"type": "object"}, name="answer", strict=True),
            {"type": "json_schema",
             "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True}},
        ),
        (
            ResponseFormat("json_schema", schema={"type": "object"}),
            {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}},
        ),
    ],
)
def test_response_format(fmt, wire):
    assert build(response_format=fmt)["response_format"] == wire


def test_json_schema_without_schema_is_refused():
    with pytest.raises(InvalidRequestError, match="schema"):
        build(response_format=ResponseFormat("json_schema"))


def test_tools_and_strict_kept_for_gpt():
    body = build(tools=[WEATHER], parallel_tool_calls=False)
    assert body["tools"] == [
        {"type": "function", "function": {
            "name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": True}}
    ]
    assert body["parallel_tool_calls"] is False


@pytest.mark.parametrize("info", [CLAUDE, GEMINI, LLAMA, GPT_OSS])
def test_strict_dropped_for_non_gpt(info):
    fn = build(tools=[WEATHER], info=info)["tools"][0]["function"]
    assert "strict" not in fn
    assert fn["name"] == "get_weather"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (NamedToolChoice("get_weather"), {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_forms(choice, wire):
    assert build(tools=[WEATHER], tool_choice=choice)["tool_choice"] == wire


def test_tool_choice_errors():
    with pytest.raises(InvalidRequestError, match="not among"):
        build(tools=[WEATHER], tool_choice=NamedToolChoice("other"))
    with pytest.raises(InvalidRequestError, match="required"):
        build(tool_choice="required")
    with pytest.raises(InvalidRequestError, match="Unrecognized tool_choice type"):
        build(tools=[WEATHER], tool_choice="sometimes")  # type: ignore[arg-type]
    assert "tool_choice" not in build(tool_choice="auto")  # meaningless without tools


@pytest.mark.parametrize("name", ["get weather", "get.weather", "wetter/heute", "", "añadir"])
def test_bad_tool_names_are_refused_naming_the_tool(name):
    with pytest.raises(InvalidRequestError) as exc:
        build(tools=[Tool(name=name)])
    assert repr(name) in str(exc.value)


@pytest.mark.parametrize("params", [{"type": "string"}, {"properties": {}}, "x", None])
def test_tool_parameters_must_be_object_schema(params):
    with pytest.raises(InvalidRequestError, match="get_weather"):
        build(tools=[Tool(name="get_weather", parameters=params)])  # type: ignore[arg-type]


def test_non_function_tool_refused():
    with pytest.raises(InvalidRequestError, match="Responses"):
        build(tools=[Tool(name="patch", kind="custom")])


def test_extra_body_merged_last():
    body = build(temperature=0.1, extra_body={"temperature": 0.9, "service_hint": {"a": 1}})
    assert body["temperature"] == 0.9
    assert body["service_hint"] == {"a": 1}


# -- reasoning ---------------------------------------------------------------------------------
def test_claude_thinking_budget():
    body = build(info=CLAUDE, thinking_budget=2048, max_tokens=8000)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 8000


def test_claude_thinking_budget_sets_max_tokens_when_missing():
    body = build(info=CLAUDE, thinking_budget=2048)
    assert body["max_tokens"] > 2048
    assert body["max_tokens"] <= CLAUDE.max_output_tokens


@pytest.mark.parametrize(
    ("budget", "max_tokens", "match"),
    [(1000, 4000, "1024"), (4000, 4000, "less than max_tokens"), (5000, 4000, "max_tokens"),
     (10**6, None, "output limit")],
)
def test_claude_thinking_budget_errors_say_how_to_fix(budget, max_tokens, match):
    with pytest.raises(InvalidRequestError, match=match) as exc:
        build(info=CLAUDE, thinking_budget=budget, max_tokens=max_tokens)
    assert exc.value.hint


def test_claude_reasoning_effort_is_adaptive():
    body = build(info=CLAUDE, reasoning_effort="high")
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "high"}
    assert "reasoning_effort" not in body


def test_claude_both_knobs_refused():
    with pytest.raises(InvalidRequestError, match="not both"):
        build(info=CLAUDE, reasoning_effort="high", thinking_budget=2048, max_tokens=9000)


@pytest.mark.parametrize("info", [GPT_OSS, GPT5, GEMINI])
def test_reasoning_effort_families(info):
    body = build(info=info, reasoning_effort="low")
    assert body["reasoning_effort"] == "low"
    assert "thinking" not in body


def test_thinking_budget_on_effort_model_maps_to_effort():
    assert build(info=GPT_OSS, thinking_budget=1024)["reasoning_effort"] == "low"
    assert build(info=GPT_OSS, thinking_budget=5000)["reasoning_effort"] == "medium"
    assert build(info=GPT_OSS, thinking_budget=50000)["reasoning_effort"] == "high"


def test_reasoning_on_known_non_reasoning_model_refused():
    with pytest.raises(InvalidRequestError, match="reasoning"):
        build(info=LLAMA, reasoning_effort="high")


def test_unknown_model_passes_reasoning_effort_through():
    assert build(info=UNKNOWN, reasoning_effort="high")["reasoning_effort"] == "high"


# -- messages ----------------------------------------------------------------------------------
def test_roles_and_system():
    msgs = [
        Message("system", [TextPart("be brief")]),
        Message("developer", [TextPart("dev note")]),
        Message("user", [TextPart("hi")], name="ann"),
    ]
    assert build(msgs, info=GPT5)["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": "dev note"},
        {"role": "user", "content": "hi", "name": "ann"},
    ]
    # only OpenAI models know "developer"
    assert build(msgs, info=CLAUDE)["messages"][1]["role"] == "system"


def test_unknown_role_refused():
    with pytest.raises(InvalidRequestError, match="role"):
        build([Message("robot", [TextPart("x")])])  # type: ignore[arg-type]


def test_multimodal_user_message():
    msgs = [Message("user", [
        TextPart("what is this?"),
        MediaPart("image", url="https://example.com/cat.png", detail="low"),
        MediaPart("image", data=PNG),
        MediaPart("image", data=JPEG, mime_type="image/jpeg"),
        MediaPart("image", data=GIF),
        MediaPart("image", data=WEBP),
        MediaPart("audio", data=b"RIFFxxxxWAVE", mime_type="audio/wav"),
        MediaPart("video", url="https://example.com/v.mp4"),
    ])]
    content = build(msgs, info=GEMINI)["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "what is this?"}
    assert content[1] == {"type": "image_url",
                          "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}
    assert content[2]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert content[3]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert content[4]["image_url"]["url"].startswith("data:image/gif;base64,")
    assert content[5]["image_url"]["url"].startswith("data:image/webp;base64,")
    assert content[6] == {"type": "audio_url", "audio_url": {
        "url": "data:audio/wav;base64," + base64.b64encode(b"RIFFxxxxWAVE").decode()}}
    assert content[7] == {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}}


def test_image_bytes_that_are_not_an_image_refused():
    with pytest.raises(InvalidRequestError, match="not a PNG"):
        build([Message("user", [MediaPart("image", data=b"%PDF-1.7 ...")])], info=GPT5)


def test_image_with_non_image_mime_refused():
    with pytest.raises(InvalidRequestError, match="not an image"):
        build([Message("user", [MediaPart("image", data=PNG, mime_type="application/pdf")])])
    with pytest.raises(InvalidRequestError, match="image"):
        build([Message("user", [MediaPart("image", url="data:text/plain;base64,aGk=")])])


def test_audio_bytes_need_mime():
    with pytest.raises(InvalidRequestError, match="mime_type"):
        build([Message("user", [MediaPart("audio", data=b"xxxx")])], info=GEMINI)
    body = build([Message("user", [MediaPart("audio", data=b"xx", filename="a.mp3")])], info=GEMINI)
    assert body["messages"][0]["content"][0]["audio_url"]["url"].startswith("data:audio/mpeg;")


def test_file_part_best_effort():
    msgs = [Message("user", [MediaPart("file", data=b"%PDF", mime_type="application/pdf",
                                       filename="a.pdf")])]
    block = build(msgs, info=CLAUDE)["messages"][0]["content"][0]
    assert block == {"type": "file", "file": {
        "file_data": "data:application/pdf;base64," + base64.b64encode(b"%PDF").decode(),
        "filename": "a.pdf"}}


def test_modality_and_image_limits_for_known_models():
    with pytest.raises(InvalidRequestError, match="image"):
        build([Message("user", [MediaPart("image", data=PNG)])], info=LLAMA)
    six = [MediaPart("image", data=PNG) for _ in range(6)]
    with pytest.raises(InvalidRequestError, match="at most 5"):
        build([Message("user", six)], info=GEMMA)
    assert len(build([Message("user", six[:5])], info=GEMMA)["messages"][0]["content"]) == 5
    # unknown models are not judged
    build([Message("user", six)], info=UNKNOWN)


def test_tool_results_as_tool_messages():
    msgs = [
        Message("tool", [ToolResultPart("call_1", "22C")]),
        Message("tool", [ToolResultPart("call_2", [TextPart("a"), TextPart("b")])]),
        Message("user", [ToolResultPart("call_3", "x"), TextPart("and now?")]),
    ]
    assert build(msgs)["messages"] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "22C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "a\nb"},
        {"role": "tool", "tool_call_id": "call_3", "content": "x"},
        {"role": "user", "content": "and now?"},
    ]


def test_assistant_tool_calls_plain():
    call = ToolCallPart("call_1", "get_weather", '{"city":"Paris"}')
    wire_call = {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    msg = Message("assistant", [call])
    gpt = build([msg], info=GPT5)["messages"][0]
    assert gpt == {"role": "assistant", "content": None, "tool_calls": [wire_call]}
    # Claude: never an empty text next to tool calls -> the content key is left out
    claude = build([msg], info=CLAUDE)["messages"][0]
    assert claude == {"role": "assistant", "tool_calls": [wire_call]}
    claude2 = build([Message("assistant", [TextPart(""), call])], info=CLAUDE)["messages"][0]
    assert "content" not in claude2
    with_text = build([Message("assistant", [TextPart("Let me check."), call])], info=CLAUDE)
    assert with_text["messages"][0]["content"] == "Let me check."


def test_assistant_reasoning_blocks_sent_back():
    parts = [
        ReasoningPart("a", signature="S1", block=0),
        ReasoningPart("b", block=0),
        TextPart("answer"),
        ReasoningPart(redacted="ENC", block=1),
        ToolCallPart("c", "f", "{}"),
    ]
    msg = build([Message("assistant", parts)], info=CLAUDE)["messages"][0]
    assert json.dumps(msg["content"]) == json.dumps([
        {"type": "reasoning", "summary": [
            {"type": "summary_text", "text": "a", "signature": "S1"},
            {"type": "summary_text", "text": "b"}]},
        {"type": "text", "text": "answer"},
        {"type": "reasoning", "summary": [{"type": "summary_encrypted_text", "data": "ENC"}]},
    ])
    assert msg["tool_calls"][0]["id"] == "c"


def test_reasoning_parts_with_different_blocks_are_separate_blocks():
    parts = [ReasoningPart("a", block=0), ReasoningPart("b", block=1), ReasoningPart("c")]
    content = build([Message("assistant", parts)])["messages"][0]["content"]
    assert [len(b["summary"]) for b in content] == [1, 2]


def test_system_with_media_refused():
    with pytest.raises(InvalidRequestError, match="system"):
        build([Message("system", [MediaPart("image", data=PNG)])])


def test_tool_result_with_media_refused():
    with pytest.raises(InvalidRequestError, match="text only"):
        build([Message("tool", [ToolResultPart("c", [MediaPart("image", data=PNG)])])])


def test_claude_drops_empty_text_blocks_beside_reasoning_and_tool_calls():
    parts = [ReasoningPart("r", signature="S", block=0), TextPart(""), TextPart(" "),
             ToolCallPart("c", "f", "{}")]
    msg = build([Message("assistant", parts)], info=CLAUDE)["messages"][0]
    assert msg["content"] == [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "r", "signature": "S"}]}]
    # other models get the blocks as they were
    gpt = build([Message("assistant", parts)], info=GPT_OSS)["messages"][0]
    assert [b["type"] for b in gpt["content"]] == ["reasoning", "text", "text"]


def test_json_schema_name_checked():
    with pytest.raises(InvalidRequestError, match="name"):
        build(response_format=ResponseFormat("json_schema", schema={"type": "object"},
                                             name="my schema"))


def test_tool_call_extras_go_back_but_never_override_the_call():
    part = ToolCallPart("call_1", "f", "{}", extras={"id": "fc_99", "extra_content": {"g": 1}})
    call = build([Message("assistant", [part])])["messages"][0]["tool_calls"][0]
    assert call == {"id": "call_1", "type": "function",
                    "function": {"name": "f", "arguments": "{}"}, "extra_content": {"g": 1}}


def test_inline_media_over_payload_limit_refused_for_known_models():
    big = PNG + b"\x00" * 4_000_000  # ~5.3 MB once base64-encoded
    msgs = [Message("user", [MediaPart("image", data=big), MediaPart("image", data=big)])]
    with pytest.raises(InvalidRequestError, match="10 MB"):
        build(msgs, info=GPT5)
    build([Message("user", [MediaPart("image", data=big)])], info=GPT5)  # one is fine
    build(msgs, info=UNKNOWN)  # other OpenAI-compatible servers: not judged


def test_unknown_media_kind_refused():
    with pytest.raises(InvalidRequestError, match="media kind"):
        build([Message("user", [MediaPart("pdf", url="https://x")])], info=UNKNOWN)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("params", "match"),
    [({"temperature": 0.2}, "temperature"), ({"top_k": 5}, "top_k"), ({"top_p": 0.5}, "top_p"),
     ({"tools": [WEATHER], "tool_choice": "required"}, "tool_choice"),
     ({"tools": [WEATHER], "tool_choice": NamedToolChoice("get_weather")}, "tool_choice")],
)
def test_claude_thinking_incompatible_settings_refused(params, match):
    with pytest.raises(InvalidRequestError, match=match):
        build(info=CLAUDE, thinking_budget=2048, **params)
    with pytest.raises(InvalidRequestError, match=match):
        build(info=CLAUDE, reasoning_effort="low", **params)
    build(info=CLAUDE, **params)  # fine without thinking


def test_claude_thinking_compatible_settings_pass():
    body = build(info=CLAUDE, thinking_budget=2048, temperature=1, top_p=0.97, tools=[WEATHER],
                 tool_choice="auto")
    assert body["thinking"]["budget_tokens"] == 2048


def test_codec_for():
    from core.codecs import chat, codec_for

    assert codec_for("chat") is chat
    with pytest.raises(ValueError):
        codec_for("grpc")


def test_responses_only_model_refused_on_chat():
    with pytest.raises(InvalidRequestError, match="Responses API only"):
        build(info=lookup_model("databricks-gpt-5-1-codex-max"))
    build(info=lookup_model("some-unknown-codex-thing"))  # unknown: not judged


def test_response_format_from_inverts_build_request() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    wire = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}}
    rf = response_format_from(wire)
    assert (rf.type, rf.name, rf.schema, rf.strict) == ("json_schema", "out", schema, True)
    body = build_request(
        [Message("user", [TextPart("hi")])],
        GenerationParams(response_format=rf),
        model="databricks-gpt-5",
        info=lookup_model("databricks-gpt-5"),
        stream=False,
    )
    assert body["response_format"] == wire
    assert response_format_from({"type": "json_object"}).type == "json_object"
    for bad in ({"type": "yaml"}, "json", {"type": "json_schema", "json_schema": "x"}):
        with pytest.raises(InvalidRequestError):
            response_format_from(bad)


def test_responses_message_identity_stays_off_chat_text_blocks():
    # An answer from the Responses or a ChatAgent route carries its message item id (and author
    # name) on its text parts; replayed to a chat-completions model it is plain text again.
    history = [
        Message("user", [TextPart("hi")]),
        Message("assistant", [TextPart("hello", extras={"id": "msg_1", "name": "agent"})]),
        Message("user", [TextPart("again")]),
    ]
    body = build(history, info=CLAUDE)
    assert body["messages"][1] == {"role": "assistant", "content": "hello"}


def test_chat_text_block_extras_still_go_back_beside_a_message_id():
    # A wire key of the chat text block itself (Gemini's thoughtSignature) is kept; the id is not.
    part = TextPart("hello", extras={"id": "msg_1", "thoughtSignature": "sig=="})
    body = build([Message("user", [TextPart("hi")]), Message("assistant", [part])], info=GEMINI)
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "hello", "thoughtSignature": "sig=="}
    ]
