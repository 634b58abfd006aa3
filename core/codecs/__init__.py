"""Wire codecs: pure functions between the neutral types and one API's JSON, no I/O.

``core.codecs.chat`` speaks chat completions (AI Gateway, serving endpoints, ``/invocations``,
any OpenAI-compatible ``base_url``); ``core.codecs.responses`` speaks the Responses API, and
``core.codecs.open_responses`` the same format for non-OpenAI providers, ``core.codecs.gemini``
Google's native ``generateContent``. Each
meets :class:`core.codecs.base.Codec`; :func:`codec_for` is the one place that maps a route's
API kind to its codec (imported on first use, so ``import core`` stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from core.codecs.base import Codec


def codec_for(api: str) -> Codec:
    """``"chat"`` -> ``core.codecs.chat``; ``"responses"`` -> ``core.codecs.responses``."""
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
    raise ValueError(
        f"unknown API kind {api!r} (expected 'chat', 'responses', 'open-responses' or 'gemini')"
    )


__all__ = ["codec_for"]
