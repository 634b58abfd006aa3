"""Responses API codec: request building, response parsing and stream events, with plain dicts."""

from __future__ import annotations

import base64
import json

import pytest

from core.codecs import responses as codec
from core.errors import (
    APIError,
    InvalidRequestError,
    MalformedEventError,
    ResponseParseError,
    StreamErrorEvent,
)
from core.registry import lookup_model
from core.types import (
    FinishDelta,
    GenerationParams,
    MediaPart,
    Message,
    MetaDelta,
    NamedToolChoice,
    ReasoningDelta,
    ReasoningPart,
    ResponseFormat,
    ServerToolDelta,
    ServerToolPart,
    TextDelta,
    TextPart,
    Tool,
    ToolCallDelta,
    ToolCallPart,
    ToolResultPart,
    UsageDelta,
)

GPT5 = lookup_model("databricks-gpt-5")
AGENT = lookup_model("apps/my-agent")


def build(messages, params=None, *, model="databricks-gpt-5", stream=False, **kw):
    return codec.build_request(
        messages, params or GenerationParams(), model=model, info=kw.pop("info", GPT5),
        stream=stream, **kw,
    )  # fmt: skip


def user(text: str) -> Message:
    return Message("user", [TextPart(text)])


# ---------------------------------------------------------------------------------------------
# build_request: input items
# ---------------------------------------------------------------------------------------------
def test_plain_user_message_and_model():
    body = build([user("hi")])
    assert body["model"] == "databricks-gpt-5"
    assert body["input"] == [{"type": "message", "role": "user", "content": "hi"}]
    assert body["stream"] is False


def test_model_none_leaves_model_out():
    body = build([user("hi")], model=None, info=AGENT)
    assert "model" not in body
    assert "include" not in body  # no reasoning model, no invocations include


def test_system_and_developer_stay_role_messages_in_order():
    msgs = [
        Message("system", [TextPart("be brief")]),
        user("a"),
        Message("developer", [TextPart("d")]),
    ]
    body = build(msgs)
    assert [(i["role"], i["content"]) for i in body["input"]] == [
        ("system", "be brief"),
        ("user", "a"),
        ("developer", "d"),
    ]
    assert "instructions" not in body


def test_instructions_param():
    body = build([user("a")], GenerationParams(instructions="Talk like a pirate."))
    assert body["instructions"] == "Talk like a pirate."


def test_multimodal_user_parts():
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
    msg = Message(
        "user",
        [
            TextPart("what is this"),
            MediaPart("image", data=png, mime_type="image/png"),
            MediaPart("image", url="https://x/y.jpg", detail="low"),
            MediaPart("file", data=b"%PDF", mime_type="application/pdf", filename="a.pdf"),
            MediaPart("file", url="https://x/doc.pdf"),
        ],
    )
    content = build([msg])["input"][0]["content"]
    assert content[0] == {"type": "input_text", "text": "what is this"}
    assert content[1] == {
        "type": "input_image",
        "image_url": "data:image/png;base64," + base64.b64encode(png).decode(),
        "detail": "auto",
    }
    assert content[2] == {"type": "input_image", "image_url": "https://x/y.jpg", "detail": "low"}
    assert content[3] == {
        "type": "input_file",
        "file_data": "data:application/pdf;base64," + base64.b64encode(b"%PDF").decode(),
        "filename": "a.pdf",
    }
    assert content[4] == {"type": "input_file", "file_url": "https://x/doc.pdf"}


def test_image_bytes_that_are_not_an_image_are_refused():
    # the same checks as the chat codec (core.codecs.media): the bytes decide, not the label
    msg = Message("user", [MediaPart("image", data=b"%PDF-1.7", mime_type="image/png")])
    with pytest.raises(InvalidRequestError, match="not a PNG, JPEG, GIF or WebP"):
        build([msg])


@pytest.mark.parametrize("kind", ["audio", "video"])
def test_audio_video_rejected_before_sending(kind):
    with pytest.raises(InvalidRequestError, match=kind):
        build([Message("user", [MediaPart(kind, url="https://x/a")])])


