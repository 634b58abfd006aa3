"""LlamaIndex <-> neutral (``core.types``) conversions. No JSON building, no HTTP.

Conventions kept on LlamaIndex objects so that a message the model produced can be sent back
exactly as received:

- reasoning: ``ThinkingBlock(content=text, additional_information={"signature": ...,
  "redacted": ..., "block": ..., "extras": ...})`` (keys only present when the wire had them);
- tool calls: ``ToolCallBlock``s, mirrored OpenAI-style in ``additional_kwargs["tool_calls"]``
  (plain OpenAI tool-call dicts with the raw argument text, which is what goes back on the
  wire); wire fields of a call item (Responses item ``id``) in
  ``additional_kwargs["tool_call_extras"] = {"<call id>": {...}}``;
- wire extras riding on a text block (e.g. Gemini ``thoughtSignature``):
  ``additional_kwargs["text_extras"] = {"<block index>": {...}}``;
- built-in (server-side) tool items of the Responses API:
  ``additional_kwargs["server_tool_items"] = [{"index": <block index>, "item": {...}}]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)

from core.errors import InvalidRequestError
from core.params import replay_arguments, tool_from_spec
from core.types import (
    ChatResponse as NeutralResponse,
)
from core.types import (
    MediaPart,
    Message,
    Part,
    ReasoningPart,
    ServerToolPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
    Usage,
)

if TYPE_CHECKING:  # pragma: no cover
    from llama_index.core.tools.types import BaseTool

_ROLE_MAP: dict[str, str] = {
    "system": "system",
    "developer": "developer",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
    "chatbot": "assistant",
    "model": "assistant",
}

# ---------------------------------------------------------------------------------------------
# LlamaIndex -> neutral
# ---------------------------------------------------------------------------------------------


def _role_of(message: ChatMessage) -> str:
    role = message.role.value if isinstance(message.role, MessageRole) else str(message.role)
    return _ROLE_MAP.get(role, "user")


def _media_from_block(block: Any) -> MediaPart | None:
    """Image/audio/video/document block -> MediaPart (URL kept as URL; path/bytes as bytes)."""
    if isinstance(block, ImageBlock):
        if block.image is None and block.path is None and block.url is not None:
            return MediaPart(
                kind="image",
                url=str(block.url),
                mime_type=block.image_mimetype,
                detail=block.detail,
            )
        data = block.resolve_image(as_base64=False).read()
        return MediaPart(
            kind="image", data=data, mime_type=block.image_mimetype, detail=block.detail
        )
    if isinstance(block, AudioBlock):
        mime = _audio_mime(block.format)
        if block.audio is None and block.path is None and block.url is not None:
            return MediaPart(kind="audio", url=str(block.url), mime_type=mime)
        return MediaPart(
            kind="audio", data=block.resolve_audio(as_base64=False).read(), mime_type=mime
        )
    if isinstance(block, VideoBlock):
        if block.video is None and block.path is None and block.url is not None:
            return MediaPart(kind="video", url=str(block.url), mime_type=block.video_mimetype)
        return MediaPart(
            kind="video",
            data=block.resolve_video(as_base64=False).read(),
            mime_type=block.video_mimetype,
        )
    if isinstance(block, DocumentBlock):
        filename = block.title if block.title and block.title != "input_document" else None
        if filename is None and block.path is not None:
            filename = str(block.path).replace("\\", "/").rsplit("/", 1)[-1]
        if block.data is None and block.path is None and block.url is not None:
            return MediaPart(
                kind="file",
                url=str(block.url),
                mime_type=block.document_mimetype,
                filename=filename,
            )
        return MediaPart(
            kind="file",
            data=block.resolve_document().read(),
            mime_type=block.document_mimetype,
            filename=filename,
        )
    return None


def _audio_mime(fmt: str | None) -> str | None:
    if not fmt:
        return None
    if "/" in fmt:
        return fmt
    import filetype  # shipped with llama-index-core

    kind = filetype.get_type(ext=fmt)
    return str(kind.mime) if kind is not None and kind.mime else f"audio/{fmt}"


def _reasoning_from_block(block: ThinkingBlock) -> ReasoningPart:
    info = block.additional_information or {}
    signature = info.get("signature")
    redacted = info.get("redacted")
    blk = info.get("block")
    extras = info.get("extras")
    return ReasoningPart(
        text=block.content or "",
        signature=signature if isinstance(signature, str) else None,
        redacted=redacted if isinstance(redacted, str) else None,
        block=blk if isinstance(blk, int) else None,
        extras=dict(extras) if isinstance(extras, dict) else None,
    )


def _legacy_tool_call(tc: Any) -> tuple[str, str, str, str]:
    """(id, name, arguments, kind) from an OpenAI-style dict or object."""
    if isinstance(tc, dict):
        kind = tc.get("type") or "function"
        fn = tc.get("function") or tc.get(kind) or {}
        name = fn.get("name") or tc.get("name") or ""
        args = fn.get("arguments", fn.get("input", tc.get("arguments", "")))
        return (
            str(tc.get("id") or ""),
            name,
            args if isinstance(args, str) else json.dumps(args),
            kind,
        )
    fn = getattr(tc, "function", None)
    args = getattr(fn, "arguments", "") if fn is not None else ""
    return (
        str(getattr(tc, "id", "") or ""),
        getattr(fn, "name", "") if fn is not None else "",
        args if isinstance(args, str) else json.dumps(args),
        getattr(tc, "type", None) or "function",
    )


def _text_of_blocks(blocks: Iterable[Any]) -> str:
    return "\n".join(b.text for b in blocks if isinstance(b, TextBlock))


def _tool_result(message: ChatMessage) -> ToolResultPart:
    kw = message.additional_kwargs
    call_id = kw.get("tool_call_id")
    name = kw.get("name") or kw.get("tool_name")
    if call_id is None:
        for block in message.blocks:
            if isinstance(block, ToolCallBlock):
                call_id = block.tool_call_id
                name = name or block.tool_name
                break
    content: str | list[TextPart | MediaPart]
    has_media = any(
        isinstance(b, (ImageBlock, AudioBlock, VideoBlock, DocumentBlock)) for b in message.blocks
    )
    if has_media:
        items: list[TextPart | MediaPart] = []
        for block in message.blocks:
            if isinstance(block, TextBlock):
                items.append(TextPart(block.text))
            else:
                media = _media_from_block(block)
                if media is not None:
                    items.append(media)
        content = items
    else:
        content = _text_of_blocks(message.blocks)
    return ToolResultPart(
        tool_call_id=str(call_id or ""),
        content=content,
        is_error=bool(kw.get("is_error", False)),
        name=name,
    )


def _parse_partial_json(text: str) -> Any:
    from llama_index.core.llms.utils import parse_partial_json

    return parse_partial_json(text)


def message_to_neutral(message: ChatMessage) -> Message:
    role = _role_of(message)
    if role == "tool":
        return Message(role="tool", parts=[_tool_result(message)])

    kw = message.additional_kwargs
    blocks = message.blocks
    if not kw and all(block.__class__ is TextBlock for block in blocks):
        # the usual turn, plain text and nothing beside it: what the loop below gives, sooner
        return Message(role=role, parts=[TextPart(block.text) for block in blocks])  # type: ignore[arg-type]
    text_extras = kw.get("text_extras") if role == "assistant" else None
    server_items = kw.get("server_tool_items") if role == "assistant" else None
    legacy_calls = kw.get("tool_calls") if role == "assistant" else None
    extras_by_id = kw.get("tool_call_extras") if role == "assistant" else None
    if not isinstance(extras_by_id, dict):
        extras_by_id = {}
    raw_args: dict[str, str] = {}
    if legacy_calls:
        for tc in legacy_calls:
            cid, _name, args, _kind = _legacy_tool_call(tc)
            raw_args[cid] = args

    parts: list[Part] = []
    insert_at: dict[int, list[dict[str, Any]]] = {}
    if isinstance(server_items, list):
        for entry in server_items:
            if isinstance(entry, dict) and isinstance(entry.get("item"), dict):
                insert_at.setdefault(int(entry.get("index", 0)), []).append(entry["item"])

    saw_tool_block = False
    for i, block in enumerate(blocks):
        for item in insert_at.pop(i, ()):
            parts.append(ServerToolPart(item=item))
        if isinstance(block, TextBlock):
            extras = None
            if isinstance(text_extras, dict):
                extras = text_extras.get(str(i))
            parts.append(TextPart(block.text, dict(extras) if isinstance(extras, dict) else None))
        elif isinstance(block, ThinkingBlock):
            parts.append(_reasoning_from_block(block))
        elif isinstance(block, CachePoint):
            _cache_point(parts, block)
        elif isinstance(block, ToolCallBlock):
            saw_tool_block = True
            cid = block.tool_call_id or ""
            kind = "function"
            found = extras_by_id.get(cid)
            call_extras = dict(found) if isinstance(found, dict) else None
            for tc in legacy_calls or ():
                tid, _n, _a, tkind = _legacy_tool_call(tc)
                if tid == cid:
                    kind = tkind
                    break
            parts.append(
                ToolCallPart(
                    id=cid,
                    name=block.tool_name,
                    arguments=replay_arguments(
                        block.tool_kwargs, raw_args.get(cid), lenient=_parse_partial_json
                    ),
                    kind=kind,
                    extras=call_extras,
                )
            )
        else:
            media = _media_from_block(block)
            if media is not None:
                parts.append(media)
            elif hasattr(block, "text") and isinstance(block.text, str):  # e.g. citation-like
                parts.append(TextPart(block.text))
    for idx in sorted(insert_at):
        for item in insert_at[idx]:
            parts.append(ServerToolPart(item=item))

    if role == "assistant" and legacy_calls and not saw_tool_block:
        for tc in legacy_calls:
            cid, name, args, kind = _legacy_tool_call(tc)
            extras = extras_by_id.get(cid)
            parts.append(
                ToolCallPart(
                    id=cid,
                    name=name,
                    arguments=args,
                    kind=kind,
                    extras=dict(extras) if isinstance(extras, dict) else None,
                )
            )

    return Message(role=role, parts=parts, name=kw.get("name") if role == "user" else None)  # type: ignore[arg-type]


def _cache_point(parts: list[Part], block: CachePoint) -> None:
    """A ``CachePoint`` marks the content before it as a prompt-cache prefix (as
    llama-index-llms-anthropic reads it): the breakpoint goes on the preceding part."""
    target = parts[-1] if parts else None
    if not isinstance(target, (TextPart, MediaPart)):
        raise InvalidRequestError(
            "a CachePoint must follow a text, image or document block in the same message; "
            "put it right after the content to cache"
        )
    target.cache_control = block.cache_control.model_dump(exclude_none=True)


def messages_to_neutral(messages: Sequence[ChatMessage]) -> list[Message]:
    return [message_to_neutral(m) for m in messages]


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------


def tool_to_neutral(tool: Any) -> Tool:
    """A LlamaIndex ``BaseTool``; dicts and core ``Tool``s go to :func:`core.params.tool_from_spec`."""
    metadata = getattr(tool, "metadata", None)
    if metadata is None or isinstance(tool, (dict, Tool)):
        return tool_from_spec(tool)
    return Tool(
        name=metadata.get_name(),
        description=metadata.description or "",
        parameters=metadata.get_parameters_dict(),
    )


def tools_to_neutral(tools: Sequence[BaseTool | dict[str, Any] | Tool]) -> list[Tool]:
    return [tool_to_neutral(t) for t in tools]


# ---------------------------------------------------------------------------------------------
# neutral -> LlamaIndex
# ---------------------------------------------------------------------------------------------


def thinking_block(part: ReasoningPart) -> ThinkingBlock:
    info: dict[str, Any] = {}
    if part.signature is not None:
        info["signature"] = part.signature
    if part.redacted is not None:
        info["redacted"] = part.redacted
    if part.block is not None:
        info["block"] = part.block
    if part.extras:
        info["extras"] = dict(part.extras)
    return ThinkingBlock(content=part.text, additional_information=info)


def parse_arguments(arguments: str, kind: str = "function") -> dict[str, Any] | str:
    if kind != "function":
        return arguments
    if not arguments or not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value if isinstance(value, dict) else arguments


def _media_block(part: MediaPart) -> Any:
    if part.kind == "image":
        if part.data is not None:
            return ImageBlock(image=part.data, image_mimetype=part.mime_type, detail=part.detail)
        return ImageBlock(url=part.url, image_mimetype=part.mime_type, detail=part.detail)
    if part.kind == "audio":
        fmt = part.mime_type.split("/", 1)[-1] if part.mime_type else None
        return AudioBlock(audio=part.data, url=part.url, format=fmt)
    if part.kind == "video":
        return VideoBlock(video=part.data, url=part.url, video_mimetype=part.mime_type)
    return DocumentBlock(
        data=part.data, url=part.url, title=part.filename, document_mimetype=part.mime_type
    )


def parts_to_message(parts: Sequence[Part], role: str = "assistant") -> ChatMessage:
    blocks: list[Any] = []
    tool_calls: list[dict[str, Any]] = []
    text_extras: dict[str, Any] = {}
    call_extras: dict[str, Any] = {}
    server_items: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if part.extras:
                text_extras[str(len(blocks))] = dict(part.extras)
            blocks.append(TextBlock(text=part.text))
        elif isinstance(part, ReasoningPart):
            blocks.append(thinking_block(part))
        elif isinstance(part, ToolCallPart):
            blocks.append(
                ToolCallBlock(
                    tool_call_id=part.id,
                    tool_name=part.name,
                    tool_kwargs=parse_arguments(part.arguments, part.kind),
                )
            )
            call: dict[str, Any] = (
                {
                    "id": part.id,
                    "type": "function",
                    "function": {"name": part.name, "arguments": part.arguments},
                }
                if part.kind == "function"
                else {
                    "id": part.id,
                    "type": part.kind,
                    part.kind: {"name": part.name, "input": part.arguments},
                }
            )
            if part.extras:
                call_extras[part.id] = dict(part.extras)
            tool_calls.append(call)
        elif isinstance(part, ServerToolPart):
            server_items.append({"index": len(blocks), "item": part.item})
        elif isinstance(part, MediaPart):
            blocks.append(_media_block(part))
        elif isinstance(part, ToolResultPart):  # pragma: no cover - not produced by models
            content = part.content if isinstance(part.content, str) else ""
            blocks.append(TextBlock(text=content))
    kwargs: dict[str, Any] = {}
    if tool_calls:
        kwargs["tool_calls"] = tool_calls
    if call_extras:
        kwargs["tool_call_extras"] = call_extras
    if text_extras:
        kwargs["text_extras"] = text_extras
    if server_items:
        kwargs["server_tool_items"] = server_items
    return ChatMessage(role=role, blocks=blocks, additional_kwargs=kwargs)


def usage_kwargs(usage: Usage | None) -> dict[str, Any]:
    """Token counts the way llama-index-llms-openai reports them in ``additional_kwargs``."""
    if usage is None:
        return {}
    out: dict[str, Any] = {}
    if usage.input_tokens is not None:
        out["prompt_tokens"] = usage.input_tokens
    if usage.output_tokens is not None:
        out["completion_tokens"] = usage.output_tokens
    total = usage.total_tokens
    if total is None and usage.input_tokens is not None and usage.output_tokens is not None:
        total = usage.input_tokens + usage.output_tokens
    if total is not None:
        out["total_tokens"] = total
    return out


def usage_dict(usage: Usage | None) -> dict[str, Any] | None:
    """The wire usage (as received) plus the OpenAI-style names, for ``raw["usage"]``."""
    if usage is None:
        return None
    out: dict[str, Any] = dict(usage.raw) if usage.raw else {}
    out.update(usage_kwargs(usage))
    if usage.reasoning_tokens is not None:
        out.setdefault("reasoning_tokens", usage.reasoning_tokens)
    if usage.cache_read_tokens is not None:
        out.setdefault("cache_read_input_tokens", usage.cache_read_tokens)
    if usage.cache_creation_tokens is not None:
        out.setdefault("cache_creation_input_tokens", usage.cache_creation_tokens)
    return out


def raw_of(response: NeutralResponse) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": response.id,
        "model": response.model,
        "finish_reason": response.finish_reason,
        "usage": usage_dict(response.usage),
    }
    for key, value in response.extras.items():
        raw.setdefault(key, value)
    return raw


def response_kwargs(response: NeutralResponse) -> dict[str, Any]:
    kwargs = usage_kwargs(response.usage)
    custom_outputs = response.custom_outputs
    if custom_outputs is not None:
        kwargs["custom_outputs"] = custom_outputs
    return kwargs


def chat_response(response: NeutralResponse, delta: str | None = None) -> ChatResponse:
    message = parts_to_message(response.parts)
    kwargs = response_kwargs(response)
    if "custom_outputs" in kwargs:  # an agent's: on the message too (what memory keeps)
        message.additional_kwargs["custom_outputs"] = kwargs["custom_outputs"]
    return ChatResponse(
        message=message, raw=raw_of(response), delta=delta, additional_kwargs=kwargs
    )


def completion_response(response: NeutralResponse, delta: str | None = None) -> CompletionResponse:
    kwargs = response_kwargs(response)
    thinking = "".join(p.text for p in response.reasoning)
    if thinking:
        kwargs["thinking"] = thinking
    return CompletionResponse(
        text=response.text, raw=raw_of(response), delta=delta, additional_kwargs=kwargs
    )
