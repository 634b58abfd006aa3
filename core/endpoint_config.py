"""A serving endpoint's configuration, read once per (host, name) for the whole process.

``GET {host}/api/2.0/serving-endpoints/{name}`` tells what an endpoint whose name says nothing
(``my-claude``, an external-model or provisioned-throughput endpoint, a custom agent) really
serves, and its ``task`` (``llm/v1/chat``, ``agent/v1/responses``, ``agent/v2/chat``, ...).

Shape, as the service and the databricks-sdk (``ServingEndpointDetailed``) give it; fields we
read, everything else is kept in ``raw``::

    {"name": "...", "task": "llm/v1/chat", "endpoint_type": "FOUNDATION_MODEL_API",
     "config": {"served_entities": [
         {"name": "...", "entity_name": "system.ai.meta_llama_v3_3_70b_instruct",
          "foundation_model": {"name": "databricks-claude-sonnet-4-5", ...},     # pay-per-token
          "external_model": {"provider": "anthropic", "name": "claude-...", ...}, # external
         }],
      "served_models": [{"name": "...", "model_name": "...", ...}]}}   # older endpoints

``endpoint_type`` is absent on older workspaces and some entries carry neither
``foundation_model`` nor ``external_model`` (custom models, provisioned throughput: only
``entity_name``). Nothing here raises for a surprising shape: an unreadable or odd answer is
``None`` or a config with fewer fields, and callers stay permissive.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import APIError, ConnectionError, ResponseParseError, TimeoutError

__all__ = [
    "EndpointConfig",
    "ServedEntity",
    "aendpoint_config",
    "endpoint_config",
    "parse_endpoint_config",
    "served_model_info",
]

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import ModelInfo

logger = logging.getLogger("core.endpoint_config")

_HEADERS = {"Accept": "application/json"}
# Errors that mean "cannot read it": remembered as None. Configuration errors still raise.
_UNREADABLE = (APIError, ConnectionError, TimeoutError, ResponseParseError)


@dataclass(frozen=True, slots=True)
class ServedEntity:
    name: str | None
    entity_name: str | None
    foundation_model: str | None  # served_entities[].foundation_model.name
    external_provider: str | None  # served_entities[].external_model.provider
    external_model: str | None  # served_entities[].external_model.name

    @property
    def model_name(self) -> str | None:
        """The most telling name of what is served: foundation model, external model, entity."""
        return self.foundation_model or self.external_model or self.entity_name


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    name: str
    task: str | None
    endpoint_type: str | None
    served_entities: tuple[ServedEntity, ...]
    raw: dict[str, Any]

    @property
    def model_names(self) -> tuple[str, ...]:
        """Names of the served models, in the endpoint's order (duplicates dropped)."""
        out: list[str] = []
        for entity in self.served_entities:
            name = entity.model_name
            if name and name not in out:
                out.append(name)
        return tuple(out)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sub_name(entry: dict[str, Any], key: str) -> dict[str, Any]:
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def _entity(entry: dict[str, Any]) -> ServedEntity:
    fm = _sub_name(entry, "foundation_model")
    ext = _sub_name(entry, "external_model")
    return ServedEntity(
        name=_str(entry.get("name")),
        # served_models (older API) names the registered model ``model_name``
        entity_name=_str(entry.get("entity_name")) or _str(entry.get("model_name")),
        foundation_model=_str(fm.get("name")),
        external_provider=_str(ext.get("provider")),
        external_model=_str(ext.get("name")),
    )


def parse_endpoint_config(data: Any, name: str) -> EndpointConfig | None:
    """The endpoint config in a GET answer; None when the answer is not an object."""
    if not isinstance(data, dict):
        return None
    config = data.get("config")
    if not isinstance(config, dict):
        config = data.get("pending_config")  # an endpoint being created has only this
    if not isinstance(config, dict):
        config = {}
    entries = config.get("served_entities")
    if not isinstance(entries, list) or not entries:
        entries = config.get("served_models")
    if not isinstance(entries, list):
        entries = []
    return EndpointConfig(
        name=_str(data.get("name")) or name,
        task=_str(data.get("task")),
        endpoint_type=_str(data.get("endpoint_type")),
        served_entities=tuple(_entity(e) for e in entries if isinstance(e, dict)),
        raw=data,
    )


# -- process-wide cache ----------------------------------------------------------------------
_Key = tuple[str, str]
_cache: dict[_Key, EndpointConfig | None] = {}
_cache_lock = threading.Lock()
_key_locks: dict[_Key, threading.Lock] = {}
# One fetch in flight per key and event loop; waiters share it (shielded: a cancelled waiter
# does not cancel the fetch the others wait for).
_tasks: dict[tuple[_Key, asyncio.AbstractEventLoop], asyncio.Task[EndpointConfig | None]] = {}


def _key(host: str, name: str) -> _Key:
    return (host.rstrip("/"), name)


def _url(key: _Key) -> str:
    return f"{key[0]}/api/2.0/serving-endpoints/{quote(key[1], safe='')}"


def _unreadable(key: _Key, exc: Exception) -> None:
    logger.debug(
        "serving endpoint %r on %s: configuration not readable (%s: %s); model rules stay "
        "permissive",
        key[1],
        key[0],
        type(exc).__name__,
        exc,
    )


def _store(key: _Key, value: EndpointConfig | None) -> EndpointConfig | None:
    with _cache_lock:
        _cache[key] = value
    return value


def endpoint_config(http: Any, host: str, name: str) -> EndpointConfig | None:
    """The endpoint's configuration (read once per process), or None when it cannot be read."""
    key = _key(host, name)
    if key in _cache:
        return _cache[key]
    with _cache_lock:
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:
        if key in _cache:
            return _cache[key]
        try:
            data = http.request_json("GET", _url(key), headers=_HEADERS)
        except _UNREADABLE as exc:
            _unreadable(key, exc)
            return _store(key, None)
        return _store(key, parse_endpoint_config(data, name))


async def aendpoint_config(http: Any, host: str, name: str) -> EndpointConfig | None:
    """Async :func:`endpoint_config` (same cache)."""
    key = _key(host, name)
    if key in _cache:
        return _cache[key]
    loop = asyncio.get_running_loop()
    task_key = (key, loop)
    task = _tasks.get(task_key)
    if task is None:
        task = loop.create_task(_afetch(http, key))
        _tasks[task_key] = task
        task.add_done_callback(lambda _t: _tasks.pop(task_key, None))
    return await asyncio.shield(task)


async def _afetch(http: Any, key: _Key) -> EndpointConfig | None:
    if key in _cache:  # a thread or another loop got there first
        return _cache[key]
    try:
        data = await http.arequest_json("GET", _url(key), headers=_HEADERS)
    except _UNREADABLE as exc:
        _unreadable(key, exc)
        return _store(key, None)
    return _store(key, parse_endpoint_config(data, key[1]))


def _reset_cache() -> None:
    """Forget every endpoint configuration read so far (for tests)."""
    with _cache_lock:
        _cache.clear()
        _key_locks.clear()


def served_model_info(config: EndpointConfig | None, endpoint: str) -> ModelInfo | None:
    """Registry rules for what an endpoint serves (its first served model the registry knows),
    named after the endpoint; None when nothing it serves is known."""
    if config is None:
        return None
    from core.registry import lookup_model

    for served in config.model_names:
        info = lookup_model(served)
        if info.known:
            return replace(
                info, name=endpoint, based_on=f"{info.based_on or info.name}, served by {endpoint}"
            )
    return None
