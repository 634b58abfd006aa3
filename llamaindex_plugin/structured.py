"""Structured output over a JSON-schema response format: the request keywords, the parsed
answer, and the partial objects of a structured stream (used by :mod:`llamaindex_plugin.llm`)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.bridge.pydantic import BaseModel

from core.params import response_format_from

Model = TypeVar("Model", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def structured_kwargs(output_cls: type[BaseModel], llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """The chat keywords of a structured call: the caller's, with the class as JSON schema."""
    return {**(llm_kwargs or {}), "response_format": response_format_from(output_cls)}


def parse_structured(output_cls: type[Model], text: str | None) -> Model:
    """The answer as ``output_cls`` (a fenced ```json block is unwrapped first)."""
    text = (text or "").strip()
    match = _FENCE.match(text)
    if match:
        text = match.group(1)
    return output_cls.model_validate_json(text)


class PartialObjects:
    """The partial objects of a structured stream so far, one chunk at a time."""

    __slots__ = ("current", "llm", "output_cls")

    def __init__(self, output_cls: type[BaseModel], llm: Any) -> None:
        self.output_cls = output_cls
        self.llm = llm
        self.current: Any = None

    def step(self, chunk: ChatResponse) -> Any:
        from llama_index.core.program.utils import process_streaming_objects

        self.current = process_streaming_objects(
            chunk, self.output_cls, cur_objects=_as_list(self.current), llm=self.llm
        )
        return self.current


def _as_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    return value if isinstance(value, list) else [value]
