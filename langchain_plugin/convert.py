"""LangChain <-> neutral (``core.types``) conversions. No HTTP, no wire JSON.

The adapter keeps everything the neutral model needs to send an assistant turn back unchanged:

- reasoning parts become LangChain standard reasoning blocks
  ``{"type": "reasoning", "reasoning": text, "extras": {...}}`` whose ``extras`` carry the
  signature (only when the wire had one: ``None`` and ``""`` differ), the redacted data, the
  wire block number and any unknown keys of the wire item (``"item"``);
- text parts become plain string content when the message has nothing else, otherwise
  ``{"type": "text", "text": ...}`` blocks (with ``extras`` for e.g. Gemini's
  ``thoughtSignature``);
- tool calls become ``tool_calls`` / ``invalid_tool_calls`` and, for a byte-exact replay, the
  raw argument text in ``additional_kwargs["tool_calls"]`` (the OpenAI-style list
  ``ChatOpenAI`` uses too);
- server-side (built-in) tool items become ``server_tool_call`` / ``server_tool_result`` blocks
  that keep the whole wire item in ``extras["item"]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call

from core.errors import InvalidRequestError
from core.params import replay_arguments
from core.types import (
    ChatResponse,
    MediaPart,
    Message,
    Part,
    ReasoningDelta,
    ReasoningPart,
    Role,
    ServerToolPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)

PROVIDER = "databricks"
# additional_kwargs key of the last streamed chunk: the raw tool calls (argument text as sent)
RAW_TOOL_CALLS_KEY = "raw_tool_calls"
# additional_kwargs key: {call id: {"kind": ..., "extras": {...}}} for calls that need more than
# the plain OpenAI dict to be replayed unchanged (Responses item ids, custom tools)
TOOL_CALL_EXTRAS_KEY = "tool_call_extras"
# additional_kwargs key of the last streamed chunk: wire fields of the text streamed as a plain
# string that arrived after the text had started (e.g. a Responses message item id)
TEXT_EXTRAS_KEY = "text_extras"
# tool-call args key holding a free-text (custom) tool call's input
CUSTOM_ARG = "__arg1"

_MEDIA_KINDS = ("image", "audio", "video", "file")
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_CHAT_ROLE_ALIASES = {"human": "user", "ai": "assistant"}


# =============================================================================================
# LangChain -> neutral
# =============================================================================================
def messages_to_neutral(messages: Sequence[BaseMessage]) -> list[Message]:
    """Convert a LangChain history to neutral messages. Bad input raises InvalidRequestError."""
    out: list[Message] = []
    for i, msg in enumerate(messages):
        try:
            _append_message(out, msg)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"message {i} ({msg.type}): {exc.message}") from None
    return out


def _append_message(out: list[Message], msg: BaseMessage) -> None:
    if isinstance(msg, AIMessage):  # AIMessageChunk included
        out.append(ai_message_to_neutral(msg))
    elif isinstance(msg, ToolMessage):
        out.append(Message("tool", [_tool_result(msg)], name=None))
    elif isinstance(msg, HumanMessage):
        _append_user(out, msg.content, msg.name)
    elif isinstance(msg, SystemMessage):
        role = (
            "developer" if msg.additional_kwargs.get("__openai_role__") == "developer" else "system"
        )
        out.append(Message(cast(Role, role), _content_parts(msg.content), name=msg.name))
    elif isinstance(msg, ChatMessage):
        role = _CHAT_ROLE_ALIASES.get(msg.role, msg.role)
        if role not in _ROLES:
            raise InvalidRequestError(f"unsupported chat message role {msg.role!r}")
        if role == "assistant":
            out.append(ai_message_to_neutral(AIMessage(content=msg.content, name=msg.name)))
        elif role == "tool":
            raise InvalidRequestError("use ToolMessage for tool results")
        else:
            out.append(Message(role, _content_parts(msg.content), name=msg.name))  # type: ignore[arg-type]
    else:
        raise InvalidRequestError(f"unsupported message type {type(msg).__name__}")


def _append_user(out: list[Message], content: Any, name: str | None) -> None:
    """A user turn; Anthropic-style ``tool_result`` blocks become tool messages first."""
    if isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    ):
        rest = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                inner = block.get("content", "")
                out.append(
                    Message(
                        "tool",
                        [
                            ToolResultPart(
                                tool_call_id=str(block.get("tool_use_id", "")),
                                content=inner if isinstance(inner, str) else _content_parts(inner),  # type: ignore[arg-type]
                                is_error=bool(block.get("is_error", False)),
                            )
                        ],
                    )
                )
            else:
                rest.append(block)
        if rest:
            out.append(Message("user", _content_parts(rest), name=name))
        return
    out.append(Message("user", _content_parts(content), name=name))


def _tool_result(msg: ToolMessage) -> ToolResultPart:
    content = msg.content
    result: str | list[TextPart | MediaPart]
    if isinstance(content, str):
        result = content
    else:
        result = []
        for block in content:
            if isinstance(block, str):
                result.append(TextPart(block))
            elif isinstance(block, dict) and (
                block.get("type") in ("text", "image_url", "input_audio", *_MEDIA_KINDS)
            ):
                part = _content_block(block)
                if part is not None:
                    result.append(cast("TextPart | MediaPart", part))
            else:  # arbitrary JSON a tool returned: keep it as its JSON text
                result.append(TextPart(json.dumps(block, ensure_ascii=False, default=str)))
    return ToolResultPart(
        tool_call_id=msg.tool_call_id,
        content=result,
        is_error=msg.status == "error",
        name=msg.name,
    )


def _content_parts(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[Part] = []
    for block in content:
        if isinstance(block, str):
            if block:
                parts.append(TextPart(block))
            continue
        if not isinstance(block, dict):
            raise InvalidRequestError(f"unsupported content item of type {type(block).__name__}")
        part = _content_block(block)
        if part is not None:
            _take_cache_control(block, part)
            parts.append(part)
    return parts


def _take_cache_control(block: Mapping[str, Any], part: Part) -> None:
    """``cache_control`` on a content block, top level or in ``extras`` (both as
    ``ChatAnthropic`` accepts them), becomes the part's cache breakpoint."""
    extras = block.get("extras")
    cc = block.get("cache_control")
    if cc is None and isinstance(extras, dict):
        cc = extras.get("cache_control")
    if not cc:
        return
    if not isinstance(cc, dict) or not isinstance(part, (TextPart, MediaPart)):
        raise InvalidRequestError(
            f"cache_control must be a dict such as {{'type': 'ephemeral'}} on a text or media "
            f"block, got {cc!r}"
        )
    part.cache_control = dict(cc)
    if isinstance(part, TextPart) and part.extras and "cache_control" in part.extras:
        rest = {k: v for k, v in part.extras.items() if k != "cache_control"}
        part.extras = rest or None


