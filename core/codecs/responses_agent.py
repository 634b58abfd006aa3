"""ResponsesAgent codec (MLflow ``ResponsesAgent``: endpoint task ``agent/v1/responses``, Databricks
Apps): the Responses wire, read as an agent's answer.

The request is a Responses body (``core.codecs.responses.build_request``: ``input`` items,
``custom_inputs``, ``context``). What differs is reading the answer: an agent may run function
tools itself, so a call is the caller's only if nothing in the answer ran it (see
``core.codecs.responses._output_parts`` and ``core.codecs.responses_stream``).
"""

from __future__ import annotations

from typing import Any

from core.codecs import responses, responses_stream
from core.codecs.responses import build_request
from core.types import ChatResponse

__all__ = ["StreamDecoder", "build_request", "parse_response"]


def parse_response(body: Any) -> ChatResponse:
    return responses.parse_response(body, agent=True)


class StreamDecoder(responses_stream.StreamDecoder):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(agent=True)
