"""Server-sent events from raw byte chunks, with no I/O: every backend feeds what it reads.

Written here rather than taken from httpx-sse: its decoders build a ``ServerSentEvent`` object
per event and go line by line through two decoder classes, which was ~14% of a 200-chunk
stream's client CPU in the bench profile; this parser splits each chunk once and keeps only
what the client reads (each event's ``data``). The rules are the SSE spec's (WHATWG HTML,
"event stream interpretation"): lines end in ``\\r\\n``, ``\\r`` or ``\\n``; ``:`` starts a comment;
``field: value`` loses one leading space; ``data`` lines join with ``\\n``; a blank line
dispatches the event if it had a ``data`` line (an event of only ``event:``/``id:``/``retry:``
lines is not dispatched: keep-alives); an event cut off before its blank line at the end of the
stream is dropped. tests/test_sse.py checks it against the spec and httpx-sse, split at every
byte.
"""

from __future__ import annotations

import codecs

_utf8 = codecs.getincrementaldecoder("utf-8")


class EventReader:
    """Feed byte chunks, get the ``data`` of each complete event (``""`` for ``data:`` alone)."""

    __slots__ = ("_text", "_rest", "_cr", "_data")

    def __init__(self) -> None:
        self._text = _utf8(errors="replace")
        self._rest = ""  # an unfinished line
        self._cr = False  # the last chunk ended in "\r": a "\n" opening the next one belongs to it
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        text = self._text.decode(chunk)
        if not text:
            return []
        if self._cr:
            self._cr = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            if text[-1] == "\r":
                self._cr = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if self._rest:
            text = self._rest + text
        lines = text.split("\n")
        self._rest = lines.pop()
        return self._lines(lines)

    def end(self) -> list[str]:
        """The stream ended: only a pending line end can still complete an event."""
        tail = self._text.decode(b"", final=True)
        rest = self._rest + tail
        self._rest = ""
        return self._lines(rest.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:-1])

    def _lines(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        data = self._data
        for line in lines:
            if not line:  # dispatch
                if data:
                    out.append(data[0] if len(data) == 1 else "\n".join(data))
                    data.clear()
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line[0] != ":":  # other fields (event, id, retry) are not read by the client
                name, _, value = line.partition(":")
                if name == "data":
                    data.append(value[1:] if value[:1] == " " else value)
        return out
