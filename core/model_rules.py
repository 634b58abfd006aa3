"""Apply a model's registry rules to the generation parameters before any codec sees them.

What the service would refuse with a 400 is changed here, in the neutral parameters, with a
:class:`RuleNote` per change for the caller to warn about once (the client warns once per
instance and note key). Only models the registry knows (``info.known``, including rules taken
from a newer family member or from the endpoint's configuration) are touched: an unknown model
gets exactly what the caller asked for.

* a parameter in ``info.rejected_params`` is left out (Claude Opus 4.7+: temperature, top_p,
  top_k);
* ``thinking_budget`` on a model without budget thinking but with adaptive thinking becomes
  ``reasoning_effort`` (adaptive thinking at the effort the budget stands for);
* ``reasoning_effort`` on a model with budget thinking only (Claude <= 4.5) becomes the budget
  that effort stands for;
* ``cache_control`` on parts for a model without explicit prompt caching is left out (OpenAI and
  Gemini models cache automatically; the wire has no place for it).

``extra_body`` is never touched: it is the caller's raw escape hatch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from core.codecs.policy import budget_from_effort, effort_from_budget
from core.registry import ModelInfo
from core.types import GenerationParams, MediaPart, Message, TextPart

__all__ = ["RuleNote", "apply_model_rules"]

_NO_THINKING = frozenset({"none", "disabled", "off"})


@dataclass(frozen=True, slots=True)
class RuleNote:
    key: str  # what was changed (a parameter name); one warning per key and client
    message: str


def _model(info: ModelInfo) -> str:
    if info.based_on and info.based_on != info.name:
        return f"{info.name!r} (rules of {info.based_on})"
    return repr(info.name)


def apply_model_rules(
    messages: Sequence[Message], params: GenerationParams, info: ModelInfo
) -> tuple[Sequence[Message], GenerationParams, list[RuleNote]]:
    """``(messages, params, notes)`` with what ``info`` is known to reject changed."""
    notes: list[RuleNote] = []
    if not info.known:
        return messages, params, notes
    changes: dict[str, object] = {}
    for name in info.rejected_params:
        if getattr(params, name, None) is not None:
            changes[name] = None
            notes.append(
                RuleNote(
                    name,
                    f"{name} was not sent: model {_model(info)} rejects it (the service answers "
                    f"HTTP 400 'does not support the {name} parameter'). Remove it from the "
                    "model's arguments to silence this warning.",
                )
            )
    budget, effort = params.thinking_budget, params.reasoning_effort
    modes = info.thinking
    if budget is not None and "budget" not in modes and "adaptive" in modes and effort is None:
        new_effort = effort_from_budget(budget)
        changes["thinking_budget"] = None
        changes["reasoning_effort"] = new_effort
        notes.append(
            RuleNote(
                "thinking_budget",
                f"thinking_budget={budget} was sent as adaptive thinking at effort "
                f"{new_effort!r}: model {_model(info)} takes adaptive thinking only (a token "
                "budget is an HTTP 400). Pass reasoning_effort instead.",
            )
        )
    elif (
        effort is not None
        and budget is None
        and effort not in _NO_THINKING
        and info.family == "claude"
        and "budget" in modes
        and "adaptive" not in modes
    ):
        new_budget = budget_from_effort(effort)
        if new_budget is not None:
            changes["reasoning_effort"] = None
            changes["thinking_budget"] = new_budget
            notes.append(
                RuleNote(
                    "reasoning_effort",
                    f"reasoning_effort={effort!r} was sent as a thinking budget of {new_budget} "
                    f"tokens: model {_model(info)} takes budget thinking only (no adaptive "
                    "thinking). Pass thinking_budget instead.",
                )
            )
    if changes:
        params = dataclasses.replace(params, **changes)  # type: ignore[arg-type]
    if not info.prompt_caching:
        messages, dropped = _without_cache_control(messages)
        if dropped:
            notes.append(
                RuleNote(
                    "cache_control",
                    f"cache_control on {dropped} content block(s) was not sent: model "
                    f"{_model(info)} takes no explicit cache breakpoints (OpenAI and Gemini "
                    "models cache long prompts automatically). If the endpoint does serve a "
                    "Claude model, register_model({'name': ..., 'prompt_caching': True}).",
                )
            )
    return messages, params, notes


def _without_cache_control(messages: Sequence[Message]) -> tuple[Sequence[Message], int]:
    dropped = 0
    out: list[Message] | None = None
    for i, msg in enumerate(messages):
        if not any(isinstance(p, (TextPart, MediaPart)) and p.cache_control for p in msg.parts):
            if out is not None:
                out.append(msg)
            continue
        if out is None:
            out = list(messages[:i])
        parts = []
        for p in msg.parts:
            if isinstance(p, (TextPart, MediaPart)) and p.cache_control:
                dropped += 1
                p = dataclasses.replace(p, cache_control=None)
            parts.append(p)
        out.append(dataclasses.replace(msg, parts=parts))
    return (messages if out is None else out), dropped
