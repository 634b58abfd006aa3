"""The emulator's rate limit: N requests per second per endpoint, 429 + ``Retry-After`` beyond.

Databricks limits model serving by queries per second per endpoint and answers the excess
with HTTP 429 ``REQUEST_LIMIT_EXCEEDED`` ("Exceeded workspace QPS rate limit for ...", see
/work/shared/wire-formats.md). How its limiter counts is not documented; we model the common
token bucket: ``rate_limit`` tokens per second, holding at most ``rate_burst`` (default: one
second's worth), one token per model call. ``Retry-After`` is the wait until the next token,
rounded up to whole seconds as HTTP has it (whether serving endpoints send the header at all is
not confirmed: a client must also cope without it).

``latency`` (seconds, mean) delays every admitted model call by 0.5x to 1.5x of it (uniform),
as a model's varying time to answer would: with it a concurrency limit paces calls the way it
does against a real endpoint (a fixed delay would move every call in lockstep waves).

Only model calls are counted (POST under ``/serving-endpoints/``, ``/ai-gateway/``,
``/apps-proxy/``): not tokens, not the workspace API.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorApp

MODEL_CALL_PREFIXES = ("/serving-endpoints/", "/ai-gateway/", "/apps-proxy/")


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimitStats:
    """What the rate limit did (``Emulator.rate_limit_stats``)."""

    admitted: int = 0
    refused: int = 0  # answered 429 by the rate limit
    by_endpoint: dict[str, list[int]] = field(default_factory=dict)  # name -> [admitted, refused]

    @property
    def refused_share(self) -> float:
        total = self.admitted + self.refused
        return self.refused / total if total else 0.0


class RateLimit:
    """Token buckets per endpoint, applied by an aiohttp middleware."""

    def __init__(self, app: EmulatorApp, clock: Any = time.monotonic) -> None:
        self._app = app
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self.stats = RateLimitStats()

    def reset(self) -> None:
        self._buckets.clear()
        self.stats = RateLimitStats()

    def _take(self, endpoint: str, rate: float, burst: float) -> float:
        """Take a token: 0.0 when admitted, else the seconds until one is free."""
        now = self._clock()
        bucket = self._buckets.get(endpoint)
        if bucket is None:
            bucket = self._buckets[endpoint] = _Bucket(burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        opts = self._app.state.options
        if request.method != "POST" or not request.path.startswith(MODEL_CALL_PREFIXES):
            return await handler(request)
        if opts.rate_limit:
            endpoint = await _endpoint_of(request)
            burst = opts.rate_burst or max(1.0, opts.rate_limit)
            wait = self._take(endpoint, opts.rate_limit, burst)
            counts = self.stats.by_endpoint.setdefault(endpoint, [0, 0])
            if wait > 0:
                self.stats.refused += 1
                counts[1] += 1
                return self._refuse(endpoint, wait)
            self.stats.admitted += 1
            counts[0] += 1
        if opts.latency > 0:
            await asyncio.sleep(opts.latency * (0.5 + random.random()))
        return await handler(request)

    def _refuse(self, endpoint: str, wait: float) -> web.Response:
        from core.emulator.server import Fault

        response = self._app._fault_response(Fault("429"), endpoint)
        assert response is not None
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response


async def _endpoint_of(request: web.Request) -> str:
    """The endpoint a model call is for: its path's name, else the body's ``model``."""
    name = request.match_info.get("name")
    if name:
        return name
    try:
        body = json.loads(await request.read() or b"{}")  # aiohttp keeps it for the handler
    except ValueError:
        return request.path
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model else request.path
