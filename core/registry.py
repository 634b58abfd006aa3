"""What is known about Databricks-hosted chat models: data in ``models.json``, code here.

``lookup_model`` accepts serving endpoint names (``databricks-claude-sonnet-4-5``), Unity
Catalog names (``system.ai.claude-sonnet-4-5``, ``system.ai.meta_llama_v3_3_70b_instruct``),
provider names (``gpt-5.1``, ``us.anthropic.claude-opus-4-7``) and bare names.

* A name in ``models.json`` gets its entry (family defaults, then the entry's own fields).
* A name of a known family and line with a version the registry has not seen is judged by
  :mod:`core.model_versions`: a newer generation (``claude-opus-4-9``, ``claude-sonnet-5``)
  gets the newest known rules of its family, one inside the known range the nearest older
  entry of its line. ``based_on`` names the entry; ``known`` is True, so the rules apply.
* Anything else gets safe defaults with ``known=False``: codecs and model rules stay
  permissive. (The client then asks the endpoint's configuration, see
  :mod:`core.endpoint_config`.)

The rules a model carries (what the codecs and :mod:`core.model_rules` read, never an ``if``
on a model name): ``rejected_params`` (sampling parameters answered with a 400), ``thinking``
(the thinking modes it takes: ``budget``, ``adaptive``, ``effort``), ``thinking_display_default``
(``omitted`` when adaptive thinking hides its text unless asked), ``multiple_tool_calls``
(several tool calls in one assistant turn of the history), ``prompt_caching`` (explicit
``cache_control`` breakpoints), limits and modalities. ``register_model`` adds or overrides
entries (a dict may carry only the fields to change).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, fields
from importlib import resources
from typing import Any

__all__ = [
    "ModelInfo",
    "canonical_name",
    "guess_family",
    "lookup_model",
    "normalize_name",
    "register_model",
]

FAMILIES = ("claude", "gpt", "gpt-oss", "gemini", "gemma", "llama", "unknown")
MODALITIES = ("text", "image", "audio", "video", "file")
REASONING_STYLES = ("hybrid", "effort", "always", None)
APIS = ("chat", "responses-only", "chat+responses")
THINKING_MODES = ("budget", "adaptive", "effort")
SAMPLING_PARAMS = ("temperature", "top_p", "top_k", "stop", "n", "logprobs", "top_logprobs")


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
    rejected_params: tuple[str, ...] = ()
    thinking: tuple[str, ...] = ()
    thinking_display_default: str | None = None
    multiple_tool_calls: bool = True
    prompt_caching: bool = False
    known: bool = False
    based_on: str | None = None  # the entry (or endpoint) the rules were taken from


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


def canonical_name(name: str) -> str:
    """:func:`normalize_name` with provider spellings folded: ``.``/``_`` -> ``-``, a ``vN``
    version token -> ``N``, and anything before the family word dropped
    (``us.anthropic.claude-opus-4-7`` -> ``claude-opus-4-7``, ``gpt-5.1`` -> ``gpt-5-1``)."""
    n = normalize_name(name).replace(".", "-").replace("_", "-").replace("/", "-")
    n = "-".join(
        t[1:] if len(t) > 1 and t[0] == "v" and t[1:].isdigit() else t for t in n.split("-")
    )
    for word in ("claude", "gpt", "gemini", "gemma"):
        at = n.find(word)
        if at > 0 and n[at - 1] == "-":
            return n[at:]
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
    for key, allowed in (("rejected_params", SAMPLING_PARAMS), ("thinking", THINKING_MODES)):
        got = tuple(values.get(key) or ())
        bad = [x for x in got if x not in allowed]
        if bad:
            raise ValueError(f"unknown {key} {bad}; allowed: {allowed}")
        values[key] = got
    return ModelInfo(**values)


def _unknown(name: str) -> ModelInfo:
    data = _load()
    family = guess_family(name)
    values = _family_defaults(family, data)
    # Unknown models: permissive about knobs (codecs don't refuse what they can't judge) but
    # conservative about limits.
    _apply_hints(values, name, data)
    if family == "gpt" and not normalize_name(name).startswith(("gpt-5", "o1", "o3", "o4")):
        values["reasoning"] = None  # gpt-4o & co. take no reasoning_effort
        values["thinking"] = ()
    values["name"] = name
    values["family"] = family
    values["known"] = False
    return _validated(values)


def _apply_hints(values: dict[str, Any], name: str, data: dict[str, Any]) -> None:
    """``name_hints`` in models.json: fields implied by a word in a name we derive or guess
    (``codex`` models are served through the Responses API only)."""
    n = name.lower()
    for word, fields_ in data.get("name_hints", {}).items():
        if word in n:
            values.update(fields_)


def _derived(name: str, data: dict[str, Any]) -> ModelInfo | None:
    from core.model_versions import pick_entry

    family = guess_family(name)
    if family == "unknown":
        return None
    entries = {**_models, **_overrides}
    candidates = [
        (k, v) for k, v in entries.items() if v.family == family and k == normalize_name(v.name)
    ]
    base = pick_entry(normalize_name(name), candidates)
    if base is None:
        return None
    values = asdict(base)
    values["name"] = name
    values["known"] = True
    values["based_on"] = base.name
    _apply_hints(values, name, data)
    return _validated(values)


def lookup_model(name: str) -> ModelInfo:
    """Registry entry for an endpoint name, a UC name or a bare name; safe defaults otherwise."""
    data = _load()
    key = normalize_name(name)
    info = _overrides.get(key) or _models.get(key)
    if info is not None:
        return info
    info = _unknown_cache.get(name)
    if info is None:
        canon = canonical_name(name)
        info = _overrides.get(canon) or _models.get(canon)
        if info is None:
            info = _derived(name, data) or _unknown(name)
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
