"""Chat completions codec: neutral messages <-> the Databricks chat completions wire format.

Pure functions, no I/O. Serves every chat surface (AI Gateway, serving endpoints,
``/invocations``, any OpenAI-compatible ``base_url``); the facts it relies on are in
``shared/wire-formats.md``.

Round trip of reasoning. An assistant turn that came back with reasoning must be sent back
byte for byte. ``parse_response`` therefore keeps, for every reasoning item and text block,
the wire keys it does not model in the part's ``extras`` (in order), plus two reserved keys
used only when needed:

- ``"$order"``: the item's key list as received, when it differs from what the codec would
  emit by default (another key order, a missing ``type``/``text`` key, a ``null`` signature);
- ``"$block"`` (on the first part of a reasoning block): the block's own unknown keys.

``build_request`` reads them back, so ``parse_response`` -> ``build_request`` reproduces the
original assistant ``content`` JSON exactly. Parts of one wire reasoning block share
``ReasoningPart.block``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core.codecs.chat_response import BLOCK_KEY, ORDER_KEY, StreamDecoder, parse_response
from core.codecs.media import media_url, sniff_image_mime
from core.codecs.policy import (
    check_response_format,
    effort_from_budget,
    normalize_finish_reason,
    parse_usage,
    resolve_tool_choice,
    tool_call_arguments,
)
from core.errors import (
    InvalidRequestError,
)
from core.params import refuse_responses_only
from core.registry import ModelInfo
from core.types import (
    GenerationParams,
    MediaPart,
    Message,
    NamedToolChoice,
    Part,
    ReasoningPart,
    ServerToolPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

__all__ = [
    "StreamDecoder",
    "build_request",
    "normalize_finish_reason",
    "parse_response",
    "parse_usage",
    "sniff_image_mime",
]


_TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_MEDIA_KINDS = frozenset({"image", "audio", "video", "file"})
# Databricks documents a 10 MB request payload limit; inline (base64) media count against it.
MAX_INLINE_MEDIA_BYTES = 10_000_000
# Claude extended thinking: the documented minimum budget.
MIN_THINKING_BUDGET = 1024
# Headroom added above the thinking budget when the caller set no max_tokens.
_THINKING_HEADROOM = 4096


# =============================================================================================
# Request
# =============================================================================================
def build_request(
    messages: Sequence[Message],
    params: GenerationParams,
    *,
    model: str | None,
    info: ModelInfo,
    stream: bool,
    external: bool = False,
) -> dict[str, Any]:
    """Build the chat completions JSON body. Raises InvalidRequestError before anything is sent.

    ``model=None`` leaves the ``model`` field out (``/invocations`` carries it in the path).
    ``external`` is part of the codec contract; chat completions has no stateful parameters.
    ``params.extra_body`` is merged last (shallow), so it can override anything.
    """
    if info.known and info.api == "responses-only":
        raise InvalidRequestError(
            f"model {info.name!r} is served through the Responses API only, not chat completions",
            hint="leave use_responses_api unset (or True); if your endpoint does serve chat, "
            "register_model({'name': ..., 'api': 'chat'})",
        )
    body: dict[str, Any] = {}
    if model is not None:
        body["model"] = model
    body["messages"] = _build_messages(messages, info)
    if stream:
        body["stream"] = True
        # Gemini endpoints reject stream_options (and send usage on the last chunk anyway).
        if info.family != "gemini":
            body["stream_options"] = {"include_usage": True}

    p = params
    if p.max_tokens is not None:
        body["max_tokens"] = p.max_tokens
    if p.temperature is not None:
        body["temperature"] = p.temperature
    if p.top_p is not None:
        body["top_p"] = p.top_p
    if p.top_k is not None:
        body["top_k"] = p.top_k
    if p.stop:
        body["stop"] = list(p.stop)
    if p.n is not None:
        body["n"] = p.n
    if p.logprobs is not None:
        body["logprobs"] = p.logprobs
    if p.top_logprobs is not None:
        body["top_logprobs"] = p.top_logprobs
        # OpenAI requires logprobs=true alongside top_logprobs.
        body.setdefault("logprobs", True)
    if p.response_format is not None:
        body["response_format"] = _build_response_format(p)

    if p.tools:
        body["tools"] = [_build_tool(t, info) for t in p.tools]
    choice = _build_tool_choice(p)
    if choice is not None:
        body["tool_choice"] = choice
    if p.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = p.parallel_tool_calls

    _apply_reasoning(body, p, info)
    refuse_responses_only(p)
    # Agents on Model Serving (ChatAgent/ChatModel schema) take these beside the messages.
    if p.custom_inputs is not None:
        body["custom_inputs"] = p.custom_inputs
    if p.context is not None:
        body["context"] = p.context

    if p.extra_body:
        body.update(p.extra_body)
    return body


# ---------------------------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------------------------
def _build_response_format(p: GenerationParams) -> dict[str, Any]:
    rf = p.response_format
    assert rf is not None
    check_response_format(rf)
    if rf.type != "json_schema":
        return {"type": rf.type}
    spec: dict[str, Any] = {"name": rf.name or "response"}
    if rf.description:
        spec["description"] = rf.description
    spec["schema"] = rf.schema
    if rf.strict is not None:
        spec["strict"] = rf.strict
    return {"type": "json_schema", "json_schema": spec}


def _build_tool(tool: Tool, info: ModelInfo) -> dict[str, Any]:
    if tool.kind != "function":
        raise InvalidRequestError(
            f"tool {tool.name!r} is of kind {tool.kind!r}, which chat completions cannot carry",
            hint="only function tools work on chat completions; use the Responses API "
            "(use_responses_api=True) for custom and built-in tools",
        )
    if not isinstance(tool.name, str) or not _TOOL_NAME_RE.match(tool.name):
        raise InvalidRequestError(
            f"tool name {tool.name!r} is not allowed: names must match [a-zA-Z0-9_-]+",
            hint="rename the tool (letters, digits, '_' and '-' only, no spaces or dots)",
        )
    params = tool.parameters
    if (
        not isinstance(params, dict)
        or params.get("type") != "object"
        or not isinstance(params.get("properties", {}), dict)
        or not isinstance(params.get("required", []), list)
    ):
        raise InvalidRequestError(
            f"tool {tool.name!r}: parameters must be a JSON schema of type 'object'",
            hint='e.g. {"type": "object", "properties": {...}, "required": [...]}',
        )
    fn: dict[str, Any] = {"name": tool.name}
    if tool.description:
        fn["description"] = tool.description
    fn["parameters"] = params
    # Non-GPT models on Databricks reject function.strict.
    if tool.strict is not None and info.supports_strict_schema:
        fn["strict"] = tool.strict
    return {"type": "function", "function": fn}


def _build_tool_choice(p: GenerationParams) -> Any:
    choice = resolve_tool_choice(p.tool_choice, p.tools)
    if isinstance(choice, NamedToolChoice):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def _apply_reasoning(body: dict[str, Any], p: GenerationParams, info: ModelInfo) -> None:
    effort = p.reasoning_effort
    budget = p.thinking_budget
    if effort is None and budget is None:
        return
    style = info.reasoning
    if style is None and not info.known:
        # Unknown model: Claude-like names were guessed above; otherwise pass the knobs on in
        # the OpenAI spelling (budget as Anthropic-style thinking, the only place it exists).
        style = "hybrid" if budget is not None else "effort"
    if style is None:
        raise InvalidRequestError(
            f"model {info.name!r} does not support reasoning controls",
            hint="drop reasoning_effort/thinking_budget, or register_model() the model with "
            "a reasoning style if the registry is out of date",
        )
    if style == "hybrid":
        if effort is not None and budget is not None:
            raise InvalidRequestError(
                "set either thinking_budget or reasoning_effort for Claude, not both",
                hint="thinking_budget -> extended thinking with a token budget; "
                "reasoning_effort -> adaptive thinking at that effort",
            )
        if budget is not None:
            _apply_thinking_budget(body, budget, p, info)
        elif effort is not None:
            if effort in ("none", "disabled", "off"):
                return
            thinking: dict[str, Any] = {"type": "adaptive"}
            if info.thinking_display_default == "omitted":
                # Opus 4.7+ hide adaptive thinking's text unless display "summarized" is asked
                # for (Anthropic). Uncertain: whether Databricks forwards "display" is not
                # documented; it forwards the rest of "thinking" and "output_config" to the
                # provider, and without it the reasoning is certainly lost, so it is sent only
                # to models whose default hides the text.
                thinking["display"] = "summarized"
            body["thinking"] = thinking
            body["output_config"] = {"effort": effort}
        _check_claude_thinking(p)
        return
    # "effort" / "always": reasoning_effort on the wire (GPT OSS, GPT-5.x, Gemini).
    if effort is None:
        assert budget is not None
        # Portable knob: translate a token budget into the nearest effort level.
        effort = effort_from_budget(budget)
    body["reasoning_effort"] = effort


def _check_claude_thinking(p: GenerationParams) -> None:
    """Anthropic's documented limits with thinking on: no temperature/top_k changes, top_p in
    [0.95, 1], no forced tool use. Refused here with a clear message instead of a 400."""
    problem = None
    if p.temperature is not None and p.temperature != 1:
        problem = f"temperature={p.temperature} (only 1 or unset)"
    elif p.top_k is not None:
        problem = f"top_k={p.top_k} (must be unset)"
    elif p.top_p is not None and not 0.95 <= p.top_p <= 1:
        problem = f"top_p={p.top_p} (must be between 0.95 and 1)"
    elif p.tool_choice == "required" or isinstance(p.tool_choice, NamedToolChoice):
        problem = "a forced tool_choice (only 'auto' or 'none')"
    if problem:
        raise InvalidRequestError(
            f"Claude extended thinking does not allow {problem}",
            hint="drop that setting, or turn thinking off (no thinking_budget/reasoning_effort); "
            "extra_body can still send any raw body you need",
        )


def _apply_thinking_budget(
    body: dict[str, Any], budget: int, p: GenerationParams, info: ModelInfo
) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < MIN_THINKING_BUDGET:
        raise InvalidRequestError(
            f"thinking_budget must be an integer >= {MIN_THINKING_BUDGET}, got {budget!r}",
            hint=f"use thinking_budget={MIN_THINKING_BUDGET} or more",
        )
    max_tokens = p.max_tokens
    if max_tokens is None:
        limit = info.max_output_tokens
        if budget >= limit:
            raise InvalidRequestError(
                f"thinking_budget {budget} must be below the model's output limit {limit}",
                hint=f"use a thinking_budget below {limit}",
            )
        body["max_tokens"] = min(limit, budget + _THINKING_HEADROOM)
    elif budget >= max_tokens:
        raise InvalidRequestError(
            f"thinking_budget ({budget}) must be less than max_tokens ({max_tokens}): the "
            "budget is part of the output",
            hint=f"raise max_tokens above {budget} (e.g. {budget + _THINKING_HEADROOM}) or "
            "lower thinking_budget",
        )
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}


# ---------------------------------------------------------------------------------------------
# messages
# ---------------------------------------------------------------------------------------------
def _build_messages(messages: Sequence[Message], info: ModelInfo) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    counter = [0, 0]  # images, data-URI characters in the whole request
    for i, msg in enumerate(messages):
        role = getattr(msg, "role", None)
        if role not in _ROLES:
            raise InvalidRequestError(
                f"message {i} has unknown role {role!r}",
                hint="roles are system, developer, user, assistant and tool",
            )
        if role == "assistant":
            out.append(_build_assistant(msg, i, info))
        elif role == "tool":
            out.extend(_build_tool_results(msg.parts, i))
        elif role == "user":
            results = [p for p in msg.parts if isinstance(p, ToolResultPart)]
            if results:  # Anthropic/LlamaIndex style: tool results inside a user turn
                out.extend(_build_tool_results(results, i))
                rest: list[Part] = [p for p in msg.parts if not isinstance(p, ToolResultPart)]
                if not rest:
                    continue
                msg = Message(role="user", parts=rest, name=msg.name)
            out.append(_build_user(msg, i, info, counter))
        else:  # system / developer
            wire_role = role
            # Only OpenAI models know "developer"; everything else gets it as "system".
            if role == "developer" and info.family not in ("gpt", "gpt-oss", "unknown"):
                wire_role = "system"
            d: dict[str, Any] = {"role": wire_role, "content": _system_content(msg, i, info)}
            if msg.name:
                d["name"] = msg.name
            out.append(d)
    if info.known and not info.multiple_tool_calls:
        out = _one_call_per_turn(out)
    return out


def _system_content(msg: Message, i: int, info: ModelInfo) -> str | list[dict[str, Any]]:
    """System text: one string, or text blocks when a block carries a cache breakpoint or
    Claude gets several blocks. Separate blocks are never glued ("ctx1" + "ctx2" would merge
    words): without blocks they are joined by a blank line."""
    texts: list[TextPart] = []
    for part in msg.parts:
        if isinstance(part, TextPart):
            texts.append(part)
        else:
            raise InvalidRequestError(
                f"message {i} ({msg.role}) may only hold text, got {type(part).__name__}",
                hint="put images, audio and files in a user message",
            )
    cached = any(t.cache_control for t in texts)
    if cached or (len(texts) > 1 and info.family == "claude"):
        return [_text_block(t) for t in texts]
    return (
        "\n\n".join(t.text for t in texts if t.text)
        if len(texts) > 1
        else (texts[0].text if texts else "")
    )


def _text_block(part: TextPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cache_control:
        # Claude prompt caching on chat completions: the breakpoint rides on a content block
        # (a message-level cache_control is ignored: litellm#15943, verified on a workspace).
        block["cache_control"] = part.cache_control
    return block


def _one_call_per_turn(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Models that take one tool call per assistant turn (databricks-gpt-oss-120b answers
    400 "Multiple tool calls are not supported."): an assistant turn with several calls and
    the tool results after it are replayed as consecutive assistant/tool pairs, in call
    order, ids kept. The turn's text and reasoning stay on the first pair."""
    result: list[dict[str, Any]] = []
    i = 0
    while i < len(out):
        d = out[i]
        calls = d.get("tool_calls") if d.get("role") == "assistant" else None
        if not calls or len(calls) < 2:
            result.append(d)
            i += 1
            continue
        j = i + 1
        answers: list[dict[str, Any]] = []
        while j < len(out) and out[j].get("role") == "tool":
            answers.append(out[j])
            j += 1
        for n, call in enumerate(calls):
            turn: dict[str, Any] = dict(d) if n == 0 else {"role": "assistant"}
            if n > 0 and "content" in d:
                turn["content"] = None
            turn["tool_calls"] = [call]
            result.append(turn)
            for answer in answers:
                if answer.get("tool_call_id") == call.get("id"):
                    result.append(answer)
        # results that answer none of the calls keep their place after the last pair
        ids = {c.get("id") for c in calls}
        result.extend(a for a in answers if a.get("tool_call_id") not in ids)
        i = j
    return result


