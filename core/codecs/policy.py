"""Policy every codec shares; each codec keeps only its wire shape.

One place for: token usage (any wire spelling -> :class:`Usage`; a bad count raises, a null
count stays ``None``, nothing is invented), finish reasons, reasoning effort <-> token budget,
response-format and tool-choice validation, and tool-call arguments in a replayed history.
Pure functions, no I/O; errors are :class:`InvalidRequestError` (bad input, before anything is
sent) or :class:`ResponseParseError` (a shape we do not understand).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core.errors import InvalidRequestError, MalformedEventError, ResponseParseError
from core.jsonio import loads
from core.types import NamedToolChoice, ResponseFormat, Tool, ToolChoice, Usage

__all__ = [
    "RESPONSE_FORMAT_TYPES",
    "add_usage",
    "TOOL_CHOICES",
    "budget_from_effort",
    "check_response_format",
    "effort_from_budget",
    "event_object",
    "finish_from_status",
    "merge_usage",
    "normalize_finish_reason",
    "parse_usage",
    "resolve_tool_choice",
    "tool_call_arguments",
    "usage_or_none",
]

# ---------------------------------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------------------------------
# wire key -> Usage attribute; the first key present wins (chat and Responses spellings).
# Databricks' prompt_tokens already includes Claude's cached tokens (a live capture; the
# official ChatDatabricks adds them again, databricks-ai-bridge#446): cache counts are reported
# beside input_tokens, never added to it.
_USAGE_KEYS = {
    "prompt_tokens": "input_tokens",
    "input_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
    "output_tokens": "output_tokens",
    "total_tokens": "total_tokens",
    "reasoning_tokens": "reasoning_tokens",
    "cache_read_input_tokens": "cache_read_tokens",
    "cache_creation_input_tokens": "cache_creation_tokens",
}
_CHAT_USAGE_KEYS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})
_USAGE_DETAILS = (
    ("completion_tokens_details", "reasoning_tokens", "reasoning_tokens"),
    ("output_tokens_details", "reasoning_tokens", "reasoning_tokens"),
    ("prompt_tokens_details", "cached_tokens", "cache_read_tokens"),
    ("input_tokens_details", "cached_tokens", "cache_read_tokens"),
    ("prompt_tokens_details", "cache_creation_tokens", "cache_creation_tokens"),
    ("input_tokens_details", "cache_creation_tokens", "cache_creation_tokens"),
)
USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
)


def _count(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if type(value) is int and value >= 0:
        return value
    if type(value) is float and value.is_integer() and value >= 0:  # 12.0 from some servers
        return int(value)
    raise ResponseParseError(f"usage.{key} is not a token count: {value!r}")


def parse_usage(raw: Any) -> Usage:
    """A usage object of any wire (chat completions, Responses, agents) -> :class:`Usage`.

    A count that is not a non-negative integer raises ResponseParseError naming it; a ``null``
    count stays None. ``total_tokens`` is only computed when both halves are known.
    """
    if not isinstance(raw, dict):
        raise ResponseParseError(f"usage is not an object: {type(raw).__name__}")
    if raw.keys() <= _CHAT_USAGE_KEYS:  # the usual chat usage: no spellings to choose between
        p = _count(raw.get("prompt_tokens"), "prompt_tokens")
        c = _count(raw.get("completion_tokens"), "completion_tokens")
        t = _count(raw.get("total_tokens"), "total_tokens")
        if t is None and p is not None and c is not None:
            t = p + c
        return Usage(input_tokens=p, output_tokens=c, total_tokens=t, raw=raw)
    return _parse_any_usage(raw)


def _parse_any_usage(raw: dict[str, Any]) -> Usage:
    """Every spelling (the first key of ``_USAGE_KEYS`` present wins) and the details objects."""
    u = Usage(raw=raw)
    for key, attr in _USAGE_KEYS.items():
        if key in raw:
            v = _count(raw[key], key)
            if v is not None and getattr(u, attr) is None:
                setattr(u, attr, v)
    for details_key, inner, attr in _USAGE_DETAILS:
        det = raw.get(details_key)
        if det is None:
            continue
        if not isinstance(det, dict):
            raise ResponseParseError(f"usage.{details_key} is not an object")
        v = _count(det.get(inner), f"{details_key}.{inner}")
        if v is not None and getattr(u, attr) is None:
            setattr(u, attr, v)
    if u.total_tokens is None and u.input_tokens is not None and u.output_tokens is not None:
        u.total_tokens = u.input_tokens + u.output_tokens
    return u


def usage_or_none(raw: Any) -> Usage | None:
    """:func:`parse_usage`, with an absent (``null``) usage as None."""
    return None if raw is None else parse_usage(raw)


def merge_usage(usages: Sequence[dict[str, Any]]) -> Usage:
    """Usage sent once, on several chunks, or cumulatively with nulls: one Usage.

    The latest object wins; a field it leaves null is taken from the latest earlier object
    that had it. ``raw`` is the latest object.
    """
    last = parse_usage(usages[-1])
    if len(usages) > 1:
        earlier = [parse_usage(raw) for raw in reversed(usages[:-1])]
        for attr in USAGE_FIELDS:
            if getattr(last, attr) is None:
                for u in earlier:
                    v = getattr(u, attr)
                    if v is not None:
                        setattr(last, attr, v)
                        break
    return last


def add_usage(total: Usage | None, more: Usage) -> Usage:
    """The usage of an answer made of several model calls: their sum, counted once (each cycle
    of a ResponsesAgent that ran a tool and answered again reports its own call). ``raw`` is
    summed the same way (numbers key by key, nested objects too), so code reading the wire
    object sees the fields' totals. ``total=None`` gives ``more``."""
    if total is None:
        return more
    out = Usage()
    for attr in USAGE_FIELDS:
        a, b = getattr(total, attr), getattr(more, attr)
        setattr(out, attr, b if a is None else a if b is None else a + b)
    if total.raw is not None or more.raw is not None:
        out.raw = _add_raw(total.raw or {}, more.raw or {})
    return out