def _content_block(block: Mapping[str, Any]) -> Part | None:
    btype = block.get("type")
    if btype == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise InvalidRequestError("text block without a string 'text'")
        extras = block.get("extras")
        return TextPart(text, extras=dict(extras) if extras else None)
    if btype == "image_url":  # OpenAI chat style
        iu = block.get("image_url")
        url = iu.get("url") if isinstance(iu, dict) else iu
        if not isinstance(url, str) or not url:
            raise InvalidRequestError("image_url block without a url")
        detail = iu.get("detail") if isinstance(iu, dict) else None
        return MediaPart("image", url=url, mime_type=_mime_from_data_url(url), detail=detail)
    if btype in ("video_url", "audio_url"):
        inner = block.get(btype)
        url = inner.get("url") if isinstance(inner, dict) else inner
        if not isinstance(url, str) or not url:
            raise InvalidRequestError(f"{btype} block without a url")
        return MediaPart(
            "video" if btype == "video_url" else "audio",
            url=url,
            mime_type=_mime_from_data_url(url),
        )
    if btype == "input_audio":  # OpenAI chat style {"data": b64, "format": "wav"}
        ia = block.get("input_audio") or {}
        data, fmt = ia.get("data"), ia.get("format", "wav")
        if not data:
            raise InvalidRequestError("input_audio block without data")
        mime = f"audio/{fmt}"
        return MediaPart("audio", url=f"data:{mime};base64,{data}", mime_type=mime)
    if btype == "file" and isinstance(block.get("file"), dict):  # OpenAI chat style
        f = block["file"]
        data = f.get("file_data")
        if not data:
            raise InvalidRequestError("file block: only inline file_data is supported, not file_id")
        return MediaPart(
            "file", url=data, mime_type=_mime_from_data_url(data), filename=f.get("filename")
        )
    if btype in _MEDIA_KINDS:
        return _standard_media(cast(str, btype), block)
    if btype == "text-plain":
        text = block.get("text") or ""
        return MediaPart(
            "file",
            data=text.encode(),
            mime_type=block.get("mime_type", "text/plain"),
            filename=(block.get("extras") or {}).get("filename") or block.get("filename"),
        )
    raise InvalidRequestError(f"unsupported content block type {btype!r}")


