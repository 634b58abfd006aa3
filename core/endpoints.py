"""From a model name and settings to where and how to send: a :class:`Route`.

| input | URL | api | model in body |
|---|---|---|---|
| ``system.ai.x`` / any ``catalog.schema.name`` | ``{host}/ai-gateway/mlflow/v1/chat/completions`` (``/responses``) | chat/responses | yes |
| plain endpoint name | ``{host}/serving-endpoints/chat/completions`` (``/responses``) | chat/responses | yes |
| ``endpoint_kind="invocations"`` | ``{host}/serving-endpoints/{name}/invocations`` | chat/responses | no |
| ``endpoint_kind="gateway-openai"`` | ``{host}/ai-gateway/openai/v1/chat/completions`` (``/responses``) | chat/responses | yes |
| ``base_url=...`` | ``{base_url}/chat/completions`` (``/responses``) | chat/responses | yes |
| ``apps/<name>`` | ``{app_url}/responses`` (``app_url`` from ``GET {host}/api/2.0/apps/{name}``) | responses | no |

``use_responses_api=None`` means auto: on for ``apps/`` and for models whose registry ``api``
is ``"responses-only"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from core.errors import ConfigurationError

Api = Literal["chat", "responses"]
RouteKind = Literal["gateway", "serving", "invocations", "openai", "app"]

GATEWAY_PREFIX = "/ai-gateway/mlflow/v1"
# AI Gateway's native OpenAI-compatible API (databricks-openai's use_ai_gateway_native_api).
GATEWAY_OPENAI_PREFIX = "/ai-gateway/openai/v1"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(slots=True, frozen=True)
class Route:
    url: str  # "" for an app until its URL is resolved (see ``with_app_url``)
    api: Api
    send_model: bool  # put ``model`` in the body
    kind: RouteKind
    model: str  # the model/endpoint name as given
    app_name: str | None = None

    @property
    def body_model(self) -> str | None:
        """What the codec's ``build_request(model=...)`` gets: None = no model field."""
        return self.model if self.send_model else None

    def with_app_url(self, app_url: str) -> Route:
        return Route(
            url=f"{app_url.rstrip('/')}/responses",
            api="responses",
            send_model=False,
            kind="app",
            model=self.model,
            app_name=self.app_name,
        )


def is_uc_name(model: str) -> bool:
    """``catalog.schema.name``: three dotted parts, the first two plain identifiers."""
    parts = model.split(".", 2)
    if len(parts) != 3 or not all(parts):
        return False
    return bool(_IDENT.match(parts[0]) and _IDENT.match(parts[1])) and "/" not in model


def app_name_of(model: str) -> str | None:
    if model.startswith("apps/"):
        name = model[len("apps/") :].strip("/")
        if not name or "/" in name:
            raise ConfigurationError(f"{model!r} is not a valid app model; use 'apps/<app-name>'")
        return name
    return None


def resolve_route(
    model: str,
    *,
    host: str,
    endpoint_kind: str | None = None,
    base_url: str | None = None,
    use_responses_api: bool | None = None,
    registry_api: str | None = None,
) -> Route:
    model = (model or "").strip()
    if not model:
        raise ConfigurationError("no model given: pass the serving endpoint or UC model name")
    app = app_name_of(model)
    if app is not None:
        if use_responses_api is False:
            raise ConfigurationError(
                f"{model!r} is a Databricks Apps agent, which speaks the Responses API only; "
                "leave use_responses_api unset"
            )
        return Route(
            url="", api="responses", send_model=False, kind="app", model=model, app_name=app
        )

    if use_responses_api is None:
        responses = registry_api == "responses-only"
    else:
        responses = use_responses_api
    api: Api = "responses" if responses else "chat"
    tail = "/responses" if responses else "/chat/completions"

    if endpoint_kind == "invocations":
        if base_url:
            raise ConfigurationError("endpoint_kind='invocations' cannot be combined with base_url")
        return Route(
            url=f"{host}/serving-endpoints/{quote(model, safe='')}/invocations",
            api=api,
            send_model=False,
            kind="invocations",
            model=model,
        )
    if base_url and endpoint_kind in (None, "openai"):
        return Route(
            url=f"{base_url.rstrip('/')}{tail}",
            api=api,
            send_model=True,
            kind="openai",
            model=model,
        )
    if endpoint_kind == "gateway-openai":
        if base_url:
            raise ConfigurationError(
                "endpoint_kind='gateway-openai' (use_ai_gateway_native_api) cannot be combined "
                "with base_url"
            )
        return Route(
            url=f"{host}{GATEWAY_OPENAI_PREFIX}{tail}",
            api=api,
            send_model=True,
            kind="gateway",
            model=model,
        )
    if endpoint_kind == "gateway" or (endpoint_kind is None and is_uc_name(model)):
        return Route(
            url=f"{host}{GATEWAY_PREFIX}{tail}",
            api=api,
            send_model=True,
            kind="gateway",
            model=model,
        )
    if endpoint_kind in (None, "serving", "openai"):
        return Route(
            url=f"{host}/serving-endpoints{tail}",
            api=api,
            send_model=True,
            kind="serving" if endpoint_kind != "openai" else "openai",
            model=model,
        )
    raise ConfigurationError(
        f"unknown endpoint_kind {endpoint_kind!r}; use 'gateway', 'gateway-openai', 'serving', "
        "'invocations' or 'openai'"
    )


def apps_api_url(host: str, app_name: str) -> str:
    return f"{host}/api/2.0/apps/{quote(app_name, safe='')}"
