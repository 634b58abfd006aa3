"""Proxy mode (option ``upstream``): chat completions forwarded to an OpenAI-compatible server,
its reasoning fields rewritten to Databricks reasoning blocks."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from core.emulator.model import base_model_name
from core.emulator.plumbing import Fault, HTTPError, Plumbing, _dumps, error_response


class ProxySurface(Plumbing):
    """Forwards chat completions to ``options.upstream``."""

    async def _proxy(
        self, request: web.Request, body: dict[str, Any], model: str, fault: Fault | None
    ) -> web.StreamResponse:
        import aiohttp

        opts = self.state.options
        if self.session is None:
            self.session = aiohttp.ClientSession()
        upstream_body = dict(body)
        upstream_body["model"] = opts.upstream_model or base_model_name(model)
        headers = {"Content-Type": "application/json"}
        if opts.upstream_api_key:
            headers["Authorization"] = f"Bearer {opts.upstream_api_key}"
        url = opts.upstream.rstrip("/") + "/chat/completions"  # type: ignore[union-attr]
        try:
            upstream = await self.session.post(url, data=_dumps(upstream_body), headers=headers)
        except aiohttp.ClientError as exc:
            raise HTTPError(502, f"Upstream {url} unreachable: {exc}", "BAD_GATEWAY") from exc
        async with upstream:
            if upstream.status >= 400:
                text = await upstream.text()
                return error_response(upstream.status, f"Upstream error: {text[:500]}")
            if not body.get("stream"):
                data = await upstream.json(content_type=None)
                for choice in data.get("choices") or []:
                    msg = choice.get("message") or {}
                    reasoning = msg.pop("reasoning_content", None) or msg.pop("reasoning", None)
                    if reasoning:
                        blocks: list[dict[str, Any]] = [
                            {
                                "type": "reasoning",
                                "summary": [{"type": "summary_text", "text": reasoning}],
                            }
                        ]
                        if msg.get("content"):
                            blocks.append({"type": "text", "text": msg["content"]})
                        msg["content"] = blocks
                return web.Response(body=_dumps(data), content_type="application/json")
            _, delay, _ = self._stream_opts(request)
            events: list[bytes] = []
            async for raw in upstream.content:
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    continue
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    reasoning = delta.pop("reasoning_content", None) or delta.pop("reasoning", None)
                    if reasoning:
                        if delta.get("content"):
                            # split into two chunks: reasoning first, then the text
                            extra_chunk = json.loads(json.dumps(chunk))
                            events.append(
                                b"data: "
                                + _dumps(
                                    {
                                        **extra_chunk,
                                        "choices": [
                                            {
                                                **choice,
                                                "delta": {
                                                    "content": [
                                                        {
                                                            "type": "reasoning",
                                                            "summary": [
                                                                {
                                                                    "type": "summary_text",
                                                                    "text": reasoning,
                                                                }
                                                            ],
                                                        }
                                                    ]
                                                },
                                                "finish_reason": None,
                                            }
                                        ],
                                    }
                                )
                                + b"\n\n"
                            )
                        else:
                            delta["content"] = [
                                {
                                    "type": "reasoning",
                                    "summary": [{"type": "summary_text", "text": reasoning}],
                                }
                            ]
                events.append(b"data: " + _dumps(chunk) + b"\n\n")
            events.append(b"data: [DONE]\n\n")
        return await self._send_sse(request, events, fault, delay)