def test_assistant_text_is_a_plain_assistant_message():
    body = build([user("a"), Message("assistant", [TextPart("b")]), user("c")])
    assert body["input"][1] == {"type": "message", "role": "assistant", "content": "b"}


def test_assistant_text_with_annotations_goes_back_as_output_text():
    ann = [{"type": "url_citation", "url": "https://x", "start_index": 0, "end_index": 1}]
    body = build([Message("assistant", [TextPart("b", {"annotations": ann})])])
    assert body["input"][0] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "b", "annotations": ann}],
    }


def test_tool_calls_and_results():
    msgs = [
        user("weather?"),
        Message(
            "assistant",
            [
                ToolCallPart("call_1", "get_weather", '{"city":"Paris"}', extras={"id": "fc_1"}),
                ToolCallPart("call_2", "apply", "*** patch", kind="custom", extras={"id": "ctc_2"}),
            ],
        ),
        Message("tool", [ToolResultPart("call_1", "sunny")]),
        Message("tool", [ToolResultPart("call_2", [TextPart("ok"), TextPart("!")])]),
    ]
    items = build(msgs)["input"]
    assert items[1] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
        "id": "fc_1",
    }
    assert items[2] == {
        "type": "custom_tool_call",
        "call_id": "call_2",
        "name": "apply",
        "input": "*** patch",
        "id": "ctc_2",
    }
    assert items[3] == {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
    assert items[4] == {"type": "custom_tool_call_output", "call_id": "call_2", "output": "ok!"}


def test_tool_result_with_image_becomes_input_list():
    msg = Message(
        "tool", [ToolResultPart("c", [TextPart("see"), MediaPart("image", url="https://i")])]
    )
    out = build([msg])["input"][0]["output"]
    assert out[0] == {"type": "input_text", "text": "see"}
    assert out[1]["type"] == "input_image"


def test_tool_message_without_result_part_is_rejected():
    with pytest.raises(InvalidRequestError):
        build([Message("tool", [TextPart("orphan")])])


def test_reasoning_item_goes_back_exactly():
    wire = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [
            {"type": "summary_text", "text": "first"},
            {"type": "summary_text", "text": "second"},
        ],
        "encrypted_content": "gAAAA-secret",
    }
    resp = codec.parse_response({"output": [wire, _msg("hi")], "status": "completed"})
    history = [user("q"), Message("assistant", resp.parts), user("again")]
    items = build(history)["input"]
    assert items[1] == wire
    assert items[2] == {"type": "message", "role": "assistant", "content": "hi"}


def test_single_summary_reasoning_round_trip_minimal_extras():
    wire = {
        "type": "reasoning",
        "id": "rs_9",
        "summary": [{"type": "summary_text", "text": "thinking"}],
        "encrypted_content": "enc",
    }
    parts = codec.parse_response({"output": [wire]}).parts
    assert parts == [
        ReasoningPart("thinking", block=0),
        ReasoningPart(redacted="enc", block=0, extras={"id": "rs_9"}),
    ]
    assert build([Message("assistant", parts)])["input"] == [wire]


def test_reasoning_without_id_or_encrypted_content_is_dropped():
    body = build([Message("assistant", [ReasoningPart("t"), TextPart("x")])])
    assert body["input"] == [{"type": "message", "role": "assistant", "content": "x"}]


def test_two_reasoning_items_stay_two():
    out = [
        {"type": "reasoning", "id": "rs_a", "summary": [], "encrypted_content": "A"},
        {"type": "reasoning", "id": "rs_b", "summary": [], "encrypted_content": "B"},
    ]
    parts = codec.parse_response({"output": out}).parts
    assert build([Message("assistant", parts)])["input"] == out


