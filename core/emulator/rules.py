"""Model rules the service enforces on chat completions, so the emulator says no where it does.

Independent of the client's registry on purpose (the emulator must not share the client's
blind spots): its own small reading of model names. Each rule, its source and whether it is
confirmed on Databricks: docs/model-rules.md. Switched off with
``EmulatorOptions.check_model_rules=False``.

| rule | models | answer |
|---|---|---|
| sampling parameters rejected (chat and Open Responses) | Claude Opus >= 4.7, Claude >= 5 | 400 ``BAD_REQUEST: Model us.anthropic.<m> does not support the <p> parameter.`` |
| budget thinking rejected | same | 400 |
| adaptive thinking unknown | Claude <= 4.5 | 400 |
| several tool calls in one assistant turn | GPT OSS | 400 ``Multiple tool calls are not supported.\\n`` |
| ``"arguments": ""`` in a history tool call | Claude | 400 |
| adaptive thinking hides its text unless ``display: "summarized"`` | Claude Opus >= 4.7, Claude >= 5 | empty reasoning text (signature only) |
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "RuleError",
    "check_chat_rules",
    "check_sampling_rules",
    "claude_version",
    "hides_adaptive_thinking",
]

_CLAUDE_LINE_FIRST = re.compile(
    r"claude-(opus|sonnet|haiku|fable|mythos)-(\d{1,2})(?:-(\d{1,2}))?(?:-|$)"
)
_CLAUDE_VERSION_FIRST = re.compile(r"claude-(\d{1,2})(?:-(\d{1,2}))?-(opus|sonnet|haiku)")
_SAMPLING = ("temperature", "top_p", "top_k")


class RuleError(Exception):
    """A request the service refuses: status and message of its error body."""

    def __init__(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def _canonical(model: str) -> str:
    n = model.lower().split("+", 1)[0]
    for prefix in ("system.ai.", "databricks-"):
        if n.startswith(prefix):
            n = n[len(prefix) :]
    return n.replace(".", "-").replace("_", "-")


def claude_version(model: str) -> tuple[str, tuple[int, int]] | None:
    """``("opus", (4, 7))`` for a Claude model name; None for anything else."""
    n = _canonical(model)
    m = _CLAUDE_LINE_FIRST.search(n)
    if m:
        return m.group(1), (int(m.group(2)), int(m.group(3) or 0))
    m = _CLAUDE_VERSION_FIRST.search(n)
    if m:
        return m.group(3), (int(m.group(1)), int(m.group(2) or 0))
    return None


def _adaptive_only(model: str) -> bool:
    """Claude Opus 4.7+ and every Claude 5: no sampling parameters, no thinking budget."""
    v = claude_version(model)
    return v is not None and (v[1] >= (5, 0) or (v[0] == "opus" and v[1] >= (4, 7)))


def _takes_adaptive(model: str) -> bool:
    v = claude_version(model)
    return v is not None and v[1] >= (4, 6)


def hides_adaptive_thinking(model: str, thinking: Any) -> bool:
    """Adaptive thinking on Opus 4.7+ returns no thinking text unless display is summarized."""
    return (
        _adaptive_only(model)
        and isinstance(thinking, dict)
        and thinking.get("type") == "adaptive"
        and thinking.get("display") != "summarized"
    )


def _provider_id(model: str) -> str:
    """How the service names the model in these errors (Databricks forwards to the provider)."""
    n = _canonical(model)
    at = n.find("claude")
    return f"us.anthropic.{n[at:]}" if at >= 0 else n


def check_chat_rules(body: dict[str, Any], model: str, family: str) -> None:
    """Raise RuleError for what the service refuses in a chat completions body."""
    if family == "claude":
        _check_claude(body, model)
    if family == "gpt-oss":
        for msg in body.get("messages") or []:
            if isinstance(msg, dict) and msg.get("role") == "assistant":
                calls = msg.get("tool_calls")
                if isinstance(calls, list) and len(calls) > 1:
                    # A live capture from databricks-gpt-oss-120b (message verbatim, newline too).
                    raise RuleError("Multiple tool calls are not supported.\n")


def check_sampling_rules(body: dict[str, Any], model: str) -> None:
    """Sampling parameters on a model that dropped them (chat completions and Open Responses:
    both are forwarded to the provider)."""
    if _adaptive_only(model):
        for name in _SAMPLING:
            if name in body:
                # Seen verbatim through a Databricks workspace for temperature (public report).
                raise RuleError(
                    f"BAD_REQUEST: Model {_provider_id(model)} does not support the {name} "
                    "parameter."
                )


def _check_claude(body: dict[str, Any], model: str) -> None:
    check_sampling_rules(body, model)
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "enabled" and _adaptive_only(model):
        raise RuleError(
            f"BAD_REQUEST: thinking.type.enabled is not supported for model "
            f"{_provider_id(model)}. Use thinking.type.adaptive and output_config.effort."
        )
    if kind == "adaptive" and claude_version(model) is not None and not _takes_adaptive(model):
        raise RuleError(
            f"BAD_REQUEST: thinking.type.adaptive is not supported for model "
            f"{_provider_id(model)}. Use thinking.type.enabled with budget_tokens."
        )
    for i, msg in enumerate(body.get("messages") or []):
        if not isinstance(msg, dict) or msg.get("role") != "assistant":
            continue
        for j, call in enumerate(msg.get("tool_calls") or []):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and fn.get("arguments") == "":
                raise RuleError(
                    f"BAD_REQUEST: messages.{i}.tool_calls.{j}.function.arguments: "
                    "Input should be a valid JSON object string, got ''."
                )
