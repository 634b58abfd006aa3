"""``databricks-llm chat`` with agents: the options agents take and how their own steps print.

An agent's answer may hold tool calls it ran itself and their results (ServerToolParts holding
``function_call`` / ``function_call_output`` items, whatever the agent schema). They are shown
as they arrive, between the agent's words, dimmed::

    Let me look that up.
      ↳ lookup({"query": "weather in Oslo"})
      ← 3 results for 'weather in Oslo'
    Here is what I found: ...
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_arguments", "agent_params", "agent_settings", "step_line", "steps_json"]

_MAX_SHOWN = 300  # characters of a tool result printed inline


def add_arguments(chat: argparse.ArgumentParser) -> None:
    chat.add_argument(
        "--agent-schema",
        choices=["responses_agent", "chat_agent", "chat_model"],
        help="the agent schema of the endpoint (default: read from the endpoint's task)",
    )
    chat.add_argument("--custom-inputs", metavar="JSON", help="custom_inputs sent to an agent")
    chat.add_argument(
        "--context", metavar="JSON", help='agent context, e.g. {"conversation_id": "c1"}'
    )


def _json_option(args: argparse.Namespace, name: str) -> dict[str, Any] | None:
    raw = getattr(args, name, None)
    if raw is None:
        return None
    from core.cli import _CliError

    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        flag = "--" + name.replace("_", "-")
        raise _CliError(f"{flag} {raw!r} is not a JSON object", f"e.g. {flag} '{{\"k\": 1}}'")
    return value


def agent_settings(args: argparse.Namespace) -> dict[str, Any]:
    schema = getattr(args, "agent_schema", None)
    return {"agent_schema": schema} if schema else {}


def agent_params(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "custom_inputs": _json_option(args, "custom_inputs"),
        "context": _json_option(args, "context"),
    }


def step_line(item: dict[str, Any]) -> str:
    """One of the agent's own steps (a tool it called, or that tool's result), one line."""
    itype = str(item.get("type", ""))
    if itype.endswith("_output") or itype.endswith("_result"):
        output = item.get("output")
        text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
        text = " ".join(text.split())
        if len(text) > _MAX_SHOWN:
            text = text[:_MAX_SHOWN] + "…"
        return f"  ← {text}"
    name = item.get("name") or itype.removesuffix("_call") or "step"
    args = item.get("arguments", item.get("input", item.get("action")))
    shown = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return f"  ↳ {name}({shown if shown not in (None, 'null') else ''})"


def steps_json(parts: list[Any]) -> list[dict[str, Any]]:
    """The agent's own steps, in order, as they came (for ``--json``)."""
    from core.types import ServerToolPart

    return [p.item for p in parts if isinstance(p, ServerToolPart)]
