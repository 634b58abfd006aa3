"""Everything an adapter (or the CLI) is handed that is not framework-specific, normalised once.

Both adapters and the CLI call this module; neither knows a wire format:

- tools (:func:`tools_from_specs`) and tool choice (:func:`tool_choice_from`), one parser
  each, one error type (:class:`core.errors.InvalidRequestError`, a ``ValueError``);
- OpenAI-style ``response_format`` dicts and pydantic classes (:func:`response_format_from`);
- call keyword arguments -> :class:`core.types.GenerationParams` plus per-call HTTP headers
  (:func:`call_params`), with a "did you mean" error for near misses of known names;
- constructor keywords the adapter does not know (:func:`sort_unknown_kwargs`);
- "send the model's raw argument text back unless the parsed arguments were edited"
  (:func:`replay_arguments`).

Compatibility aliases of the official integrations live next door in :mod:`core.compat`,
strict JSON schemas in :mod:`core.schema`.
"""

from __future__ import annotations

import difflib
import json
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import fields as dc_fields
from typing import Any, cast

from core.errors import InvalidRequestError
from core.types import GenerationParams, NamedToolChoice, ResponseFormat, Tool, ToolChoice

__all__ = [
    "Call",
    "PARAM_NAMES",
    "call_params",
    "header_map",
    "near_miss",
    "replay_arguments",
    "response_format_from",
    "sort_unknown_kwargs",
    "tool_choice_from",
    "tool_choice_to_openai",
    "tool_from_spec",
    "tools_from_specs",
    "validate_metadata",
]

PARAM_NAMES = frozenset(f.name for f in dc_fields(GenerationParams))
# Call keywords handled here besides the GenerationParams fields.
CALL_NAMES = PARAM_NAMES | {"extra_headers"}
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_CHOICE_WORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}

# Responses API ``metadata`` limits. Databricks documents 64-character keys and 512-character
# string values (shared/databricks-docs/003); the 16-key limit is OpenAI's, whose API the
# Databricks Responses endpoint follows.
METADATA_MAX_KEYS = 16
METADATA_MAX_KEY_LEN = 64
METADATA_MAX_VALUE_LEN = 512


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
def tool_from_spec(spec: Any) -> Tool:
    """One tool from a :class:`Tool` or a dict in any common spelling.

    Accepted: OpenAI chat (``{"type": "function", "function": {...}}``), flat function specs
    (Responses ``{"type": "function", "name", "parameters"}``, Anthropic ``{"name",
    "input_schema"}``, or ``{"name", "parameters"}``), free-text ``custom`` tools, and
    Responses built-in tools (any other ``type``; their configuration is kept whole).
    """
    if isinstance(spec, Tool):
        return spec
    # (type checks before ABC isinstance: this runs for every tool on every call)
    if type(spec) is not dict and not isinstance(spec, Mapping):
        raise InvalidRequestError(
            f"a tool must be a dict (or core.types.Tool), not {type(spec).__name__}",
            hint='e.g. {"type": "function", "function": {"name": ..., "parameters": {...}}}',
        )
    kind = spec.get("type", "function")
    if not isinstance(kind, str) or not kind:
        raise InvalidRequestError(f"tool type must be a string, not {kind!r}")
    if kind == "function":
        fn = spec.get("function", spec)
        if type(fn) is not dict and not isinstance(fn, Mapping):
            raise InvalidRequestError(f"tool 'function' must be an object, not {fn!r}")
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError(
                f"function tool without a name: {dict(spec)!r}",
                hint="give every function tool a 'name'",
            )
        params = fn.get("parameters") or fn.get("input_schema")
        if params is not None and type(params) is not dict and not isinstance(params, Mapping):
            raise InvalidRequestError(f"tool {name!r}: parameters must be a JSON schema object")
        strict = fn.get("strict")
        schema = dict(params) if params else dict(_EMPTY_SCHEMA)
        if strict is True:
            # strict mode refuses open objects and optional properties: make it strict-valid
            from core.schema import strict_schema

            schema = strict_schema(schema)
        return Tool(
            name=name,
            description=str(fn.get("description") or ""),
            parameters=schema,
            strict=strict if isinstance(strict, bool) else None,
        )
    name = spec.get("name")
    return Tool(
        name=str(name or kind),
        description=str(spec.get("description") or ""),
        kind=kind,
        raw=dict(spec),
    )