def test_server_tool_part_passed_as_is():
    item = {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": "b64"}
    body = build([Message("assistant", [ServerToolPart(item)])])
    assert body["input"] == [item]


def test_long_ids_are_shortened_deterministically_and_pairs_match():
    long_call = "call_" + "x" * 100
    long_item = "fc_" + "y" * 100
    msgs = [
        Message("assistant", [ToolCallPart(long_call, "f", "{}", extras={"id": long_item})]),
        Message("tool", [ToolResultPart(long_call, "r")]),
    ]
    a = build(msgs)["input"]
    b = build(msgs)["input"]
    assert a == b
    assert len(a[0]["call_id"]) <= 64 and len(a[0]["id"]) <= 64
    assert a[0]["call_id"] == a[1]["call_id"]
    assert a[0]["call_id"].startswith("call_xxxxx")
    assert codec.shorten_id("short") == "short"
    assert codec.shorten_id("a" * 64) == "a" * 64
    assert codec.shorten_id("a" * 65) != codec.shorten_id("a" * 66)


# ---------------------------------------------------------------------------------------------
# build_request: parameters
# ---------------------------------------------------------------------------------------------
def test_generation_params():
    params = GenerationParams(
        max_tokens=100,
        temperature=0.2,
        top_p=0.9,
        parallel_tool_calls=False,
        reasoning_effort="high",
        reasoning_summary="auto",
        include=["reasoning.encrypted_content", "web_search_call.results"],
        metadata={"k": "v"},
        truncation="auto",
        max_tool_calls=3,
        custom_inputs={"a": 1},
        context={"conversation_id": "c1", "user_id": "u1"},
    )
    body = build([user("x")], params, stream=True)
    assert body["max_output_tokens"] == 100
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9
    assert body["parallel_tool_calls"] is False
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content", "web_search_call.results"]
    assert body["metadata"] == {"k": "v"}
    assert body["truncation"] == "auto" and body["max_tool_calls"] == 3
    assert body["custom_inputs"] == {"a": 1}
    assert body["context"] == {"conversation_id": "c1", "user_id": "u1"}
    assert body["stream"] is True


def test_reasoning_model_asks_for_encrypted_content_by_default():
    assert build([user("x")])["include"] == ["reasoning.encrypted_content"]
    assert "include" not in build([user("x")], GenerationParams(reasoning_effort="none"))
    assert build([user("x")], GenerationParams(include=[]))["include"] == []


def test_thinking_budget_maps_to_effort():
    assert build([user("x")], GenerationParams(thinking_budget=1024))["reasoning"] == {
        "effort": "low"
    }
    assert build([user("x")], GenerationParams(thinking_budget=20000))["reasoning"] == {
        "effort": "high"
    }


def test_tools_function_custom_and_builtins():
    tools = [
        Tool(
            "get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}
        ),
        Tool("strict_fn", parameters={"type": "object", "properties": {}}, strict=True),
        Tool("patcher", "free text", kind="custom"),
        Tool(
            "grammar",
            kind="custom",
            raw={"format": {"type": "grammar", "syntax": "lark", "definition": "x"}},
        ),
        Tool("apply_patch", kind="apply_patch"),
        Tool("shell", kind="shell", raw={"type": "shell"}),
        Tool("img", kind="image_generation", raw={"type": "image_generation", "size": "1024x1024"}),
        Tool(
            "mcp", kind="mcp", raw={"type": "mcp", "server_label": "s", "server_url": "https://m"}
        ),
    ]
    body = build([user("x")], GenerationParams(tools=tools, tool_choice="required"))
    t = body["tools"]
    assert t[0] == {
        "type": "function",
        "name": "get_weather",
        "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "strict": False,
    }
    assert t[1]["strict"] is True
    assert t[2] == {"type": "custom", "name": "patcher", "description": "free text"}
    assert "parameters" not in t[2]
    assert t[3]["format"]["type"] == "grammar"
    assert t[4] == {"type": "apply_patch"}
    assert t[5] == {"type": "shell"}
    assert t[6] == {"type": "image_generation", "size": "1024x1024"}
    assert t[7]["server_label"] == "s"
    assert body["tool_choice"] == "required"


def test_named_tool_choice():
    tools = [Tool("f"), Tool("c", kind="custom")]
    assert build([user("x")], GenerationParams(tools=tools, tool_choice=NamedToolChoice("f")))[
        "tool_choice"
    ] == {"type": "function", "name": "f"}
    assert build([user("x")], GenerationParams(tools=tools, tool_choice=NamedToolChoice("c")))[
        "tool_choice"
    ] == {"type": "custom", "name": "c"}
    with pytest.raises(InvalidRequestError, match="nope"):
        build([user("x")], GenerationParams(tools=tools, tool_choice=NamedToolChoice("nope")))


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_string_tool_choice(choice):
    assert (
        build([user("x")], GenerationParams(tools=[Tool("f")], tool_choice=choice))["tool_choice"]
        == choice
    )


def test_text_format_json_schema():
    rf = ResponseFormat("json_schema", schema={"type": "object"}, name="Out", strict=True)
    assert build([user("x")], GenerationParams(response_format=rf))["text"] == {
        "format": {
            "type": "json_schema",
            "name": "Out",
            "schema": {"type": "object"},
            "strict": True,
        }
    }
    assert build([user("x")], GenerationParams(response_format=ResponseFormat("json_object")))[
        "text"
    ] == {"format": {"type": "json_object"}}
    with pytest.raises(InvalidRequestError):
        build([user("x")], GenerationParams(response_format=ResponseFormat("json_schema")))


@pytest.mark.parametrize("key", ["background", "store", "previous_response_id", "service_tier"])
def test_pay_per_token_rejections(key):
    params = GenerationParams(extra_body={key: True})
    with pytest.raises(InvalidRequestError, match=key) as err:
        build([user("x")], params)
    assert "external_model" in str(err.value)
    assert build([user("x")], params, external=True)[key] is True


def test_extra_body_merged_last():
    body = build(
        [user("x")], GenerationParams(temperature=1, extra_body={"temperature": 0, "user": "u"})
    )
    assert body["temperature"] == 0 and body["user"] == "u"


@pytest.mark.parametrize(
    "params", [GenerationParams(stop=["x"]), GenerationParams(top_k=3), GenerationParams(n=2)]
)
def test_chat_only_params_rejected(params):
    with pytest.raises(InvalidRequestError, match="Responses API"):
        build([user("x")], params)


def test_logprobs():
    body = build([user("x")], GenerationParams(logprobs=True, top_logprobs=2))
    assert body["include"] == ["message.output_text.logprobs"] and body["top_logprobs"] == 2


# ---------------------------------------------------------------------------------------------
# parse_response
# ---------------------------------------------------------------------------------------------
def _msg(text, annotations=None, item_id="msg_1"):
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": annotations or []}],
    }


USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 30,
}


def test_parse_plain_text_usage_and_meta():
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-5",
        "output": [_msg("Hello")],
        "usage": USAGE,
        "temperature": 1.0,
        "tools": [],
        "custom_outputs": {"trace": 1},
        "something_new": "kept",
    }
    r = codec.parse_response(body)
    assert r.text == "Hello" and r.id == "resp_1" and r.model == "gpt-5"
    assert r.finish_reason == "stop"
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (10, 20, 30)
    assert u.reasoning_tokens == 12 and u.cache_read_tokens == 4 and u.raw == USAGE
    assert r.extras == {"custom_outputs": {"trace": 1}, "something_new": "kept"}


def test_parse_annotations_kept_on_text():
    ann = [{"type": "url_citation", "url": "https://a", "start_index": 0, "end_index": 2}]
    r = codec.parse_response({"output": [_msg("Hi", ann)]})
    assert r.parts == [TextPart("Hi", {"id": "msg_1", "annotations": ann})]


def test_text_carries_its_message_item_id_parsed_and_streamed():
    r = codec.parse_response({"output": [_msg("Hi")]})
    assert r.parts == [TextPart("Hi", {"id": "msg_1"})]
    events = [
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "delta": "H"},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "delta": "i"},
        {"type": "response.output_item.done", "output_index": 0, "item": _msg("Hi")},
        {"type": "response.completed", "response": {"status": "completed", "output": []}},
    ]
    _, out = feed_all(events)
    texts = [d for d in out if isinstance(d, TextDelta)]
    assert texts == [TextDelta("H", {"id": "msg_1"}), TextDelta("i")]  # the id once, first


