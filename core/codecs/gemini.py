"""Gemini's native ``generateContent`` API (through Unity AI Gateway): neutral conversation ->
request JSON. Pure functions, no I/O; the answer side is :mod:`core.codecs.gemini_response`.

Wire facts (Databricks "Query foundation models through Unity AI Gateway", Google Gemini API
tab; Google's ``generateContent`` reference and thought-signature guide):

* ``contents`` of ``{"role": "user"|"model", "parts": [...]}``; a part is ``text``,
  ``inlineData {mimeType, data}`` (base64), ``fileData {mimeType, fileUri}``, ``functionCall
  {name, args, id?}`` or ``functionResponse {name, response, id?}``; model parts may carry
  ``thought: true`` (thought summaries) and an opaque ``thoughtSignature``;
* ``systemInstruction``, ``tools[].functionDeclarations``, ``toolConfig.functionCallingConfig``,
  ``generationConfig`` (with ``thinkingConfig``);
* a ``thoughtSignature`` must go back on the same part, byte for byte (Gemini 3 refuses a
  history whose function call lost it).

Mapping decisions: system and developer messages become ``systemInstruction`` parts (Gemini
has no system turn; their position in the conversation is not kept); tool results become
``functionResponse`` parts of a user turn, named after the call they answer; a JSON-object
result is the ``response`` as is, anything else ``{"result": ...}`` (``{"error": ...}`` when
it is an error). Function call ids go back only when the server sent one (kept in the call's
``extras``). Thinking: Gemini 3 models take a ``thinkingLevel``, earlier ones a
``thinkingBudget`` (:data:`THINKING_LEVEL_MODELS`).
"""

from __future__ import annotations

import json
import mimetypes
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.codecs.gemini_response import StreamDecoder, parse_response
from core.codecs.media import media_url
from core.codecs.policy import budget_from_effort, check_response_format, resolve_tool_choice
from core.errors import InvalidRequestError
from core.params import RESPONSES_ONLY
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    NamedToolChoice,
    ReasoningPart,
    ServerToolPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import ModelInfo

__all__ = ["StreamDecoder", "build_request", "parse_response"]

SIGNATURE = "thoughtSignature"
WIRE_ID = "id"  # ToolCallPart.extras key: the functionCall id the server sent (absent: none)
# Model names that take thinkingConfig.thinkingLevel (Gemini 3); others take thinkingBudget.
THINKING_LEVEL_MODELS = ("gemini-3",)
_LEVELS = {"minimal": "low", "low": "low", "medium": "high", "high": "high", "xhigh": "high"}
# Keys of Google's OpenAPI-subset Schema; a JSON schema using any other key goes as
# parametersJsonSchema / responseJsonSchema (full JSON Schema) instead.
_SCHEMA_KEYS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "items", "maxItems",
        "minItems", "properties", "required", "minProperties", "maxProperties", "minLength",
        "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default", "minimum",
        "maximum",
    }
)  # fmt: skip
_YOUTUBE = ("https://www.youtube.com/", "https://youtube.com/", "https://youtu.be/")


def build_request(
    messages: Sequence[Message],
    params: GenerationParams,
    *,
    model: str | None,
    info: ModelInfo | None = None,
    stream: bool,
    external: bool = False,
) -> dict[str, Any]:
    """A ``generateContent`` body. ``model`` and ``stream`` are in the URL, not the body."""
    _refuse_foreign(params)
    system, contents = _contents(messages)
    if params.instructions:
        system.insert(0, {"text": params.instructions})
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if params.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in params.tools]}]
    choice = resolve_tool_choice(params.tool_choice, params.tools)
    if choice is not None:
        body["toolConfig"] = {"functionCallingConfig": _calling_config(choice)}
    if params.parallel_tool_calls is False:
        warnings.warn(
            "parallel_tool_calls=False: Gemini's API has no such switch; the model may still "
            "call several functions at once",
            UserWarning,
            stacklevel=3,
        )
    config = _generation_config(params, info, model)
    if config:
        body["generationConfig"] = config
    if params.extra_body:
        body.update(params.extra_body)
    return body


def _refuse_foreign(params: GenerationParams) -> None:
    given = [n for n in (*RESPONSES_ONLY, "custom_inputs", "context") if n != "instructions"]
    given = [n for n in given if getattr(params, n) is not None]
    if given:
        raise InvalidRequestError(
            f"{', '.join(given)}: Gemini's native API has no such parameter",
            hint="drop it, or send a field of Google's own with extra_body={...}",
        )


