"""Agents on Model Serving and Databricks Apps: which schema an endpoint speaks, and its route.

Three MLflow agent schemas, told apart by the serving endpoint's ``task``
(``GET /api/2.0/serving-endpoints/{name}``, read once per host and name by
:mod:`core.endpoint_config`):

| schema | ``task`` | wire | codec |
|---|---|---|---|
| ``"responses_agent"`` | ``agent/v1/responses`` | Responses ``input``/``output`` items, ``custom_inputs``, ``context`` | ``core.codecs.responses_agent`` |
| ``"chat_agent"`` | ``agent/v2/chat`` | ``messages`` in and out, ``delta`` chunks | ``core.codecs.chat_agent`` |
| ``"chat_model"`` (legacy) | ``agent/v1/chat`` | chat completions plus ``custom_inputs`` | ``core.codecs.chat`` |

``llm/v1/chat`` endpoints (foundation models, custom ChatModels) keep the chat completions
route they already have; the chat codec sends ``custom_inputs``/``context`` when given.

Precedence: ``agent_schema=`` > ``use_responses_api=`` > the endpoint's task. Agents found from
the task (or named by ``agent_schema``) are queried at ``/serving-endpoints/{name}/invocations``
unless ``endpoint_kind``/``base_url`` say otherwise. Databricks Apps (``apps/<name>``) are
ResponsesAgents unless ``agent_schema`` says otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal, get_args
from urllib.parse import quote

from core.endpoints import Api, Route
from core.errors import ConfigurationError

__all__ = ["AGENT_SCHEMAS", "AgentSchema", "agent_route", "needs_task", "schema_for_task"]

AgentSchema = Literal["responses_agent", "chat_agent", "chat_model"]
AGENT_SCHEMAS: tuple[str, ...] = get_args(AgentSchema)

_TASKS: dict[str, AgentSchema] = {
    "agent/v1/responses": "responses_agent",
    "agent/v2/chat": "chat_agent",
    "agent/v1/chat": "chat_model",
}
_APIS: dict[str, Api] = {
    "responses_agent": "responses",
    "chat_agent": "chat_agent",
    "chat_model": "chat",
}


def schema_for_task(task: str | None) -> AgentSchema | None:
    """The agent schema a serving endpoint's ``task`` names; None for anything else."""
    return _TASKS.get(task.strip().lower()) if task else None


def needs_task(route: Route, *, explicit: bool, known_model: bool) -> bool:
    """Whether the endpoint's task must be read before the first request: a plain serving
    endpoint name the model registry does not know, with nothing said about its API."""
    return not explicit and not known_model and route.kind in ("serving", "invocations")


def agent_route(
    route: Route,
    schema: AgentSchema,
    *,
    host: str,
    endpoint_kind: str | None,
    use_responses_api: bool | None = None,
) -> Route:
    """The route for an agent of ``schema``, from the route the name alone gave."""
    api = _APIS[schema]
    if use_responses_api is not None and use_responses_api != (api == "responses"):
        raise ConfigurationError(
            f"agent_schema={schema!r} and use_responses_api={use_responses_api} disagree",
            hint="leave use_responses_api unset when agent_schema is given",
        )
    if route.kind == "app":
        return replace(route, api=api, agent=True)
    if route.kind in ("openai", "gateway") or endpoint_kind is not None:
        if api == "chat_agent" and route.kind != "invocations":
            raise ConfigurationError(
                f"a ChatAgent is queried at /serving-endpoints/{route.model}/invocations; "
                f"endpoint_kind={endpoint_kind!r} cannot reach one",
                hint="leave endpoint_kind unset (or 'invocations')",
            )
        url = route.url
        if route.kind != "invocations":  # same surface, this schema's path
            base = url.rsplit("/", 2 if url.endswith("/chat/completions") else 1)[0]
            url = f"{base}/responses" if api == "responses" else f"{base}/chat/completions"
        return replace(route, url=url, api=api, agent=True)
    return Route(
        url=f"{host}/serving-endpoints/{quote(route.model, safe='')}/invocations",
        api=api,
        send_model=False,
        kind="invocations",
        model=route.model,
        agent=True,
    )