def test_parse_function_and_custom_calls():
    out = [
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "f",
            "arguments": '{"a":1}',
            "status": "completed",
        },
        {
            "type": "custom_tool_call",
            "id": "ctc_1",
            "call_id": "call_2",
            "name": "g",
            "input": "raw text",
        },
    ]
    r = codec.parse_response({"output": out, "status": "completed"})
    assert r.parts == [
        ToolCallPart("call_1", "f", '{"a":1}', "function", {"id": "fc_1"}),
        ToolCallPart("call_2", "g", "raw text", "custom", {"id": "ctc_1"}),
    ]
    assert r.finish_reason == "tool_calls"


def test_parse_builtin_tool_items_kept_whole():
    items = [
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"query": "q"}},
        {"type": "image_generation_call", "id": "ig_1", "result": "b64"},
        {"type": "mcp_call", "id": "mcp_1", "name": "t", "arguments": "{}", "output": "o"},
        {"type": "function_call_output", "call_id": "c", "output": "agent ran it"},
    ]
    r = codec.parse_response({"output": [*items, _msg("done")]})
    assert r.parts[:4] == [ServerToolPart(i) for i in items]
    assert r.finish_reason == "stop"


def test_parse_reasoning_summary_and_encrypted():
    item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "s"}],
        "encrypted_content": "E",
    }
    r = codec.parse_response({"output": [item, _msg("a")]})
    assert r.parts[:2] == [
        ReasoningPart("s", block=0),
        ReasoningPart(redacted="E", block=0, extras={"id": "rs_1"}),
    ]


def test_parse_raw_reasoning_content_when_no_summary():
    item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "raw"}],
    }
    part = codec.parse_response({"output": [item]}).parts[0]
    assert part.text == "raw"
    assert build([Message("assistant", [part])], external=True)["input"] == [item]


def test_unencrypted_reasoning_dropped_unless_external():
    """Stateless endpoints cannot resolve a reasoning item by id: only encrypted ones go back."""
    item = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "s"}]}
    parts = codec.parse_response({"output": [item, _msg("answer")]}).parts
    history = [Message("assistant", parts)]
    assert [i["type"] for i in build(history)["input"]] == ["message"]
    assert build(history, external=True)["input"][0] == item


@pytest.mark.parametrize(
    ("status", "details", "expected"),
    [
        ("incomplete", {"reason": "max_output_tokens"}, "length"),
        ("incomplete", {"reason": "content_filter"}, "content_filter"),
        ("completed", None, "stop"),
        (None, None, "stop"),
    ],
)
def test_parse_finish_reasons(status, details, expected):
    r = codec.parse_response(
        {"output": [_msg("x")], "status": status, "incomplete_details": details}
    )
    assert r.finish_reason == expected


def test_parse_failed_response_raises():
    with pytest.raises(APIError, match="boom") as err:
        codec.parse_response(
            {"output": [], "status": "failed", "error": {"code": "server_error", "message": "boom"}}
        )
    assert err.value.error_code == "server_error"


def test_parse_refusal():
    body = {
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "no"}],
            }
        ]
    }
    assert codec.parse_response(body).parts == [TextPart("no", {"refusal": True})]


