"""Open Responses: the Responses request format for Claude, Gemini and the Databricks-hosted
open models, at ``/serving-endpoints/open-responses``. Pure functions, no I/O.

The wire shapes are the Responses API's, so :mod:`core.codecs.responses` does all the encoding
and decoding (reasoning items with their ``encrypted_content`` or raw ``content``, tool calls,
usage, stream events). What differs per provider is data, in :data:`PROVIDERS`, applied here
before anything is sent. Facts from the Databricks page "Query a model with the Open Responses
API" (docs.databricks.com/.../model-serving/query-open-responses-models):

* every provider: stateless (no ``previous_response_id``, no server-side conversations: the
  whole conversation goes in ``input`` each turn); ``user``, ``safety_identifier``,
  ``metadata`` and ``truncation`` are accepted and echoed back but change nothing off OpenAI
  (we send them and warn);
* Databricks-hosted open models: function calling, reasoning, structured output and image input
  are enabled per model, and a request using a missing one is an error; images by ``https://``
  or ``data:`` URL only, no ``input_file``/``file_id``;
* Claude: ``temperature`` is on a 0-2 scale that Databricks halves onto Claude's native 0-1, so
  we double ours (``temperature=0.5`` means the same on every surface); reasoning survives a
  turn only when its item goes back whole, ``encrypted_content`` included.
* custom and built-in tools are OpenAI features (Databricks "Query with the OpenAI Responses
  API": GPT-5 models only), so they are refused here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.codecs import responses
from core.codecs.responses import StreamDecoder, parse_response
from core.errors import InvalidRequestError
from core.types import GenerationParams, MediaPart, Message, ToolResultPart

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import ModelInfo

__all__ = ["PROVIDERS", "Provider", "StreamDecoder", "build_request", "parse_response", "provider_for"]


@dataclass(frozen=True, slots=True)
class Provider:
    """How one provider behind Open Responses differs from OpenAI's Responses API."""

    name: str
    temperature_scale: float  # wire temperature = ours * scale
    max_temperature: float  # the highest temperature (ours) the model takes
    encrypted_reasoning: bool  # reasoning crosses a turn only as encrypted_content: ask for it
    file_input: bool  # input_file items accepted
    per_model_features: bool  # tools/reasoning/images checked against the model's registry entry


PROVIDERS: dict[str, Provider] = {
    "claude": Provider("Anthropic Claude", 2.0, 1.0, True, True, False),
    "gemini": Provider("Google Gemini", 1.0, 2.0, True, True, False),
    "hosted": Provider("Databricks-hosted open model", 1.0, 2.0, False, False, True),
}
_FAMILY_PROVIDER = {"claude": "claude", "gemini": "gemini"}  # every other family: "hosted"

IGNORED_OFF_OPENAI = ("user", "safety_identifier", "metadata", "truncation")
STATELESS_REJECTED = (*responses.PAY_PER_TOKEN_REJECTED, "conversation")


def provider_for(info: ModelInfo | None) -> Provider:
    family = info.family if info is not None else "unknown"
    return PROVIDERS[_FAMILY_PROVIDER.get(family, "hosted")]


def build_request(
    messages: Sequence[Message],
    params: GenerationParams,
    *,
    model: str | None,
    info: ModelInfo | None = None,
    stream: bool,
    external: bool = False,
) -> dict[str, Any]:
    """An ``/open-responses`` body; refuses what the provider cannot do before sending.

    ``external`` is accepted for the codec contract and changes nothing: Open Responses is
    stateless for every provider, external models included.
    """
    provider = provider_for(info)
    _check_stateless(params)
    _check_tools(params, provider)
    _check_media(messages, provider)
    if provider.per_model_features and info is not None and info.known:
        _check_model_features(params, messages, info)
    _warn_ignored(params, provider)
    body = responses.build_request(messages, params, model=model, info=info, stream=stream)
    if params.temperature is not None:
        if not 0 <= params.temperature <= provider.max_temperature:
            raise InvalidRequestError(
                f"temperature {params.temperature} is out of range for {provider.name} "
                f"(0 to {provider.max_temperature:g})"
            )
        body["temperature"] = params.temperature * provider.temperature_scale
    if (
        not provider.encrypted_reasoning
        and params.include is None
        and body.get("include") == ["reasoning.encrypted_content"]
    ):
        del body["include"]  # the codec's default for OpenAI; open models return no such thing
    return body


def _check_stateless(params: GenerationParams) -> None:
    extra = params.extra_body or {}
    bad = [k for k in STATELESS_REJECTED if extra.get(k) not in (None, False)]
    if bad:
        raise InvalidRequestError(
            f"{', '.join(bad)}: Open Responses is stateless and does not take "
            f"{'it' if len(bad) == 1 else 'them'}",
            hint="send the whole conversation each turn (the assistant's reasoning items go "
            "back whole, encrypted_content included)",
        )


def _check_tools(params: GenerationParams, provider: Provider) -> None:
    for tool in params.tools or ():
        if tool.kind != "function":
            raise InvalidRequestError(
                f"tool {tool.name!r} is a {tool.kind!r} tool; Open Responses ({provider.name}) "
                "takes function tools only",
                hint="custom and built-in tools are OpenAI Responses features: use a GPT-5 "
                "model, or describe the tool as a function",
            )


def _media_of(messages: Sequence[Message]) -> list[MediaPart]:
    found: list[MediaPart] = []
    for msg in messages:
        for part in msg.parts:
            if isinstance(part, MediaPart):
                found.append(part)
            elif isinstance(part, ToolResultPart) and not isinstance(part.content, str):
                found.extend(p for p in part.content if isinstance(p, MediaPart))
    return found


def _check_media(messages: Sequence[Message], provider: Provider) -> None:
    if provider.file_input:
        return
    if any(p.kind == "file" for p in _media_of(messages)):
        raise InvalidRequestError(
            f"{provider.name}s on Open Responses take no file input (input_file/file_id)",
            hint="send the document's text, or images as https:// or data: URLs",
        )


def _check_model_features(
    params: GenerationParams, messages: Sequence[Message], info: ModelInfo
) -> None:
    """Databricks enables features per hosted model and answers a missing one with an error."""
    missing = []
    if params.tools and not info.supports_tools:
        missing.append("function calling")
    wants_reasoning = params.thinking_budget is not None or params.reasoning_effort not in (
        None,
        "none",
    )
    if wants_reasoning and info.reasoning is None:
        missing.append("reasoning")
    if "image" not in info.input_modalities and any(
        p.kind == "image" for p in _media_of(messages)
    ):
        missing.append("image input")
    if missing:
        raise InvalidRequestError(
            f"{info.name} does not support {' or '.join(missing)} on Open Responses",
            hint="drop it, pick a model that has it, or register_model() the model if the "
            "registry is out of date",
        )


def _warn_ignored(params: GenerationParams, provider: Provider) -> None:
    given = [
        k
        for k in IGNORED_OFF_OPENAI
        if getattr(params, k, None) is not None or (params.extra_body or {}).get(k) is not None
    ]
    if given:
        warnings.warn(
            f"{', '.join(given)}: accepted and echoed back by Open Responses, but ignored by "
            f"{provider.name} (they only change OpenAI models)",
            UserWarning,
            stacklevel=4,
        )