def _build_user(msg: Message, i: int, info: ModelInfo, counter: list[int]) -> dict[str, Any]:
    parts = msg.parts
    d: dict[str, Any] = {"role": "user"}
    if len(parts) <= 1 and all(isinstance(p, TextPart) and not p.cache_control for p in parts):
        d["content"] = parts[0].text if parts else ""  # type: ignore[union-attr]
    else:
        blocks: list[dict[str, Any]] = []
        for part in parts:
            if isinstance(part, TextPart):
                blocks.append(_text_block(part))
            elif isinstance(part, MediaPart):
                media = _build_media(part, i, info, counter)
                if part.cache_control:
                    media["cache_control"] = part.cache_control
                blocks.append(media)
            else:
                raise InvalidRequestError(
                    f"message {i} (user) cannot hold a {type(part).__name__}",
                    hint="tool calls belong in assistant messages, reasoning too",
                )
        d["content"] = blocks
    if msg.name:
        d["name"] = msg.name
    return d


def _build_media(part: MediaPart, i: int, info: ModelInfo, counter: list[int]) -> dict[str, Any]:
    kind = part.kind
    if kind not in _MEDIA_KINDS:
        raise InvalidRequestError(
            f"message {i}: unknown media kind {kind!r}", hint="use image, audio, video or file"
        )
    if info.known and kind not in info.input_modalities:
        raise InvalidRequestError(
            f"model {info.name!r} does not accept {kind} input (message {i})",
            hint=f"it accepts: {', '.join(info.input_modalities)}",
        )
    if kind == "image":
        counter[0] += 1
        if info.known and info.max_images is not None and counter[0] > info.max_images:
            raise InvalidRequestError(
                f"too many images: model {info.name!r} takes at most {info.max_images} per request",
                hint="send fewer images or split the conversation",
            )
    url = media_url(part, i)
    if url.startswith("data:"):
        counter[1] += len(url)
        if info.known and counter[1] > MAX_INLINE_MEDIA_BYTES:
            raise InvalidRequestError(
                f"inline media in this request exceed {MAX_INLINE_MEDIA_BYTES // 1_000_000} MB "
                "once base64-encoded; Databricks limits a request payload to 10 MB",
                hint="pass large media by https URL, downscale images, or send fewer of them",
            )
    if kind == "file":
        # Best effort and uncertain: the OpenAI chat shape for files; Databricks documents
        # text/image/audio/video blocks only.
        f: dict[str, Any] = {"file_data": url}
        if part.filename:
            f["filename"] = part.filename
        return {"type": "file", "file": f}
    key = f"{kind}_url"
    inner: dict[str, Any] = {"url": url}
    if kind == "image" and part.detail:
        inner["detail"] = part.detail
    return {"type": key, key: inner}


