"""Open Responses codec with plain dicts: the per-provider table applied to the Responses format,
and Claude/Gemini/open-model output items (raw reasoning content, encrypted content) decoded and
sent back whole."""

from __future__ import annotations

import json
import warnings

import pytest

from core.accumulator import StreamAccumulator
from core.codecs import open_responses as codec
from core.errors import InvalidRequestError
from core.registry import lookup_model
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

CLAUDE = lookup_model("databricks-claude-sonnet-4-5")
GEMINI = lookup_model("databricks-gemini-2-5-pro")
OSS = lookup_model("databricks-gpt-oss-120b")
LLAMA = lookup_model("databricks-meta-llama-3-3-70b-instruct")
USER = [Message("user", [TextPart("hi")])]
WEATHER = Tool("get_weather", "weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def build(params=None, info=CLAUDE, messages=USER, stream=False):
    return codec.build_request(
        messages, params or GenerationParams(), model=info.name, info=info, stream=stream
    )


def test_provider_table_by_family():
    assert codec.provider_for(CLAUDE).name == "Anthropic Claude"
    assert codec.provider_for(GEMINI).name == "Google Gemini"
    assert codec.provider_for(OSS) is codec.provider_for(LLAMA) is codec.PROVIDERS["hosted"]


def test_body_is_the_responses_format():
    body = build(GenerationParams(max_tokens=64, tools=[WEATHER], tool_choice="required"))
    assert body["model"] == CLAUDE.name
    assert body["input"] == [{"type": "message", "role": "user", "content": "hi"}]
    assert body["max_output_tokens"] == 64
    assert body["tools"][0]["type"] == "function" and body["tool_choice"] == "required"
    assert body["stream"] is False


def test_claude_temperature_is_doubled_onto_the_0_2_scale():
    assert build(GenerationParams(temperature=0.5))["temperature"] == 1.0
    assert build(GenerationParams(temperature=0.5), info=GEMINI)["temperature"] == 0.5
    with pytest.raises(InvalidRequestError, match="out of range for Anthropic Claude"):
        build(GenerationParams(temperature=1.5))
    assert build(GenerationParams(temperature=1.5), info=GEMINI)["temperature"] == 1.5


def test_encrypted_reasoning_asked_for_signed_providers_only():
    effort = GenerationParams(reasoning_effort="high")
    assert build(effort)["include"] == ["reasoning.encrypted_content"]
    assert build(effort, info=GEMINI)["include"] == ["reasoning.encrypted_content"]
    assert "include" not in build(effort, info=OSS)
    assert build(effort)["reasoning"] == {"effort": "high"}
    explicit = GenerationParams(reasoning_effort="high", include=["reasoning.encrypted_content"])
    assert build(explicit, info=OSS)["include"] == ["reasoning.encrypted_content"]


@pytest.mark.parametrize("key", ["previous_response_id", "conversation", "store", "background"])
def test_stateful_parameters_are_refused(key):
    with pytest.raises(InvalidRequestError, match="stateless"):
        build(GenerationParams(extra_body={key: "resp_1" if key != "background" else True}))


def test_ignored_openai_fields_warn_but_are_sent():
    with pytest.warns(UserWarning, match="metadata, truncation.*ignored by Anthropic Claude"):
        body = build(GenerationParams(metadata={"k": "v"}, truncation="auto"))
    assert body["metadata"] == {"k": "v"} and body["truncation"] == "auto"
    with pytest.warns(UserWarning, match="user, safety_identifier"):
        body = build(GenerationParams(extra_body={"user": "u1", "safety_identifier": "s"}))
    assert body["user"] == "u1"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build()


@pytest.mark.parametrize("kind", ["custom", "apply_patch"])
def test_non_function_tools_are_refused(kind):
    tool = Tool("t", kind=kind, raw={"type": kind})
    with pytest.raises(InvalidRequestError, match="function tools only"):
        build(GenerationParams(tools=[tool]))


def test_hosted_models_features_per_model():
    with pytest.raises(InvalidRequestError, match="does not support reasoning"):
        build(GenerationParams(reasoning_effort="low"), info=LLAMA)
    image = [Message("user", [TextPart("look"), MediaPart("image", url="https://x/y.png")])]
    with pytest.raises(InvalidRequestError, match="image input"):
        build(info=OSS, messages=image)
    pdf = [Message("user", [MediaPart("file", data=b"%PDF-1.4", mime_type="application/pdf")])]
    with pytest.raises(InvalidRequestError, match="no file input"):
        build(info=OSS, messages=pdf)
    assert build(info=CLAUDE, messages=pdf)["input"][0]["content"][0]["type"] == "input_file"
    assert build(GenerationParams(tools=[WEATHER]), info=LLAMA)["tools"]


# --------------------------------------------------------------------------------------------
# Responses from each provider (same decoder as /responses)
# --------------------------------------------------------------------------------------------
CLAUDE_ITEM = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [],
    "content": [{"type": "reasoning_text", "text": "Let me think."}],
    "encrypted_content": "EqoBsig==",
}
GEMINI_ITEM = {
    "type": "reasoning",
    "id": "rs_2",
    "summary": [{"type": "summary_text", "text": "**Planning**"}],
    "encrypted_content": "CiQBthought==",
}
OSS_ITEM = {
    "type": "reasoning",
    "id": "rs_3",
    "summary": [],
    "content": [{"type": "reasoning_text", "text": "chain of thought"}],
}


