"""Emulator routes for Gemini's native API through Unity AI Gateway:
``POST /ai-gateway/gemini/v1beta/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``, for the emulator's Gemini-like models.

Written from Google's ``generateContent`` reference and the Databricks page's examples,
independently of the client's codec. Behaviour:

* ``contents`` of ``user``/``model`` turns with ``text``, ``inlineData``, ``fileData``,
  ``functionCall`` (model) and ``functionResponse`` (user) parts; anything else is a 400 like
  Google's "Unknown name" answer; a function response turn must follow the call turn with as
  many responses as calls (Google's two rules);
* every answer is signed: the first ``functionCall`` part, or the text, carries a
  ``thoughtSignature`` (an HMAC of what it rides on); a history part whose signature does not
  match is a 400, as a modified Claude signature is; on Gemini 3 names a model turn's first
  function call without a signature is a 400 too (Google enforces that from Gemini 3);
* ``thinkingConfig.includeThoughts`` adds a ``thought: true`` summary part;
  ``thinkingLevel`` is for Gemini 3 names only, and not together with ``thinkingBudget``;
* streams: one whole ``GenerateContentResponse`` per SSE event (``\\r\\n`` separated, as
  Google sends them), ``usageMetadata`` cumulative on every chunk, the signature of a text
  answer on a last empty text part with ``finishReason``; no terminal ``[DONE]``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.emulator.model import (
    GenRequest,
    Plan,
    ToolSpec,
    Turn,
    base_model_name,
    classify,
    generate,
    thought_signature,
)

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorApp

ROUTE = "/ai-gateway/gemini/v1beta/models/{target}"
METHODS = ("generateContent", "streamGenerateContent")
_PART_KINDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
_PART_EXTRA = ("thought", "thoughtSignature", "videoMetadata")
_FINISH = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS"}


def register(app: EmulatorApp, router: web.UrlDispatcher) -> None:
    async def route(request: web.Request) -> web.StreamResponse:
        return await handle(app, request)

    router.add_post(ROUTE, route)


def call_signature(name: str, args: Any, key: bytes) -> str:
    """The signature the emulator puts on a functionCall part (stable under key order)."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return thought_signature(f"functionCall:{name}:{canonical}", key)


def _bad(message: str) -> Exception:
    from core.emulator.server import HTTPError

    return HTTPError(400, message, "INVALID_ARGUMENT")


def _check_signature(part: dict[str, Any], where: str, key: bytes) -> None:
    sig = part.get("thoughtSignature")
    if sig is None:
        return
    if "functionCall" in part:
        call = part["functionCall"]
        expected = call_signature(call.get("name"), call.get("args", {}), key)
    else:
        expected = thought_signature(str(part.get("text", "")), key)
    if sig != expected:
        raise _bad(
            f"Corrupted thought signature at {where}: the part was modified, or the signature "
            "does not belong to it. Send model parts back exactly as they were received."
        )


def _media_kind(mime: str) -> str:
    for prefix, kind in (("image/", "input_image"), ("audio/", "audio_url"), ("video/", "video_url")):
        if mime.startswith(prefix):
            return kind
    return "file"


