"""Where credentials may go: origins, the credential headers of a hop, redirect targets.

The rules, in one place for every backend:

* the Authorization header (and any credential header an auth provider adds) is only sent to
  origins registered with ``HttpTransport.allow_url`` (the workspace, a ``base_url``, app URLs);
* a caller-supplied Authorization (HTTP Basic to the token endpoint) may go to the request's
  own origin;
* a redirect to another origin never carries any of them, even to an origin we would send them
  to directly: a redirect is not our choice of target.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from urllib.parse import urljoin, urlsplit

Origin = tuple[str, str, "int | None"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20  # httpx's default


@functools.lru_cache(maxsize=256)
def origin(url: str) -> Origin:
    # Cached: every request asks for its URL's origin, and a client uses a handful of URLs
    # (parsing each time was ~8% of a non-streaming call's client CPU, per the bench profile).
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80 if scheme == "http" else None)
    return (scheme, (parts.hostname or "").lower(), port)


class Credential(str):
    """An Authorization value whose repr hides it: it sits in frame locals that traceback
    summaries (``capture_locals=True``), debuggers and error reporters print."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def strip(headers: dict[str, str], names: Collection[str], keep: str | None = None) -> None:
    """Remove every header named in ``names`` (lower case) but ``keep``, in place."""
    for key in [k for k in headers if k.lower() in names and k.lower() != keep]:
        del headers[key]


def redirect(
    method: str, url: str, content: bytes | None, status: int, location: str
) -> tuple[str, str, bytes | None]:
    """The next hop of a redirect, as httpx and browsers do it: 303 (and 301/302 after a POST)
    become a GET without a body; 307/308 repeat the method and body."""
    target = urljoin(url, location)
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return "GET", target, None
    return method, target, content
