"""Responses API codec: neutral conversation <-> ``/responses`` wire JSON. Pure functions, no I/O.

Serves three kinds of servers with one shape: OpenAI models behind Databricks pay-per-token or
external-model endpoints (``/serving-endpoints/responses``, AI Gateway), agents on Databricks Apps
(``{app_url}/responses``) and ResponsesAgent models on ``/serving-endpoints/{name}/invocations``.

Mapping decisions (one place, so both adapters behave the same):

* System/developer messages stay *role messages* in ``input`` at their position (not folded into
  ``instructions``): order is kept, and agents (MLflow ``ResponsesAgent``) only read ``input``.
  ``GenerationParams.instructions`` is sent as the top-level ``instructions`` field.
* Assistant text goes back as ``{"type": "message", "role": "assistant", "content": "<text>"}``
  (string content), which both OpenAI and MLflow's request schema accept; MLflow rejects
  ``output_text`` content without an item id. Text with annotations goes back in the exact
  ``output_text`` form.
* A Responses reasoning item becomes up to two :class:`ReasoningPart` with ``block`` = its output
  index: the summary text (entries joined by a blank line), then the ``encrypted_content`` as
  ``redacted`` carrying the item's other fields in ``extras`` (``id``...; the original
  ``summary`` list when the text alone cannot rebuild it). That is what the stream accumulator
  folds too, and the next turn sends the item back exactly as received. Items without
  encrypted content are left out of the next turn (stateless endpoints) unless ``external``.
* Function and custom tool calls are :class:`ToolCallPart` (``id`` = ``call_id``, the item ``id``
  in ``extras``); every other output item (built-in tool calls and results, MCP, agent-side
  ``function_call_output``...) is kept whole as :class:`ServerToolPart`.
* Older agent shapes are accepted defensively: ChatAgent ``{"messages": [...]}`` bodies and
  ``{"delta": {...}}`` stream chunks, and chat-completions bodies (delegated to the chat codec).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from core.accumulator import merge_text
from core.codecs.policy import (
    finish_from_status,
    usage_or_none,
)
from core.codecs.responses_request import (
    MAX_ID_LENGTH,
    PAY_PER_TOKEN_REJECTED,
    SUMMARY_SEPARATOR,
    build_request,
    reasoning_content_text,
    shorten_id,
)
from core.errors import (
    APIError,
    ResponseParseError,
    StreamErrorEvent,
)
from core.types import (
    ChatResponse,
    Part,
    ReasoningPart,
    ServerToolPart,
    TextPart,
    ToolCallPart,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.codecs.responses_stream import StreamDecoder

__all__ = [
    "MAX_ID_LENGTH",
    "PAY_PER_TOKEN_REJECTED",
    "StreamDecoder",
    "build_request",
    "parse_response",
    "shorten_id",
]

# Fields a response object echoes from the request (or that map to ChatResponse fields): they are
# not "unknown" and do not go to ``ChatResponse.extras``.
_KNOWN_RESPONSE_FIELDS = frozenset(
    {
        "id", "object", "created_at", "status", "error", "incomplete_details", "instructions",
        "max_output_tokens", "max_tool_calls", "model", "output", "output_text",
        "parallel_tool_calls", "previous_response_id", "reasoning", "service_tier", "store",
        "temperature", "text", "tool_choice", "tools", "top_p", "top_logprobs", "truncation",
        "usage", "user", "metadata", "background", "prompt_cache_key", "safety_identifier",
        "prompt", "conversation", "include", "stream", "completed_at", "billing",
    }
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Response
# ---------------------------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _extras(body: dict[str, Any]) -> dict[str, Any]:
    extras = {k: v for k, v in body.items() if k not in _KNOWN_RESPONSE_FIELDS}
    if body.get("incomplete_details") is not None:
        extras["incomplete_details"] = body["incomplete_details"]
    return extras


def _raise_failed(error: Any, stream: bool) -> NoReturn:
    code = message = None
    if isinstance(error, dict):
        code = _str(error.get("code")) or _str(error.get("type"))
        message = _str(error.get("message"))
    elif isinstance(error, str):
        message = error
    text = message or "The response failed without an error message."
    if stream:
        raise StreamErrorEvent(text, error_code=code, details=error)
    raise APIError(text, error_code=code, details=error)


def _summary_text(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The neutral text of a reasoning item and what must be kept in extras to resend it."""
    keep: dict[str, Any] = {}
    summary = item.get("summary")
    texts: list[str] = []
    if isinstance(summary, list):
        for s in summary:
            if not isinstance(s, dict) or not isinstance(s.get("text", ""), str):
                raise _bad(f"reasoning summary entry {s!r}")
            texts.append(s.get("text", ""))
        joined = SUMMARY_SEPARATOR.join(texts)
        if summary != ([{"type": "summary_text", "text": joined}] if joined else []):
            keep["summary"] = summary  # not rebuilt from the text alone: kept to resend as is
    elif summary is not None:
        raise _bad(f"reasoning summary {summary!r}")
    text = SUMMARY_SEPARATOR.join(texts)
    content = item.get("content")
    if content is not None:
        keep["content"] = content
        if not texts and isinstance(content, list):
            text = reasoning_content_text(content) or ""
    return text, keep