def test_parse_responses_agent_output():
    """A ResponsesAgent (Apps / serving) answer: output items, custom_outputs, no usage/status."""
    body = {
        "output": [
            {
                "type": "function_call",
                "id": "fc",
                "call_id": "c1",
                "name": "lookup",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            _msg("The answer is 42"),
        ],
        "custom_outputs": {"conversation_id": "abc"},
    }
    r = codec.parse_response(body)
    assert r.text == "The answer is 42"
    assert r.extras["custom_outputs"] == {"conversation_id": "abc"}
    assert r.usage is None
    # the agent ran the tool itself: history, not a request to the caller
    assert r.tool_calls == [] and r.finish_reason == "stop"
    assert [p.item["type"] for p in r.parts[:2]] == ["function_call", "function_call_output"]


def test_agent_executed_calls_vs_calls_for_the_caller():
    out = [
        {"type": "function_call", "id": "f1", "call_id": "c1", "name": "a", "arguments": "{}"},
        {"type": "function_call", "id": "f2", "call_id": "c2", "name": "b", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
        _msg("I need b"),
    ]
    r = codec.parse_response({"output": out}, agent=True)
    # the caller's call comes after everything else: only the end of the answer tells that
    # nothing ran it (the stream can know no sooner)
    assert [type(p).__name__ for p in r.parts] == [
        "ServerToolPart",
        "ServerToolPart",
        "TextPart",
        "ToolCallPart",
    ]
    assert r.tool_calls[0].id == "c2" and r.finish_reason == "tool_calls"
    # the stream folds to the same, in the same order
    from core.accumulator import StreamAccumulator

    acc = StreamAccumulator()
    dec = codec.StreamDecoder(agent=True)
    for e in [{"type": "response.output_item.done", "item": i} for i in out]:
        for d in dec.feed(json.dumps(e)):
            acc.add(d)
    for d in dec.feed("[DONE]") + dec.close():
        acc.add(d)
    assert acc.response().parts == r.parts
    assert acc.response().finish_reason == "tool_calls"


def test_parse_chat_agent_shape():
    body = {
        "messages": [
            {
                "role": "assistant",
                "content": "",
                "id": "1",
                "tool_calls": [
                    {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "content": "r", "tool_call_id": "t"},
            {"role": "assistant", "content": "final", "id": "2"},
        ],
        "custom_outputs": {"x": 1},
    }
    r = codec.parse_response(body)
    assert r.text == "final"
    # a ChatAgent's tool calls ran inside the agent: its own steps, not calls for the caller
    assert r.tool_calls == [] and r.finish_reason == "stop"
    steps = [p.item for p in r.parts if isinstance(p, ServerToolPart)]
    assert [(s["type"], s["call_id"]) for s in steps] == [
        ("function_call", "t"),
        ("function_call_output", "t"),
    ]
    assert r.extras["custom_outputs"] == {"x": 1}
    assert len(r.extras["messages"]) == 3


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"foo": 1},
        {"output": "nope"},
        {"output": [1]},
        {"output": [{"type": "message", "content": [{"type": "output_text"}]}]},
        {"output": [{"type": "function_call", "name": 3}]},
        {"output": [{"type": "reasoning", "summary": "x"}]},
    ],
)
def test_parse_bad_shapes(body):
    with pytest.raises(ResponseParseError):
        codec.parse_response(body)


def test_parse_error_body():
    with pytest.raises(APIError, match="bad"):
        codec.parse_response({"error": {"message": "bad", "code": "x"}})


# ---------------------------------------------------------------------------------------------
# StreamDecoder
# ---------------------------------------------------------------------------------------------
def feed_all(events, dec=None):
    dec = dec or codec.StreamDecoder()
    out = []
    for e in events:
        out.extend(dec.feed(e if isinstance(e, str) else json.dumps(e)))
    out.extend(dec.close())
    return dec, out


def test_stream_text_usage_once_and_finish():
    events = [
        {
            "type": "response.created",
            "response": {"id": "resp_1", "model": "gpt-5", "status": "in_progress", "output": []},
        },
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "message", "id": "m", "role": "assistant", "content": []},
        },
        {
            "type": "response.output_text.delta",
            "output_index": 0,
            "item_id": "m",
            "content_index": 0,
            "delta": "Hel",
        },
        {
            "type": "response.output_text.delta",
            "output_index": 0,
            "item_id": "m",
            "content_index": 0,
            "delta": "lo",
        },
        {"type": "response.output_text.done", "output_index": 0, "item_id": "m", "text": "Hello"},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": _msg("Hello", item_id="m"),
        },
        {
            "type": "response.completed",
            "response": {
                "id": "resp_1",
                "model": "gpt-5",
                "status": "completed",
                "output": [_msg("Hello", item_id="m")],
                "usage": USAGE,
            },
        },
    ]
    dec, out = feed_all(events)
    assert dec.complete and not dec.done  # no [DONE]: complete, and read on to the end
    assert out[0] == MetaDelta(id="resp_1", model="gpt-5")
    assert [d.text for d in out if isinstance(d, TextDelta)] == ["Hel", "lo"]
    usages = [d for d in out if isinstance(d, UsageDelta)]
    assert len(usages) == 1 and usages[0].usage.total_tokens == 30
    assert [d for d in out if isinstance(d, FinishDelta)] == [FinishDelta("stop")]
    assert out[-1] == usages[0] or isinstance(out[-1], UsageDelta)