def tools_from_specs(specs: Iterable[Any] | None) -> list[Tool] | None:
    """:func:`tool_from_spec` over a list; ``None``/empty gives ``None``."""
    if not specs:
        return None
    if type(specs) is not list and isinstance(specs, (str, bytes, Mapping)):
        raise InvalidRequestError("tools must be a list of tools, not a single value")
    out: list[Tool] = []
    for n, spec in enumerate(specs):
        try:
            out.append(tool_from_spec(spec))
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"tool {n}: {exc.message}", hint=exc.hint) from None
    return out


# ---------------------------------------------------------------------------------------------
# Tool choice
# ---------------------------------------------------------------------------------------------
def tool_choice_from(
    choice: Any, tool_names: Collection[str] | None = None, *, required: bool = False
) -> ToolChoice | None:
    """Any spelling of a tool choice -> the neutral :data:`core.types.ToolChoice`.

    ``"auto"``, ``"none"``, ``"required"``/``"any"``, a tool name, ``True`` (the only tool, or
    some tool when several), ``False``/``None`` (no choice; ``"required"`` when ``required``),
    OpenAI (``{"type": "function", "function": {"name"}}``), Responses/Anthropic
    (``{"type": "function"|"tool"|"custom", "name"}``, ``{"type": "any"|"auto"|"none"}``) or a
    :class:`NamedToolChoice`. With ``tool_names`` given, a named tool must be among them.
    """
    if choice is None or choice is False:
        return "required" if required else None
    named: str | None = None
    if choice is True:
        if tool_names is not None and len(tool_names) == 1:
            named = next(iter(tool_names))
        else:
            return "required"
    elif isinstance(choice, NamedToolChoice):
        named = choice.name
    elif isinstance(choice, str):
        word = _CHOICE_WORDS.get(choice)
        if word is not None:
            return cast(ToolChoice, word)
        named = choice
    elif type(choice) is dict or isinstance(choice, Mapping):
        fn = choice.get("function")
        ctype = choice.get("type")
        if (type(fn) is dict or isinstance(fn, Mapping)) and isinstance(fn.get("name"), str):
            named = fn["name"]
        elif ctype in ("function", "tool", "custom") and isinstance(choice.get("name"), str):
            named = choice["name"]
        elif isinstance(ctype, str) and ctype in _CHOICE_WORDS:
            return cast(ToolChoice, _CHOICE_WORDS[ctype])
        else:
            raise InvalidRequestError(
                f"Unrecognized tool_choice {dict(choice)!r}",
                hint='use {"type": "function", "function": {"name": ...}} or {"type": "auto"}',
            )
    else:
        raise InvalidRequestError(
            "Unrecognized tool_choice type. Expected str, bool, dict or NamedToolChoice. "
            f"Received: {choice!r}"
        )
    if not named:
        raise InvalidRequestError("tool_choice names no tool (empty name)")
    if tool_names is not None and named not in tool_names:
        raise InvalidRequestError(
            f"Tool choice {named!r} was specified, but it is not among the tools given "
            f"({', '.join(sorted(tool_names)) or 'no tools'})",
            hint="use 'auto', 'none', 'any'/'required' or the name of a bound tool",
        )
    return NamedToolChoice(named)


def tool_choice_to_openai(choice: ToolChoice | None) -> str | dict[str, Any] | None:
    """The OpenAI spelling users see in a LangChain binding (``bound.kwargs["tool_choice"]``)."""
    if isinstance(choice, NamedToolChoice):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


