"""The emulator's deterministic scripted model: no I/O, no wire shapes.

A request is normalized into :class:`Turn` objects and a :class:`GenRequest`; :func:`generate`
returns a :class:`Plan` (reasoning, text, tool calls, finish reason, token counts) that the
server renders in whichever wire shape the route speaks (chat completions, Responses, streamed
or not). Everything is a pure function of the request, so tests can predict the answers.

Behaviour, by design simple and predictable:
- tool calls: when ``tool_choice`` forces one (``required``/``any`` or a name), or, in ``auto``
  mode, when the last user message names a tool (``magic_function``) or one of its keywords
  (``weather`` for ``get_weather``). Once per turn: after a tool result the model answers in text
  mentioning the result. Arguments are filled from the tool's JSON schema and the prompt:
  numbers in order for integer/number fields, quoted strings (any script) for strings, enum
  values named in the prompt, nested objects and arrays generically.
- ``response_format`` ``json_object``/``json_schema``: JSON built the same way.
- otherwise: ``You said: "<last user text>". ...`` honouring ``max_tokens`` (whitespace words)
  and ``stop``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SIGNING_KEY = b"databricks-llm-plugins-emulator"


# ---------------------------------------------------------------------------------------------
# Model families (same classification as core.registry: by name, prefixes ignored)
# ---------------------------------------------------------------------------------------------
def base_model_name(model: str) -> str:
    """Strip a ``+fault=...`` suffix."""
    return model.split("+", 1)[0]


def classify(model: str) -> str:
    name = base_model_name(model).lower()
    for prefix in ("system.ai.", "databricks-"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    if "gpt-oss" in name or "gpt_oss" in name:
        return "gpt-oss"
    if "claude" in name:
        return "claude"
    if "gemini" in name:
        return "gemini"
    if "gemma" in name:
        return "gemma"
    if "llama" in name:
        return "llama"
    if "gpt" in name or re.match(r"^o[134](-|$)", name):
        return "gpt"
    return "unknown"


# ---------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------
def sign(text: str, key: bytes = DEFAULT_SIGNING_KEY) -> str:
    """Deterministic Claude-like signature of a reasoning text."""
    mac = hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
    return "Eq" + base64.b64encode(mac).decode("ascii")


def thought_signature(text: str, key: bytes = DEFAULT_SIGNING_KEY) -> str:
    mac = hmac.new(key, b"thought:" + text.encode("utf-8"), hashlib.sha256).digest()
    return "CiQB" + base64.b64encode(mac).decode("ascii")


def encrypt_reasoning(text: str, key: bytes = DEFAULT_SIGNING_KEY) -> str:
    """Responses ``encrypted_content``: the text and its MAC, opaque to clients."""
    payload = json.dumps({"t": text, "m": sign(text, key)}, ensure_ascii=False)
    return "gAAAA" + base64.b64encode(payload.encode("utf-8")).decode("ascii")


def decrypt_reasoning(blob: str, key: bytes = DEFAULT_SIGNING_KEY) -> str | None:
    """The reasoning text inside ``encrypted_content``, or None when it was tampered with."""
    if not isinstance(blob, str) or not blob.startswith("gAAAA"):
        return None
    try:
        payload = json.loads(base64.b64decode(blob[5:].encode("ascii"), validate=True))
        text = payload["t"]
        if not hmac.compare_digest(payload["m"], sign(text, key)):
            return None
        return str(text)
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Normalized request
# ---------------------------------------------------------------------------------------------
@dataclass
class Turn:
    role: str
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {id, name, arguments}
    tool_call_id: str | None = None


@dataclass
class ToolSpec:
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None
    kind: str = "function"  # "function" | "custom"


@dataclass
class GenRequest:
    model: str
    family: str
    turns: list[Turn]
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str | None = None  # None/"auto" | "none" | "required" | "name:<tool>"
    parallel_tool_calls: bool = True
    json_mode: str | None = None  # None | "json_object" | "json_schema"
    json_schema: dict[str, Any] | None = None
    reasoning: bool = False
    signed_reasoning: bool = False
    hide_reasoning: bool = False  # reasoning happens (tokens, signature) but its text is omitted
    thought_signature: bool = False
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    cached_words: int = 0
    signing_key: bytes = DEFAULT_SIGNING_KEY


@dataclass
class PlannedCall:
    id: str
    name: str
    arguments: str
    kind: str = "function"


@dataclass
class Plan:
    text: str = ""
    reasoning: str | None = None
    signature: str | None = None
    thought_signature: str | None = None
    tool_calls: list[PlannedCall] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def words(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------------------------------------
# Prompt analysis and schema filling
# ---------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])-?\d+(?:\.\d+)?(?![A-Za-z0-9_])")
_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]+?)'(?!\w)|(?<!\w)\"([^\"\n]+?)\"(?!\w)|“([^”\n]+)”|「([^」\n]+)」|‘([^’\n]+)’"
)
_PLACE = re.compile(r"\b(?:in|at|near|for)\s+([A-Z][^?.!;]*)")
_ABOUT = re.compile(r"\babout\s+([^?.!;,]+)")
_STOPWORDS = {
    "get", "set", "tool", "tools", "fn", "func", "function", "do", "run", "call", "make", "the",
    "and", "for", "with", "from", "that", "this", "returns", "return", "input", "value", "values",
    "apply", "calculate", "compute", "given", "takes", "using", "which", "their", "about", "into",
}  # fmt: skip


class Filler:
    """Fills a JSON schema from a prompt: generic by type, values taken from the prompt."""

    def __init__(self, prompt: str, root: dict[str, Any] | None = None) -> None:
        self.prompt = prompt
        self.root = root or {}
        self.numbers = [m.group(0) for m in _NUMBER.finditer(prompt)]
        self.quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(prompt)]
        place = _PLACE.search(prompt)
        self.place = place.group(1).strip() if place else None
        about = _ABOUT.search(prompt)
        self.topic = about.group(1).strip() if about else None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 20:
            ref = schema["$ref"]
            target: Any = self.root
            if ref.startswith("#/"):
                for part in ref[2:].split("/"):
                    target = target.get(part, {}) if isinstance(target, dict) else {}
            else:
                target = {}
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def fill(self, schema: dict[str, Any] | None, name: str = "") -> Any:
        schema = self._resolve(schema or {})
        if "const" in schema:
            return schema["const"]
        if "enum" in schema and schema["enum"]:
            low = self.prompt.lower()
            for option in schema["enum"]:
                if str(option).lower() in low:
                    return option
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self._resolve(s) for s in schema[key]]
                non_null = [s for s in options if s.get("type") != "null"] or options
                merged = {k: v for k, v in schema.items() if k != key}
                return self.fill({**merged, **non_null[0]}, name)
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for sub in schema["allOf"]:
                merged.update(self._resolve(sub))
            return self.fill(merged, name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            props = schema.get("properties") or {}
            return {key: self.fill(sub, key) for key, sub in props.items()}
        if kind == "array":
            items = schema.get("items") or {}
            item_kind = self._resolve(items).get("type")
            if item_kind in ("integer", "number") and self.numbers:
                values = [self._number(item_kind, self._resolve(items)) for _ in list(self.numbers)]
            else:
                values = [self.fill(items, name)]
            while len(values) < int(schema.get("minItems", 0)):
                values.append(self.fill(items, name))
            return values
        if kind in ("integer", "number"):
            return self._number(kind, schema)
        if kind == "boolean":
            low = self.prompt.lower()
            return not any(w in low.split() for w in ("no", "false", "not"))
        if kind == "null":
            return None
        return self._string(schema, name)

    def _number(self, kind: str, schema: dict[str, Any]) -> int | float:
        value: float
        if self.numbers:
            value = float(self.numbers.pop(0))
        elif "default" in schema and isinstance(schema["default"], (int, float)):
            value = float(schema["default"])
        else:
            value = 0.0
        lo = schema.get("minimum")
        xlo = schema.get("exclusiveMinimum")
        hi = schema.get("maximum")
        xhi = schema.get("exclusiveMaximum")
        step = 1 if kind == "integer" else 0.5
        if lo is not None and value < lo:
            value = lo
        if xlo is not None and value <= xlo:
            value = xlo + step
        if hi is not None and value > hi:
            value = hi
        if xhi is not None and value >= xhi:
            value = xhi - step
        if kind == "integer" or value.is_integer():
            return int(value)
        return value

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date":
            return "2025-01-01"
        if fmt == "date-time":
            return "2025-01-01T00:00:00Z"
        if fmt in ("email",):
            return "user@example.com"
        if self.quoted:
            return self.quoted.pop(0)
        low = name.lower()
        if self.place and any(k in low for k in ("location", "city", "place", "address", "where")):
            return self.place
        desc = str(schema.get("description") or name or "value").strip()
        if self.topic:
            return f"{desc} about {self.topic}"
        if self.place:
            return self.place
        return self.prompt.strip()[:200] or desc


def _name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [t.lower() for t in re.split(r"[\s_\-.]+", spaced) if t]


def _prompt_words(prompt: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", prompt.lower())}


def choose_tools(req: GenRequest, prompt: str) -> list[ToolSpec]:
    tools = req.tools
    if not tools or req.tool_choice == "none":
        return []
    if req.tool_choice and req.tool_choice.startswith("name:"):
        wanted = req.tool_choice[5:]
        return [t for t in tools if t.name == wanted][:1]
    low = prompt.lower()
    named = sorted(
        (t for t in tools if t.name.lower() in low or " ".join(_name_tokens(t.name)) in low),
        key=lambda t: low.find(t.name.lower()) if t.name.lower() in low else len(low),
    )
    if named:
        return named if req.parallel_tool_calls else named[:1]
    pwords = _prompt_words(prompt)

    def score(tool: ToolSpec) -> int:
        s = 0
        for tok in _name_tokens(tool.name):
            if len(tok) >= 3 and tok not in _STOPWORDS and any(w.startswith(tok) for w in pwords):
                s += 2
        for tok in set(re.findall(r"[a-z]{6,}", tool.description.lower())):
            if tok not in _STOPWORDS and tok in pwords:
                s += 1
        return s

    best = max(tools, key=score)
    if score(best) >= 2:
        return [best]
    if req.tool_choice == "required":
        return [tools[0]]
    return []


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
def _cut_words(text: str, limit: int) -> str:
    if limit <= 0:
        return ""
    count = 0
    for m in re.finditer(r"\S+", text):
        count += 1
        if count == limit:
            return text[: m.end()]
    return text


def _call_id(req: GenRequest, prompt: str, index: int) -> str:
    digest = hashlib.sha1(f"{req.model}|{prompt}|{len(req.turns)}|{index}".encode()).hexdigest()
    return "call_" + digest[:24]


def generate(req: GenRequest) -> Plan:
    turns = req.turns
    last_user = max((i for i, t in enumerate(turns) if t.role == "user"), default=-1)
    prompt = turns[last_user].text if last_user >= 0 else ""
    after = turns[last_user + 1 :] if last_user >= 0 else list(turns)
    tool_results = [t for t in after if t.role == "tool"]

    plan = Plan()
    plan.prompt_tokens = sum(words(t.text) + 1 for t in turns) + sum(
        words(c.get("arguments") or "") for t in turns for c in t.tool_calls
    )
    plan.cached_tokens = min(req.cached_words, plan.prompt_tokens)

    calls: list[ToolSpec] = []
    if req.json_mode is None:
        if req.tool_choice in ("required",) or (req.tool_choice or "").startswith("name:"):
            calls = choose_tools(req, prompt)
        elif not tool_results:
            calls = choose_tools(req, prompt)

    snippet = prompt if len(prompt) <= 120 else prompt[:117] + "..."
    if req.reasoning:
        if calls:
            plan.reasoning = (
                f'The user wrote "{snippet}". The {calls[0].name} tool can answer this, '
                "so I will call it with arguments taken from the request."
            )
        elif tool_results:
            plan.reasoning = "The tool returned a result; I will use it to answer the user."
        else:
            plan.reasoning = (
                f'The user wrote "{snippet}". I will answer briefly and repeat their words.'
            )
        plan.reasoning_tokens = words(plan.reasoning)
        if req.hide_reasoning:
            plan.reasoning = ""
        if req.signed_reasoning:
            plan.signature = sign(plan.reasoning, req.signing_key)

    if calls:
        for i, tool in enumerate(calls):
            if tool.kind == "custom":
                args = prompt
            else:
                filler = Filler(prompt, tool.parameters)
                args_value = filler.fill(tool.parameters or {"type": "object", "properties": {}})
                if not isinstance(args_value, dict):
                    args_value = {}
                args = json.dumps(args_value, ensure_ascii=False)
            plan.tool_calls.append(
                PlannedCall(_call_id(req, prompt, i), tool.name, args, tool.kind)
            )
        plan.finish_reason = "tool_calls"
        plan.completion_tokens = plan.reasoning_tokens + sum(
            max(1, words(c.arguments)) for c in plan.tool_calls
        )
        return plan

    if req.json_mode is not None:
        if req.json_schema:
            value = Filler(prompt, req.json_schema).fill(req.json_schema)
        else:
            keys = [q for q in Filler(prompt).quoted if re.fullmatch(r"\w+", q)]
            filler = Filler(prompt)
            filler.quoted = []
            value = (
                {k: filler.fill({"type": "string"}, k) for k in keys}
                if keys
                else {"answer": f'You said: "{snippet}"'}
            )
        text = json.dumps(value, ensure_ascii=False)
    elif tool_results:
        names = {c.get("id"): c.get("name") for t in turns for c in t.tool_calls}
        pieces = [
            f"The {names.get(t.tool_call_id) or 'tool'} tool returned {t.text.strip().rstrip('.')}."
            for t in tool_results
        ]
        text = " ".join(pieces) + " That is the answer to your question."
    else:
        text = f'You said: "{snippet}". This is a scripted answer from the Databricks emulator.'

    finish = "stop"
    for s in req.stop:
        if s and s in text:
            text = text[: text.index(s)]
    if req.max_tokens is not None and req.json_mode is None:
        budget = max(req.max_tokens - plan.reasoning_tokens, 1)
        if words(text) > budget:
            text = _cut_words(text, budget)
            finish = "length"
    if req.thought_signature:
        plan.thought_signature = thought_signature(text, req.signing_key)
    plan.text = text
    plan.finish_reason = finish
    plan.completion_tokens = plan.reasoning_tokens + max(1, words(text))
    return plan
