"""The emulator's serving endpoints, as ``GET /api/2.0/serving-endpoints[/{name}]`` lists them.

Shapes follow the databricks-sdk's ``ServingEndpointDetailed`` and public fixtures of real
answers: ``task`` and ``endpoint_type`` at the top, ``config.served_entities[]`` carrying
``foundation_model`` (pay-per-token), ``external_model`` (``provider`` + ``name``), or only an
``entity_name``/``entity_version`` (provisioned throughput on a ``system.ai`` model, custom
models and agents). ``endpoint_type`` values seen publicly: ``FOUNDATION_MODEL_API``,
``EXTERNAL_MODEL``, ``CUSTOM_MODEL``; what a provisioned-throughput endpoint reports is not
known, so it carries none.

Besides the pay-per-token models, the catalog holds endpoints whose names say nothing about the
model (``my-claude``, ``my-openai``, ``my-llama-pt``) and custom agents of each task.
"""

from __future__ import annotations

from typing import Any

# (endpoint name, task) of the pay-per-token foundation models
FOUNDATION_MODELS = (
    "databricks-claude-sonnet-4-5",
    "databricks-claude-sonnet-4-6",
    "databricks-claude-opus-4-6",
    "databricks-claude-opus-4-7",
    "databricks-claude-3-7-sonnet",
    "databricks-gpt-oss-120b",
    "databricks-gpt-5",
    "databricks-gpt-5-1",
    "databricks-gpt-5-2",
    "databricks-gemini-2-5-pro",
    "databricks-gemini-3-pro",
    "databricks-meta-llama-3-3-70b-instruct",
    "databricks-gemma-3-12b",
)

# pay-per-token embedding models (task llm/v1/embeddings; served by core/emulator/embeddings.py)
EMBEDDING_MODELS = (
    "databricks-gte-large-en",
    "databricks-bge-large-en",
    "databricks-qwen3-embedding-0-6b",
)

# name -> (provider, provider's model name) of the external-model endpoints
EXTERNAL_MODELS = {
    "my-claude": ("anthropic", "claude-opus-4-7"),
    "my-openai": ("openai", "gpt-5.1"),
}

# name -> (UC entity, version) of provisioned-throughput endpoints
PROVISIONED = {
    "my-llama-pt": ("system.ai.meta_llama_v3_3_70b_instruct", "3"),
}

# name -> (task, UC entity) of custom agents (MLflow ResponsesAgent, ChatAgent, ChatModel)
AGENTS = {
    "my-agent": ("agent/v1/responses", "main.agents.my_agent"),
    "my-chat-agent": ("agent/v2/chat", "main.agents.my_chat_agent"),
    "my-legacy-agent": ("agent/v1/chat", "main.agents.my_legacy_agent"),
    # scripted agents of core.emulator.agents (beside the chat and legacy ones above)
    "my-tool-agent": ("agent/v1/responses", "main.agents.my_tool_agent"),
    "my-items-agent": ("agent/v1/responses", "main.agents.my_items_agent"),
    "my-json-agent": ("agent/v1/responses", "main.agents.my_json_agent"),
}

_FM_DOCS = "https://docs.databricks.com/machine-learning/foundation-models/"


def _endpoint(
    i: int, name: str, task: str, entity: dict[str, Any], endpoint_type: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "id": f"{i:032x}",
        "creator": "emulator@databricks.local",
        "creation_timestamp": 1_700_000_000_000,
        "last_updated_timestamp": 1_700_000_000_000,
        "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
        "config": {"served_entities": [entity], "config_version": 1},
        "task": task,
        "permission_level": "CAN_QUERY",
    }
    if endpoint_type is not None:
        out["endpoint_type"] = endpoint_type
    return out


def default_endpoints() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    tasks = [(n, "llm/v1/chat") for n in FOUNDATION_MODELS]
    for name, task in tasks + [(n, "llm/v1/embeddings") for n in EMBEDDING_MODELS]:
        entity: dict[str, Any] = {
            "name": name,
            "entity_name": f"system.ai.{name}",
            "foundation_model": {
                "name": name,
                "display_name": name.replace("databricks-", "").replace("-", " ").title(),
                "docs": _FM_DOCS,
            },
        }
        out.append(_endpoint(len(out), name, task, entity, "FOUNDATION_MODEL_API"))
    for name, (provider, model) in EXTERNAL_MODELS.items():
        entity = {
            "name": f"{name}-entity",
            "external_model": {"provider": provider, "name": model, "task": "llm/v1/chat"},
        }
        out.append(_endpoint(len(out), name, "llm/v1/chat", entity, "EXTERNAL_MODEL"))
    for name, (uc_name, version) in PROVISIONED.items():
        entity = {
            "name": f"{uc_name.rsplit('.', 1)[-1]}-{version}",
            "entity_name": uc_name,
            "entity_version": version,
            "min_provisioned_throughput": 0,
            "max_provisioned_throughput": 9500,
            "scale_to_zero_enabled": True,
        }
        out.append(_endpoint(len(out), name, "llm/v1/chat", entity, None))
    for name, (task, uc_name) in AGENTS.items():
        entity = {
            "name": f"{uc_name.rsplit('.', 1)[-1]}-1",
            "entity_name": uc_name,
            "entity_version": "1",
            "workload_size": "Small",
            "scale_to_zero_enabled": True,
        }
        out.append(_endpoint(len(out), name, task, entity, "CUSTOM_MODEL"))
    return out


def served_model(endpoints: list[dict[str, Any]], name: str) -> str | None:
    """The model an endpoint serves (foundation, external or entity name), None if unknown."""
    for ep in endpoints:
        if ep.get("name") != name:
            continue
        for entity in (ep.get("config") or {}).get("served_entities") or []:
            for key in ("foundation_model", "external_model"):
                sub = entity.get(key)
                if isinstance(sub, dict) and sub.get("name"):
                    return str(sub["name"])
            if entity.get("entity_name"):
                return str(entity["entity_name"])
    return None
