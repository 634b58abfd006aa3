"""Usage of an answer made of several model calls: the sum, counted once.

An agent that runs a tool and answers again reports usage per cycle (each ``response.completed``
of a multi-cycle ResponsesAgent stream carries its own model call's counts). The whole answer's
usage is their sum. ``raw`` is summed the same way (numbers added key by key, nested objects
too), so code reading the wire object sees the same totals as the fields.
"""

from __future__ import annotations

from typing import Any

from core.types import Usage

__all__ = ["add_usage"]

_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
)


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _add_raw(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _add_raw(a[k], v) if k in a else v
        return out
    if type(a) is int and type(b) is int:
        return a + b
    return b if b is not None else a


def add_usage(total: Usage | None, more: Usage) -> Usage:
    """``total`` plus ``more`` (a new object; ``total=None`` gives ``more``)."""
    if total is None:
        return more
    out = Usage()
    for f in _FIELDS:
        setattr(out, f, _add(getattr(total, f), getattr(more, f)))
    if total.raw is not None or more.raw is not None:
        out.raw = _add_raw(total.raw or {}, more.raw or {})
    return out
