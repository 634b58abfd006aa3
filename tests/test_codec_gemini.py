"""Gemini native codec with plain dicts: requests (contents, system instruction, tools, tool
config, generation and thinking config, media inline and by URI), answers and stream chunks in
Google's shapes (thought parts, thoughtSignature on text and function calls, usageMetadata,
finish reasons, blocked prompts, errors), and the signatures going back byte for byte."""

from __future__ import annotations

import base64
import json

import pytest

from core.accumulator import StreamAccumulator
from core.codecs import gemini as codec
from core.errors import (
    APIError,
    InvalidRequestError,
    MalformedEventError,
    ResponseParseError,
    StreamErrorEvent,
)
from core.registry import lookup_model
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    NamedToolChoice,
    ReasoningPart,
    ResponseFormat,
    ServerToolPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    UsageDelta,
)

G3 = lookup_model("system.ai.gemini-3-1-pro")
G25 = lookup_model("databricks-gemini-2-5-pro")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
WEATHER = Tool(
    "get_weather", "Weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)  # fmt: skip


def build(messages, params=None, info=G3):
    return codec.build_request(
        messages, params or GenerationParams(), model=None, info=info, stream=False
    )


def user(text):
    return Message("user", [TextPart(text)])


# --------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------
def test_contents_system_instruction_and_config():
    body = build(
        [Message("system", [TextPart("Be brief.")]), user("hi")],
        GenerationParams(temperature=0.3, top_p=0.9, top_k=20, max_tokens=64, stop=["END"], n=1),
    )
    assert body == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.3, "topP": 0.9, "topK": 20,
                             "maxOutputTokens": 64, "candidateCount": 1, "stopSequences": ["END"]},
    }  # fmt: skip


def test_media_inline_and_by_uri_including_audio_and_video():
    msg = Message("user", [
        TextPart("describe"),
        MediaPart("image", data=PNG),
        MediaPart("audio", url="data:audio/mp3;base64,SUQz"),
        MediaPart("video", url="https://example.com/clip.mp4"),
        MediaPart("audio", url="https://example.com/talk", mime_type="audio/wav"),
        MediaPart("video", url="https://www.youtube.com/watch?v=abc"),
        MediaPart("file", data=b"%PDF-1.4", mime_type="application/pdf"),
    ])  # fmt: skip
    parts = build([msg])["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}
    assert parts[2] == {"inlineData": {"mimeType": "audio/mp3", "data": "SUQz"}}
    assert parts[3] == {"fileData": {"fileUri": "https://example.com/clip.mp4", "mimeType": "video/mp4"}}
    assert parts[4] == {"fileData": {"fileUri": "https://example.com/talk", "mimeType": "audio/wav"}}
    assert parts[5] == {"fileData": {"fileUri": "https://www.youtube.com/watch?v=abc"}}
    assert parts[6]["inlineData"]["mimeType"] == "application/pdf"
    with pytest.raises(InvalidRequestError, match="MIME type"):
        build([Message("user", [MediaPart("video", url="https://example.com/stream")])])


def test_tools_tool_config_and_schemas():
    loose = Tool("lookup", "", {"type": "object", "properties": {"q": {"type": "string"}},
                                "additionalProperties": False})  # fmt: skip
    bare = Tool("ping")
    body = build([user("hi")], GenerationParams(tools=[WEATHER, loose, bare], tool_choice="required"))
    decls = body["tools"][0]["functionDeclarations"]
    assert decls[0] == {"name": "get_weather", "description": "Weather in a city.",
                        "parameters": WEATHER.parameters}  # fmt: skip
    assert decls[1]["parametersJsonSchema"]["additionalProperties"] is False  # not in the subset
    assert decls[2] == {"name": "ping"}  # Gemini refuses an object schema without properties
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    named = build([user("hi")], GenerationParams(tools=[WEATHER], tool_choice=NamedToolChoice("get_weather")))
    assert named["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY", "allowedFunctionNames": ["get_weather"]}  # fmt: skip
    assert build([user("hi")], GenerationParams(tools=[WEATHER], tool_choice="none"))["toolConfig"] == {
        "functionCallingConfig": {"mode": "NONE"}}  # fmt: skip
    with pytest.raises(InvalidRequestError, match="not among the tools"):
        build([user("hi")], GenerationParams(tools=[WEATHER], tool_choice=NamedToolChoice("x")))
    with pytest.raises(InvalidRequestError, match="function declarations only"):
        build([user("hi")], GenerationParams(tools=[Tool("c", kind="custom")]))


def test_thinking_config_per_generation_and_json_output():
    level = build([user("hi")], GenerationParams(reasoning_effort="medium"))["generationConfig"]
    assert level["thinkingConfig"] == {"thinkingLevel": "high", "includeThoughts": True}
    budget = build([user("hi")], GenerationParams(reasoning_effort="low"), info=G25)
    assert budget["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 2048, "includeThoughts": True}
    explicit = build([user("hi")], GenerationParams(thinking_budget=512))
    assert explicit["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 512
    off = build([user("hi")], GenerationParams(reasoning_effort="none"))["generationConfig"]
    assert off["thinkingConfig"] == {"thinkingBudget": 0}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    js = build([user("hi")], GenerationParams(response_format=ResponseFormat("json_schema", schema)))
    assert js["generationConfig"] == {"responseMimeType": "application/json", "responseSchema": schema}
    with pytest.raises(InvalidRequestError, match="not both"):
        build([user("hi")], GenerationParams(reasoning_effort="low", thinking_budget=100))


def test_responses_only_parameters_refused_and_parallel_switch_warns():
    with pytest.raises(InvalidRequestError, match="metadata: Gemini's native API"):
        build([user("hi")], GenerationParams(metadata={"a": "b"}))
    with pytest.warns(UserWarning, match="parallel_tool_calls"):
        build([user("hi")], GenerationParams(tools=[WEATHER], parallel_tool_calls=False))


def test_history_goes_back_with_signatures_and_named_function_responses():
    history = [
        user("weather?"),
        Message("assistant", [
            ReasoningPart("Thinking about the weather.", signature="sigA"),
            TextPart("Let me check.", {"thoughtSignature": "sigT"}),
            ToolCallPart("call_1", "get_weather", '{"city": "Paris"}', extras={"thoughtSignature": "sigC"}),
            ToolCallPart("c2", "get_weather", '{"city": "Rome"}', extras={"id": "wire-2"}),
        ]),
        Message("tool", [ToolResultPart("call_1", '{"temp": 18}')]),
        Message("tool", [ToolResultPart("c2", "sunny", is_error=False)]),
        Message("tool", [ToolResultPart("zz", "boom", is_error=True, name="get_weather")]),
    ]  # fmt: skip
    contents = build(history)["contents"]
    assert contents[1] == {"role": "model", "parts": [
        {"text": "Thinking about the weather.", "thought": True, "thoughtSignature": "sigA"},
        {"text": "Let me check.", "thoughtSignature": "sigT"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sigC"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "wire-2"}},
    ]}  # fmt: skip
    assert contents[2] == {"role": "user", "parts": [  # several results: one user turn
        {"functionResponse": {"name": "get_weather", "response": {"temp": 18}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}, "id": "wire-2"}},
        {"functionResponse": {"name": "get_weather", "response": {"error": "boom"}}},
    ]}  # fmt: skip
    with pytest.raises(InvalidRequestError, match="needs the function's name"):
        build([user("x"), Message("tool", [ToolResultPart("nope", "r")])])


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------
def answer(parts, finish="STOP", **top):
    return {
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": finish,
                        "index": 0, "safetyRatings": []}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                          "thoughtsTokenCount": 7, "totalTokenCount": 22,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 10}]},
        "modelVersion": "gemini-3.1-pro", "responseId": "resp-1", **top,
    }  # fmt: skip


