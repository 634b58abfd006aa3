"""Request checks chat completions and Responses share: message content (text, reasoning
sent back with its signature, media per model family), tool names and tool_choice."""

from __future__ import annotations

import re
from typing import Any

from core.emulator.model import ToolSpec, base_model_name, sign, thought_signature, words
from core.emulator.plumbing import HTTPError, Plumbing

_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


def _tool_choice(tc: Any, tools: list[ToolSpec]) -> str | None:
    if tc is None or tc == "auto":
        return None
    if tc in ("none",):
        return "none"
    if tc in ("required", "any"):
        if not tools:
            raise HTTPError(400, "tool_choice 'required' needs at least one tool.")
        return "required"
    if isinstance(tc, dict):
        fn: dict[str, Any] = tc["function"] if isinstance(tc.get("function"), dict) else tc
        name = fn.get("name")
        if not any(t.name == name for t in tools):
            raise HTTPError(400, f"tool_choice names a tool that is not in 'tools': {name!r}.")
        return f"name:{name}"
    raise HTTPError(400, f"Invalid tool_choice {tc!r}.")


class RequestChecks(Plumbing):
    """Content checks the chat, Responses and Gemini surfaces call."""

    def _check_media(
        self, kind: str, family: str, model: str, i: int, media: dict[str, int]
    ) -> None:
        if not self.state.options.check_modalities:
            return
        base = base_model_name(model).lower()
        name = base_model_name(model)
        if kind in ("audio_url", "video_url", "input_audio"):
            if family not in ("gemini", "unknown"):
                raise HTTPError(
                    400, f"messages[{i}]: model {name} does not support {kind.split('_')[0]} input."
                )
            return
        vision = family in ("claude", "gpt", "gemini", "gemma", "unknown") or (
            family == "llama" and "llama-4" in base
        )
        if not vision:
            raise HTTPError(
                400, f"messages[{i}]: model {name} does not support image or file input."
            )
        if kind in ("image_url", "input_image"):
            media["images"] = media.get("images", 0) + 1
            limit = (
                5 if family == "gemma" or "llama-4" in base else 500 if family == "gpt" else None
            )
            if limit is not None and media["images"] > limit:
                raise HTTPError(400, f"Too many images: model {name} accepts at most {limit}.")

    def _content_text(
        self,
        content: Any,
        role: str,
        family: str,
        i: int,
        model: str = "",
        media: dict[str, int] | None = None,
    ) -> tuple[str, int]:
        """Text of a chat message's content; checks reasoning blocks sent back in history."""
        if content is None or isinstance(content, str):
            return content or "", 0
        if not isinstance(content, list):
            raise HTTPError(400, f"messages[{i}].content must be a string or a list of blocks.")
        texts: list[str] = []
        cached = 0
        key = self.state.options.signing_key
        for block in content:
            if not isinstance(block, dict):
                raise HTTPError(400, f"messages[{i}].content blocks must be objects.")
            kind = block.get("type")
            if kind in ("text", "input_text", "output_text"):
                text = str(block.get("text") or "")
                texts.append(text)
                if block.get("cache_control"):
                    cached += words(text)
                ts = block.get("thoughtSignature")
                if ts is not None and ts != thought_signature(text, key):
                    raise HTTPError(
                        400,
                        f"messages[{i}]: thoughtSignature does not match the text block it was "
                        "returned with (the text was modified).",
                    )
            elif kind == "reasoning":
                if role != "assistant":
                    raise HTTPError(
                        400, f"messages[{i}]: reasoning blocks belong to assistant messages."
                    )
                for item in block.get("summary") or []:
                    if not isinstance(item, dict):
                        continue
                    if item.get("type") == "summary_text":
                        text = str(item.get("text") or "")
                        sig = item.get("signature")
                        if sig:
                            if sig != sign(text, key):
                                raise HTTPError(
                                    400,
                                    f"messages[{i}]: invalid signature in reasoning block: the "
                                    "reasoning text does not match its signature (was it modified?).",
                                )
                        elif text and family == "claude":
                            raise HTTPError(
                                400,
                                f"messages[{i}]: reasoning block has text but no signature. "
                                "Send earlier reasoning back unmodified with its signature, or "
                                "omit it entirely.",
                            )
            elif kind in (
                "image_url",
                "video_url",
                "audio_url",
                "input_audio",
                "input_image",
                "file",
                "input_file",
            ):
                self._check_media(kind, family, model, i, media if media is not None else {})
            else:
                raise HTTPError(400, f"messages[{i}]: unsupported content block type {kind!r}.")
        return "".join(texts), cached