# ---------------------------------------------------------------------------------------------
# Response format
# ---------------------------------------------------------------------------------------------
def response_format_from(value: Any) -> ResponseFormat | None:
    """An OpenAI-style ``response_format`` (chat ``{"type": "json_schema", "json_schema":
    {...}}`` or Responses ``text.format`` ``{"type": "json_schema", "name", "schema"}``), a
    pydantic model class, or a :class:`ResponseFormat`, as the neutral type."""
    if value is None or isinstance(value, ResponseFormat):
        return value
    if isinstance(value, type):
        schema_of = getattr(value, "model_json_schema", None)
        if callable(schema_of):  # a pydantic model class
            import re

            return ResponseFormat(
                type="json_schema",
                schema=schema_of(),
                name=re.sub(r"[^a-zA-Z0-9_-]", "_", value.__name__)[:64] or "output",
                description=(value.__doc__ or "").strip() or None,
            )
    rtype = value.get("type") if isinstance(value, Mapping) else None
    if rtype == "json_schema":
        spec = value.get("json_schema", value)
        if not isinstance(spec, Mapping):
            raise InvalidRequestError(
                f"response_format json_schema must be an object, not {spec!r}"
            )
        strict = spec.get("strict")
        return ResponseFormat(
            type="json_schema",
            schema=spec.get("schema"),
            name=spec.get("name"),
            strict=strict if isinstance(strict, bool) else None,
            description=spec.get("description"),
        )
    if rtype in ("json_object", "text"):
        return ResponseFormat(type=rtype)
    raise InvalidRequestError(
        f"unsupported response_format {value!r}",
        hint='use {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}',
    )