def parse_contents(app: EmulatorApp, body: dict[str, Any], model: str) -> list[Turn]:
    """``systemInstruction`` + ``contents`` -> turns, checking every part as Gemini does."""
    key = app.state.options.signing_key
    family = classify(model)
    strict = "gemini-3" in base_model_name(model).lower()
    turns: list[Turn] = []
    system = body.get("systemInstruction")
    if system is not None:
        parts = system.get("parts") if isinstance(system, dict) else None
        if not isinstance(parts, list):
            raise _bad("Invalid value at 'system_instruction': expected {'parts': [...]}.")
        turns.append(Turn("system", "".join(str(p.get("text", "")) for p in parts)))
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise _bad("* GenerateContentRequest.contents: contents is not specified")
    media: dict[str, int] = {}
    prev_calls: list[str] = []
    for i, content in enumerate(contents):
        role = content.get("role", "user") if isinstance(content, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        if role not in ("user", "model") or not isinstance(parts, list) or not parts:
            raise _bad(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        responses: list[Turn] = []
        for j, part in enumerate(parts):
            where = f"contents[{i}].parts[{j}]"
            if not isinstance(part, dict):
                raise _bad(f"Invalid value at '{where}': expected an object.")
            unknown = [k for k in part if k not in _PART_KINDS and k not in _PART_EXTRA]
            if unknown:
                raise _bad(f'Invalid JSON payload received. Unknown name "{unknown[0]}" at \'{where}\': Cannot find field.')
            _check_signature(part, where, key)
            if "text" in part:
                if not part.get("thought"):
                    texts.append(str(part["text"]))
            elif "functionCall" in part:
                call = part["functionCall"]
                if role != "model" or not isinstance(call, dict) or not call.get("name"):
                    raise _bad(f"Invalid value at '{where}.function_call'.")
                if strict and not calls and "thoughtSignature" not in part:
                    raise _bad(
                        f"Function call `{call['name']}` in the {i + 1}. content block is missing "
                        "a `thought_signature`."
                    )
                calls.append({"id": call["name"], "name": call["name"],
                              "arguments": json.dumps(call.get("args", {}))})  # fmt: skip
            elif "functionResponse" in part:
                fr = part["functionResponse"]
                if role != "user" or not isinstance(fr, dict) or not isinstance(fr.get("response"), dict):
                    raise _bad(f"Invalid value at '{where}.function_response'.")
                if fr.get("name") not in prev_calls:
                    raise _bad(
                        "Please ensure that function response turn comes immediately after a "
                        "function call turn."
                    )
                responses.append(Turn("tool", json.dumps(fr["response"]), tool_call_id=fr["name"]))
            elif "inlineData" in part:
                blob = part["inlineData"]
                if not isinstance(blob, dict) or not blob.get("mimeType"):
                    raise _bad(f"Invalid value at '{where}.inline_data': mimeType is required.")
                try:
                    base64.b64decode(str(blob.get("data", "")), validate=True)
                except (binascii.Error, ValueError):
                    raise _bad(f"Invalid value at '{where}.inline_data.data': not base64.") from None
                app._check_media(_media_kind(blob["mimeType"]), family, model, i, media)
            else:
                fd = part["fileData"]
                if not isinstance(fd, dict) or not fd.get("fileUri"):
                    raise _bad(f"Invalid value at '{where}.file_data': fileUri is required.")
                app._check_media(_media_kind(str(fd.get("mimeType", "video/"))), family, model, i, media)
        if prev_calls and len(responses) != len(prev_calls):
            raise _bad(
                "Please ensure that the number of function response parts is equal to the number "
                "of function call parts of the function call turn."
            )
        prev_calls = [c["name"] for c in calls]
        if role == "model":
            turns.append(Turn("assistant", "".join(texts), calls))
        else:
            turns.extend(responses)
            if texts or not responses:
                turns.append(Turn("user", "".join(texts)))
    return turns


def gen_request(app: EmulatorApp, body: dict[str, Any], model: str) -> GenRequest:
    """The scripted model's request (thought summaries when ``includeThoughts``)."""
    from core.emulator.server import _tool_choice

    turns = parse_contents(app, body, model)
    tools: list[ToolSpec] = []
    for group in body.get("tools") or []:
        for decl in (group or {}).get("functionDeclarations") or []:
            if not isinstance(decl, dict) or not decl.get("name"):
                raise _bad("Invalid value at 'tools[0].function_declarations': name is required.")
            schema = decl.get("parameters", decl.get("parametersJsonSchema"))
            tools.append(ToolSpec(decl["name"], str(decl.get("description") or ""), schema))
    fcc = ((body.get("toolConfig") or {}).get("functionCallingConfig")) or {}
    mode, allowed = fcc.get("mode", "AUTO"), fcc.get("allowedFunctionNames") or []
    choice: Any = {"AUTO": "auto", "NONE": "none", "ANY": "required"}.get(mode)
    if choice is None:
        raise _bad(f"Invalid value at 'tool_config.function_calling_config.mode' ({mode!r}).")
    if mode == "ANY" and len(allowed) == 1:
        choice = {"name": allowed[0]}
    cfg = body.get("generationConfig") or {}
    temperature = cfg.get("temperature")
    if isinstance(temperature, (int, float)) and not 0 <= temperature <= 2:
        raise _bad("Unable to submit request because temperature must be between 0 and 2.")
    thinking = cfg.get("thinkingConfig") or {}
    if "thinkingLevel" in thinking:
        if "gemini-3" not in base_model_name(model).lower():
            raise _bad("Thinking level is not supported for this model.")
        if "thinkingBudget" in thinking:
            raise _bad("You can only set one of thinking budget and thinking level.")
    schema = cfg.get("responseSchema", cfg.get("responseJsonSchema"))
    json_mode = None
    if cfg.get("responseMimeType") == "application/json":
        json_mode = "json_schema" if isinstance(schema, dict) else "json_object"
    thoughts = bool(thinking.get("includeThoughts")) and thinking.get("thinkingBudget") != 0
    return GenRequest(
        model=base_model_name(model),
        family="gemini",
        turns=turns,
        tools=tools,
        tool_choice=_tool_choice(choice, tools),
        json_mode=json_mode,
        json_schema=schema if isinstance(schema, dict) else None,
        reasoning=thoughts,
        max_tokens=cfg.get("maxOutputTokens"),
        stop=list(cfg.get("stopSequences") or []),
        signing_key=app.state.options.signing_key,
    )


def answer_parts(plan: Plan, key: bytes) -> list[dict[str, Any]]:
    """The model's parts, signed: the first function call, or else the text."""
    parts: list[dict[str, Any]] = []
    if plan.reasoning is not None:
        parts.append({"text": plan.reasoning, "thought": True})
    if plan.text or not plan.tool_calls:
        parts.append({"text": plan.text, "thoughtSignature": thought_signature(plan.text, key)})
    for n, call in enumerate(plan.tool_calls):
        args = json.loads(call.arguments)
        part: dict[str, Any] = {"functionCall": {"name": call.name, "args": args}}
        if n == 0:
            part["thoughtSignature"] = call_signature(call.name, args, key)
        parts.append(part)
    return parts


def _usage(plan: Plan, done: float = 1.0) -> dict[str, Any]:
    thoughts = plan.reasoning_tokens
    visible = int((plan.completion_tokens - thoughts) * done)
    usage: dict[str, Any] = {"promptTokenCount": plan.prompt_tokens, "candidatesTokenCount": visible}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    usage["totalTokenCount"] = plan.prompt_tokens + visible + thoughts
    return usage


def _chunk(rid: str, model: str, parts: list[dict[str, Any]], usage: dict[str, Any],
           finish: str | None = None) -> dict[str, Any]:  # fmt: skip
    cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        cand["finishReason"] = finish
    return {"candidates": [cand], "usageMetadata": usage, "modelVersion": model, "responseId": rid}


def stream_chunks(rid: str, model: str, plan: Plan, parts: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:  # fmt: skip
    from core.emulator.server import _pieces

    pieces: list[list[dict[str, Any]]] = []
    calls = [p for p in parts if "functionCall" in p]
    for p in parts:
        if "text" in p:
            flags = {"thought": True} if p.get("thought") else {}
            pieces.extend([{"text": t, **flags}] for t in _pieces(p["text"], size))
    if calls:
        pieces.append(calls)
    text_sig = next((p["thoughtSignature"] for p in parts if "text" in p and "thoughtSignature" in p), None)
    last = [{"text": "", "thoughtSignature": text_sig}] if text_sig else []
    finish = _FINISH.get(plan.finish_reason, "STOP")
    total = len(pieces) + 1
    out = [_chunk(rid, model, ps, _usage(plan, (n + 1) / total)) for n, ps in enumerate(pieces)]
    out.append(_chunk(rid, model, last, _usage(plan), finish))
    return out


async def handle(app: EmulatorApp, request: web.Request) -> web.StreamResponse:
    from core.emulator.server import MAX_PAYLOAD, HTTPError, _dumps

    raw, parsed = await app._record(request)
    target = request.match_info["target"]
    model, _, method = target.rpartition(":")
    fault, early = await app._guard(request, model or None)
    if early is not None:
        return early
    if method not in METHODS or not model:
        raise HTTPError(404, f"No API found for 'POST {request.path}'", "ENDPOINT_NOT_FOUND")
    app._check_model_exists(model)
    if classify(model) != "gemini":
        raise _bad(f"Model {base_model_name(model)!r} is not a Gemini model; the Gemini API serves Gemini models only.")
    if app.state.options.check_modalities and len(raw) > MAX_PAYLOAD:
        raise _bad(f"Request payload of {len(raw)} bytes exceeds the 10 MB limit.")
    body = app._json_body(parsed)
    req = gen_request(app, body, model)
    plan = generate(req)
    rid = app.state.next_id("")
    name = base_model_name(model)
    parts = answer_parts(plan, app.state.options.signing_key)
    if method == "generateContent":
        if fault is not None:
            return await app._non_stream_fault(request, fault)
        whole = _chunk(rid, name, parts, _usage(plan), _FINISH.get(plan.finish_reason, "STOP"))
        return web.Response(body=_dumps(whole), content_type="application/json")
    size, delay, _ = app._stream_opts(request)
    chunks = stream_chunks(rid, name, plan, parts, size)
    if request.query.get("alt") != "sse":  # Google's other stream form: one JSON array
        return web.Response(body=_dumps(chunks), content_type="application/json")
    events = [b"data: " + _dumps(c) + b"\r\n\r\n" for c in chunks]
    return await app._send_sse(request, events, fault, delay)
