"""Property: streaming a response, chunked any way, gives the same ChatResponse as parsing it.

A valid chat completions response is generated; it is turned into a chat.completion.chunk
stream by the rules of wire-formats.md (reasoning text in pieces with ``signature: ""`` then an
empty-text piece with the signature; text as string or block deltas; tool calls keyed by index
with id/name first and arguments in pieces; usage on the last chunk, on a ``choices: []`` chunk
or cumulatively on every chunk with nulls), the atoms are grouped into chunks at arbitrary
points, and StreamDecoder + StreamAccumulator must give ``parse_response(body)`` exactly.

What a stream cannot carry is left out of the generated responses (it is not information the
wire delivers when streaming): unknown keys on reasoning items and tool calls, logprobs, two
adjacent text blocks or two adjacent reasoning blocks (a stream has no block boundary), an
unsigned reasoning item followed by another item of its block, empty text blocks.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.accumulator import StreamAccumulator
from core.codecs.chat import StreamDecoder, parse_response

text = st.text(min_size=1, max_size=12)
sig = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/=", min_size=1, max_size=10)


@st.composite
def reasoning_block(draw: Any) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["signed", "unsigned", "signature_only", "encrypted"]))
        if items and items[-1]["type"] == "summary_text" and "signature" not in items[-1]:
            # an unsigned item can only be followed by an encrypted one
            kind = "encrypted"
        if kind == "signed":
            items.append({"type": "summary_text", "text": draw(text), "signature": draw(sig)})
        elif kind == "unsigned":
            items.append({"type": "summary_text", "text": draw(text)})
        elif kind == "signature_only":
            items.append({"type": "summary_text", "text": "", "signature": draw(sig)})
        else:
            items.append({"type": "summary_encrypted_text", "data": draw(sig)})
    return {"type": "reasoning", "summary": items}


@st.composite
def text_block(draw: Any) -> dict[str, Any]:
    block = {"type": "text", "text": draw(text)}
    if draw(st.booleans()):
        block["thoughtSignature"] = draw(sig)
    return block


@st.composite
def content_list(draw: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    kind = draw(st.sampled_from(["reasoning", "text"]))
    for _ in range(draw(st.integers(1, 4))):
        blocks.append(draw(reasoning_block()) if kind == "reasoning" else draw(text_block()))
        kind = "text" if kind == "reasoning" else "reasoning"  # no two adjacent of a kind
    return blocks


USAGES = [
    {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33},
    {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33,
     "completion_tokens_details": {"reasoning_tokens": 9}},
    {"prompt_tokens": 110, "completion_tokens": 22, "total_tokens": 132,
     "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "reasoning_tokens": 3},
    {"prompt_tokens": 110, "completion_tokens": 22, "total_tokens": 132,
     "prompt_tokens_details": {"cached_tokens": 64}},
]


@st.composite
def responses(draw: Any) -> dict[str, Any]:
    shape = draw(st.sampled_from(["string", "list", "null", "reasoning_content"]))
    message: dict[str, Any] = {"role": "assistant"}
    if shape == "string":
        message["content"] = draw(text)
    elif shape == "list":
        message["content"] = draw(content_list())
    elif shape == "null":
        message["content"] = None
    else:
        message[draw(st.sampled_from(["reasoning_content", "reasoning"]))] = draw(text)
        message["content"] = draw(st.none() | text)
    n_calls = draw(st.integers(0, 3))
    if n_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}_{draw(sig)}", "type": "function",
             "function": {"name": draw(st.sampled_from(["get_weather", "search", "f-2"])),
                          "arguments": draw(st.text(max_size=20))}}
            for i in range(n_calls)
        ]
    body: dict[str, Any] = {
        "id": "chatcmpl-" + draw(sig),
        "object": "chat.completion",
        "created": draw(st.integers(0, 2**31)),
        "model": draw(st.sampled_from(["databricks-claude-sonnet-4-5", "databricks-gpt-oss-120b",
                                       "databricks-gemini-2-5-pro"])),
        "choices": [{"index": 0, "message": message,
                     "finish_reason": draw(st.sampled_from(
                         ["stop", "end_turn", "tool_calls", "tool_use", "length", "max_tokens"]))}],
    }
    if draw(st.booleans()):
        body["system_fingerprint"] = "fp_" + draw(sig)
    if draw(st.integers(0, 4)):
        body["usage"] = dict(draw(st.sampled_from(USAGES)))
    return body


def split(draw: Any, s: str) -> list[str]:
    """s cut into 1..n non-empty pieces at drawn points."""
    if len(s) <= 1:
        return [s]
    cuts = sorted(draw(st.sets(st.integers(1, len(s) - 1), max_size=4)))
    bounds = [0, *cuts, len(s)]
    return [s[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


# atoms: (slot, payload); slot 0 = content, 1 = reasoning_content, 2 = tool_calls
def atoms_for(draw: Any, body: dict[str, Any]) -> list[tuple[int, Any]]:
    message = body["choices"][0]["message"]
    atoms: list[tuple[int, Any]] = []
    for key in ("reasoning_content", "reasoning"):
        if message.get(key):
            atoms += [(1, (key, p)) for p in split(draw, message[key])]
    content = message.get("content")
    if isinstance(content, str):
        as_blocks = draw(st.booleans())
        for p in split(draw, content):
            atoms.append((0, {"type": "text", "text": p} if as_blocks else p))
    elif isinstance(content, list):
        for block in content:
            if block["type"] == "text":
                pieces = split(draw, block["text"])
                for j, p in enumerate(pieces):
                    b = {"type": "text", "text": p}
                    if j == len(pieces) - 1 and "thoughtSignature" in block:
                        b["thoughtSignature"] = block["thoughtSignature"]
                    atoms.append((0, b))
                continue
            for item in block["summary"]:
                if item["type"] == "summary_encrypted_text":
                    atoms.append((0, {"type": "reasoning", "summary": [item]}))
                    continue
                if item["text"]:
                    for p in split(draw, item["text"]):
                        atoms.append((0, {"type": "reasoning", "summary": [
                            {"type": "summary_text", "text": p, "signature": ""}]}))
                if "signature" in item:
                    atoms.append((0, {"type": "reasoning", "summary": [
                        {"type": "summary_text", "text": "", "signature": item["signature"]}]}))
    for i, call in enumerate(message.get("tool_calls") or []):
        pieces = split(draw, call["function"]["arguments"]) if call["function"]["arguments"] else [""]
        atoms.append((2, {"index": i, "id": call["id"], "type": "function",
                          "function": {"name": call["function"]["name"], "arguments": pieces[0]}}))
        atoms += [(2, {"index": i, "function": {"arguments": p}}) for p in pieces[1:]]
    return atoms


def to_events(draw: Any, body: dict[str, Any]) -> list[str]:
    head = {k: v for k, v in body.items() if k not in ("choices", "usage", "object")}
    head["object"] = "chat.completion.chunk"
    atoms = atoms_for(draw, body)
    chunks: list[dict[str, Any]] = []
    delta: dict[str, Any] = {"role": "assistant"}
    last_slot = -1
    for slot, payload in atoms:
        # a new chunk where the hypothesis says so, or where the decoder's in-chunk order
        # (content, reasoning_content, tool_calls) would reorder atoms
        if slot < last_slot or (delta and draw(st.booleans())):
            chunks.append(delta)
            delta = {}
        last_slot = slot
        if slot == 0:
            if isinstance(payload, str):
                if isinstance(delta.get("content"), str):
                    delta["content"] += payload
                elif "content" in delta:  # a list already: strings go as text blocks
                    delta["content"].append({"type": "text", "text": payload})
                else:
                    delta["content"] = payload
            else:
                if isinstance(delta.get("content"), str):
                    delta["content"] = [{"type": "text", "text": delta["content"]}]
                delta.setdefault("content", []).append(payload)
        elif slot == 1:
            key, piece = payload
            delta[key] = delta.get(key, "") + piece
        else:
            delta.setdefault("tool_calls", []).append(payload)
    chunks.append(delta)

    finish = body["choices"][0]["finish_reason"]
    usage = body.get("usage")
    mode = draw(st.sampled_from(["last", "empty_choices", "cumulative"]))
    events = []
    n = len(chunks)
    for k, d in enumerate(chunks):
        ev: dict[str, Any] = {**head, "choices": [
            {"index": 0, "delta": d, "finish_reason": finish if k == n - 1 else None}]}
        if usage is not None:
            if mode == "last" and k == n - 1:
                ev["usage"] = usage
            elif mode == "cumulative":
                ev["usage"] = usage if k == n - 1 else {
                    "prompt_tokens": usage["prompt_tokens"], "completion_tokens": None,
                    "total_tokens": None}
        events.append(ev)
    if usage is not None and mode == "empty_choices":
        events.append({**head, "choices": [], "usage": usage})
    return [json.dumps(e) for e in events] + ["[DONE]"]


def stream_response(events: list[str]):
    dec = StreamDecoder()
    acc = StreamAccumulator()
    for e in events:
        for d in dec.feed(e):
            acc.add(d)
    assert dec.done
    for d in dec.close():
        acc.add(d)
    return acc.response()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses(), st.data())
def test_streamed_equals_parsed(body, data):
    events = to_events(data.draw, body)
    expected = parse_response(body)
    assert stream_response(events) == expected


def test_generator_sanity():
    """The generator produces every interesting shape (a property test that never saw a
    reasoning block would prove nothing)."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None)
    @given(responses())
    def collect(body):
        msg = body["choices"][0]["message"]
        if isinstance(msg.get("content"), list):
            for b in msg["content"]:
                seen.add(b["type"])
                for it in b.get("summary", []):
                    seen.add(it["type"] + ("+sig" if it.get("signature") else ""))
        if msg.get("tool_calls"):
            seen.add("tool_calls")
        if msg.get("reasoning_content") or msg.get("reasoning"):
            seen.add("reasoning_content")

    collect()
    assert {"text", "reasoning", "summary_text", "summary_text+sig", "summary_encrypted_text",
            "tool_calls", "reasoning_content"} <= seen
