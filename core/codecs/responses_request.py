"""Responses API codec, the request side: neutral conversation -> ``/responses`` body.

Pure functions, no I/O. The mapping decisions are described in :mod:`core.codecs.responses`
(the codec module the client uses, which re-exports :func:`build_request`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.codecs.media import media_url
from core.codecs.policy import (
    check_response_format,
    effort_from_budget,
    resolve_tool_choice,
    tool_call_arguments,
)
from core.errors import (
    InvalidRequestError,
)
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    NamedToolChoice,
    ReasoningPart,
    ServerToolPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import ModelInfo

__all__ = [
    "MAX_ID_LENGTH",
    "PAY_PER_TOKEN_REJECTED",
    "SUMMARY_SEPARATOR",
    "build_request",
    "reasoning_content_text",
    "shorten_id",
]

MAX_ID_LENGTH = 64
"""Responses ids (item ids, call ids) longer than this are rejected by Databricks."""

PAY_PER_TOKEN_REJECTED = ("background", "store", "previous_response_id", "service_tier")
"""Stateful/OpenAI-only parameters that pay-per-token Responses endpoints answer with HTTP 400."""

SUMMARY_SEPARATOR = "\n\n"
"""Joins the summary entries of one reasoning item into ``ReasoningPart.text``."""


# ---------------------------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------------------------
def shorten_id(value: str) -> str:
    """Map an id longer than 64 characters to a deterministic short one; shorter ids unchanged.

    ``<first 20 chars>_<sha256 hex prefix>``: readable, stable across processes, so a replayed
    history (and every ``call_id`` / ``function_call_output`` pair) maps identically.
    """
    if len(value) <= MAX_ID_LENGTH:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]
    return f"{value[:20]}_{digest}"


# ---------------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------------
def build_request(
    messages: Sequence[Message],
    params: GenerationParams,
    *,
    model: str | None,
    info: ModelInfo | None,
    stream: bool,
    external: bool = False,
) -> dict[str, Any]:
    """Build a ``/responses`` body. ``external=True`` (settings.external_model) allows the
    stateful parameters that pay-per-token endpoints reject (``background``, ``store``...)."""
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    body["input"] = _input_items(messages, keep_unencrypted=external)

    _copy(params, body, _SAMPLING_FIELDS)
    _reject_unsupported(params)

    if params.tools:
        body["tools"] = [_tool(t) for t in params.tools]
    choice = _tool_choice(params)
    if choice is not None:
        body["tool_choice"] = choice
    if params.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = params.parallel_tool_calls

    reasoning = _reasoning(params)
    if reasoning:
        body["reasoning"] = reasoning
    if params.response_format is not None:
        body["text"] = {"format": _text_format(params)}

    include = list(params.include) if params.include is not None else None
    if params.logprobs:
        include = [*(include or []), "message.output_text.logprobs"]
    if params.top_logprobs is not None:
        body["top_logprobs"] = params.top_logprobs
    if include is None and model is not None and _wants_encrypted_reasoning(params, info):
        # Pay-per-token endpoints are stateless: a reasoning item can only be carried to the next
        # turn with its encrypted content, which the server returns only when asked.
        include = ["reasoning.encrypted_content"]
    if include is not None:
        body["include"] = include
    _copy(params, body, _OPTIONAL_FIELDS)
    body["stream"] = stream

    if params.extra_body:
        if not external:
            bad = [k for k in PAY_PER_TOKEN_REJECTED if k in params.extra_body]
            if bad:
                raise InvalidRequestError(
                    f"{', '.join(bad)} not supported by pay-per-token Responses endpoints "
                    "(they are stateless and answer HTTP 400).",
                    hint="Send the whole conversation each turn (reasoning items carry their "
                    "encrypted_content); set external_model=True if this endpoint serves an "
                    "external OpenAI model that accepts them.",
                )
        body.update(params.extra_body)
    return body


# (GenerationParams attribute, body key) sent as they are when set, in this order
_SAMPLING_FIELDS = (
    ("instructions", "instructions"),
    ("max_tokens", "max_output_tokens"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
)
_OPTIONAL_FIELDS = (
    ("metadata", "metadata"),
    ("truncation", "truncation"),
    ("max_tool_calls", "max_tool_calls"),
    ("custom_inputs", "custom_inputs"),
    ("context", "context"),
)


def _copy(
    params: GenerationParams, body: dict[str, Any], fields: tuple[tuple[str, str], ...]
) -> None:
    for attr, key in fields:
        value = getattr(params, attr)
        if value is not None:
            body[key] = value


def _reject_unsupported(params: GenerationParams) -> None:
    unsupported = []
    if params.top_k is not None:
        unsupported.append("top_k")
    if params.stop:
        unsupported.append("stop")
    if params.n is not None and params.n != 1:
        unsupported.append("n")
    if unsupported:
        raise InvalidRequestError(
            f"The Responses API does not take {', '.join(unsupported)}.",
            hint="Remove it, or use the chat completions API (use_responses_api=False).",
        )


def _wants_encrypted_reasoning(params: GenerationParams, info: ModelInfo | None) -> bool:
    if params.reasoning_effort == "none":
        return False
    if params.reasoning_effort is not None or params.reasoning_summary is not None:
        return True
    return info is not None and getattr(info, "reasoning", None) is not None


def _reasoning(params: GenerationParams) -> dict[str, Any]:
    out: dict[str, Any] = {}
    effort = params.reasoning_effort
    if effort is None and params.thinking_budget is not None:
        # Responses models take an effort, not a token budget: map the budget onto one.
        effort = effort_from_budget(params.thinking_budget)
    if effort is not None:
        out["effort"] = effort
    if params.reasoning_summary is not None:
        out["summary"] = params.reasoning_summary
    return out


def _text_format(params: GenerationParams) -> dict[str, Any]:
    rf = params.response_format
    assert rf is not None
    check_response_format(rf)
    if rf.type == "json_schema":
        fmt: dict[str, Any] = {"type": "json_schema", "name": rf.name or "response"}
        fmt["schema"] = rf.schema
        if rf.strict is not None:
            fmt["strict"] = rf.strict
        if rf.description is not None:
            fmt["description"] = rf.description
        return fmt
    return {"type": rf.type}


def _tool(tool: Tool) -> dict[str, Any]:
    if tool.kind == "function":
        out: dict[str, Any] = {"type": "function", "name": tool.name}
        if tool.description:
            out["description"] = tool.description
        out["parameters"] = tool.parameters
        # Responses functions are strict by default; an arbitrary JSON schema (optional fields,
        # no additionalProperties: false) is then refused. Strict only when asked for.
        out["strict"] = bool(tool.strict)
        return out
    if tool.kind == "custom":
        out = {"type": "custom", "name": tool.name}
        if tool.description:
            out["description"] = tool.description
        if tool.raw:  # e.g. a grammar "format"
            out.update({k: v for k, v in tool.raw.items() if k not in ("type", "name")})
        return out
    # Built-in tools (apply_patch, shell, image_generation, mcp...) are passed through.
    raw = dict(tool.raw) if tool.raw else {}
    raw.setdefault("type", tool.kind)
    return raw


def _tool_choice(params: GenerationParams) -> Any:
    choice = resolve_tool_choice(params.tool_choice, params.tools)
    if isinstance(choice, NamedToolChoice):
        kind = next(t.kind for t in params.tools or [] if t.name == choice.name)
        return {"type": "custom" if kind == "custom" else "function", "name": choice.name}
    return choice


# ---------------------------------------------------------------------------------------------
# Input items
# ---------------------------------------------------------------------------------------------
def _media_item(part: MediaPart, i: int) -> dict[str, Any]:
    if part.kind == "image":
        item: dict[str, Any] = {"type": "input_image", "image_url": media_url(part, i)}
        item["detail"] = part.detail or "auto"
        return item
    if part.kind == "file":
        if part.url is not None and not part.url.startswith("data:"):
            item = {"type": "input_file", "file_url": part.url}
        else:
            item = {"type": "input_file", "file_data": media_url(part, i)}
        if part.filename:
            item["filename"] = part.filename
        elif "file_data" in item:
            item["filename"] = "file"
        return item
    raise InvalidRequestError(
        f"The Responses API takes text, image and file input, not {part.kind}.",
        hint="Use a Gemini model on the chat completions API for audio and video.",
    )


def _content_list(parts: list[TextPart | MediaPart], i: int) -> list[dict[str, Any]]:
    out = []
    for p in parts:
        if isinstance(p, TextPart):
            out.append({"type": "input_text", "text": p.text})
        else:
            out.append(_media_item(p, i))
    return out


def _input_items(messages: Sequence[Message], *, keep_unencrypted: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    custom_call_ids: set[str] = set()
    for i, msg in enumerate(messages):
        if msg.role not in ("system", "developer", "user", "assistant", "tool"):
            raise InvalidRequestError(
                f"unknown message role {msg.role!r}",
                hint="roles are system, developer, user, assistant and tool",
            )
        if msg.role == "assistant":
            _assistant_items(msg, items, custom_call_ids, keep_unencrypted, i)
            continue
        content: list[TextPart | MediaPart] = []
        for part in msg.parts:
            if isinstance(part, (TextPart, MediaPart)):
                content.append(part)
            elif isinstance(part, ToolResultPart):
                items.append(_tool_output(part, custom_call_ids, i))
            elif isinstance(part, ServerToolPart):
                items.append(part.item)
            else:
                raise InvalidRequestError(
                    f"A {msg.role} message cannot hold a {type(part).__name__}."
                )
        if not content:
            continue
        if msg.role == "tool":
            raise InvalidRequestError("A tool message needs a ToolResultPart (its call id).")
        if msg.role in ("system", "developer") and any(isinstance(p, MediaPart) for p in content):
            raise InvalidRequestError(f"A {msg.role} message can only hold text.")
        if len(content) == 1 and isinstance(content[0], TextPart):
            items.append({"type": "message", "role": msg.role, "content": content[0].text})
        else:
            items.append(
                {"type": "message", "role": msg.role, "content": _content_list(content, i)}
            )
    return items


def _assistant_items(
    msg: Message,
    items: list[dict[str, Any]],
    custom_ids: set[str],
    keep_unencrypted: bool,
    i: int,
) -> None:
    texts: list[TextPart] = []
    reasoning: list[ReasoningPart] = []

    def flush_text() -> None:
        if not texts:
            return
        if any(t.extras and t.extras.get("annotations") for t in texts) or any(
            t.extras and t.extras.get("refusal") for t in texts
        ):
            content: list[dict[str, Any]] = []
            for t in texts:
                if t.extras and t.extras.get("refusal"):
                    content.append({"type": "refusal", "refusal": t.text})
                else:
                    ann = (t.extras or {}).get("annotations") or []
                    content.append({"type": "output_text", "text": t.text, "annotations": ann})
            items.append({"type": "message", "role": "assistant", "content": content})
        else:
            text = "".join(t.text for t in texts)
            if text:  # MLflow refuses empty content; an empty turn carries nothing anyway
                items.append({"type": "message", "role": "assistant", "content": text})
        texts.clear()

    def flush_reasoning() -> None:
        if reasoning:
            item = _reasoning_item(reasoning, keep_unencrypted)
            if item is not None:
                items.append(item)
            reasoning.clear()

    for part in msg.parts:
        if not isinstance(part, ReasoningPart):
            flush_reasoning()
        if not isinstance(part, TextPart):
            flush_text()
        if isinstance(part, TextPart):
            texts.append(part)
        elif isinstance(part, ReasoningPart):
            prev = reasoning[-1] if reasoning else None
            if prev is not None and (
                (part.block is not None and prev.block is not None and part.block != prev.block)
                or prev.redacted is not None  # encrypted content ends a Responses item
                or _ids_differ(prev, part)
            ):
                flush_reasoning()
            reasoning.append(part)
        elif isinstance(part, ToolCallPart):
            items.append(_call_item(part, custom_ids))
        elif isinstance(part, ServerToolPart):
            items.append(part.item)
        elif isinstance(part, ToolResultPart):
            items.append(_tool_output(part, custom_ids, i))
        else:
            raise InvalidRequestError("An assistant message cannot hold media input.")
    flush_reasoning()
    flush_text()


def _item_id(part: ReasoningPart) -> Any:
    return (part.extras or {}).get("id")


def _ids_differ(a: ReasoningPart, b: ReasoningPart) -> bool:
    ia, ib = _item_id(a), _item_id(b)
    return ia is not None and ib is not None and ia != ib


def _reasoning_item(parts: list[ReasoningPart], keep_unencrypted: bool) -> dict[str, Any] | None:
    """One wire reasoning item from the parts of one block, sent back exactly as received.

    Pay-per-token endpoints (and agents) are stateless: a reasoning item is only meaningful to
    them with its ``encrypted_content``; one without it (``include`` did not ask for it) would
    be looked up by id and refused, so it is dropped, as omitting reasoning is always valid.
    External models (``external=True``) may store responses: their items go back by id.
    """
    extras: dict[str, Any] = {}
    for p in parts:
        if p.extras:
            extras.update(p.extras)
    encrypted = next((p.redacted for p in parts if p.redacted is not None), None)
    item_id = extras.get("id")
    if encrypted is None and not (keep_unencrypted and isinstance(item_id, str)):
        return None
    text = "".join(p.text for p in parts)
    original = extras.pop("summary", None)
    content = extras.pop("content", None)
    if (
        isinstance(original, list)
        and SUMMARY_SEPARATOR.join(str(s.get("text", "")) for s in original if isinstance(s, dict))
        == text
    ):
        summary = original
    elif (
        content is not None
        and not isinstance(original, list)
        and reasoning_content_text(content) == text
    ):
        summary = []  # the text came from raw reasoning content, which goes back as content
    else:
        summary = [{"type": "summary_text", "text": text}] if text else []
    item: dict[str, Any] = {"type": "reasoning"}
    for k, v in extras.items():
        item[k] = shorten_id(v) if k == "id" and isinstance(v, str) else v
    item["summary"] = summary
    if content is not None:
        item["content"] = content
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def _call_item(part: ToolCallPart, custom_ids: set[str]) -> dict[str, Any]:
    call_id = shorten_id(part.id)
    extras = part.extras or {}
    if part.kind == "custom":
        custom_ids.add(call_id)
        item: dict[str, Any] = {
            "type": "custom_tool_call",
            "call_id": call_id,
            "name": part.name,
            "input": part.arguments,
        }
    else:
        item = {
            "type": "function_call",
            "call_id": call_id,
            "name": part.name,
            "arguments": tool_call_arguments(part.arguments),
        }
    item_id = extras.get("id")
    if isinstance(item_id, str):
        item["id"] = shorten_id(item_id)
    return item


def _tool_output(part: ToolResultPart, custom_ids: set[str], i: int) -> dict[str, Any]:
    call_id = shorten_id(part.tool_call_id)
    output: Any
    if isinstance(part.content, str):
        output = part.content
    elif all(isinstance(p, TextPart) for p in part.content):
        output = "".join(p.text for p in part.content if isinstance(p, TextPart))
    else:
        output = _content_list(part.content, i)
    kind = "custom_tool_call_output" if call_id in custom_ids else "function_call_output"
    return {"type": kind, "call_id": call_id, "output": output}


def reasoning_content_text(content: Any) -> str | None:
    """The text of raw reasoning ``content`` entries (Open Responses ``reasoning_text``)."""
    if not isinstance(content, list):
        return None
    return "".join(
        c["text"] for c in content if isinstance(c, dict) and isinstance(c.get("text"), str)
    )