# ---------------------------------------------------------------------------------------------
# Metadata, headers
# ---------------------------------------------------------------------------------------------
def validate_metadata(metadata: Any) -> dict[str, str]:
    """The Responses API ``metadata`` parameter, checked before sending."""
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError(
            f"metadata must be a dict of strings, not {type(metadata).__name__}"
        )
    if len(metadata) > METADATA_MAX_KEYS:
        raise InvalidRequestError(
            f"metadata has {len(metadata)} keys; the Responses API takes at most "
            f"{METADATA_MAX_KEYS}",
            hint="keep the keys you need, or join related values into one",
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or len(key) > METADATA_MAX_KEY_LEN:
            raise InvalidRequestError(
                f"metadata key {key!r} must be a string of at most {METADATA_MAX_KEY_LEN} "
                "characters"
            )
        if not isinstance(value, str) or len(value) > METADATA_MAX_VALUE_LEN:
            raise InvalidRequestError(
                f"metadata[{key!r}] must be a string of at most {METADATA_MAX_VALUE_LEN} "
                f"characters (got {type(value).__name__}"
                + (f" of {len(value)})" if isinstance(value, str) else ")"),
                hint="convert values to short strings (json.dumps for structures)",
            )
    return dict(metadata)


def header_map(value: Any, what: str = "headers") -> dict[str, str] | None:
    """HTTP headers a user passes (``default_headers``, per-call ``extra_headers``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{what} must be a dict of header name -> value")
    out: dict[str, str] = {}
    for name, val in value.items():
        if not isinstance(name, str) or not isinstance(val, str):
            raise InvalidRequestError(
                f"{what}: header {name!r} must map a string to a string, not {type(val).__name__}",
                hint="json.dumps structured values (e.g. Databricks-Ai-Gateway-Request-Tags)",
            )
        if any(c in name + val for c in "\r\n"):
            raise InvalidRequestError(f"{what}: header {name!r} contains a line break")
        out[name] = val
    return out or None


# ---------------------------------------------------------------------------------------------
# Call keyword arguments
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Call:
    """What one call sends: generation parameters and extra HTTP headers."""

    params: GenerationParams
    headers: dict[str, str] | None = None


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is most probably a typo of (``temprature`` -> ``temperature``)."""
    if len(name) < 4:
        return None
    got = difflib.get_close_matches(name, list(known), n=1, cutoff=0.8)
    return got[0] if got else None


def call_params(
    defaults: Mapping[str, Any],
    kwargs: Mapping[str, Any],
    *,
    skip: Collection[str] = (),
    extra_known: Collection[str] = (),
) -> Call:
    """Build one call's :class:`Call` from an adapter's defaults and the call's keywords.

    ``defaults`` (constructor-level values: ``temperature``, ``extra_body``,
    ``custom_inputs``, ...) are overridden key by key by ``kwargs``, except ``extra_body`` and
    ``extra_headers``, which merge (call wins per key). ``None`` means unset. Keywords in
    ``skip`` are the framework's own and ignored. Any other keyword goes into the JSON body
    as given (like ChatOpenAI's bound keywords), unless it is a near miss of a known name,
    which raises; ``extra_body={...}`` sends any field without that check.
    """
    p = GenerationParams()
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    tools: Any = None
    choice: Any = None
    for source in (defaults, kwargs):
        for key, value in source.items():
            if key in skip:
                continue
            if key in PARAM_NAMES:
                if key == "extra_body":
                    if value:
                        if not isinstance(value, Mapping):
                            raise InvalidRequestError("extra_body must be a dict")
                        extra.update(value)
                elif key == "tools":
                    tools = value
                elif key == "tool_choice":
                    choice = value
                else:
                    setattr(p, key, value)
            elif key == "extra_headers":
                more = header_map(value, "extra_headers")
                if more:
                    headers.update(more)
            else:
                guess = near_miss(key, CALL_NAMES.union(extra_known))
                if guess is not None:
                    raise InvalidRequestError(
                        f"unknown argument {key!r}: did you mean {guess!r}?",
                        hint=f"to send a body field named {key!r} anyway, pass "
                        f"extra_body={{{key!r}: ...}}",
                    )
                extra[key] = value
    if tools:
        p.tools = tools_from_specs(tools)
    if choice is not None:
        names = [t.name for t in p.tools] if p.tools else None
        p.tool_choice = tool_choice_from(choice, names)
    if p.stop is not None:
        stop: Any = p.stop
        p.stop = [stop] if isinstance(stop, str) else (list(stop) or None)
    if p.response_format is not None:
        p.response_format = response_format_from(p.response_format)
    if p.metadata is not None:
        p.metadata = validate_metadata(p.metadata)
    if extra.get("metadata") is not None:
        # LangChain's own ``metadata`` keyword is taken by callbacks: there the API's
        # parameter arrives through extra_body or model_kwargs. Checked the same way.
        extra["metadata"] = validate_metadata(extra["metadata"])
    if extra:
        p.extra_body = extra
    return Call(p, headers or None)


def sort_unknown_kwargs(
    unknown: Mapping[str, Any], known: Collection[str], *, owner: str, into: str
) -> dict[str, Any]:
    """Constructor keywords the adapter has no field for, handled as LangChain's ChatOpenAI
    does: a near miss of a known field raises ("did you mean"); anything else is kept (the
    adapter sends it in the request body) with a warning naming where it went."""
    kept: dict[str, Any] = {}
    for key, value in unknown.items():
        guess = near_miss(key, known)
        if guess is not None:
            raise InvalidRequestError(
                f"{owner}() got an unknown argument {key!r}: did you mean {guess!r}?"
            )
        warnings.warn(
            f"{key!r} is not a parameter of {owner}; it was moved to {into} and will be sent "
            f"in the request body. Please confirm that {key!r} is what you intended.",
            UserWarning,
            stacklevel=4,
        )
        kept[key] = value
    return kept


# ---------------------------------------------------------------------------------------------
# Tool-call arguments going back to the model
# ---------------------------------------------------------------------------------------------
def replay_arguments(
    args: Any, raw: str | None, *, lenient: Callable[[str], Any] | None = None
) -> str:
    """The argument text to send back for a tool call: the model's ``raw`` text when the
    parsed ``args`` still say the same thing (byte-exact replay), else ``args`` as JSON.

    ``lenient`` is the framework's partial-JSON parser: a streamed call whose raw text was
    cut short was parsed leniently, so compare alike. A ``str`` ``args`` is already text.
    """
    if isinstance(args, str):
        return args
    # A blank raw text is never replayed: Claude endpoints reject "" arguments (send "{}").
    if raw is not None and raw.strip():
        try:
            same = json.loads(raw) == args
        except ValueError:
            same = False
            if lenient is not None:
                try:
                    same = lenient(raw) == args
                except ValueError:
                    same = False
        if same:
            return raw
    return json.dumps(args if args is not None else {}, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Which surface takes what
# ---------------------------------------------------------------------------------------------
RESPONSES_ONLY = (
    "instructions",
    "reasoning_summary",
    "include",
    "metadata",
    "truncation",
    "max_tool_calls",
)


def refuse_responses_only(params: GenerationParams) -> None:
    """Chat completions has no place for the Responses API's own parameters: say so rather
    than drop them."""
    given = [name for name in RESPONSES_ONLY if getattr(params, name) is not None]
    if given:
        raise InvalidRequestError(
            f"{', '.join(given)} {'is a' if len(given) == 1 else 'are'} Responses API "
            "parameter(s), and this call goes to chat completions",
            hint="set use_responses_api=True (OpenAI models, agents), or send the field "
            "yourself with extra_body={...}",
        )
