"""Version-aware matching of a model name against the registry's entries of its family.

A name is read as *family words*, a *line* and a *version*: ``claude-opus-4-7`` is line
``opus``, version ``(4, 7)``; ``claude-3-7-sonnet`` line ``sonnet``, ``(3, 7)``;
``gpt-5-1-codex-max`` line ``codex max``, ``(5, 1)``; ``meta-llama-3-3-70b-instruct`` line
``70b``, ``(3, 3)``. Date stamps (``20250219``) and filler words (``instruct``, ``latest``) do
not count. Which entry an unseen name takes its rules from:

* newer than every entry of its family (a new generation: ``claude-opus-4-9``,
  ``claude-sonnet-5``): the family's newest entry, of its own line when that line holds it.
  Rules move by generation across a family (Opus 4.7 and the Claude 5 models all dropped the
  sampling parameters), so the newest generation is the best guess, not the line's oldest;
* otherwise the newest entry of its line at or below its version (``claude-sonnet-4-7`` ->
  ``claude-sonnet-4-6``);
* no version in the name, or older than anything known: no entry (the caller stays
  permissive).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["parse_version", "pick_entry"]

_FAMILY_WORDS = frozenset({"claude", "gpt", "oss", "gemini", "gemma", "llama", "meta"})
_FILLER = frozenset({"instruct", "latest", "preview", "chat", "it", "exp", "hf"})
_MAX_VERSION_DIGITS = 2  # longer numbers are dates or build stamps, not versions


def parse_version(name: str) -> tuple[frozenset[str], tuple[int, ...]]:
    """``(line words, version numbers)`` of a canonical (hyphenated, lower-case) name."""
    line: set[str] = set()
    version: list[int] = []
    for token in name.split("-"):
        if not token:
            continue
        if token.isdigit():
            if len(token) <= _MAX_VERSION_DIGITS:
                version.append(int(token))
            continue
        if token in _FAMILY_WORDS or token in _FILLER:
            continue
        line.add(token)
    return frozenset(line), tuple(version)


def pick_entry(name: str, candidates: Sequence[tuple[str, Any]]) -> Any | None:
    """The candidate (``(key, entry)`` pairs of one family) whose rules ``name`` takes."""
    from core.registry import canonical_name

    line, version = parse_version(canonical_name(name))
    if not version:
        return None
    parsed = []
    for key, entry in candidates:
        c_line, c_version = parse_version(canonical_name(key))
        if c_version:
            parsed.append((c_line, c_version, entry))
    if not parsed:
        return None
    newest = max(v for _, v, _ in parsed)
    same_line = [p for p in parsed if p[0] == line] or (
        [p for p in parsed if line and line <= p[0]] if line else []
    )
    if version > newest:
        top = [p for p in parsed if p[1] == newest]
        mine = [p for p in top if p in same_line]
        return (mine or top)[0][2]
    older = [p for p in same_line if p[1] <= version]
    if not older:
        return None
    return max(older, key=lambda p: p[1])[2]