def _build_tool_results(parts: Sequence[Part], i: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, ToolResultPart):
            raise InvalidRequestError(
                f"message {i} (tool) may only hold tool results, got {type(part).__name__}"
            )
        content = part.content
        if isinstance(content, str):
            text = content
        else:
            pieces: list[str] = []
            for c in content:
                if isinstance(c, TextPart):
                    pieces.append(c.text)
                elif isinstance(c, str):
                    pieces.append(c)
                else:
                    raise InvalidRequestError(
                        f"message {i}: tool result for {part.tool_call_id!r} holds "
                        f"{type(c).__name__}; chat completions tool results are text only",
                        hint="describe the media in text, or send it in a following user message",
                    )
            text = "\n".join(pieces) if len(pieces) > 1 else "".join(pieces)
        out.append({"role": "tool", "tool_call_id": part.tool_call_id, "content": text})
    return out


def _build_assistant(msg: Message, i: int, info: ModelInfo) -> dict[str, Any]:
    d: dict[str, Any] = {"role": "assistant"}
    calls: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    as_blocks = False  # a list is needed to carry reasoning or text-block extras
    current_block: dict[str, Any] | None = None
    current_id: int | None = None
    texts: list[str] = []
    for part in msg.parts:
        if isinstance(part, TextPart):
            current_block = None
            texts.append(part.text)
            extras = _chat_text_extras(part.extras)
            if extras:
                as_blocks = True
            blocks.append(_emit(_text_values(part), ("type", "text"), extras))
        elif isinstance(part, ReasoningPart):
            as_blocks = True
            same = current_block is not None and (
                part.block is None or current_id is None or part.block == current_id
            )
            if not same:
                block_extras = part.extras.get(BLOCK_KEY) if part.extras else None
                current_block = _emit(
                    {"type": "reasoning", "summary": []}, ("type", "summary"), block_extras
                )
                current_id = part.block
                blocks.append(current_block)
            elif part.block is not None:
                current_id = part.block
            assert current_block is not None
            summary = current_block.get("summary")
            if isinstance(summary, list):
                summary.append(_emit_reasoning_item(part))
        elif isinstance(part, ToolCallPart):
            current_block = None
            calls.append(_emit_tool_call(part, i))
        elif isinstance(part, ServerToolPart):
            # An opaque content block we did not model: sent back as received.
            current_block = None
            as_blocks = True
            blocks.append(part.item)
        else:
            raise InvalidRequestError(
                f"message {i} (assistant) cannot hold a {type(part).__name__}",
                hint="tool results go in a tool message; media in a user message",
            )
    if as_blocks:
        if info.family == "claude":
            # Claude rejects empty/whitespace-only text blocks (notably beside tool_calls):
            # plain ones carry nothing and are dropped; ones with extras are kept as received.
            blocks = [
                b
                for b in blocks
                if not (b.get("type") == "text" and len(b) == 2 and not str(b.get("text")).strip())
            ]
        d["content"] = blocks
    else:
        text = "".join(texts)
        # Claude rejects empty/whitespace text beside tool_calls: there the key is left out.
        if not (calls and info.family == "claude" and not text.strip()):
            d["content"] = text if (text or not calls) else None
    if calls:
        d["tool_calls"] = calls
    if msg.name:
        d["name"] = msg.name
    return d