def body_with(item, call=True):
    output = [item]
    if call:
        output.append(
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
             "arguments": '{"city": "Paris"}', "status": "completed"}
        )  # fmt: skip
    return {
        "id": "resp_1", "object": "response", "status": "completed", "model": "m",
        "output": output, "user": "u1", "truncation": "auto",
        "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12,
                  "output_tokens_details": {"reasoning_tokens": 3}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("item", "text"),
    [(CLAUDE_ITEM, "Let me think."), (GEMINI_ITEM, "**Planning**"), (OSS_ITEM, "chain of thought")],
)
def test_reasoning_items_decode_and_go_back_whole(item, text):
    resp = codec.parse_response(body_with(item))
    assert "".join(p.text for p in resp.reasoning) == text
    assert resp.tool_calls == [ToolCallPart("call_1", "get_weather", '{"city": "Paris"}', extras={"id": "fc_1"})]
    assert resp.finish_reason == "tool_calls"
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.reasoning_tokens) == (5, 7, 3)
    assert "user" not in resp.extras  # an echoed request field, not an unknown one

    history = [
        *USER,
        Message("assistant", list(resp.parts)),
        Message("tool", [ToolResultPart("call_1", "18C")]),
    ]
    sent = build(info=CLAUDE, messages=history)["input"]
    kinds = [i["type"] for i in sent]
    if "encrypted_content" in item:
        assert sent[1] == item  # byte for byte: what the provider verifies
        assert kinds == ["message", "reasoning", "function_call", "function_call_output"]
    else:  # nothing to verify it by on a stateless endpoint: left out, which is always valid
        assert kinds == ["message", "function_call", "function_call_output"]


def sse_events(item):
    """The events a streaming server sends for one reasoning item then text."""
    raw = "content" in item and not item["summary"]
    text = (item["content"] if raw else item["summary"])[0]["text"]
    kind = "reasoning_text" if raw else "reasoning_summary_text"
    where = {"content_index": 0} if raw else {"summary_index": 0}
    empty = {**item, "summary": [], **({"content": []} if raw else {})}
    empty.pop("encrypted_content", None)
    msg = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
           "content": [{"type": "output_text", "text": "Hello!", "annotations": []}]}  # fmt: skip
    final = body_with(item, call=False)
    final["output"].append(msg)
    return [
        {"type": "response.created", "response": {"id": "resp_1", "model": "m", "output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": empty},
        {"type": f"response.{kind}.delta", "item_id": item["id"], "output_index": 0, **where, "delta": text[:4]},
        {"type": f"response.{kind}.delta", "item_id": item["id"], "output_index": 0, **where, "delta": text[4:]},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.output_item.added", "output_index": 1, "item": {**msg, "content": []}},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "Hel"},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "lo!"},
        {"type": "response.output_item.done", "output_index": 1, "item": msg},
        {"type": "response.completed", "response": final},
    ]  # fmt: skip


@pytest.mark.parametrize("item", [CLAUDE_ITEM, GEMINI_ITEM, OSS_ITEM])
def test_streams_fold_to_the_non_streamed_response(item):
    dec = codec.StreamDecoder()
    acc = StreamAccumulator()
    usage_deltas = 0
    for ev in sse_events(item):
        for d in dec.feed(json.dumps(ev)):
            usage_deltas += type(d).__name__ == "UsageDelta"
            acc.add(d)
    assert dec.complete  # (done is for [DONE]: a stream may hold several cycles)
    for d in dec.close():
        usage_deltas += type(d).__name__ == "UsageDelta"
        acc.add(d)
    streamed = acc.response()
    final = body_with(item, call=False)
    final["output"].append(sse_events(item)[-2]["item"])
    assert streamed.parts == codec.parse_response(final).parts
    assert usage_deltas == 1 and streamed.usage.total_tokens == 12
    assert isinstance(streamed.parts[-1], TextPart) and streamed.text == "Hello!"
    assert any(isinstance(p, ReasoningPart) for p in streamed.parts)


def test_item_with_summary_and_content_goes_back_whole_and_edits_are_sent():
    item = {**CLAUDE_ITEM, "summary": [{"type": "summary_text", "text": "short"}]}
    resp = codec.parse_response(body_with(item, call=False))
    history = [*USER, Message("assistant", list(resp.parts))]
    assert build(messages=history)["input"][1] == item  # the summary used to be dropped

    raw = codec.parse_response(body_with(CLAUDE_ITEM, call=False))
    edited = [ReasoningPart(p.text + " (edited)", p.signature, p.redacted, p.block, p.extras)
              for p in raw.parts]  # fmt: skip
    sent = build(messages=[*USER, Message("assistant", edited)])["input"][1]
    assert "(edited)" in json.dumps(sent)  # the edit reaches the server, which may refuse it
