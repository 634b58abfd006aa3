"""Property tests for the Responses codec.

* A response streamed as events (OpenAI style, or agent style with only ``output_item.done``)
  and folded by :class:`core.accumulator.StreamAccumulator` equals ``parse_response`` of the same
  response object.
* Arbitrary JSON never crashes ``parse_response`` or ``StreamDecoder.feed`` with anything but
  the library's own errors.
* A parsed response sent back as history reproduces its reasoning and call items exactly.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.accumulator import StreamAccumulator
from core.codecs import responses as codec
from core.errors import DatabricksError
from core.types import GenerationParams, Message

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
ident = st.from_regex(r"[a-z]{2}_[A-Za-z0-9]{1,12}", fullmatch=True)


@st.composite
def message_item(draw):
    n = draw(st.integers(1, 2))
    content = []
    for _ in range(n):
        t = draw(text)
        ann = draw(
            st.sampled_from(
                [
                    [],
                    [
                        {
                            "type": "url_citation",
                            "url": "https://x",
                            "start_index": 0,
                            "end_index": 1,
                        }
                    ],
                ]
            )
        )
        content.append({"type": "output_text", "text": t, "annotations": ann})
    return {
        "type": "message",
        "id": draw(ident),
        "role": "assistant",
        "status": "completed",
        "content": content,
    }


@st.composite
def reasoning_item(draw):
    summary = [{"type": "summary_text", "text": draw(text)} for _ in range(draw(st.integers(0, 3)))]
    item = {"type": "reasoning", "id": draw(ident), "summary": summary}
    if draw(st.booleans()):
        item["encrypted_content"] = draw(st.from_regex(r"gAAAA[A-Za-z0-9]{1,30}", fullmatch=True))
    return item


@st.composite
def call_item(draw):
    custom = draw(st.booleans())
    args = draw(st.sampled_from(["{}", '{"a": 1}', '{"city": "Paris", "n": [1, 2]}', ""]))
    item = {
        "type": "custom_tool_call" if custom else "function_call",
        "id": draw(ident),
        "call_id": draw(ident),
        "name": draw(st.sampled_from(["get_weather", "lookup", "apply_patch"])),
        "status": "completed",
    }
    item["input" if custom else "arguments"] = args if not custom else draw(text)
    return item


builtin_item = st.builds(
    lambda i, kind: {"type": kind, "id": i, "status": "completed"},
    ident,
    st.sampled_from(["web_search_call", "image_generation_call", "mcp_call", "shell_call"]),
)

usage = st.one_of(
    st.none(),
    st.builds(
        lambda a, b, r, c: {
            "input_tokens": a,
            "output_tokens": b,
            "total_tokens": a + b,
            "output_tokens_details": {"reasoning_tokens": r},
            "input_tokens_details": {"cached_tokens": c},
        },
        st.integers(0, 999),
        st.integers(0, 999),
        st.integers(0, 99),
        st.integers(0, 99),
    ),
)


@st.composite
def response_object(draw, agent_outputs=False):
    output = draw(
        st.lists(st.one_of(message_item(), reasoning_item(), call_item(), builtin_item), max_size=6)
    )
    for i, item in enumerate(output):  # ids are unique within a response
        item["id"] = f"{item['id']}_{i}"
        if "call_id" in item:
            item["call_id"] = f"{item['call_id']}_{i}"
    if agent_outputs:  # an agent that ran some of the calls itself: their outputs follow
        with_outputs = []
        for item in output:
            with_outputs.append(item)
            if item["type"] in ("function_call", "custom_tool_call") and draw(st.booleans()):
                kind = item["type"] + "_output"
                with_outputs.append({"type": kind, "call_id": item["call_id"], "output": "r"})
        output = with_outputs
    body = {
        "id": "resp_" + draw(st.from_regex(r"[a-z0-9]{4}", fullmatch=True)),
        "object": "response",
        "model": "gpt-5",
        "status": draw(st.sampled_from(["completed", "completed", "incomplete"])),
        "output": output,
        "usage": draw(usage),
    }
    if body["status"] == "incomplete":
        body["incomplete_details"] = {"reason": "max_output_tokens"}
    if draw(st.booleans()):
        body["custom_outputs"] = {"k": draw(text)}
    return body


def chunks(draw, s: str) -> list[str]:
    if not s:
        return []
    cuts = sorted(draw(st.lists(st.integers(1, max(1, len(s) - 1)), max_size=3, unique=True)))
    pieces, prev = [], 0
    for c in [*cuts, len(s)]:
        if c > prev:
            pieces.append(s[prev:c])
            prev = c
    return pieces


def openai_events(draw, body) -> list[dict]:
    """The event sequence an OpenAI-style server sends for ``body``."""
    created = {**body, "status": "in_progress", "output": [], "usage": None}
    events = [{"type": "response.created", "response": created}]
    for i, item in enumerate(body["output"]):
        t = item["type"]
        added = dict(item)
        if t == "message":
            added["content"] = []
        elif t == "reasoning":
            added["summary"] = []
            added.pop("encrypted_content", None)
        elif t == "function_call":
            added["arguments"] = ""
        elif t == "custom_tool_call":
            added["input"] = ""
        events.append({"type": "response.output_item.added", "output_index": i, "item": added})
        base = {"output_index": i, "item_id": item["id"]}
        if t == "message":
            for ci, c in enumerate(item["content"]):
                for piece in chunks(draw, c["text"]):
                    events.append(
                        {
                            "type": "response.output_text.delta",
                            **base,
                            "content_index": ci,
                            "delta": piece,
                        }
                    )
        elif t == "reasoning":
            for si, s in enumerate(item["summary"]):
                events.append(
                    {"type": "response.reasoning_summary_part.added", **base, "summary_index": si}
                )
                for piece in chunks(draw, s["text"]):
                    events.append(
                        {
                            "type": "response.reasoning_summary_text.delta",
                            **base,
                            "summary_index": si,
                            "delta": piece,
                        }
                    )
        elif t in ("function_call", "custom_tool_call"):
            key = "arguments" if t == "function_call" else "input"
            etype = (
                "response.function_call_arguments.delta"
                if t == "function_call"
                else "response.custom_tool_call_input.delta"
            )
            # some servers send only part of the arguments as deltas; done carries the rest
            pieces = chunks(draw, item[key])
            keep = draw(st.integers(0, len(pieces)))
            for piece in pieces[:keep]:
                events.append({"type": etype, **base, "delta": piece})
        events.append({"type": "response.output_item.done", "output_index": i, "item": item})
    terminal = "response.incomplete" if body["status"] == "incomplete" else "response.completed"
    events.append({"type": terminal, "response": body})
    return events


def agent_events(body) -> list[dict]:
    """MLflow ResponsesAgent style: whole items only, no output_index, then completed."""
    events = [{"type": "response.output_item.done", "item": item} for item in body["output"]]
    events.append({"type": "response.completed", "response": {**body, "output": []}})
    return events


def fold(events, agent=False) -> object:
    dec = codec.StreamDecoder(agent=agent)
    acc = StreamAccumulator()
    for e in events:
        for d in dec.feed(json.dumps(e)):
            acc.add(d)
    for d in dec.close():
        acc.add(d)
    assert dec.complete
    return acc.response()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), response_object())
def test_streamed_openai_events_fold_to_parse_response(data, body):
    assert fold(openai_events(data.draw, body)) == codec.parse_response(body)


@settings(max_examples=200, deadline=None)
@given(response_object(agent_outputs=True))
def test_agent_done_only_events_fold_to_parse_response(body):
    got = fold(agent_events(body), agent=True)
    want = codec.parse_response(body, agent=True)
    # agent events carry no output_index: reasoning blocks are numbered by the decoder
    strip = lambda parts: [  # noqa: E731
        type(p)(**{**{f: getattr(p, f) for f in p.__slots__}, "block": None})
        if hasattr(p, "block")
        else p
        for p in parts
    ]
    assert strip(got.parts) == strip(want.parts)
    assert (got.usage, got.finish_reason, got.extras) == (
        want.usage,
        want.finish_reason,
        want.extras,
    )


@settings(max_examples=200, deadline=None)
@given(response_object(), st.booleans())
def test_replay_sends_reasoning_and_calls_back_exactly(body, external):
    resp = codec.parse_response(body)
    items = codec.build_request(
        [Message("assistant", resp.parts)], GenerationParams(), model="m", info=None,
        stream=False, external=external,
    )["input"]  # fmt: skip
    sent = [i for i in items if i["type"] != "message"]

    def expected(item):
        if item["type"] == "message":
            return None
        if item["type"] == "reasoning":
            if "encrypted_content" not in item and not external:
                return None  # stateless endpoints: unencrypted reasoning is left out
            return item
        if item["type"] in ("function_call", "custom_tool_call"):
            return {k: v for k, v in item.items() if k != "status"} | (
                {"arguments": item["arguments"] or "{}"} if item["type"] == "function_call" else {}
            )
        return item

    assert sent == [e for e in map(expected, body["output"]) if e is not None]


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)

keys = st.sampled_from(
    ["type", "output", "item", "delta", "response", "output_index", "item_id", "summary",
     "content", "text", "status", "usage", "messages", "error", "call_id", "name", "arguments",
     "encrypted_content", "summary_index", "incomplete_details", "custom_outputs"]
)  # fmt: skip
event_types = st.sampled_from(
    ["response.created", "response.output_item.added", "response.output_item.done",
     "response.output_text.delta", "response.reasoning_summary_text.delta",
     "response.function_call_arguments.delta", "response.custom_tool_call_input.delta",
     "response.completed", "response.incomplete", "response.failed", "error", "message",
     "reasoning", "function_call", "custom_tool_call", "output_text", "summary_text", "refusal"]
)  # fmt: skip
shaped = st.recursive(
    st.none() | st.integers(-2, 3) | text | event_types,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=6)
        | st.builds(
            lambda d, t: {**d, "type": t}, st.dictionaries(keys, children, max_size=5), event_types
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_value, shaped))
def test_parse_response_never_crashes(body):
    try:
        codec.parse_response(body)
    except DatabricksError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(json_value, shaped), max_size=5))
def test_feed_never_crashes(events):
    dec = codec.StreamDecoder()
    for e in events:
        try:
            dec.feed(json.dumps(e))
        except DatabricksError:
            pass
    dec.close()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_feed_raw_text_never_crashes(data):
    try:
        codec.StreamDecoder().feed(data)
    except DatabricksError:
        pass