# A Responses or agent message's identity (item ``id``, ChatAgent author ``name``) rides on its
# text parts; a chat-completions text block has no such keys, and OpenAI-shaped servers may
# refuse unknown keys in content parts, so they stay off this wire.
_MESSAGE_IDENTITY_KEYS = frozenset({"id", "name"})


def _chat_text_extras(extras: dict[str, Any] | None) -> dict[str, Any] | None:
    if not extras or _MESSAGE_IDENTITY_KEYS.isdisjoint(extras):
        return extras
    kept = {k: v for k, v in extras.items() if k not in _MESSAGE_IDENTITY_KEYS}
    order = kept.get(ORDER_KEY)
    if isinstance(order, list):
        kept[ORDER_KEY] = [k for k in order if k not in _MESSAGE_IDENTITY_KEYS]
    # only bookkeeping ("$..." keys) left: a plain text block
    return kept if any(not k.startswith("$") for k in kept) else None


def _text_values(part: TextPart) -> dict[str, Any]:
    return {"type": "text", "text": part.text}


def _emit_reasoning_item(part: ReasoningPart) -> dict[str, Any]:
    if part.redacted is not None:
        return _emit(
            {"type": "summary_encrypted_text", "data": part.redacted}, ("type", "data"), part.extras
        )
    values = {"type": "summary_text", "text": part.text, "signature": part.signature}
    canonical = ("type", "text", "signature") if part.signature is not None else ("type", "text")
    return _emit(values, canonical, part.extras)