def _standard_media(kind: str, block: Mapping[str, Any]) -> MediaPart:
    """LangChain standard (v1) and legacy v0 (``source_type``) multimodal blocks."""
    mime: str | None = block.get("mime_type")
    extras = block.get("extras") or {}
    filename = block.get("filename") or extras.get("filename")
    detail = extras.get("detail")
    source_type = block.get("source_type")
    url = block.get("url")
    b64 = block.get("base64")
    source = block.get("source")
    if isinstance(source, dict):  # Anthropic: {"type": "base64"|"url", "media_type", "data"|"url"}
        mime = mime or source.get("media_type")
        if source.get("type") == "base64":
            b64 = source.get("data")
        elif source.get("type") == "url":
            url = source.get("url")
    if source_type == "url":
        url = url or block.get("data")
    elif source_type == "base64":
        b64 = b64 or block.get("data")
    elif source_type == "id" or block.get("file_id") or block.get("id") and not (url or b64):
        raise InvalidRequestError(
            f"{kind} block: file ids are not supported by Databricks; pass a URL or base64 data"
        )
    if url:
        if not isinstance(url, str):
            raise InvalidRequestError(f"{kind} block: url must be a string")
        return MediaPart(
            kind,  # type: ignore[arg-type]
            url=url,
            mime_type=mime or _mime_from_data_url(url),
            filename=filename,
            detail=detail,
        )
    if b64:
        if not isinstance(b64, str):
            raise InvalidRequestError(f"{kind} block: base64 data must be a string")
        if not mime:
            raise InvalidRequestError(f"{kind} block with base64 data needs a mime_type")
        return MediaPart(
            kind,  # type: ignore[arg-type]
            url=f"data:{mime};base64,{b64}",
            mime_type=mime,
            filename=filename,
            detail=detail,
        )
    raise InvalidRequestError(f"{kind} block needs a url or base64 data")


def _mime_from_data_url(url: str) -> str | None:
    if url.startswith("data:"):
        head = url[5:].split(",", 1)[0]
        mime = head.split(";", 1)[0]
        return mime or None
    return None


# --- assistant turns ---------------------------------------------------------------------------
def ai_message_to_neutral(msg: AIMessage) -> Message:
    parts: list[Part] = []
    content = msg.content
    tool_call_ids = {tc.get("id") for tc in msg.tool_calls}
    text_extras = msg.additional_kwargs.get(TEXT_EXTRAS_KEY) or None
    if isinstance(content, str):
        if content or text_extras:
            parts.append(TextPart(content, extras=dict(text_extras) if text_extras else None))
    else:
        for n, block in enumerate(content):
            if isinstance(block, str):
                if n == 0 and text_extras:  # the leading streamed string (see langchain_plugin.stream)
                    parts.append(TextPart(block, extras=dict(text_extras)))
                elif block:
                    parts.append(TextPart(block))
                continue
            if not isinstance(block, dict):
                raise InvalidRequestError("unsupported assistant content item")
            btype = block.get("type")
            if btype == "text":
                extras = dict(block.get("extras") or {})
                if isinstance(block.get("id"), str):  # a Responses message item's id
                    extras["id"] = block["id"]
                parts.append(TextPart(block.get("text", ""), extras=extras or None))
            elif btype == "reasoning":
                parts.extend(_reasoning_block_to_parts(block))
            elif btype == "thinking":  # Anthropic
                parts.append(
                    ReasoningPart(text=block.get("thinking", ""), signature=block.get("signature"))
                )
            elif btype == "redacted_thinking":  # Anthropic
                parts.append(ReasoningPart(redacted=block.get("data")))
            elif btype in ("server_tool_call", "server_tool_result"):
                item = (block.get("extras") or {}).get("item")
                parts.append(ServerToolPart(dict(item) if item else _server_item_from_block(block)))
            elif btype in ("tool_use", "tool_call", "function_call"):
                # Carried by msg.tool_calls; a content-only call (not in tool_calls) is kept.
                if block.get("id") not in tool_call_ids and btype == "tool_call":
                    args = block.get("args", {})
                    parts.append(
                        ToolCallPart(
                            id=block.get("id") or "",
                            name=block.get("name", ""),
                            arguments=json.dumps(args, ensure_ascii=False),
                        )
                    )
            elif btype in ("tool_call_chunk", "invalid_tool_call"):
                continue
            elif btype == "non_standard":
                value = block.get("value")
                if isinstance(value, dict):
                    parts.append(ServerToolPart(dict(value)))
            elif btype in ("image_url", "input_audio", *_MEDIA_KINDS):
                part = _content_block(block)
                if part is not None:
                    parts.append(part)
            else:
                raise InvalidRequestError(f"unsupported assistant content block type {btype!r}")
    parts.extend(_tool_call_parts(msg))
    return Message("assistant", parts, name=msg.name)