def _add_raw(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _add_raw(a[k], v) if k in a else v for k, v in b.items()}}
    if type(a) is int and type(b) is int:
        return a + b
    return b if b is not None else a


# ---------------------------------------------------------------------------------------------
# Stream events
# ---------------------------------------------------------------------------------------------
def event_object(data: str, wire: str) -> dict[str, Any]:
    """One SSE event's data as the JSON object every agent and Responses event is; anything
    else raises MalformedEventError naming the wire and quoting the start of the data."""
    try:
        event = loads(data)
    except (ValueError, RecursionError) as exc:
        raise MalformedEventError(f"{wire} event is not JSON: {data[:200]!r}") from exc
    if not isinstance(event, dict):
        raise MalformedEventError(f"{wire} event is not a JSON object: {data[:200]!r}")
    return event


# ---------------------------------------------------------------------------------------------
# Finish reasons
# ---------------------------------------------------------------------------------------------
_FINISH_REASONS: dict[str, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
    # Anthropic-style values seen on Claude endpoints
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    # Gemini-style values (upper case is lowered first)
    "max_output_tokens": "length",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
}


def normalize_finish_reason(reason: str) -> str:
    """Map provider finish reasons onto ``stop|length|tool_calls|content_filter``.

    Values we do not recognise are passed through unchanged (never dropped).
    """
    got = _FINISH_REASONS.get(reason)
    if got is not None:
        return got
    return _FINISH_REASONS.get(reason.lower(), reason)


def finish_from_status(status: Any, incomplete: Any, has_calls: bool) -> str:
    """A Responses-style ``status`` (+ ``incomplete_details``) as a finish reason."""
    if status == "incomplete":
        reason = incomplete.get("reason") if isinstance(incomplete, dict) else None
        if isinstance(reason, str):
            return normalize_finish_reason(reason)
        return "length"
    if status in (None, "completed"):
        return "tool_calls" if has_calls else "stop"
    return str(status)