def _emit(
    values: dict[str, Any], canonical: tuple[str, ...], extras: dict[str, Any] | None
) -> dict[str, Any]:
    """A wire dict from known field values + extras, in the received key order if recorded."""
    if extras:
        order = extras.get(ORDER_KEY)
        if isinstance(order, list):
            return {k: (extras[k] if k in extras else values.get(k)) for k in order}
    out = {k: values[k] for k in canonical}
    if extras:
        for k, v in extras.items():
            if not k.startswith("$"):
                out[k] = v
    return out


def _emit_tool_call(part: ToolCallPart, i: int) -> dict[str, Any]:
    if not _TOOL_NAME_RE.match(part.name or ""):
        raise InvalidRequestError(
            f"message {i}: tool call name {part.name!r} does not match [a-zA-Z0-9_-]+"
        )
    call: dict[str, Any] = {
        "id": part.id,
        "type": "function",
        "function": {"name": part.name, "arguments": tool_call_arguments(part.arguments)},
    }
    if part.extras:
        # Unknown wire keys of a chat tool call (e.g. a provider's thought signature) go back;
        # the call's own keys are never overridden (a Responses item "id" lives in extras too).
        for k, v in part.extras.items():
            if k not in call and k != "index" and not k.startswith("$"):
                call[k] = v
    return call
