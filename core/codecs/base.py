"""The contract every wire codec meets (``core.codecs.chat``, ``core.codecs.responses``, ...).

A codec is a module of pure functions between the neutral types (:mod:`core.types`) and one
API's JSON; it does no I/O. The client only ever talks to a codec through this contract, and
picks one with :func:`core.codecs.codec_for`. Shared policy (usage, finish reasons, effort,
validation) lives in :mod:`core.codecs.policy`, not in the codecs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import ModelInfo
    from core.types import ChatResponse, Delta, GenerationParams, Message

__all__ = ["Codec", "StreamDecoding"]


class StreamDecoding(Protocol):
    """Turns the data field of each server-sent event into deltas."""

    @property
    def done(self) -> bool:
        """The stream's terminal event was seen: stop reading."""
        ...

    @property
    def complete(self) -> bool:
        """A clean end of the stream here is a whole answer (a terminal event came, or the
        wire has none and nothing was left half-sent); else the stream was cut."""
        ...

    def feed(self, data: str) -> list[Delta]: ...

    def close(self) -> list[Delta]:
        """Deltas held back until the end (usage once, a finish reason if none came)."""
        ...


class Codec(Protocol):
    def build_request(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        model: str | None,
        info: ModelInfo,
        stream: bool,
        external: bool = False,
    ) -> dict[str, Any]:
        """The JSON body; bad input raises InvalidRequestError before anything is sent.

        ``model=None`` leaves the model out (``/invocations``, apps); ``external`` says the
        endpoint serves an external model (stateful parameters allowed)."""
        ...

    def parse_response(self, body: Any) -> ChatResponse:
        """A whole JSON answer; a shape it does not know raises ResponseParseError."""
        ...

    def StreamDecoder(self) -> StreamDecoding:  # a class in each codec module
        ...


if TYPE_CHECKING:  # pragma: no cover - mypy checks every codec module against the contract
    from core.codecs import chat as _chat
    from core.codecs import chat_agent as _chat_agent
    from core.codecs import gemini as _gemini
    from core.codecs import open_responses as _open_responses
    from core.codecs import responses as _responses
    from core.codecs import responses_agent as _responses_agent

    _checked: tuple[Codec, ...] = (
        _chat, _responses, _open_responses, _gemini, _responses_agent, _chat_agent
    )
