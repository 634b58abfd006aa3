"""Server-sent events from raw byte chunks, with no I/O: every backend feeds what it reads.

The line splitting and event assembly are httpx-sse's own decoders (the SSE spec's rules:
``\\r\\n``/``\\r``/``\\n`` line ends, ``:`` comments, multi-line ``data``); this module only adds
incremental UTF-8 decoding, so one parser serves the httpx (sync and async) and aiohttp paths.
"""

from __future__ import annotations

import codecs

# Private module of httpx-sse, stable since 0.4 (a declared dependency); EventSource itself only
# works on httpx responses, and the aiohttp path needs the same rules.
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

_utf8 = codecs.getincrementaldecoder("utf-8")


class EventReader:
    """Feed byte chunks, get the ``data`` of each complete event (blank keep-alives skipped)."""

    __slots__ = ("_text", "_lines", "_events")

    def __init__(self) -> None:
        self._text = _utf8(errors="replace")
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()

    def feed(self, chunk: bytes) -> list[str]:
        text = self._text.decode(chunk)
        return self._assemble(self._lines.decode(text)) if text else []

    def end(self) -> list[str]:
        """The stream ended. As the SSE spec (and httpx-sse) say, an event cut off before its
        blank line is not dispatched; only a pending line end can still complete one."""
        tail = self._text.decode(b"", final=True)
        lines = self._lines.decode(tail) if tail else []
        return self._assemble([*lines, *self._lines.flush()])

    def _assemble(self, lines: list[str]) -> list[str]:
        out = []
        decode = self._events.decode
        for line in lines:
            event = decode(line)
            if event is not None and (event.data or event.event):
                out.append(event.data)
        return out