def test_parse_text_thoughts_signature_usage():
    r = codec.parse_response(answer([
        {"text": "**Plan** think", "thought": True},
        {"text": "Hello ", "thoughtSignature": "sig1"},
        {"text": "world"},
    ]))  # fmt: skip
    assert r.parts == [
        ReasoningPart("**Plan** think", block=0),
        TextPart("Hello world", {"thoughtSignature": "sig1"}),
    ]
    assert r.extras == {"safetyRatings": []}  # candidate fields are kept, not dropped
    assert (r.model, r.id, r.finish_reason) == ("gemini-3.1-pro", "resp-1", "stop")
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens, u.total_tokens) == (10, 12, 7, 22)
    assert u.raw["promptTokensDetails"][0]["modality"] == "TEXT"


def test_parse_function_calls_ids_and_finish():
    r = codec.parse_response(answer([
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "s"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "fc-9"}},
    ]))  # fmt: skip
    a, b = r.tool_calls
    assert a.id.startswith("call_") and a.extras == {"thoughtSignature": "s"}
    assert json.loads(a.arguments) == {"city": "Paris"}
    assert b.id == "fc-9" and b.extras == {"id": "fc-9"}
    assert r.finish_reason == "tool_calls"  # Gemini says STOP after function calls
    again = codec.parse_response(answer([
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "s"},
    ]))  # fmt: skip
    assert again.tool_calls[0].id == a.id  # deterministic


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
     ("MALFORMED_FUNCTION_CALL", "MALFORMED_FUNCTION_CALL"),
     ("MISSING_THOUGHT_SIGNATURE", "MISSING_THOUGHT_SIGNATURE")],
)  # fmt: skip
def test_finish_reasons(finish, expected):
    assert codec.parse_response(answer([{"text": "x"}], finish)).finish_reason == expected