def _reasoning_extras(item: dict[str, Any]) -> dict[str, Any]:
    skip = ("type", "summary", "content", "encrypted_content", "status")
    return {k: v for k, v in item.items() if k not in skip}


class _ShapeError(Exception):
    pass


def _bad(what: str) -> _ShapeError:
    return _ShapeError(what[:300])


def _message_parts(item: dict[str, Any]) -> list[TextPart]:
    content = item.get("content")
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    if not isinstance(content, list):
        raise _bad(f"message content {content!r}")
    out = []
    # The message item's id rides on its text (adapters show it, as langchain-openai's
    # Responses output does); the request side never sends it back.
    item_id = item.get("id")
    base = {"id": item_id} if isinstance(item_id, str) and item_id else {}
    for c in content:
        if not isinstance(c, dict):
            raise _bad(f"message content entry {c!r}")
        ctype = c.get("type")
        if ctype in ("output_text", "text", "input_text"):
            text = c.get("text")
            if not isinstance(text, str):
                raise _bad(f"output_text without text: {c!r}")
            ann = c.get("annotations")
            if text or ann:
                out.append(TextPart(text, {**base, "annotations": ann} if ann else base or None))
        elif ctype == "refusal":
            text = c.get("refusal")
            if not isinstance(text, str):
                raise _bad(f"refusal without text: {c!r}")
            out.append(TextPart(text, {**base, "refusal": True}))
        # other content (logprobs-only, future types) carries no text: ignored
    return out


def _call_part(item: dict[str, Any]) -> ToolCallPart:
    custom = item.get("type") == "custom_tool_call"
    call_id = item.get("call_id", item.get("id"))
    name = item.get("name")
    args = item.get("input" if custom else "arguments", "")
    if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(args, str):
        raise _bad(f"tool call item {item!r}")
    item_id = item.get("id")
    extras = {"id": item_id} if isinstance(item_id, str) and "call_id" in item else None
    return ToolCallPart(call_id, name, args, "custom" if custom else "function", extras)


_CALL_TYPES = ("function_call", "custom_tool_call")
_CALL_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output")