# ---------------------------------------------------------------------------------------------
# Reasoning effort <-> thinking budget
# ---------------------------------------------------------------------------------------------
# Budgets at or below each limit map to that effort; above the last: "high".
_EFFORT_BUCKETS = ((2048, "low"), (8192, "medium"))
# The budget an effort stands for, for models that only take a budget (Claude <= 4.5).
_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32000}


def effort_from_budget(budget: int) -> str:
    """A token budget as an effort level: <= 2048 low, <= 8192 medium, else high."""
    for limit, level in _EFFORT_BUCKETS:
        if budget <= limit:
            return level
    return "high"


def budget_from_effort(effort: str) -> int | None:
    """The thinking budget an effort level stands for; None for an effort we cannot map
    (``max`` has no budget equivalent; ``none``/``disabled`` mean no thinking)."""
    return _BUDGETS.get(effort)


# ---------------------------------------------------------------------------------------------
# Validation shared by request builders
# ---------------------------------------------------------------------------------------------
RESPONSE_FORMAT_TYPES = frozenset({"text", "json_object", "json_schema"})
TOOL_CHOICES = frozenset({"auto", "none", "required"})
_SCHEMA_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def check_response_format(rf: ResponseFormat) -> None:
    """Refuse a response format no Databricks surface accepts (before sending)."""
    if rf.type not in RESPONSE_FORMAT_TYPES:
        raise InvalidRequestError(
            f"unknown response_format type {rf.type!r}",
            hint="use 'text', 'json_object' or 'json_schema'",
        )
    if rf.type != "json_schema":
        return
    if not isinstance(rf.schema, dict):
        raise InvalidRequestError(
            "response_format json_schema needs a JSON schema (a dict)",
            hint="pass ResponseFormat(type='json_schema', schema={...}, name='...')",
        )
    if rf.name is not None and not _SCHEMA_NAME_RE.match(rf.name):
        raise InvalidRequestError(
            f"response_format name {rf.name!r} is not allowed: it must match [a-zA-Z0-9_-]{{1,64}}",
            hint="use letters, digits, '_' and '-' only",
        )


def resolve_tool_choice(
    choice: ToolChoice | None, tools: Sequence[Tool] | None
) -> ToolChoice | None:
    """The tool choice to send, validated against the tools; None = send none.

    ``"auto"``/``"none"`` without tools mean nothing (and servers reject a tool_choice without
    tools), so they resolve to None; ``"required"`` or a named tool without that tool raise.
    """
    if choice is None:
        return None
    if isinstance(choice, NamedToolChoice):
        if not tools:
            raise InvalidRequestError(
                f"tool_choice names tool {choice.name!r} but no tools were given",
                hint="pass the tool in params.tools",
            )
        if choice.name not in {t.name for t in tools}:
            raise InvalidRequestError(
                f"tool_choice names tool {choice.name!r}, which is not among the tools given",
                hint=f"known tools: {sorted(t.name for t in tools)}",
            )
        return choice
    if not isinstance(choice, str) or choice not in TOOL_CHOICES:
        raise InvalidRequestError(
            f"Unrecognized tool_choice type {choice!r}",
            hint="use 'auto', 'none', 'required' or NamedToolChoice(name)",
        )
    if not tools:
        if choice == "required":
            raise InvalidRequestError(
                "tool_choice='required' but no tools were given", hint="pass params.tools"
            )
        return None
    return choice


def tool_call_arguments(arguments: str | None) -> str:
    """Arguments of a tool call sent back in a history: ``"{}"`` for none.

    Claude endpoints on Databricks reject ``"arguments": ""`` (reported publicly); an empty
    object is what a call without arguments means on every surface.
    """
    if arguments is None or not arguments.strip():
        return "{}"
    return arguments
