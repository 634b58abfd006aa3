"""core.transport.sse against the SSE spec (a plain line-by-line reading of it) and httpx-sse's
decoders, on the same bytes whole and split at every position."""

from __future__ import annotations

import pytest
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypothesis import given, settings
from hypothesis import strategies as st

from core.transport.sse import EventReader


def reference(raw: bytes) -> list[str]:
    """The spec, line by line: a blank line dispatches the data lines seen since the last one."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    out, data = [], []
    for line in text.split("\n")[:-1]:  # the last piece has no line end
        if not line:
            if data:
                out.append("\n".join(data))
            data = []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            if name == "data":
                data.append(value[1:] if value.startswith(" ") else value)
    return out


def httpx_sse(raw: bytes) -> list[str]:
    lines, events, out = SSELineDecoder(), SSEDecoder(), []
    text = raw.decode("utf-8", "replace")
    for line in [*lines.decode(text), *lines.flush()] if text else []:
        event = events.decode(line.rstrip("\n"))
        if event is not None and event.data:
            out.append(event.data)
    return out


def ours(chunks: list[bytes]) -> list[str]:
    reader = EventReader()
    out = []
    for chunk in chunks:
        out += reader.feed(chunk)
    return out + reader.end()


CASES = [
    b"data: a\n\ndata: b\n\n",
    b'data: {"x": 1}\r\n\r\ndata: [DONE]\r\n\r\n',
    b"data: one\rdata: two\r\r",
    b": keep-alive\n\ndata: a\n\nevent: ping\ndata: \n\ndata: [DONE]\n\n",
    b"data:no-space\ndata:  two spaces\n\n",
    b"data: line1\ndata: line2\n\n",
    b"event: error\ndata: {\"message\": \"x\"}\n\n",
    b"event: ping\n\n",
    b"id: 7\n\n\ndata: after-id\n\n",
    b"retry: 10\ndata: r\n\n",
    b"data: unfinished",
    b"data: caf\xc3\xa9 \xe2\x82\xac\n\n",
    b"data\n\ndata:\n\n",
    b"field-without-colon\ndata: x\n\n",
]


@pytest.mark.parametrize("raw", CASES)
def test_whole_and_split_everywhere_match_httpx_sse(raw):
    expected = reference(raw)
    assert [d for d in expected if d] == httpx_sse(raw)  # the same events with data
    assert ours([raw]) == expected
    for cut in range(1, len(raw)):
        assert ours([raw[:cut], raw[cut:]]) == expected, cut
    assert ours([raw[i : i + 1] for i in range(len(raw))]) == expected


def test_known_events():
    assert ours([b"data: a\n\n: c\n\nevent: ping\ndata: \n\ndata: [DONE]\n\n"]) == ["a", "", "[DONE]"]
    assert ours([b"data: a\n", b"data: b\n\n"]) == ["a\nb"]
    assert ours([b"data: cut off at the end"]) == []
    assert ours([b"event: ping\n\nid: 3\n\n"]) == []  # no data line: not dispatched


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["data: x", "data:y", "data: ", "data", "event: e", "event:", ": c", "id: 1", "",
             "retry: 5", "other: z", "data: é€", "data: a:b"]
        ),
        max_size=12,
    ),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.lists(st.integers(min_value=1, max_value=40), max_size=6),
)
def test_property_matches_httpx_sse(lines, newline, cuts):
    raw = (newline.join(lines) + newline * 2).encode()
    chunks, start = [], 0
    for cut in sorted(set(cuts)):
        if cut < len(raw):
            chunks.append(raw[start:cut])
            start = cut
    chunks.append(raw[start:])
    assert ours(chunks) == reference(raw)
    assert [d for d in ours(chunks) if d] == httpx_sse(raw)
