"""ChatAgent codec (MLflow ChatAgent, task agent/v2/chat). Shapes from ``mlflow.types.agent`` and
databricks-ai-bridge's ChatAgent stream fixtures; texts and ids are our own."""

from __future__ import annotations

import json

import pytest

from core.accumulator import StreamAccumulator
from core.codecs import chat, chat_agent
from core.errors import InvalidRequestError, MalformedEventError, ResponseParseError
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    ServerToolPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

ANSWER = {
    "messages": [
        {"role": "assistant", "content": "I'll check the weather.", "id": "msg_1"},
        {
            "role": "assistant",
            "content": "",
            "id": "msg_2",
            "tool_calls": [
                {"id": "call_w", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
            ],
        },  # fmt: skip
        {"role": "tool", "name": "get_weather", "content": '{"c": 4}', "tool_call_id": "call_w",
         "id": "tool_1"},  # fmt: skip
        {"role": "assistant", "content": "It is 4 degrees in Oslo.", "id": "msg_3"},
    ],
    "custom_outputs": {"trace": "t-1"},
    "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
}


def chunks_of(answer: dict, pieces: int = 3) -> list[dict]:
    """The answer as a stream: content in pieces per message id, calls and results whole."""
    out = []
    for msg in answer["messages"]:
        content = msg.get("content") or ""
        step = max(1, len(content) // pieces)
        texts = [content[i : i + step] for i in range(0, len(content), step)] or [content]
        for n, text in enumerate(texts):
            delta = {"role": msg["role"], "content": text, "id": msg["id"]}
            if n == 0:
                delta.update({k: v for k, v in msg.items() if k not in ("content",)})
                delta["content"] = text
            out.append({"delta": delta})
    out[-1]["custom_outputs"] = answer["custom_outputs"]
    out[-1]["usage"] = answer["usage"]
    return out


def fold(chunks):
    dec = chat_agent.StreamDecoder()
    acc = StreamAccumulator()
    for c in chunks:
        for d in dec.feed(json.dumps(c)):
            acc.add(d)
    for d in dec.close():
        acc.add(d)
    return dec, acc.response()


# -- answer ------------------------------------------------------------------------------------
def test_parse_keeps_every_message_and_hands_no_call_to_the_caller():
    r = chat_agent.parse_response(ANSWER)
    assert [type(p) for p in r.parts] == [TextPart, ServerToolPart, ServerToolPart, TextPart]
    assert r.parts[-1].text == "It is 4 degrees in Oslo."
    assert r.parts[1].item == {
        "type": "function_call", "call_id": "call_w", "name": "get_weather",
        "arguments": '{"city": "Oslo"}', "id": "msg_2",
    }  # fmt: skip
    assert r.parts[2].item["type"] == "function_call_output"
    assert r.parts[2].item["output"] == '{"c": 4}' and r.parts[2].item["name"] == "get_weather"
    assert r.tool_calls == [] and r.finish_reason == "stop"
    assert r.extras["custom_outputs"] == {"trace": "t-1"}
    assert r.extras["messages"] == ANSWER["messages"]
    assert r.usage.total_tokens == 42


def test_stream_folds_to_the_parsed_answer():
    dec, got = fold(chunks_of(ANSWER))
    want = chat_agent.parse_response(ANSWER)
    assert got.parts == want.parts
    assert got.usage.total_tokens == 42 and got.finish_reason == "stop"
    assert got.extras["custom_outputs"] == {"trace": "t-1"}
    assert got.extras["messages"] == want.extras["messages"]
    assert dec.complete and not dec.done


def test_basic_text_stream():
    chunks = [{"id": "chatcmpl-1", "delta": {"role": "assistant", "content": t, "id": "m"}}
              for t in ("Hel", "lo", "!")]  # fmt: skip
    _, r = fold(chunks)
    assert r.text == "Hello!" and r.id == "chatcmpl-1"
    assert r.extras["messages"] == [{"role": "assistant", "content": "Hello!", "id": "m"}]


@pytest.mark.parametrize(
    ("chunk", "named"),
    [
        ({"choices": [], "foo": 1}, "keys: choices, foo"),
        ({"delta": {"role": "assistant", "content": 5, "id": "m"}}, "content 5"),
        ({"delta": {"role": "user", "content": "x", "id": "m"}}, "'user' message"),
    ],
)
def test_unknown_chunks_raise_naming_the_shape(chunk, named):
    with pytest.raises(MalformedEventError, match=named):
        chat_agent.StreamDecoder().feed(json.dumps(chunk))


def test_unknown_answer_raises():
    with pytest.raises(ResponseParseError, match="no 'messages'"):
        chat_agent.parse_response({"choices": []})


def test_chat_decoder_reads_chat_agent_chunks_instead_of_empty_text():
    dec = chat.StreamDecoder()
    acc = StreamAccumulator()
    for c in chunks_of(ANSWER):
        for d in dec.feed(json.dumps(c)):
            acc.add(d)
    for d in dec.close():
        acc.add(d)
    assert acc.response().parts == chat_agent.parse_response(ANSWER).parts
    assert dec.complete


# -- request -----------------------------------------------------------------------------------
def test_request_carries_messages_context_and_custom_inputs():
    params = GenerationParams(custom_inputs={"k": 1}, context={"conversation_id": "c1"})
    body = chat_agent.build_request(
        [Message("system", [TextPart("Be brief.")]), Message("user", [TextPart("Hi")])],
        params,
        stream=True,
    )
    assert body == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "context": {"conversation_id": "c1"},
        "custom_inputs": {"k": 1},
        "stream": True,
    }


def test_request_replays_the_agents_own_steps_and_names_tool_results():
    steps = chat_agent.parse_response(ANSWER).parts
    history = [
        Message("user", [TextPart("Weather?")]),
        Message("assistant", steps),
        Message("user", [TextPart("And a caller tool?")]),
        Message("assistant", [ToolCallPart("c9", "lookup", "{}")]),
        Message("tool", [ToolResultPart("c9", "found")]),
    ]
    wire = chat_agent.build_request(history, GenerationParams(), stream=False)["messages"]
    assert wire[1] == {"role": "assistant", "content": "I'll check the weather.",
                       "tool_calls": [{"id": "call_w", "type": "function", "function": {
                           "name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}  # fmt: skip
    assert wire[2] == {"role": "tool", "content": '{"c": 4}', "name": "get_weather",
                       "tool_call_id": "call_w"}  # fmt: skip
    assert wire[3] == {"role": "assistant", "content": "It is 4 degrees in Oslo."}
    # MLflow requires name and tool_call_id on tool messages: the name comes from the call
    assert wire[-1] == {"role": "tool", "content": "found", "name": "lookup", "tool_call_id": "c9"}


def test_request_refuses_what_a_chat_agent_cannot_take():
    with pytest.raises(InvalidRequestError, match="takes no tools"):
        chat_agent.build_request(
            [Message("user", [TextPart("x")])], GenerationParams(tools=[Tool("f")]), stream=False
        )
    with pytest.raises(InvalidRequestError, match="text only"):
        chat_agent.build_request(
            [Message("user", [MediaPart("image", url="https://x/y.png")])],
            GenerationParams(),
            stream=False,
        )
    with pytest.raises(InvalidRequestError, match="needs the tool's name"):
        chat_agent.build_request(
            [Message("tool", [ToolResultPart("nope", "r")])], GenerationParams(), stream=False
        )


def test_sampling_parameters_are_warned_about_not_sent():
    with pytest.warns(UserWarning, match="takes no temperature, max_tokens"):
        body = chat_agent.build_request(
            [Message("user", [TextPart("x")])],
            GenerationParams(temperature=0.2, max_tokens=10),
            stream=False,
        )
    assert "temperature" not in body and "max_tokens" not in body


# -- legacy ChatModel: chat completions plus custom_inputs ----------------------------------------
def test_chat_codec_sends_custom_inputs_and_context():
    from core.registry import lookup_model

    body = chat.build_request(
        [Message("user", [TextPart("x")])],
        GenerationParams(custom_inputs={"k": 1}, context={"user_id": "u"}),
        model=None,
        info=lookup_model("my-legacy-agent"),
        stream=False,
    )
    assert body["custom_inputs"] == {"k": 1} and body["context"] == {"user_id": "u"}


def test_chat_custom_outputs_on_the_message_or_the_last_chunk_reach_extras():
    body = {"choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "ok", "custom_outputs": {"m": 1}}}]}  # fmt: skip
    assert chat.parse_response(body).extras["custom_outputs"] == {"m": 1}
    dec = chat.StreamDecoder()
    acc = StreamAccumulator()
    for c in [
        {"id": "x", "choices": [{"index": 0, "delta": {"content": "ok"}}]},
        {"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
         "custom_outputs": {"last": True}},
    ]:  # fmt: skip
        for d in dec.feed(json.dumps(c)):
            acc.add(d)
    assert acc.response().extras["custom_outputs"] == {"last": True}
    assert dec.complete  # a finish reason and a clean end: whole, even without [DONE]


def test_several_messages_stay_several_parts_streamed_or_not():
    """A supervisor answering through two sub-agents: two messages, two text parts (each with
    its id and author), never one glued string."""
    answer = {"messages": [
        {"role": "assistant", "content": "Sales rose 4%.", "id": "m1", "name": "analyst"},
        {"role": "assistant", "content": "Write it up as a memo.", "id": "m2", "name": "writer"},
    ], "custom_outputs": {}, "usage": {"prompt_tokens": 1, "completion_tokens": 2}}  # fmt: skip
    parsed = chat_agent.parse_response(answer)
    assert parsed.parts == [
        TextPart("Sales rose 4%.", {"id": "m1", "name": "analyst"}),
        TextPart("Write it up as a memo.", {"id": "m2", "name": "writer"}),
    ]
    _, streamed = fold(chunks_of(answer))
    assert streamed.parts == parsed.parts
    # the next turn sends them back as the two messages they were, with their authors
    wire = chat_agent.build_request([Message("assistant", parsed.parts)], GenerationParams(),
                                    stream=False)["messages"]  # fmt: skip
    assert wire == [
        {"role": "assistant", "content": "Sales rose 4%.", "name": "analyst"},
        {"role": "assistant", "content": "Write it up as a memo.", "name": "writer"},
    ]