def _reasoning_block_to_parts(block: Mapping[str, Any]) -> list[Part]:
    extras = block.get("extras") or {}
    if "summary" in block and "reasoning" not in block:
        # OpenAI Responses-style reasoning item as ChatOpenAI keeps it.
        out: list[Part] = []
        for item in block.get("summary") or []:
            out.append(ReasoningPart(text=item.get("text", "")))
        enc = block.get("encrypted_content")
        if enc:
            out.append(ReasoningPart(redacted=enc))
        return out or [ReasoningPart()]
    item = extras.get("item")
    return [
        ReasoningPart(
            text=block.get("reasoning", "") or "",
            signature=extras.get("signature"),
            redacted=extras.get("redacted"),
            block=extras.get("block"),
            extras=dict(item) if item else None,
        )
    ]


def _server_item_from_block(block: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k not in ("index",)}


def _tool_call_parts(msg: AIMessage) -> list[ToolCallPart]:
    if not msg.tool_calls and not msg.invalid_tool_calls:
        return []
    raw_by_id: dict[str, Mapping[str, Any]] = {}
    call_extras: Mapping[str, Any] = msg.additional_kwargs.get(TOOL_CALL_EXTRAS_KEY) or {}
    raws = msg.additional_kwargs.get("tool_calls") or msg.additional_kwargs.get(RAW_TOOL_CALLS_KEY)
    for raw in raws or ():
        if isinstance(raw, dict) and raw.get("id"):
            raw_by_id[raw["id"]] = raw
    chunk_args: dict[str, str] = {}
    if isinstance(msg, AIMessageChunk):
        for tcc in msg.tool_call_chunks:
            if tcc.get("id") and isinstance(tcc.get("args"), str):
                chunk_args[cast(str, tcc["id"])] = cast(str, tcc["args"])
    parts: list[ToolCallPart] = []
    for tc in msg.tool_calls:
        tc_id = tc.get("id") or ""
        raw = raw_by_id.get(tc_id)
        raw_args: str | None = None
        more = call_extras.get(tc_id) or {}
        kind = more.get("kind", "function")
        extras = more.get("extras")
        if raw is not None:
            raw_args = (raw.get("function") or {}).get("arguments")
        if raw_args is None:
            raw_args = chunk_args.get(tc_id)
        if kind == "custom" and isinstance(tc["args"].get(CUSTOM_ARG), str):
            arguments = tc["args"][CUSTOM_ARG]
        else:
            arguments = replay_arguments(tc["args"], raw_args, lenient=_parse_partial_json)
        parts.append(
            ToolCallPart(
                id=tc_id,
                name=tc["name"],
                arguments=arguments,
                kind=kind,
                extras=dict(extras) if extras else None,
            )
        )
    for itc in msg.invalid_tool_calls:
        itc_id = itc.get("id") or ""
        more = call_extras.get(itc_id) or {}
        parts.append(
            ToolCallPart(
                id=itc_id,
                name=itc.get("name") or "",
                arguments=itc.get("args") or "",
                kind=more.get("kind", "function"),
                extras=dict(more.get("extras") or {}) or None,
            )
        )
    if msg.invalid_tool_calls and raw_by_id:
        # Valid and invalid calls live in two lists: restore the order the model produced.
        order = {cid: n for n, cid in enumerate(raw_by_id)}
        parts.sort(key=lambda p: order.get(p.id, len(order)))
    return parts


