"""JSON schemas that OpenAI-style strict structured output accepts.

Strict mode (``"strict": true`` on a ``json_schema`` response format or a function tool) refuses
a schema whose objects allow extra properties or leave a property out of ``required``. The
rewrite below keeps the meaning: every object gets ``additionalProperties: false`` and lists all
its properties as required, and a property that was optional becomes nullable (the model
answers ``null`` where it would have left it out). Written here rather than taken from
``openai.lib._pydantic.to_strict_json_schema`` because the openai package is not a dependency;
langchain-core's strict conversion sets ``additionalProperties`` but leaves ``required`` alone.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["strict_schema"]

_NESTED_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_NESTED_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_NESTED_ONE = ("items", "not", "additionalItems", "contains")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict-valid copy of ``schema`` (the argument is not modified)."""
    out = copy.deepcopy(schema)
    _fix(out)
    return out


def _fix(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _fix(item)
        return
    if not isinstance(node, dict):
        return
    for key in _NESTED_MAPS:
        sub = node.get(key)
        if isinstance(sub, dict):
            for value in sub.values():
                _fix(value)
    for key in _NESTED_LISTS:
        if isinstance(node.get(key), list):
            _fix(node[key])
    for key in _NESTED_ONE:
        if isinstance(node.get(key), (dict, list)):
            _fix(node[key])
    if node.get("default", 0) is None:
        del node["default"]  # strict mode refuses "default": null (as openai-python drops it)
    props = node.get("properties")
    is_object = node.get("type") == "object" or isinstance(props, dict)
    if not is_object:
        return
    node["additionalProperties"] = False
    if not isinstance(props, dict):
        node.setdefault("properties", {})
        node["required"] = []
        return
    required = node.get("required")
    had = set(required) if isinstance(required, list) else set()
    for name, prop in props.items():
        if name not in had and isinstance(prop, dict):
            props[name] = _nullable(prop)
    node["required"] = list(props)


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    if _allows_null(prop):
        return prop
    ptype = prop.get("type")
    if isinstance(ptype, str) and "enum" not in prop:
        return {**prop, "type": [ptype, "null"]}
    if isinstance(ptype, list):
        return {**prop, "type": [*ptype, "null"]}
    return {"anyOf": [prop, {"type": "null"}]}


def _allows_null(prop: dict[str, Any]) -> bool:
    ptype = prop.get("type")
    if ptype == "null" or (isinstance(ptype, list) and "null" in ptype):
        return True
    branches = prop.get("anyOf") or prop.get("oneOf")
    return isinstance(branches, list) and any(
        isinstance(b, dict) and b.get("type") == "null" for b in branches
    )