def test_stream_usage_only_from_close():
    dec = codec.StreamDecoder()
    got = dec.feed(
        json.dumps(
            {
                "type": "response.completed",
                "response": {"status": "completed", "output": [], "usage": USAGE},
            }
        )
    )
    assert not any(isinstance(d, UsageDelta) for d in got)
    assert any(isinstance(d, UsageDelta) for d in dec.close())
    assert dec.close() == []


def test_stream_function_call():
    item = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": "",
    }
    done = {**item, "arguments": '{"city":"Paris"}', "status": "completed"}
    events = [
        {"type": "response.output_item.added", "output_index": 1, "item": item},
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 1,
            "item_id": "fc_1",
            "delta": '{"city":',
        },
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 1,
            "item_id": "fc_1",
            "delta": '"Paris"}',
        },
        {
            "type": "response.function_call_arguments.done",
            "output_index": 1,
            "item_id": "fc_1",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "response.output_item.done", "output_index": 1, "item": done},
        {"type": "response.completed", "response": {"status": "completed", "output": [done]}},
    ]
    _, out = feed_all(events)
    calls = [d for d in out if isinstance(d, ToolCallDelta)]
    assert calls[0] == ToolCallDelta(1, "call_1", "get_weather", "", "function", {"id": "fc_1"})
    assert "".join(c.arguments for c in calls) == '{"city":"Paris"}'
    assert all(c.index == 1 for c in calls)
    assert FinishDelta("tool_calls") in out


def test_stream_custom_tool_call_input_deltas():
    item = {"type": "custom_tool_call", "id": "ct", "call_id": "c", "name": "patch", "input": ""}
    events = [
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {
            "type": "response.custom_tool_call_input.delta",
            "output_index": 0,
            "item_id": "ct",
            "delta": "*** Begin",
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {**item, "input": "*** Begin"},
        },
    ]
    _, out = feed_all(events)
    calls = [d for d in out if isinstance(d, ToolCallDelta)]
    assert [c.kind for c in calls] == ["custom", "custom"]
    assert "".join(c.arguments for c in calls) == "*** Begin"


def test_stream_reasoning_summary_and_encrypted_content():
    rs = {"type": "reasoning", "id": "rs_1", "summary": []}
    done = {
        **rs,
        "summary": [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}],
        "encrypted_content": "ENC",
    }
    events = [
        {"type": "response.output_item.added", "output_index": 0, "item": rs},
        {
            "type": "response.reasoning_summary_part.added",
            "output_index": 0,
            "item_id": "rs_1",
            "summary_index": 0,
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "item_id": "rs_1",
            "summary_index": 0,
            "delta": "a",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "item_id": "rs_1",
            "summary_index": 1,
            "delta": "b",
        },
        {"type": "response.output_item.done", "output_index": 0, "item": done},
    ]
    _, out = feed_all(events)
    rd = [d for d in out if isinstance(d, ReasoningDelta)]
    assert "".join(d.text for d in rd) == "a\n\nb"
    assert rd[-1].redacted == "ENC" and rd[-1].extras["id"] == "rs_1"
    assert rd[-1].extras["summary"] == done["summary"]
    assert all(d.block == 0 for d in rd)


def test_stream_builtin_tool_item_done():
    item = {"type": "web_search_call", "id": "ws", "status": "completed"}
    _, out = feed_all([{"type": "response.output_item.done", "output_index": 0, "item": item}])
    assert out[0] == ServerToolDelta(item)


