"""Neutral conversation types shared by every codec and both adapters.

Nothing here knows about HTTP, JSON wire shapes or either framework. Objects on the hot path
(parts, deltas) are slots dataclasses: cheap to build for every streamed chunk. Pydantic is kept
for user-facing configuration, not for these.

A message is a role plus ordered parts. A response is parts + usage + finish reason + model +
whatever else the server sent (kept in ``extras``, never dropped). A stream is a sequence of
small deltas; :class:`core.accumulator.StreamAccumulator` folds them back into a response and
stamps each delta with the index of the part it belongs to (``delta.part``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "developer", "user", "assistant", "tool"]
MediaKind = Literal["image", "audio", "video", "file"]


# ---------------------------------------------------------------------------------------------
# Parts
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class TextPart:
    text: str
    # Wire fields that ride on a text block and must go back unchanged, e.g. Gemini's
    # ``thoughtSignature`` or Responses ``annotations``.
    extras: dict[str, Any] | None = None
    # A prompt-cache breakpoint after this block (Anthropic's ``{"type": "ephemeral"}``, maybe
    # with a ``ttl``), from LangChain's ``cache_control`` or LlamaIndex's ``CachePoint``.
    cache_control: dict[str, Any] | None = None


@dataclass(slots=True)
class ReasoningPart:
    """One item of a model's reasoning.

    ``text`` may be empty (thinking omitted, signature only). ``signature`` is ``None`` when the
    wire item had no signature key (GPT OSS) and a string when it had one. ``redacted`` holds the
    opaque data of a ``summary_encrypted_text`` item (or a Responses ``encrypted_content``).
    Consecutive reasoning parts with the same ``block`` came from one wire reasoning block and
    are sent back as one; ``None`` means "merge with its reasoning neighbours".
    ``extras`` keeps unknown keys of the wire item so it can be re-sent unchanged.
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    block: int | None = None
    extras: dict[str, Any] | None = None


@dataclass(slots=True)
class MediaPart:
    """Image, audio, video or file input: a URL (``https://`` or ``data:``) or raw bytes."""

    kind: MediaKind
    url: str | None = None
    data: bytes | None = None
    mime_type: str | None = None
    filename: str | None = None
    detail: str | None = None  # OpenAI-style image detail ("low" | "high" | "auto")
    cache_control: dict[str, Any] | None = None  # as on TextPart


@dataclass(slots=True)
class ToolCallPart:
    id: str
    name: str
    arguments: str  # raw JSON text as the model produced it; adapters parse it
    # "function" for chat/Responses function tools; "custom" for free-text Responses tools.
    kind: str = "function"
    extras: dict[str, Any] | None = None


@dataclass(slots=True)
class ToolResultPart:
    tool_call_id: str
    content: str | list[TextPart | MediaPart]
    is_error: bool = False
    name: str | None = None


@dataclass(slots=True)
class ServerToolPart:
    """A built-in (server-side) tool call or its result, kept whole as the wire item dict."""

    item: dict[str, Any]


Part = TextPart | ReasoningPart | MediaPart | ToolCallPart | ToolResultPart | ServerToolPart


@dataclass(slots=True)
class Message:
    role: Role
    parts: list[Part] = field(default_factory=list)
    name: str | None = None

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


# ---------------------------------------------------------------------------------------------
# Tools and generation parameters
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Tool:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None
    # "function" (JSON schema), "custom" (free text, Responses only) or a Responses built-in
    # type ("apply_patch", "shell", "image_generation", "mcp") whose config lives in ``raw``.
    kind: str = "function"
    raw: dict[str, Any] | None = None


@dataclass(slots=True)
class NamedToolChoice:
    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


