"""What is known about Databricks-hosted chat models: data in ``models.json``, code here.

``lookup_model`` accepts serving endpoint names (``databricks-claude-sonnet-4-5``), Unity
Catalog names (``system.ai.claude-sonnet-4-5``) and bare names (``claude-sonnet-4-5``). A name
it does not know still works: the family is guessed from the name (``...claude...`` is Claude)
and the rest are safe defaults, with ``known=False`` so codecs stay permissive.
``register_model`` adds or overrides entries (a dict may carry only the fields to change).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, fields
from importlib import resources
from typing import Any

__all__ = ["ModelInfo", "guess_family", "lookup_model", "normalize_name", "register_model"]

FAMILIES = ("claude", "gpt", "gpt-oss", "gemini", "gemma", "llama", "unknown")
MODALITIES = ("text", "image", "audio", "video", "file")
REASONING_STYLES = ("hybrid", "effort", "always", None)
APIS = ("chat", "responses-only", "chat+responses")


@dataclass(slots=True, frozen=True)
class ModelInfo:
    name: str
    family: str = "unknown"
    context_window: int = 128000
    max_output_tokens: int = 4096
    reasoning: str | None = None
    input_modalities: tuple[str, ...] = ("text",)
    supports_tools: bool = True
    supports_strict_schema: bool = False
    max_images: int | None = None
    api: str = "chat"
    known: bool = False


_FIELD_NAMES = frozenset(f.name for f in fields(ModelInfo))

_lock = threading.Lock()
_data: dict[str, Any] | None = None
_models: dict[str, ModelInfo] = {}  # normalized name (and aliases) -> info
_overrides: dict[str, ModelInfo] = {}
_unknown_cache: dict[str, ModelInfo] = {}  # defaults built for names not in the registry


def normalize_name(name: str) -> str:
    """``system.ai.X`` / ``databricks-X`` / ``X`` -> ``x`` (lower case, prefixes stripped)."""
    n = name.strip().lower()
    if n.startswith("system.ai."):
        n = n[len("system.ai.") :]
    if n.startswith("databricks-"):
        n = n[len("databricks-") :]
    return n


def guess_family(name: str) -> str:
    n = name.lower()
    if "claude" in n:
        return "claude"
    if "gpt-oss" in n or "gpt_oss" in n:
        return "gpt-oss"
    if "gpt" in n or n.startswith(("o1", "o3", "o4")):
        return "gpt"
    if "gemini" in n:
        return "gemini"
    if "gemma" in n:
        return "gemma"
    if "llama" in n:
        return "llama"
    return "unknown"


def _load() -> dict[str, Any]:
    global _data
    if _data is not None:
        return _data
    with _lock:
        if _data is None:
            text = resources.files("core").joinpath("models.json").read_text(encoding="utf-8")
            data = json.loads(text)
            for key, entry in data["models"].items():
                info = _build(key, entry, data, known=True)
                _models[key] = info
                for alias in entry.get("aliases", ()):
                    _models[normalize_name(alias)] = info
            _data = data
    return _data


def _family_defaults(family: str, data: dict[str, Any]) -> dict[str, Any]:
    merged = dict(data["defaults"])
    merged.update(data["families"].get(family, {}))
    if family == "gpt":
        merged["supports_strict_schema"] = True
    return merged


def _build(name: str, entry: dict[str, Any], data: dict[str, Any], *, known: bool) -> ModelInfo:
    family = entry.get("family") or guess_family(name)
    values = _family_defaults(family, data)
    values.update({k: v for k, v in entry.items() if k in _FIELD_NAMES})
    values["name"] = name
    values["family"] = family
    values.setdefault("known", known)
    if "known" not in entry:
        values["known"] = known
    return _validated(values)


def _validated(values: dict[str, Any]) -> ModelInfo:
    unknown = set(values) - _FIELD_NAMES
    if unknown:
        raise ValueError(f"unknown ModelInfo field(s): {sorted(unknown)}")
    if values.get("family") not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {values.get('family')!r}")
    if values.get("reasoning") not in REASONING_STYLES:
        raise ValueError(f"reasoning must be one of {REASONING_STYLES}")
    if values.get("api") not in APIS:
        raise ValueError(f"api must be one of {APIS}, got {values.get('api')!r}")
    mods = tuple(values.get("input_modalities") or ("text",))
    bad = [m for m in mods if m not in MODALITIES]
    if bad:
        raise ValueError(f"unknown input modalities {bad}; allowed: {MODALITIES}")
    values["input_modalities"] = mods
    return ModelInfo(**values)


def _unknown(name: str) -> ModelInfo:
    data = _load()
    family = guess_family(name)
    values = _family_defaults(family, data)
    # Unknown models: permissive about knobs (codecs don't refuse what they can't judge) but
    # conservative about limits.
    if family == "gpt" and "codex" in name.lower():
        values["api"] = "responses-only"
    if family == "gpt" and not normalize_name(name).startswith(("gpt-5", "o1", "o3", "o4")):
        values["reasoning"] = None  # gpt-4o & co. take no reasoning_effort
    values["name"] = name
    values["family"] = family
    values["known"] = False
    return _validated(values)


def lookup_model(name: str) -> ModelInfo:
    """Registry entry for an endpoint name, a UC name or a bare name; safe defaults otherwise."""
    _load()
    key = normalize_name(name)
    info = _overrides.get(key) or _models.get(key)
    if info is not None:
        return info
    info = _unknown_cache.get(name)
    if info is None:
        info = _unknown(name)
        if len(_unknown_cache) < 1024:
            _unknown_cache[name] = info
    return info


def register_model(info_or_dict: ModelInfo | dict[str, Any]) -> ModelInfo:
    """Add or override a registry entry; returns the stored ``ModelInfo``.

    A dict needs ``name`` and any subset of the other fields; missing fields come from the
    existing entry of that name, else from the family defaults. Registered entries count as
    known unless ``known`` says otherwise. Extra ``aliases`` (a list of names) are honoured.
    """
    data = _load()
    if isinstance(info_or_dict, ModelInfo):
        info = info_or_dict
        aliases: list[str] = []
    else:
        entry = dict(info_or_dict)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("register_model needs a 'name'")
        aliases = list(entry.pop("aliases", ()) or ())
        entry.pop("_comment", None)
        key = normalize_name(name)
        base = _overrides.get(key) or _models.get(key)
        if base is not None:
            values = asdict(base)
            if "family" in entry and entry["family"] != base.family:
                values = _family_defaults(entry["family"], data)
        else:
            values = _family_defaults(entry.get("family") or guess_family(name), data)
            values["family"] = entry.get("family") or guess_family(name)
        values.update(entry)
        values["name"] = base.name if base is not None else name
        values.setdefault("known", True)
        if "known" not in entry:
            values["known"] = True
        info = _validated(values)
    with _lock:
        _unknown_cache.clear()
        _overrides[normalize_name(info.name)] = info
        if not isinstance(info_or_dict, ModelInfo):
            _overrides[normalize_name(str(info_or_dict["name"]))] = info
        for alias in aliases:
            _overrides[normalize_name(alias)] = info
    return info


def _reset_overrides() -> None:
    """Forget user registrations (for tests)."""
    with _lock:
        _overrides.clear()
        _unknown_cache.clear()