def test_other_candidates_are_kept():
    body = answer([{"text": "one"}])
    body["candidates"].append({"content": {"parts": [{"text": "two"}], "role": "model"},
                               "finishReason": "STOP", "index": 1})  # fmt: skip
    r = codec.parse_response(body)
    assert r.text == "one" and r.extras["candidates"][0]["content"]["parts"] == [{"text": "two"}]
    other = chunk([{"text": "two"}])
    other["candidates"][0]["index"] = 1
    assert fold([chunk([{"text": "one"}]), other, chunk([], "STOP")]).text == "one"


def test_blocked_prompt_error_body_and_unknown_shapes():
    blocked = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
               "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}}  # fmt: skip
    r = codec.parse_response(blocked)
    assert r.parts == [] and r.finish_reason == "content_filter"
    assert r.extras["promptFeedback"]["blockReason"] == "SAFETY" and r.usage.input_tokens == 4
    err = {"error": {"code": 400, "message": "Corrupted thought signature.", "status": "INVALID_ARGUMENT"}}
    with pytest.raises(APIError, match="Corrupted thought signature") as info:
        codec.parse_response(err)
    assert info.value.error_code == "INVALID_ARGUMENT"
    with pytest.raises(ResponseParseError, match="part of unknown kind: mystery"):
        codec.parse_response(answer([{"mystery": 1}]))
    with pytest.raises(ResponseParseError, match="no candidates"):
        codec.parse_response({"choices": []})
    code = codec.parse_response(answer([{"executableCode": {"language": "PYTHON", "code": "1+1"}}]))
    assert code.parts == [ServerToolPart({"executableCode": {"language": "PYTHON", "code": "1+1"}})]


# --------------------------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------------------------
def chunk(parts, finish=None, candidates=3):
    c = {"candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0}],
         "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": candidates,
                           "totalTokenCount": 10 + candidates},
         "modelVersion": "gemini-3.1-pro", "responseId": "resp-1"}  # fmt: skip
    if finish:
        c["candidates"][0]["finishReason"] = finish
    return c


def fold(chunks):
    dec = codec.StreamDecoder()
    acc = StreamAccumulator()
    usage = 0
    for c in chunks:
        for d in dec.feed(json.dumps(c)):
            acc.add(d)
    assert dec.done
    for d in dec.close():
        usage += isinstance(d, UsageDelta)
        acc.add(d)
    assert usage == 1  # cumulative usage on every chunk, counted once
    return acc.response()


def test_stream_signature_on_last_empty_text_part_folds_like_the_body():
    streamed = fold([
        chunk([{"text": "Thinking", "thought": True}]),
        chunk([{"text": " more", "thought": True}]),
        chunk([{"text": "Hello "}]),
        chunk([{"text": "world"}]),
        chunk([{"text": "", "thoughtSignature": "sig1"}], "STOP", candidates=5),
    ])  # fmt: skip
    whole = codec.parse_response(answer([
        {"text": "Thinking more", "thought": True},
        {"text": "Hello world", "thoughtSignature": "sig1"},
    ]))  # fmt: skip
    assert streamed.parts == whole.parts
    assert streamed.usage.total_tokens == 15 and streamed.finish_reason == "stop"


def test_stream_function_calls_and_errors():
    streamed = fold([
        chunk([{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "s"},
               {"functionCall": {"name": "get_weather", "args": {"city": "Bergen"}}}], "STOP"),
    ])  # fmt: skip
    assert [json.loads(c.arguments)["city"] for c in streamed.tool_calls] == ["Oslo", "Bergen"]
    assert streamed.finish_reason == "tool_calls"
    dec = codec.StreamDecoder()
    with pytest.raises(StreamErrorEvent, match="quota"):
        dec.feed(json.dumps({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}))
    with pytest.raises(MalformedEventError):
        codec.StreamDecoder().feed('{"candidates": [')
    with pytest.raises(MalformedEventError, match="partialArgs"):
        codec.StreamDecoder().feed(json.dumps(chunk([{"functionCall": {"name": "f", "partialArgs": []}}])))
    assert not codec.StreamDecoder().done


def test_json_array_of_chunks_folds_like_the_stream():
    chunks = [chunk([{"text": "Hel"}]), chunk([{"text": "lo", "thoughtSignature": "s"}], "STOP")]
    assert codec.parse_response(chunks).parts == fold(chunks).parts == [
        TextPart("Hello", {"thoughtSignature": "s"})
    ]


def test_round_trip_of_a_parsed_answer_is_byte_identical():
    wire = [
        {"text": "Let me think", "thought": True, "thoughtSignature": "sigR"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "days": [1, 2]}},
         "thoughtSignature": "sigC/+=="},
    ]  # fmt: skip
    r = codec.parse_response(answer(wire))
    body = build([user("q"), Message("assistant", r.parts)])
    assert body["contents"][1] == {"role": "model", "parts": wire}