def _output_parts(output: list[Any], agent: bool) -> list[Part]:
    """Output items -> parts.

    A function/custom call whose own output comes later in the list ran inside the agent (an
    MLflow ResponsesAgent running its tools): history, not a request to the caller. Both items
    are kept whole as ServerToolParts, placed where the output is (where it became known).
    Calls left without an output are the caller's ToolCallParts: for an agent (``agent=True``)
    after everything else, since only the end of the answer tells that nothing ran them; for a
    model where they are (order matters when a reasoning item goes back before its call). The
    stream decoder (``core.codecs.responses_stream``) applies the same rules, so both agree.
    """
    parts: list[Part | dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for index, item in enumerate(output):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise _bad(f"output item {item!r}")
        itype = item["type"]
        if itype in _CALL_TYPES:
            _call_part(item)  # shape check now
            pending.append(item)
            if not agent:
                parts.append(item)  # a place holder: the call's part, or dropped if answered
        elif itype in _CALL_OUTPUT_TYPES:
            call_id = item.get("call_id")
            call = next((c for c in pending if c.get("call_id") == call_id), None)
            if call is not None:
                pending.remove(call)
                if not agent:
                    parts.remove(call)
                parts.append(ServerToolPart(call))
            parts.append(ServerToolPart(item))
        elif itype == "message":
            parts.extend(_message_parts(item))
        elif itype == "reasoning":
            parts.extend(_reasoning_parts(item, index))
        else:
            parts.append(ServerToolPart(item))
    if agent:
        parts.extend(pending)
    return merge_text([_call_part(p) if isinstance(p, dict) else p for p in parts])


def _reasoning_parts(item: dict[str, Any], index: int) -> list[ReasoningPart]:
    """One reasoning item -> its summary text part, then its encrypted content as a part of its
    own (how the stream accumulator folds them); both carry ``block=index``, the item's other
    fields ride on the last one."""
    text, keep = _summary_text(item)
    enc = item.get("encrypted_content")
    extras = {**_reasoning_extras(item), **keep} or None
    if isinstance(enc, str):
        head = [ReasoningPart(text=text, block=index)] if text else []
        return [*head, ReasoningPart(redacted=enc, block=index, extras=extras)]
    if not text and not extras:
        return []
    return [ReasoningPart(text=text, block=index, extras=extras)]


def parse_response(body: Any, *, agent: bool = False) -> ChatResponse:
    """A Responses object (OpenAI or ResponsesAgent), or an older agent shape -> ChatResponse.

    ``agent=True`` for a ResponsesAgent (Model Serving ``/invocations``, Databricks Apps): see
    :func:`_output_parts` for what changes."""
    if not isinstance(body, dict):
        raise ResponseParseError(f"Expected a JSON object, got {type(body).__name__}.")
    try:
        if "output" in body:
            return _parse_responses_object(body, agent)
        if isinstance(body.get("messages"), list):  # an older agent: ChatAgent schema
            from core.codecs import chat_agent

            return chat_agent.parse_response(body)
        if "choices" in body:
            from core.codecs.chat_response import parse_response as parse_chat_response

            return parse_chat_response(body)
    except _ShapeError as exc:
        raise ResponseParseError(f"Unexpected Responses output: {exc}") from None
    if body.get("error"):
        _raise_failed(body["error"], stream=False)
    raise ResponseParseError(
        "Not a Responses API body (no 'output'): " + ", ".join(sorted(map(str, body))[:10])
    )


def _parse_responses_object(body: dict[str, Any], agent: bool) -> ChatResponse:
    status = body.get("status")
    if status == "failed" or (body.get("error") and status not in ("completed", "incomplete")):
        _raise_failed(body.get("error"), stream=False)
    output = body.get("output")
    if not isinstance(output, list):
        raise _bad(f"output {output!r}")
    parts = _output_parts(output, agent)
    has_calls = any(isinstance(p, ToolCallPart) for p in parts)
    return ChatResponse(
        parts=parts,
        usage=usage_or_none(body.get("usage")),
        finish_reason=finish_from_status(status, body.get("incomplete_details"), has_calls),
        model=_str(body.get("model")),
        id=_str(body.get("id")),
        extras=_extras(body),
    )


# ---------------------------------------------------------------------------------------------
# Stream: core.codecs.responses_stream (imported on first use; it builds on the item rules above)
# ---------------------------------------------------------------------------------------------
def __getattr__(name: str) -> Any:
    if name == "StreamDecoder":
        from core.codecs.responses_stream import StreamDecoder

        return StreamDecoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