def _parse_partial_json(text: str) -> Any:
    # An aggregated stream parses cut-short JSON leniently: compare the raw text alike.
    from langchain_core.utils.json import parse_partial_json

    return parse_partial_json(text)


# =============================================================================================
# neutral -> LangChain
# =============================================================================================
def usage_to_metadata(usage: Usage) -> UsageMetadata | None:
    """LangChain usage, or None when the endpoint did not say how many input or output tokens
    (null counts are never reported as zeros; the wire usage then stays in
    ``response_metadata["token_usage"]``, see :func:`usage_fields`)."""
    inp = usage.input_tokens
    outp = usage.output_tokens
    if inp is None or outp is None:
        return None
    total = usage.total_tokens if usage.total_tokens is not None else inp + outp
    meta = UsageMetadata(input_tokens=inp, output_tokens=outp, total_tokens=total)
    in_details: dict[str, int] = {}
    if usage.cache_read_tokens is not None:
        in_details["cache_read"] = usage.cache_read_tokens
    if usage.cache_creation_tokens is not None:
        in_details["cache_creation"] = usage.cache_creation_tokens
    if in_details:
        meta["input_token_details"] = cast(InputTokenDetails, in_details)
    if usage.reasoning_tokens is not None:
        meta["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return meta


def usage_fields(usage: Usage | None) -> tuple[UsageMetadata | None, dict[str, Any]]:
    """(usage_metadata, response_metadata additions) for a message or the last chunk."""
    if usage is None:
        return None, {}
    meta = usage_to_metadata(usage)
    if meta is not None:
        return meta, {}
    raw = (
        usage.raw
        if usage.raw is not None
        else {
            k: v
            for k, v in (
                ("input_tokens", usage.input_tokens),
                ("output_tokens", usage.output_tokens),
                ("total_tokens", usage.total_tokens),
            )
            if v is not None
        }
    )
    return None, {"token_usage": raw}


def text_block(text: str, extras: Mapping[str, Any] | None) -> dict[str, Any]:
    """A text content block. The Responses message item id is the block's ``id`` (as
    langchain-openai's Responses output and databricks-langchain give it); other wire fields ride
    in ``extras``."""
    block: dict[str, Any] = {"type": "text", "text": text}
    if extras:
        rest = dict(extras)
        item_id = rest.pop("id", None)
        if item_id is not None:
            block["id"] = item_id
        if rest:
            block["extras"] = rest
    return block


def reasoning_block(part: ReasoningPart | ReasoningDelta, *, item: Any = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "reasoning", "reasoning": part.text}
    extras: dict[str, Any] = {}
    if part.signature is not None:
        extras["signature"] = part.signature
    if part.redacted is not None:
        extras["redacted"] = part.redacted
    if part.block is not None:
        extras["block"] = part.block
    if item:
        extras["item"] = item
    if extras:
        block["extras"] = extras
    return block


def server_tool_block(item: Mapping[str, Any]) -> dict[str, Any]:
    itype = str(item.get("type", ""))
    if itype.endswith("_output") or itype.endswith("_result"):
        block: dict[str, Any] = {
            "type": "server_tool_result",
            "tool_call_id": item.get("call_id") or item.get("id") or "",
            "status": "error" if item.get("status") in ("failed", "error") else "success",
        }
        if "output" in item:
            block["output"] = item["output"]
    else:
        args: Any = item.get("arguments", item.get("action", item.get("input")))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                args = {"input": args}
        block = {
            "type": "server_tool_call",
            "id": item.get("id") or "",
            "name": item.get("name") or itype.removesuffix("_call"),
            "args": args if isinstance(args, dict) else {},
        }
    block["extras"] = {"item": dict(item)}
    return block


def parse_tool_call(part: ToolCallPart) -> tuple[dict[str, Any] | None, str | None]:
    """Return (args, None) for parseable JSON-object arguments, else (None, error)."""
    raw = part.arguments
    if part.kind == "custom":
        # Free-text (Responses "custom") tools take one string, not JSON: LangChain's
        # single-input convention (as langchain-openai does) so agents can run them.
        return {CUSTOM_ARG: raw or ""}, None
    if raw is None or raw.strip() == "":
        return {}, None
    try:
        args = json.loads(raw)
    except ValueError as exc:
        return None, f"arguments are not valid JSON: {exc}"
    if not isinstance(args, dict):
        return None, "arguments are not a JSON object"
    return args, None


def raw_tool_call(part: ToolCallPart) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": part.id,
        "type": part.kind,
        "function": {"name": part.name, "arguments": part.arguments},
    }
    if part.extras:
        raw["extras"] = dict(part.extras)
    return raw