# ---------------------------------------------------------------------------------------------
# Contents
# ---------------------------------------------------------------------------------------------
def _contents(messages: Sequence[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    calls: dict[str, ToolCallPart] = {}  # call id -> call, to name functionResponses
    for i, msg in enumerate(messages):
        if msg.role in ("system", "developer"):
            for p in msg.parts:
                if not isinstance(p, TextPart):
                    raise InvalidRequestError(f"message {i}: a {msg.role} message can only hold text")
                system.append({"text": p.text})
            continue
        if msg.role == "assistant":
            role, parts = "model", _model_parts(msg, i, calls)
        elif msg.role in ("user", "tool"):
            role, parts = "user", _user_parts(msg, i, calls)
        else:
            raise InvalidRequestError(
                f"unknown message role {msg.role!r}",
                hint="roles are system, developer, user, assistant and tool",
            )
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:  # e.g. several tool results: one turn
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _with_signature(wire: dict[str, Any], extras: dict[str, Any] | None) -> dict[str, Any]:
    """The part with every wire field that rode on it (the thoughtSignature above all)."""
    if extras:
        for key, value in extras.items():
            if key != WIRE_ID:
                wire[key] = value
    return wire


def _model_parts(msg: Message, i: int, calls: dict[str, ToolCallPart]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for p in msg.parts:
        if isinstance(p, TextPart):
            if p.text or p.extras:
                parts.append(_with_signature({"text": p.text}, p.extras))
        elif isinstance(p, ReasoningPart):
            if p.redacted is not None:
                # another provider's encrypted reasoning: Gemini cannot read it, and leaving
                # reasoning out of a history is always valid
                continue
            part: dict[str, Any] = {"text": p.text, "thought": True}
            if p.signature is not None:
                part[SIGNATURE] = p.signature
            parts.append(_with_signature(part, p.extras))
        elif isinstance(p, ToolCallPart):
            calls[p.id] = p
            parts.append(_with_signature({"functionCall": _function_call(p, i)}, p.extras))
        elif isinstance(p, ServerToolPart):
            parts.append(p.item)  # a part Gemini sent (code execution...) goes back whole
        else:
            raise InvalidRequestError(
                f"message {i}: an assistant message cannot hold a {type(p).__name__} on Gemini"
            )
    return parts


def _function_call(p: ToolCallPart, i: int) -> dict[str, Any]:
    try:
        args = json.loads(p.arguments) if p.arguments.strip() else {}
    except ValueError:
        raise InvalidRequestError(
            f"message {i}: tool call {p.name!r} has arguments that are not JSON: "
            f"{p.arguments[:80]!r}",
            hint="Gemini takes function arguments as a JSON object",
        ) from None
    if not isinstance(args, dict):
        raise InvalidRequestError(f"message {i}: tool call {p.name!r} arguments must be an object")
    call: dict[str, Any] = {"name": p.name, "args": args}
    wire_id = (p.extras or {}).get(WIRE_ID)
    if isinstance(wire_id, str):
        call["id"] = wire_id
    return call


def _user_parts(msg: Message, i: int, calls: dict[str, ToolCallPart]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for p in msg.parts:
        if isinstance(p, TextPart):
            parts.append({"text": p.text})
        elif isinstance(p, MediaPart):
            parts.append(_media(p, i))
        elif isinstance(p, ToolResultPart):
            parts.extend(_function_response(p, i, calls))
        else:
            raise InvalidRequestError(
                f"message {i}: a {msg.role} message cannot hold a {type(p).__name__}"
            )
    return parts


def _function_response(
    p: ToolResultPart, i: int, calls: dict[str, ToolCallPart]
) -> list[dict[str, Any]]:
    call = calls.get(p.tool_call_id)
    name = p.name or (call.name if call is not None else None)
    if not name:
        raise InvalidRequestError(
            f"message {i}: tool result {p.tool_call_id!r} answers no earlier tool call, and "
            "Gemini needs the function's name",
            hint="keep the assistant message with the call in the history, or set the name",
        )
    media: list[dict[str, Any]] = []
    if isinstance(p.content, str):
        text = p.content
    else:
        text = "".join(c.text for c in p.content if isinstance(c, TextPart))
        media = [_media(c, i) for c in p.content if isinstance(c, MediaPart)]
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict) and not p.is_error:
        response: dict[str, Any] = value
    else:
        response = {"error" if p.is_error else "result": text}
    fr: dict[str, Any] = {"name": name, "response": response}
    wire_id = ((call.extras or {}) if call is not None else {}).get(WIRE_ID)
    if isinstance(wire_id, str):
        fr["id"] = wire_id
    return [{"functionResponse": fr}, *media]


def _media(p: MediaPart, i: int) -> dict[str, Any]:
    url = media_url(p, i)  # the shared checks (image bytes really an image, MIME types...)
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        if ";base64" not in head:
            raise InvalidRequestError(f"message {i}: {p.kind} data URI must be base64")
        return {"inlineData": {"mimeType": head[5:].split(";", 1)[0], "data": data}}
    mime = p.mime_type or mimetypes.guess_type(url.split("?", 1)[0])[0]
    file_data: dict[str, Any] = {"fileUri": url}
    if mime is not None:
        file_data["mimeType"] = mime
    elif not url.startswith(_YOUTUBE):
        raise InvalidRequestError(
            f"message {i}: cannot tell the MIME type of {p.kind} URL {url[:80]!r}",
            hint="set MediaPart(mime_type=...), e.g. video/mp4 or audio/mp3",
        )
    return {"fileData": file_data}


# ---------------------------------------------------------------------------------------------
# Tools and generation config
# ---------------------------------------------------------------------------------------------
def _subset_schema(schema: Any) -> bool:
    """Whether a JSON schema uses only keys of Google's OpenAPI-subset ``Schema``."""
    if isinstance(schema, list):
        return all(_subset_schema(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS or (key == "type" and not isinstance(value, str)):
            return False
        if key == "properties":
            if not isinstance(value, dict) or not all(_subset_schema(v) for v in value.values()):
                return False
        elif key in ("items", "anyOf") and not _subset_schema(value):
            return False
    return True


def _declaration(tool: Tool) -> dict[str, Any]:
    if tool.kind != "function":
        raise InvalidRequestError(
            f"tool {tool.name!r} is a {tool.kind!r} tool; Gemini's API takes function "
            "declarations only",
            hint="describe it as a function, or use a GPT-5 model on the Responses API",
        )
    decl: dict[str, Any] = {"name": tool.name}
    if tool.description:
        decl["description"] = tool.description
    if tool.parameters.get("properties") or tool.parameters.get("type") != "object":
        key = "parameters" if _subset_schema(tool.parameters) else "parametersJsonSchema"
        decl[key] = tool.parameters
    return decl


def _calling_config(choice: Any) -> dict[str, Any]:
    if isinstance(choice, NamedToolChoice):
        return {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    return {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice]}


def _generation_config(
    params: GenerationParams, info: ModelInfo | None, model: str | None
) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for wire, value in (
        ("temperature", params.temperature),
        ("topP", params.top_p),
        ("topK", params.top_k),
        ("maxOutputTokens", params.max_tokens),
        ("candidateCount", params.n),
    ):
        if value is not None:
            cfg[wire] = value
    if params.stop:
        cfg["stopSequences"] = list(params.stop)
    if params.logprobs:
        cfg["responseLogprobs"] = True
    if params.top_logprobs is not None:
        cfg["logprobs"] = params.top_logprobs
    rf = params.response_format
    if rf is not None and rf.type != "text":
        check_response_format(rf)
        cfg["responseMimeType"] = "application/json"
        if rf.type == "json_schema":
            key = "responseSchema" if _subset_schema(rf.schema) else "responseJsonSchema"
            cfg[key] = rf.schema
    thinking = _thinking(params, info, model)
    if thinking:
        cfg["thinkingConfig"] = thinking
    return cfg


def _thinking(
    params: GenerationParams, info: ModelInfo | None, model: str | None
) -> dict[str, Any]:
    effort, budget = params.reasoning_effort, params.thinking_budget
    if effort is None and budget is None:
        return {}
    if effort is not None and budget is not None:
        raise InvalidRequestError(
            "set either thinking_budget or reasoning_effort for Gemini, not both"
        )
    if info is not None and info.known and info.reasoning is None:
        raise InvalidRequestError(f"model {info.name!r} does not support reasoning controls")
    if effort in ("none", "disabled", "off"):
        return {"thinkingBudget": 0}
    name = (info.name if info is not None else model or "").lower()
    if budget is None and any(m in name for m in THINKING_LEVEL_MODELS):
        level = _LEVELS.get(str(effort))
        if level is None:
            raise InvalidRequestError(
                f"reasoning_effort {effort!r} has no Gemini thinking level",
                hint="use low or high (minimal/medium/xhigh map onto them)",
            )
        return {"thinkingLevel": level, "includeThoughts": True}
    if budget is None:
        budget = budget_from_effort(str(effort))
        if budget is None:
            raise InvalidRequestError(
                f"reasoning_effort {effort!r} has no Gemini thinking budget",
                hint="use minimal, low, medium, high or xhigh, or set thinking_budget",
            )
    return {"thinkingBudget": budget, "includeThoughts": True}
