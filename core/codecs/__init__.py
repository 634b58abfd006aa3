"""Wire codecs: pure functions between the neutral types and one API's JSON, no I/O.

``core.codecs.chat`` speaks chat completions (AI Gateway, serving endpoints, ``/invocations``,
any OpenAI-compatible ``base_url``); ``core.codecs.responses`` speaks the Responses API,
``core.codecs.open_responses`` the same format for non-OpenAI providers, ``core.codecs.gemini``
Google's native ``generateContent``, ``core.codecs.responses_agent`` reads the Responses format
as an agent's answer (MLflow ResponsesAgent) and ``core.codecs.chat_agent`` speaks MLflow's
ChatAgent schema (see ``core.agents``). Each
meets :class:`core.codecs.base.Codec`; :func:`codec_for` is the one place that maps a route's
API kind to its codec (imported on first use, so ``import core`` stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from core.codecs.base import Codec


def codec_for(api: str) -> Codec:
    """``"chat"``, ``"responses"``, ``"responses_agent"``, ``"chat_agent"`` -> that codec module
    (``core.endpoints.Route.codec`` names the one a route needs)."""
    if api == "chat":
        from core.codecs import chat

        return chat
    if api == "responses":
        from core.codecs import responses

        return responses
    if api == "open-responses":
        from core.codecs import open_responses

        return open_responses
    if api == "gemini":
        from core.codecs import gemini

        return gemini
    if api == "responses_agent":
        from core.codecs import responses_agent

        return responses_agent
    if api == "chat_agent":
        from core.codecs import chat_agent

        return chat_agent
    raise ValueError(
        f"unknown API kind {api!r} (expected 'chat', 'responses', 'open-responses', 'gemini', "
        "'responses_agent' or 'chat_agent')"
    )


__all__ = ["codec_for"]
