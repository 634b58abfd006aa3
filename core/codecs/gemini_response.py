"""Gemini's native ``generateContent`` answers -> neutral response and stream deltas.

A streamed answer (``:streamGenerateContent?alt=sse``) is a sequence of whole
``GenerateContentResponse`` objects, each carrying the next parts; a non-streamed answer is one
of them. So there is one rule here, :class:`StreamDecoder`, and :func:`parse_response` is that
rule folded by :class:`core.accumulator.StreamAccumulator`: the parts of a streamed and a
non-streamed answer can never disagree.

Per part: ``thought: true`` text -> reasoning (its ``thoughtSignature``, if any, as the
signature); other text -> text (a ``thoughtSignature`` and any other field riding on it kept in
``TextPart.extras``; Gemini may send the signature on a last, empty text part of a stream);
``functionCall`` -> a tool call (``args`` as JSON text; the server's ``id`` in ``extras["id"]``
when it sent one, else a deterministic id of ours; its signature in ``extras``); anything else
a model may produce (``executableCode``, ``codeExecutionResult``, ``inlineData``...) is kept
whole as a server part. Usage (``usageMetadata``, repeated and cumulative on stream chunks) is
counted once, from the last; ``output_tokens`` includes ``thoughtsTokenCount`` like the other
surfaces' counts do. ``finishReason`` values follow Google's enum (``STOP``, ``MAX_TOKENS``,
``SAFETY``, ``RECITATION``, ``MALFORMED_FUNCTION_CALL``, ``MISSING_THOUGHT_SIGNATURE``...);
``STOP`` after function calls is ``tool_calls``. Only the first candidate is decoded; with
``candidateCount`` > 1 a whole answer keeps the others in ``extras["candidates"]`` (a stream
decodes the first only, as chat does with ``n`` > 1). A prompt blocked before generation
(``promptFeedback.blockReason``, no candidates) is ``content_filter`` with the feedback in
``extras``. Errors (``{"error": {"code", "message", "status"}}``) raise.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, NoReturn

from core.codecs.policy import normalize_finish_reason, parse_usage
from core.errors import APIError, MalformedEventError, ResponseParseError, StreamErrorEvent
from core.jsonio import loads
from core.types import (
    ChatResponse,
    Delta,
    FinishDelta,
    MetaDelta,
    ReasoningDelta,
    ServerToolDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageDelta,
)

__all__ = ["StreamDecoder", "parse_response", "usage_of"]

SIGNATURE = "thoughtSignature"
_TEXT_KEYS = frozenset({"text", "thought", SIGNATURE})
_CALL_KEYS = frozenset({"name", "args", "id"})
_KNOWN_TOP = frozenset({"candidates", "usageMetadata", "modelVersion", "responseId"})
_CANDIDATE_KNOWN = frozenset({"content", "finishReason", "index"})
# Part kinds a model may answer with that are not text or calls: kept whole, never dropped.
_SERVER_PARTS = frozenset(
    {"executableCode", "codeExecutionResult", "inlineData", "fileData", "functionResponse"}
)


class _Shape(Exception):
    pass


def usage_of(raw: Any) -> Usage:
    """``usageMetadata`` -> Usage; output counts the thoughts too (as on chat and Responses)."""
    if not isinstance(raw, dict):
        raise _Shape(f"usageMetadata {raw!r}")
    out, thoughts = raw.get("candidatesTokenCount"), raw.get("thoughtsTokenCount")
    if isinstance(out, int) and isinstance(thoughts, int):
        out += thoughts
    elif out is None:
        out = thoughts
    usage = parse_usage(
        {
            "input_tokens": raw.get("promptTokenCount"),
            "output_tokens": out,
            "total_tokens": raw.get("totalTokenCount"),
            "reasoning_tokens": thoughts,
            "input_tokens_details": {"cached_tokens": raw.get("cachedContentTokenCount")},
        }
    )
    usage.raw = raw
    return usage


def _raise_error(error: Any, *, stream: bool) -> NoReturn:
    code = message = None
    if isinstance(error, dict):
        code = error.get("status") or error.get("code")
        message = error.get("message")
    text = str(message or error or "Gemini returned an error without a message")
    if stream:
        raise StreamErrorEvent(text, error_code=str(code) if code else None, details=error)
    raise APIError(text, error_code=str(code) if code else None, details=error)


def _call_id(response_id: Any, n: int, name: str, args: str) -> str:
    """A stable id for a call the server sent without one (the same in stream and body)."""
    digest = hashlib.sha256(f"{response_id}|{n}|{name}|{args}".encode()).hexdigest()
    return f"call_{digest[:24]}"


class StreamDecoder:
    """One ``data:`` chunk (a GenerateContentResponse) per :meth:`feed` -> neutral deltas."""

    __slots__ = ("_calls", "_done", "_finish", "_finished", "_meta_sent", "_stream", "_usage")

    def __init__(self, *, stream: bool = True) -> None:
        self._stream = stream
        self._done = False
        self._calls = 0
        self._usage: Usage | None = None
        self._finish: str | None = None
        self._finished = False
        self._meta_sent = False

    @property
    def done(self) -> bool:
        """A candidate's ``finishReason`` (or a blocked prompt) arrived: the answer is whole."""
        return self._done

    @property
    def complete(self) -> bool:
        """Gemini's terminal signal is the finish reason: complete exactly when done."""
        return self._done

    def feed(self, data: str) -> list[Delta]:
        try:
            chunk = loads(data)
        except (ValueError, RecursionError):
            raise MalformedEventError(f"Gemini stream event is not JSON: {data[:200]!r}") from None
        try:
            return self.chunk(chunk)
        except _Shape as exc:
            if self._stream:
                raise MalformedEventError(f"Unexpected Gemini stream chunk: {exc}") from None
            raise ResponseParseError(f"Unexpected Gemini response: {exc}") from None

    def close(self) -> list[Delta]:
        out: list[Delta] = []
        if self._usage is not None:
            out.append(UsageDelta(self._usage))
            self._usage = None
        if not self._finished and self._finish is not None:
            self._finished = True
            reason = normalize_finish_reason(self._finish)
            out.append(FinishDelta("tool_calls" if reason == "stop" and self._calls else reason))
        return out

    # -- one GenerateContentResponse -----------------------------------------------------------
    def chunk(self, chunk: Any) -> list[Delta]:
        if not isinstance(chunk, dict):
            raise _Shape(f"not a JSON object: {str(chunk)[:200]}")
        if "error" in chunk and "candidates" not in chunk:
            _raise_error(chunk["error"], stream=self._stream)
        out: list[Delta] = []
        extras = {k: v for k, v in chunk.items() if k not in _KNOWN_TOP}
        rid, model = chunk.get("responseId"), chunk.get("modelVersion")
        if not self._meta_sent or extras:
            self._meta_sent = True
            out.append(
                MetaDelta(
                    id=rid if isinstance(rid, str) else None,
                    model=model if isinstance(model, str) else None,
                    extras=extras or None,
                )
            )
        if "usageMetadata" in chunk:
            self._usage = usage_of(chunk["usageMetadata"])  # cumulative: the last one counts
        candidates = chunk.get("candidates")
        if candidates is None:
            feedback = chunk.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self._finish, self._done = "content_filter", True
                return out
            if "usageMetadata" in chunk:  # a usage-only chunk
                return out
            raise _Shape(f"no candidates: {', '.join(sorted(map(str, chunk)))[:200]}")
        if not isinstance(candidates, list) or not candidates:
            raise _Shape(f"candidates {str(candidates)[:200]}")
        first = next((c for c in candidates if isinstance(c, dict) and c.get("index", 0) == 0), None)
        if first is None:
            if self._stream:  # a chunk of another candidate (candidateCount > 1): first only
                return out
            raise _Shape(f"candidates without index 0: {str(candidates)[:200]}")
        if len(candidates) > 1 and not self._stream:  # the others kept, as on chat (n > 1)
            out.append(MetaDelta(extras={"candidates": [c for c in candidates if c is not first]}))
        content = first.get("content")
        if content is not None:
            parts = content.get("parts") if isinstance(content, dict) else None
            if parts is None and isinstance(content, dict):
                parts = []  # e.g. {"role": "model"} alone on a final chunk
            if not isinstance(parts, list):
                raise _Shape(f"content {str(content)[:200]}")
            for part in parts:
                out.extend(self._part(part, rid))
        reason = first.get("finishReason")
        if isinstance(reason, str):
            self._finish, self._done = reason, True
        # safetyRatings, citationMetadata, groundingMetadata, finishMessage, logprobs...: kept
        # as response extras (latest wins), not dropped
        more = {k: v for k, v in first.items() if k not in _CANDIDATE_KNOWN}
        if more:
            out.append(MetaDelta(extras=more))
        return out

    def _part(self, part: Any, rid: Any) -> list[Delta]:
        if not isinstance(part, dict):
            raise _Shape(f"part {str(part)[:200]}")
        if "text" in part:
            text = part["text"]
            if not isinstance(text, str):
                raise _Shape(f"text part {str(part)[:200]}")
            sig = part.get(SIGNATURE)
            if part.get("thought") is True:
                out: list[Delta] = [ReasoningDelta(text=text)] if text else []
                extras = {k: v for k, v in part.items() if k not in _TEXT_KEYS}
                if extras:
                    out.append(ReasoningDelta(extras=extras))
                if isinstance(sig, str):
                    out.append(ReasoningDelta(signature=sig))  # closes the thought
                return out
            extras = {k: v for k, v in part.items() if k not in ("text", "thought")}
            return [TextDelta(text, extras or None)] if text or extras else []
        if "functionCall" in part:
            return [self._call(part, rid)]
        if any(k in part for k in _SERVER_PARTS):
            return [ServerToolDelta(part)]
        raise _Shape(f"part of unknown kind: {', '.join(sorted(map(str, part)))[:200]}")

    def _call(self, part: dict[str, Any], rid: Any) -> ToolCallDelta:
        call = part["functionCall"]
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise _Shape(f"functionCall {str(call)[:200]}")
        unknown = set(call) - _CALL_KEYS
        if unknown:  # e.g. partial arguments of a streamed call: not a shape we fold
            raise _Shape(f"functionCall with {', '.join(sorted(unknown))}")
        args = call.get("args", {})
        if not isinstance(args, dict):
            raise _Shape(f"functionCall args {str(args)[:200]}")
        arguments = json.dumps(args, ensure_ascii=False)
        n = self._calls
        self._calls += 1
        extras = {k: v for k, v in part.items() if k != "functionCall"}
        wire_id = call.get("id")
        if isinstance(wire_id, str) and wire_id:
            extras["id"] = wire_id
            call_id = wire_id
        else:
            call_id = _call_id(rid, n, call["name"], arguments)
        return ToolCallDelta(n, call_id, call["name"], arguments, extras=extras or None)


def parse_response(body: Any) -> ChatResponse:
    """A whole ``generateContent`` answer -> ChatResponse (the stream rule, folded). A JSON
    array of chunks (``streamGenerateContent`` without ``alt=sse``) is folded the same way."""
    from core.accumulator import StreamAccumulator

    chunks = body if isinstance(body, list) and body else [body]
    decoder = StreamDecoder(stream=False)
    acc = StreamAccumulator()
    for chunk in chunks:
        if isinstance(chunk, dict) and "error" in chunk and "candidates" not in chunk:
            _raise_error(chunk["error"], stream=False)
        try:
            deltas = decoder.chunk(chunk)
        except _Shape as exc:
            raise ResponseParseError(f"Unexpected Gemini response: {exc}") from None
        for d in deltas:
            acc.add(d)
    for d in decoder.close():
        acc.add(d)
    return acc.response()
