"""What is known about embedding models: data in ``embedding_models.json``, code here.

Names are matched like the chat registry's (:func:`core.registry.normalize_name`):
``databricks-gte-large-en``, ``system.ai.gte-large-en`` and ``gte-large-en`` are one model. A
name it does not know (an external-model endpoint under a custom name, a custom model) gets
safe defaults with ``known=False``: batches of ``max_batch`` inputs and no client-side length
check. ``register_embedding_model`` adds or overrides entries.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, fields
from importlib import resources
from typing import Any

from core.registry import normalize_name

__all__ = [
    "EmbeddingModelInfo",
    "is_embedding_model",
    "lookup_embedding_model",
    "register_embedding_model",
]


@dataclass(slots=True, frozen=True)
class EmbeddingModelInfo:
    name: str
    dimensions: int | None = None  # length of each vector (None: not known)
    max_input_tokens: int | None = None  # per input (None: not known, not checked)
    max_batch: int = 100  # inputs per request
    normalized: bool | None = None  # unit-length vectors from the service
    supports_dimensions: bool = False  # takes a ``dimensions`` parameter (Matryoshka models)
    known: bool = False


_FIELDS = frozenset(f.name for f in fields(EmbeddingModelInfo))
_lock = threading.Lock()
_defaults: dict[str, Any] | None = None
_models: dict[str, EmbeddingModelInfo] = {}
_overrides: dict[str, EmbeddingModelInfo] = {}


def _validated(values: dict[str, Any]) -> EmbeddingModelInfo:
    unknown = set(values) - _FIELDS
    if unknown:
        raise ValueError(f"unknown EmbeddingModelInfo field(s): {sorted(unknown)}")
    for key in ("dimensions", "max_input_tokens"):
        value = values.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{key} must be a positive integer or None, got {value!r}")
    batch = values.get("max_batch", 100)
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"max_batch must be a positive integer, got {batch!r}")
    return EmbeddingModelInfo(**values)


def _load() -> dict[str, Any]:
    global _defaults
    if _defaults is not None:
        return _defaults
    with _lock:
        if _defaults is None:
            text = resources.files("core").joinpath("embedding_models.json").read_text("utf-8")
            data = json.loads(text)
            defaults = dict(data["defaults"])
            for key, entry in data["models"].items():
                values = {**defaults, **{k: v for k, v in entry.items() if k in _FIELDS}}
                info = _validated({**values, "name": key, "known": True})
                _models[normalize_name(key)] = info
                for alias in entry.get("aliases", ()):
                    _models[normalize_name(alias)] = info
            _defaults = defaults
    return _defaults


def lookup_embedding_model(name: str) -> EmbeddingModelInfo:
    """The registry entry for an endpoint, UC or bare name; safe defaults when unknown."""
    defaults = _load()
    key = normalize_name(name)
    info = _overrides.get(key) or _models.get(key)
    if info is not None:
        return info
    return _validated({**defaults, "name": name, "known": False})


def is_embedding_model(name: str) -> bool:
    """True when the registry knows ``name`` as an embedding model."""
    return lookup_embedding_model(name).known


def register_embedding_model(entry: EmbeddingModelInfo | dict[str, Any]) -> EmbeddingModelInfo:
    """Add or override an entry (a dict needs ``name``; missing fields come from the existing
    entry of that name, else the defaults). ``aliases`` (a list of names) are honoured."""
    defaults = _load()
    aliases: list[str] = []
    if isinstance(entry, EmbeddingModelInfo):
        info = entry
    else:
        values = dict(entry)
        name = values.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("register_embedding_model needs a 'name'")
        aliases = list(values.pop("aliases", ()) or ())
        key = normalize_name(name)
        base = _overrides.get(key) or _models.get(key)
        merged = asdict(base) if base is not None else {**defaults}
        merged.update(values)
        merged.setdefault("known", True)
        if "known" not in values:
            merged["known"] = True
        info = _validated(merged)
    with _lock:
        _overrides[normalize_name(info.name)] = info
        for alias in aliases:
            _overrides[normalize_name(alias)] = info
    return info


def _reset_overrides() -> None:
    """Forget user registrations (for tests)."""
    with _lock:
        _overrides.clear()