def split_raw_calls(raws: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Plain OpenAI-style tool-call dicts, plus what only a replay needs (kind, wire extras)
    keyed by call id, so ``additional_kwargs["tool_calls"]`` stays what other code expects."""
    plain: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    for raw in raws:
        plain.append({"id": raw["id"], "type": "function", "function": dict(raw["function"])})
        more: dict[str, Any] = {}
        if raw["type"] != "function":
            more["kind"] = raw["type"]
        if raw.get("extras"):
            more["extras"] = dict(raw["extras"])
        if more:
            extras[raw["id"]] = more
    return plain, extras


def response_to_message(resp: ChatResponse, *, model: str | None = None) -> AIMessage:
    content_blocks: list[dict[str, Any]] = []
    plain = True
    tool_calls = []
    invalid = []
    raw_calls = []
    for part in resp.parts:
        if isinstance(part, TextPart):
            content_blocks.append(text_block(part.text, part.extras))
            plain = plain and not part.extras
        elif isinstance(part, ReasoningPart):
            content_blocks.append(reasoning_block(part, item=part.extras))
            plain = False
        elif isinstance(part, ToolCallPart):
            raw_calls.append(raw_tool_call(part))
            args, error = parse_tool_call(part)
            if args is not None:
                tool_calls.append(tool_call(name=part.name, args=args, id=part.id))
            else:
                invalid.append(
                    invalid_tool_call(name=part.name, args=part.arguments, id=part.id, error=error)
                )
        elif isinstance(part, ServerToolPart):
            content_blocks.append(server_tool_block(part.item))
            plain = False
        else:  # media output (rare): keep as a standard block
            content_blocks.append(_media_out_block(part))
            plain = False
    content: str | list[str | dict[Any, Any]]
    if plain:
        content = "".join(b["text"] for b in content_blocks)
    else:
        content = cast("list[str | dict[Any, Any]]", content_blocks)
    additional_kwargs: dict[str, Any] = {}
    if raw_calls:
        plain_calls, call_extras = split_raw_calls(raw_calls)
        additional_kwargs["tool_calls"] = plain_calls
        if call_extras:
            additional_kwargs[TOOL_CALL_EXTRAS_KEY] = call_extras
    usage_metadata, more_meta = usage_fields(resp.usage)
    # empty lists and dicts are AIMessage's defaults: passing them only costs validation
    given = (
        ("additional_kwargs", additional_kwargs),
        ("tool_calls", tool_calls),
        ("invalid_tool_calls", invalid),
    )
    fields: dict[str, Any] = {name: value for name, value in given if value}
    message = AIMessage(
        content=content,
        usage_metadata=usage_metadata,
        response_metadata={**response_metadata(resp, model=model), **more_meta},
        id=resp.id,
        **fields,
    )
    custom = resp.custom_outputs
    if custom is not None:
        message.custom_outputs = custom  # type: ignore[attr-defined]  # as databricks-langchain
    return message


def _media_out_block(part: Any) -> dict[str, Any]:
    if isinstance(part, MediaPart):
        block: dict[str, Any] = {"type": part.kind}
        if part.url:
            block["url"] = part.url
        if part.mime_type:
            block["mime_type"] = part.mime_type
        return block
    return {"type": "non_standard", "value": {"part": repr(part)}}


def response_metadata(resp: ChatResponse, *, model: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "model_name": resp.model or model or "",
        "model_provider": PROVIDER,
        "finish_reason": resp.finish_reason,
    }
    if resp.id is not None:
        meta["id"] = resp.id
    if resp.extras:
        custom = resp.custom_outputs
        if custom is not None:
            meta["custom_outputs"] = custom
    return meta
