"""From a model name and settings to where and how to send: a :class:`Route`.

| input | URL | api | model in body |
|---|---|---|---|
| ``system.ai.x`` / any ``catalog.schema.name`` | ``{host}/ai-gateway/mlflow/v1/chat/completions`` (``/responses``) | chat/responses | yes |
| plain endpoint name | ``{host}/serving-endpoints/chat/completions`` (``/responses``) | chat/responses | yes |
| ``endpoint_kind="invocations"`` | ``{host}/serving-endpoints/{name}/invocations`` | chat/responses | no |
| ``endpoint_kind="gateway-openai"`` | ``{host}/ai-gateway/openai/v1/chat/completions`` (``/responses``) | chat/responses | yes |
| ``base_url=...`` | ``{base_url}/chat/completions`` (``/responses``) | chat/responses | yes |
| ``apps/<name>`` | ``{app_url}/responses`` (``app_url`` from ``GET {host}/api/2.0/apps/{name}``) | responses | no |
| Responses format, non-OpenAI model | ``{host}/serving-endpoints/open-responses`` (also for a ``base_url`` ending in ``/serving-endpoints``) | open-responses | yes |
| ``api="gemini"`` | ``{host}/ai-gateway/gemini/v1beta/models/{model}:generateContent`` | gemini | no (path) |

``use_responses_api=None`` (and ``api=None``) means auto: on for ``apps/`` and for models whose
registry ``api`` is ``"responses-only"``. ``api="responses"`` is the same as
``use_responses_api=True``: OpenAI models (and names of unknown family) go to ``/responses``,
which Databricks passes through to OpenAI only; Claude, Gemini and the Databricks-hosted open
models (GPT OSS, Gemma, Llama) go to ``/open-responses``, which takes the same request format
for every provider (Databricks page "Query a model with the Open Responses API"). That page and
the Unity AI Gateway pages document no gateway path for Open Responses, so a Unity Catalog name
with a non-OpenAI model on the Responses format is a configuration error naming the way out.
``api="gemini"`` is Google's own ``generateContent`` format, which Databricks serves through the
AI Gateway only (streaming: ``:streamGenerateContent?alt=sse``).

Embeddings (:func:`resolve_embeddings_route`) follow the same table with ``/embeddings`` as the
tail (the AI Gateway serves ``/ai-gateway/mlflow/v1/embeddings`` for ``system.ai.*`` names);
``/invocations`` takes ``{"input": ...}`` without a model. Apps serve no embeddings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from core.errors import ConfigurationError

Api = Literal["chat", "responses", "open-responses", "gemini", "embeddings", "chat_agent"]
RouteKind = Literal["gateway", "serving", "invocations", "openai", "app"]
API_SETTINGS = ("chat", "responses", "open-responses", "gemini")

GATEWAY_PREFIX = "/ai-gateway/mlflow/v1"
# AI Gateway's native OpenAI-compatible API (databricks-openai's use_ai_gateway_native_api).
GATEWAY_OPENAI_PREFIX = "/ai-gateway/openai/v1"
GEMINI_PREFIX = "/ai-gateway/gemini/v1beta/models"
# Model families served the Responses format at /open-responses rather than /responses.
OPEN_RESPONSES_FAMILIES = frozenset({"claude", "gemini", "gemma", "llama", "gpt-oss"})
_TAILS = {"chat": "/chat/completions", "responses": "/responses", "open-responses": "/open-responses"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(slots=True, frozen=True)
class Route:
    url: str  # "" for an app until its URL is resolved (see ``with_app_url``)
    api: Api
    send_model: bool  # put ``model`` in the body
    kind: RouteKind
    model: str  # the model/endpoint name as given
    app_name: str | None = None
    stream_url: str | None = None  # when streams go elsewhere (Gemini's :streamGenerateContent)
    # an agent (ResponsesAgent, ChatAgent, ChatModel) that may run tools itself: see
    # core.agents; decides e.g. whether a tool call in its answer is the caller's to run
    agent: bool = False

    @property
    def codec(self) -> str:
        """The codec kind (``core.codecs.codec_for``): the wire API, agent-aware."""
        return "responses_agent" if self.api == "responses" and self.agent else self.api

    @property
    def body_model(self) -> str | None:
        """What the codec's ``build_request(model=...)`` gets: None = no model field."""
        return self.model if self.send_model else None

    def url_for(self, stream: bool) -> str:
        return (self.stream_url or self.url) if stream else self.url

    def with_app_url(self, app_url: str) -> Route:
        # ResponsesAgent apps answer at /responses; other agent schemas at MLflow's
        # AgentServer path /invocations
        tail = "/responses" if self.api == "responses" else "/invocations"
        return Route(
            url=f"{app_url.rstrip('/')}{tail}",
            api=self.api,
            send_model=False,
            kind="app",
            model=self.model,
            app_name=self.app_name,
            agent=True,
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


def choose_api(
    *,
    api: str | None,
    use_responses_api: bool | None,
    registry_api: str | None,
) -> Api:
    """The wire format asked for: ``api`` wins, ``use_responses_api`` is its older boolean
    form. (Whether ``"responses"`` goes to ``/open-responses`` depends on the route too.)"""
    if api is not None and api not in API_SETTINGS:
        raise ConfigurationError(
            f"unknown api {api!r}; use one of {', '.join(repr(a) for a in API_SETTINGS)}"
        )
    if api is not None and use_responses_api is not None:
        responses_like = api in ("responses", "open-responses")
        if responses_like != use_responses_api:
            raise ConfigurationError(
                f"api={api!r} contradicts use_responses_api={use_responses_api}; set only api"
            )
    if api is None:
        if use_responses_api is None:
            api = "responses" if registry_api == "responses-only" else "chat"
        else:
            api = "responses" if use_responses_api else "chat"
    return api  # type: ignore[return-value]


def resolve_route(
    model: str,
    *,
    host: str,
    endpoint_kind: str | None = None,
    base_url: str | None = None,
    use_responses_api: bool | None = None,
    registry_api: str | None = None,
    api: str | None = None,
    family: str | None = None,
) -> Route:
    model = (model or "").strip()
    if not model:
        raise ConfigurationError("no model given: pass the serving endpoint or UC model name")
    app = app_name_of(model)
    if app is not None:
        if use_responses_api is False or api not in (None, "responses"):
            raise ConfigurationError(
                f"{model!r} is a Databricks Apps agent, which speaks the Responses API only; "
                "leave use_responses_api and api unset"
            )
        return Route(
            url="",
            api="responses",
            send_model=False,
            kind="app",
            model=model,
            app_name=app,
            agent=True,
        )

    chosen = choose_api(api=api, use_responses_api=use_responses_api, registry_api=registry_api)
    # The Responses format for a non-OpenAI model goes to /open-responses on Databricks'
    # own paths; an agent's /invocations and a foreign base_url keep their /responses.
    opened: Api = (
        "open-responses"
        if chosen == "responses" and family in OPEN_RESPONSES_FAMILIES
        else chosen
    )
    if chosen == "gemini":
        if family not in (None, "gemini", "unknown"):
            raise ConfigurationError(
                f"api='gemini' is Google's own API, for Gemini models; {model!r} is a "
                f"{family} model",
                hint="use api='chat' (or 'responses') for it",
            )
        return _gemini_route(model, host=host, endpoint_kind=endpoint_kind, base_url=base_url)

    if endpoint_kind == "invocations":
        if base_url:
            raise ConfigurationError("endpoint_kind='invocations' cannot be combined with base_url")
        if chosen == "open-responses":
            raise ConfigurationError(
                "Open Responses is served at /serving-endpoints/open-responses, not through an "
                "endpoint's /invocations",
                hint="drop endpoint_kind='invocations', or use the chat API",
            )
        return Route(  # an agent's ResponsesAgent schema, whatever its name says
            url=f"{host}/serving-endpoints/{quote(model, safe='')}/invocations",
            api=chosen,
            send_model=False,
            kind="invocations",
            model=model,
            # a Responses body on /invocations is a ResponsesAgent (OpenAI models are not
            # served there)
            agent=chosen == "responses",
        )
    if base_url and endpoint_kind in (None, "openai"):
        root = base_url.rstrip("/")
        if root.endswith("/serving-endpoints"):  # Databricks itself, OpenAI-client style
            chosen = opened
        return Route(
            url=f"{root}{_TAILS[chosen]}",
            api=chosen,
            send_model=True,
            kind="openai",
            model=model,
        )
    chosen = opened
    tail = _TAILS[chosen]
    if endpoint_kind == "gateway-openai":
        if base_url:
            raise ConfigurationError(
                "endpoint_kind='gateway-openai' (use_ai_gateway_native_api) cannot be combined "
                "with base_url"
            )
        if chosen == "open-responses":
            raise ConfigurationError(
                "Open Responses has no documented AI Gateway path; it is served at "
                "/serving-endpoints/open-responses",
                hint="drop use_ai_gateway_native_api/endpoint_kind, or use the chat API",
            )
        return Route(
            url=f"{host}{GATEWAY_OPENAI_PREFIX}{tail}",
            api=chosen,
            send_model=True,
            kind="gateway",
            model=model,
        )
    if endpoint_kind == "gateway" or (endpoint_kind is None and is_uc_name(model)):
        if chosen == "open-responses":
            name = model.split(".", 2)[-1]
            raise ConfigurationError(
                f"{model!r} is not an OpenAI model, and Unity AI Gateway documents the "
                "Responses format for OpenAI models only; other providers take it at "
                "/serving-endpoints/open-responses, by serving endpoint name",
                hint=f"use model='databricks-{name}' (or your endpoint's name) with "
                "api='responses', or keep the UC name on the chat API",
            )
        return Route(
            url=f"{host}{GATEWAY_PREFIX}{tail}",
            api=chosen,
            send_model=True,
            kind="gateway",
            model=model,
        )
    if endpoint_kind in (None, "serving", "openai"):
        return Route(
            url=f"{host}/serving-endpoints{tail}",
            api=chosen,
            send_model=True,
            kind="serving" if endpoint_kind != "openai" else "openai",
            model=model,
        )
    raise ConfigurationError(
        f"unknown endpoint_kind {endpoint_kind!r}; use 'gateway', 'gateway-openai', 'serving', "
        "'invocations' or 'openai'"
    )


def _gemini_route(
    model: str, *, host: str, endpoint_kind: str | None, base_url: str | None
) -> Route:
    """Google's native format through Unity AI Gateway; the model goes in the path."""
    if endpoint_kind not in (None, "gateway", "openai"):
        raise ConfigurationError(
            f"api='gemini' is served by Unity AI Gateway only, not endpoint_kind={endpoint_kind!r}",
            hint="drop endpoint_kind, or use the chat API on serving endpoints",
        )
    if base_url and endpoint_kind in (None, "openai"):
        root, kind = f"{base_url.rstrip('/')}/v1beta/models", "openai"
    else:
        root, kind = f"{host}{GEMINI_PREFIX}", "gateway"
    path = f"{root}/{quote(model, safe='')}"
    return Route(
        url=f"{path}:generateContent",
        api="gemini",
        send_model=False,
        kind=kind,  # type: ignore[arg-type]
        model=model,
        stream_url=f"{path}:streamGenerateContent?alt=sse",
    )


def apps_api_url(host: str, app_name: str) -> str:
    return f"{host}/api/2.0/apps/{quote(app_name, safe='')}"


def resolve_embeddings_route(
    model: str, *, host: str, endpoint_kind: str | None = None, base_url: str | None = None
) -> Route:
    """Where an embeddings request for ``model`` goes: the chat rules with ``/embeddings``."""
    model = (model or "").strip()
    if not model:
        raise ConfigurationError("no model given: pass the embedding endpoint or UC model name")
    if model.startswith("apps/"):
        raise ConfigurationError(
            f"{model!r} is a Databricks App; apps serve agents, not embeddings. Use an "
            "embedding endpoint such as 'databricks-gte-large-en'"
        )
    route = resolve_route(model, host=host, endpoint_kind=endpoint_kind, base_url=base_url)
    url = route.url
    if route.kind != "invocations":
        url = url[: -len("/chat/completions")] + "/embeddings"
    return Route(url=url, api="embeddings", send_model=route.send_model, kind=route.kind, model=model)
