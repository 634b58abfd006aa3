"""Emulator route ``POST /serving-endpoints/open-responses``: the Responses format for Claude-,
Gemini- and open-model-like families, with the provider behaviour Databricks documents
("Query a model with the Open Responses API").

Independent of the client's codecs, like the rest of the emulator. What it does per family:

* all: stateless (``previous_response_id``/``conversation`` are a 400); ``user``,
  ``safety_identifier``, ``metadata``, ``truncation`` echoed back; only function tools; an
  OpenAI model is sent to ``/serving-endpoints/responses`` (400; the real service's answer to
  that is not documented);
* Claude: ``temperature`` on a 0-2 scale; ``reasoning.effort`` turns thinking on; the
  reasoning item carries raw ``content`` (``reasoning_text``) and an ``encrypted_content`` that
  must come back unmodified (a modified one is a 400, as a modified Claude signature is);
* Gemini: ``reasoning.effort`` turns thinking on; summary text plus ``encrypted_content``;
* hosted open models: features per model (:data:`HOSTED_FEATURES`), a request using a missing
  one is a 400; images as URL or data URI only, no ``input_file``/``file_id``. GPT OSS always
  reasons and returns raw reasoning text without encrypted content.

The 400 messages are ours: the service's exact wording for these refusals is not published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.emulator.model import base_model_name, classify, encrypt_reasoning, generate

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.server import EmulatorApp

ROUTE = "/serving-endpoints/open-responses"
ECHOED = ("user", "safety_identifier", "metadata", "truncation")
STATELESS = ("previous_response_id", "conversation")


@dataclass(frozen=True)
class Features:
    tools: bool
    reasoning: bool
    structured: bool
    images: bool


# Our own plausible table for the emulated hosted models (Databricks enables these per model).
HOSTED_FEATURES = {
    "gpt-oss": Features(tools=True, reasoning=True, structured=True, images=False),
    "llama": Features(tools=True, reasoning=False, structured=True, images=False),
    "llama-4": Features(tools=True, reasoning=False, structured=True, images=True),
    "gemma": Features(tools=False, reasoning=False, structured=False, images=True),
    "unknown": Features(tools=True, reasoning=False, structured=True, images=False),
}


def register(app: EmulatorApp, router: web.UrlDispatcher) -> None:
    """Add the route to the emulator (called once from ``EmulatorApp.__init__``)."""

    async def route(request: web.Request) -> web.StreamResponse:
        return await handle(app, request)

    router.add_post(ROUTE, route)


def _features(model: str, family: str) -> Features:
    if family == "llama" and "llama-4" in base_model_name(model).lower():
        return HOSTED_FEATURES["llama-4"]
    return HOSTED_FEATURES.get(family, HOSTED_FEATURES["unknown"])


def _input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("input")
    return [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []


def _content_types(body: dict[str, Any]) -> set[str]:
    kinds: set[str] = set()
    for item in _input_items(body):
        content = item.get("content") if "content" in item else item.get("output")
        if isinstance(content, list):
            kinds.update(str(c.get("type")) for c in content if isinstance(c, dict))
    return kinds


def _wants_reasoning(body: dict[str, Any]) -> bool:
    cfg = body.get("reasoning")
    return isinstance(cfg, dict) and cfg.get("effort") not in (None, "none")


def check_request(
    body: dict[str, Any], model: str, family: str, *, check_rules: bool = True
) -> None:
    """Refuse what Open Responses refuses for this family (HTTP 400); ``check_rules``: the
    per-model rules of :mod:`core.emulator.rules` too."""
    from core.emulator.rules import RuleError, check_sampling_rules
    from core.emulator.server import HTTPError

    name = base_model_name(model)
    if family == "gpt":
        raise HTTPError(
            400,
            f"Model {name!r} is an OpenAI model: query it with the OpenAI Responses API at "
            "/serving-endpoints/responses.",
        )
    for key in STATELESS:
        if body.get(key) is not None:
            raise HTTPError(
                400,
                f"Parameter '{key}' is not supported: the Open Responses API is stateless; send "
                "the whole conversation in 'input'.",
            )
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") != "function":
            raise HTTPError(
                400, f"Tool type {tool.get('type')!r} is not supported for model {name!r}."
            )
    temperature = body.get("temperature")
    if isinstance(temperature, (int, float)) and not 0 <= temperature <= 2:
        raise HTTPError(400, "'temperature' must be between 0 and 2.")
    if family == "claude" and check_rules:
        try:
            check_sampling_rules(body, model)
        except RuleError as exc:
            raise HTTPError(exc.status, exc.message, exc.code) from None
    if family in ("claude", "gemini"):
        return
    feats = _features(model, family)
    kinds = _content_types(body)
    if "input_file" in kinds or any("file_id" in i for i in _input_items(body)):
        raise HTTPError(400, f"Model {name!r} does not support file input on Open Responses.")
    missing = []
    if body.get("tools") and not feats.tools:
        missing.append("function calling")
    if _wants_reasoning(body) and not feats.reasoning:
        missing.append("reasoning")
    fmt = body.get("text", {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object"):
        if not feats.structured:
            missing.append("structured output")
    if "input_image" in kinds and not feats.images:
        missing.append("image input")
    if missing:
        raise HTTPError(400, f"Model {name!r} does not support {', '.join(missing)}.")


def reasoning_item(family: str, item_id: str, text: str, key: bytes) -> dict[str, Any]:
    """The reasoning output item each family returns."""
    item: dict[str, Any] = {"type": "reasoning", "id": item_id}
    if family == "gemini":  # thought summaries
        item["summary"] = [{"type": "summary_text", "text": text}]
    else:  # Claude thinking, GPT OSS chain of thought: raw reasoning text
        item["summary"] = []
        item["content"] = [{"type": "reasoning_text", "text": text}]
    if family in ("claude", "gemini"):  # signed: must come back unmodified
        item["encrypted_content"] = encrypt_reasoning(text, key)
    return item


async def handle(app: EmulatorApp, request: web.Request) -> web.StreamResponse:
    fault, early, body, model = await app.model_body(request)
    if early is not None:
        return early
    family = classify(model)
    check_request(body, model, family, check_rules=app.state.options.check_model_rules)
    req, extra = app._responses_request(body, model, agent=False)
    req.reasoning = family == "gpt-oss" or (
        family in ("claude", "gemini") and _wants_reasoning(body)
    )
    plan = generate(req)
    rid = app.state.next_id("resp_")
    items = app._response_items(rid, plan)
    if plan.reasoning is not None:  # replace the OpenAI-style item with this family's own
        key = app.state.options.signing_key
        items[0] = reasoning_item(family, items[0]["id"], plan.reasoning, key)
    full = app._response_body(rid, base_model_name(model), plan, items, extra, body)
    full.update({k: body[k] for k in ECHOED if body.get(k) is not None})
    return await app.send_response(request, body, full, items, plan, fault)
