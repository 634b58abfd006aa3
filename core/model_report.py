"""What ``databricks-llm models`` shows for one serving endpoint: what it serves and the model
rules the client will apply to it (from the registry, through the served entity when the
endpoint's own name says nothing)."""

from __future__ import annotations

from typing import Any

from core.embedding_registry import is_embedding_model, lookup_embedding_model
from core.endpoint_config import EndpointConfig, parse_endpoint_config, served_model_info
from core.registry import ModelInfo, lookup_model

__all__ = ["endpoint_row", "rules_summary"]


def _serves(config: EndpointConfig | None) -> str:
    if config is None:
        return ""
    out = []
    for e in config.served_entities:
        if e.external_model:
            out.append(f"{e.external_provider or 'external'}:{e.external_model}")
        elif e.model_name:
            out.append(e.model_name)
    return ",".join(out)


def rules_summary(info: ModelInfo) -> str:
    """A short line: ``no temperature/top_p/top_k; thinking adaptive; 1 tool call/turn``."""
    if not info.known:
        return ""
    out = []
    if info.rejected_params:
        out.append("no " + "/".join(info.rejected_params))
    if info.thinking:
        out.append("thinking " + "+".join(info.thinking))
    if not info.multiple_tool_calls:
        out.append("1 tool call/turn")
    if info.prompt_caching:
        out.append("cache_control")
    return "; ".join(out)


def endpoint_row(ep: dict[str, Any]) -> dict[str, Any]:
    """One row of the models table (also the ``--json`` object)."""
    name = str(ep.get("name", ""))
    config = parse_endpoint_config(ep, name)
    info = lookup_model(name)
    if not info.known:
        info = served_model_info(config, name) or info
    known = info.known
    row = {
        "name": name,
        "task": ep.get("task") or "",
        "state": (ep.get("state") or {}).get("ready", ""),
        "serves": _serves(config),
        "family": info.family if known else "",
        "reasoning": (info.reasoning or "") if known else "",
        "context_window": info.context_window if known else None,
        "inputs": ",".join(info.input_modalities) if known else "",
        "api": info.api if known else "",
        "rules": rules_summary(info),
        "rules_from": info.based_on or (info.name if known else None),
        "rejected_params": list(info.rejected_params) if known else [],
        "thinking": list(info.thinking) if known else [],
        "multiple_tool_calls": info.multiple_tool_calls if known else None,
        "known": known,
    }
    if row["task"] == "llm/v1/embeddings" or (not known and is_embedding_model(name)):
        row.update(_embedding_columns(name))
    return row


def _embedding_columns(name: str) -> dict[str, Any]:
    """An embedding endpoint: tokens per input and vector size from the embedding registry."""
    emb = lookup_embedding_model(name)
    dims = f"text -> {emb.dimensions} dims" if emb.dimensions else "text"
    return {
        "context_window": emb.max_input_tokens,
        "inputs": dims,
        "api": "embeddings",
        "known": emb.known,
        "embedding_dimensions": emb.dimensions,
        "max_inputs_per_request": emb.max_batch,
    }