@dataclass(slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None
    description: str | None = None


@dataclass(slots=True)
class GenerationParams:
    """Everything a caller can ask of one generation, portable across surfaces.

    ``reasoning_effort`` and ``thinking_budget`` are the two portable reasoning knobs; codecs
    translate them per model family. ``extra_body`` is merged into the wire body last, so it can
    set anything the codec does not know about.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    extra_body: dict[str, Any] | None = None
    # Responses API / agents only
    instructions: str | None = None
    reasoning_summary: str | None = None
    include: list[str] | None = None
    metadata: dict[str, Any] | None = None
    truncation: str | None = None
    max_tool_calls: int | None = None
    custom_inputs: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    raw: dict[str, Any] | None = None  # the wire usage object as received


FinishReason = str  # normalized: "stop" | "length" | "tool_calls" | "content_filter" | other


@dataclass(slots=True)
class ChatResponse:
    parts: list[Part]
    usage: Usage | None = None
    finish_reason: FinishReason | None = None
    model: str | None = None
    id: str | None = None
    # Unknown top-level fields (and Responses ``custom_outputs``), kept rather than dropped.
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.parts if isinstance(p, ToolCallPart)]

    @property
    def reasoning(self) -> list[ReasoningPart]:
        return [p for p in self.parts if isinstance(p, ReasoningPart)]

    @property
    def custom_outputs(self) -> Any:
        """An agent's ``custom_outputs``: top level (Responses, ChatAgent) or, as some chat
        endpoints send it, on the message (``extras["message"]``)."""
        found = self.extras.get("custom_outputs")
        if found is None:
            message = self.extras.get("message")
            if isinstance(message, dict):
                found = message.get("custom_outputs")
        return found


# ---------------------------------------------------------------------------------------------
# Stream deltas
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class TextDelta:
    text: str
    extras: dict[str, Any] | None = None  # e.g. a thoughtSignature arriving on a text block
    # Index of this delta's part in the folded response's parts, stamped by
    # core.accumulator.StreamAccumulator.add (the one place that decides part boundaries).
    part: int | None = field(default=None, compare=False)


@dataclass(slots=True)
class ReasoningDelta:
    """A piece of reasoning. ``signature``/``redacted`` arrive on their own delta, usually last.

    ``block`` identifies which reasoning item the piece belongs to when the wire says so
    (Responses ``summary_index``/item id); ``None`` means "the current one".
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    block: int | None = None
    # Wire fields of the reasoning item that must go back unchanged (Responses item ``id``...);
    # the accumulator merges them into the part's ``extras`` (dict.update).
    extras: dict[str, Any] | None = None
    # Index of this delta's part in the folded response's parts, stamped by
    # core.accumulator.StreamAccumulator.add (the one place that decides part boundaries).
    part: int | None = field(default=None, compare=False)


@dataclass(slots=True)
class ToolCallDelta:
    index: int  # the wire's own key for this call; pieces with one index are one call
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    kind: str = "function"
    # Wire fields of the call item (Responses item ``id``); merged into ToolCallPart.extras.
    extras: dict[str, Any] | None = None
    # Index of this delta's part in the folded response's parts, stamped by
    # core.accumulator.StreamAccumulator.add (the one place that decides part boundaries).
    part: int | None = field(default=None, compare=False)


@dataclass(slots=True)
class ServerToolDelta:
    item: dict[str, Any]
    # Index of this delta's part in the folded response's parts, stamped by
    # core.accumulator.StreamAccumulator.add (the one place that decides part boundaries).
    part: int | None = field(default=None, compare=False)


@dataclass(slots=True)
class UsageDelta:
    usage: Usage


@dataclass(slots=True)
class FinishDelta:
    reason: FinishReason


@dataclass(slots=True)
class MetaDelta:
    """Response-level facts: id, model, and any extra fields (``custom_outputs``...)."""

    id: str | None = None
    model: str | None = None
    extras: dict[str, Any] | None = None


Delta = (
    TextDelta | ReasoningDelta | ToolCallDelta | ServerToolDelta | UsageDelta | FinishDelta | MetaDelta
)
