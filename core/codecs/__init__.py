"""Wire codecs: pure functions between the neutral types and one API's JSON, no I/O.

``core.codecs.chat`` speaks chat completions (AI Gateway, serving endpoints, ``/invocations``,
any OpenAI-compatible ``base_url``); ``core.codecs.responses`` speaks the Responses API. Each
module offers ``build_request``, ``parse_response`` and ``StreamDecoder`` with the same
signatures, so the client picks one by the route's API kind.
"""

from __future__ import annotations

from types import ModuleType


def codec_for(api: str) -> ModuleType:
    """``"chat"`` -> ``core.codecs.chat``; ``"responses"`` -> ``core.codecs.responses``."""
    import importlib

    if api == "chat":
        return importlib.import_module("core.codecs.chat")
    if api == "responses":
        return importlib.import_module("core.codecs.responses")
    raise ValueError(f"unknown API kind {api!r} (expected 'chat' or 'responses')")


__all__ = ["codec_for"]