def test_stream_agent_done_only_events_without_output_index():
    """MLflow ResponsesAgent streams: text deltas keyed by item_id, then the whole item."""
    events = [
        {"type": "response.output_text.delta", "item_id": "m1", "delta": "Hi "},
        {"type": "response.output_text.delta", "item_id": "m1", "delta": "there"},
        {"type": "response.output_item.done", "item": _msg("Hi there", item_id="m1")},
        {
            "type": "response.output_item.done",
            "item": {
                "type": "function_call",
                "id": "f",
                "call_id": "c",
                "name": "n",
                "arguments": "{}",
            },
        },
        {"type": "response.output_item.done", "item": _msg("after", item_id="m2")},
        {"type": "response.completed", "response": {"output": [], "custom_outputs": {"k": "v"}}},
        "[DONE]",
    ]
    dec, out = feed_all(events)
    assert [d.text for d in out if isinstance(d, TextDelta)] == ["Hi ", "there", "after"]
    call = next(d for d in out if isinstance(d, ToolCallDelta))
    assert (call.id, call.name, call.arguments) == ("c", "n", "{}")
    assert MetaDelta(extras={"custom_outputs": {"k": "v"}}) in out
    assert dec.done


def test_stream_completed_only():
    body = {"status": "completed", "output": [_msg("whole")], "usage": USAGE}
    _, out = feed_all([{"type": "response.completed", "response": body}])
    assert TextDelta("whole", {"id": "msg_1"}) in out


def test_stream_incomplete_is_length():
    _, out = feed_all(
        [
            {
                "type": "response.incomplete",
                "response": {
                    "status": "incomplete",
                    "incomplete_details": {"reason": "max_output_tokens"},
                    "output": [],
                },
            }
        ]
    )
    assert FinishDelta("length") in out


def test_stream_error_events():
    with pytest.raises(StreamErrorEvent, match="overloaded") as err:
        codec.StreamDecoder().feed(
            json.dumps({"type": "error", "code": "server_error", "message": "overloaded"})
        )
    assert err.value.error_code == "server_error"
    with pytest.raises(StreamErrorEvent, match="failed hard"):
        codec.StreamDecoder().feed(
            json.dumps(
                {
                    "type": "response.failed",
                    "response": {
                        "status": "failed",
                        "error": {"code": "x", "message": "failed hard"},
                    },
                }
            )
        )


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        "[1,2]",
        '"str"',
        json.dumps({"no": "type"}),
        json.dumps({"type": "response.output_text.delta", "delta": 5}),
        json.dumps({"type": "response.output_item.done", "item": "x"}),
        json.dumps({"type": "response.completed"}),
    ],
)
def test_stream_malformed(data):
    with pytest.raises(MalformedEventError):
        codec.StreamDecoder().feed(data)


def test_stream_unknown_events_ignored_and_done_marker():
    dec = codec.StreamDecoder()
    assert (
        dec.feed(json.dumps({"type": "response.web_search_call.searching", "output_index": 0}))
        == []
    )
    assert not dec.done
    assert dec.feed("[DONE]") == []
    assert dec.done


def test_stream_chat_agent_chunks():
    dec, out = feed_all(
        [
            {"delta": {"role": "assistant", "content": "hey", "id": "1"}},
            {"delta": {"role": "assistant", "content": "!"}, "custom_outputs": {"a": 1}},
        ]
    )
    assert [d.text for d in out if isinstance(d, TextDelta)] == ["hey", "!"]
    assert MetaDelta(extras={"custom_outputs": {"a": 1}}) in out


def test_stream_item_id_then_output_index_is_one_item():
    """Deltas keyed by item_id only, then the done event with an output_index: no duplicate."""
    events = [
        {"type": "response.output_text.delta", "item_id": "m1", "delta": "Hello"},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": _msg("Hello", item_id="m1"),
        },
    ]
    _, out = feed_all(events)
    assert [d.text for d in out if isinstance(d, TextDelta)] == ["Hello"]


def test_stream_mlflow_agent_server_error_chunk():
    """MLflow's AgentServer reports a failure mid-stream as {"error": "..."} then [DONE]."""
    dec = codec.StreamDecoder()
    dec.feed(json.dumps({"type": "response.output_text.delta", "item_id": "m", "delta": "Hi"}))
    with pytest.raises(StreamErrorEvent, match="tool exploded"):
        dec.feed(json.dumps({"error": "tool exploded"}))
