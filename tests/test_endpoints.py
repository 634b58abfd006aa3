"""Routing: model name + settings -> URL, api, model-in-body, kind."""

from __future__ import annotations

import pytest

from core.endpoints import Route, apps_api_url, is_uc_name, resolve_route
from core.errors import ConfigurationError

H = "https://ws.cloud.databricks.com"


@pytest.mark.parametrize(
    ("model", "kw", "url", "api", "send_model", "kind"),
    [
        (
            "system.ai.claude-sonnet-4-5",
            {},
            f"{H}/ai-gateway/mlflow/v1/chat/completions",
            "chat",
            True,
            "gateway",
        ),
        (
            "main.default.my_model",
            {},
            f"{H}/ai-gateway/mlflow/v1/chat/completions",
            "chat",
            True,
            "gateway",
        ),
        (
            "system.ai.gpt-5",
            {"use_responses_api": True},
            f"{H}/ai-gateway/mlflow/v1/responses",
            "responses",
            True,
            "gateway",
        ),
        (
            "databricks-claude-sonnet-4-5",
            {},
            f"{H}/serving-endpoints/chat/completions",
            "chat",
            True,
            "serving",
        ),
        (
            "databricks-gpt-5",
            {"use_responses_api": True},
            f"{H}/serving-endpoints/responses",
            "responses",
            True,
            "serving",
        ),
        (
            "databricks-claude-3.7-sonnet",
            {},
            f"{H}/serving-endpoints/chat/completions",
            "chat",
            True,
            "serving",
        ),
        (
            "my-agent",
            {"endpoint_kind": "invocations"},
            f"{H}/serving-endpoints/my-agent/invocations",
            "chat",
            False,
            "invocations",
        ),
        (
            "my-agent",
            {"endpoint_kind": "invocations", "use_responses_api": True},
            f"{H}/serving-endpoints/my-agent/invocations",
            "responses",
            False,
            "invocations",
        ),
        (
            "gpt-4o",
            {"base_url": "https://gw.example.com/v1/"},
            "https://gw.example.com/v1/chat/completions",
            "chat",
            True,
            "openai",
        ),
        (
            "gpt-4o",
            {"base_url": "https://gw.example.com/v1", "use_responses_api": True},
            "https://gw.example.com/v1/responses",
            "responses",
            True,
            "openai",
        ),
        (
            "my-endpoint",
            {"endpoint_kind": "gateway"},
            f"{H}/ai-gateway/mlflow/v1/chat/completions",
            "chat",
            True,
            "gateway",
        ),
        (
            "system.ai.claude-sonnet-4-5",
            {"endpoint_kind": "serving"},
            f"{H}/serving-endpoints/chat/completions",
            "chat",
            True,
            "serving",
        ),
        (
            "databricks-gpt-5-1-codex-max",
            {"registry_api": "responses-only"},
            f"{H}/serving-endpoints/responses",
            "responses",
            True,
            "serving",
        ),
        (
            "databricks-gpt-5-1-codex-max",
            {"registry_api": "responses-only", "use_responses_api": False},
            f"{H}/serving-endpoints/chat/completions",
            "chat",
            True,
            "serving",
        ),
        (
            "databricks-gpt-5",
            {"registry_api": "chat+responses"},
            f"{H}/serving-endpoints/chat/completions",
            "chat",
            True,
            "serving",
        ),
        ("apps/my-agent", {}, "", "responses", False, "app"),
    ],
)
def test_routes(model, kw, url, api, send_model, kind):
    r = resolve_route(model, host=H, **kw)
    assert (r.url, r.api, r.send_model, r.kind) == (url, api, send_model, kind)
    assert r.model == model
    assert r.body_model == (model if send_model else None)


@pytest.mark.parametrize(
    ("name", "uc"),
    [
        ("system.ai.claude-sonnet-4-5", True),
        ("cat.schema.model_v2", True),
        ("databricks-claude-3.7-sonnet", False),
        ("gpt-4.1", False),
        ("llama-4.1.2", False),  # second part not an identifier
        ("a..b", False),
        ("a.b.c.d", True),  # name part may carry dots after catalog.schema
        ("apps/x.y.z", False),
    ],
)
def test_uc_name_detection(name, uc):
    assert is_uc_name(name) is uc


def test_app_route_gets_url():
    r = resolve_route("apps/my-agent", host=H)
    assert r.app_name == "my-agent"
    full = r.with_app_url("https://my-agent-123.aws.databricksapps.com/")
    assert full.url == "https://my-agent-123.aws.databricksapps.com/responses"
    assert (full.api, full.send_model, full.kind) == ("responses", False, "app")


def test_apps_api_url():
    assert apps_api_url(H, "my-agent") == f"{H}/api/2.0/apps/my-agent"


@pytest.mark.parametrize("model", ["apps/", "apps/a/b"])
def test_bad_app_names(model):
    with pytest.raises(ConfigurationError, match="apps/<app-name>"):
        resolve_route(model, host=H)


def test_app_refuses_chat_api():
    with pytest.raises(ConfigurationError, match="Responses API only"):
        resolve_route("apps/a", host=H, use_responses_api=False)


def test_empty_model():
    with pytest.raises(ConfigurationError, match="no model"):
        resolve_route("  ", host=H)


def test_invocations_with_base_url_refused():
    with pytest.raises(ConfigurationError):
        resolve_route("m", host=H, endpoint_kind="invocations", base_url="https://x")


def test_unknown_endpoint_kind():
    with pytest.raises(ConfigurationError, match="endpoint_kind"):
        resolve_route("m", host=H, endpoint_kind="weird")


def test_invocations_name_is_quoted():
    r = resolve_route("a b", host=H, endpoint_kind="invocations")
    assert r.url == f"{H}/serving-endpoints/a%20b/invocations"


def test_route_is_frozen():
    r = resolve_route("m", host=H)
    assert isinstance(r, Route)
    with pytest.raises(AttributeError):
        r.url = "x"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# api=: Open Responses for non-OpenAI models, Gemini's native API
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "family", "kw", "url", "api"),
    [
        ("databricks-claude-sonnet-4-5", "claude", {"use_responses_api": True},
         f"{H}/serving-endpoints/open-responses", "open-responses"),
        ("databricks-gemini-2-5-pro", "gemini", {"api": "responses"},
         f"{H}/serving-endpoints/open-responses", "open-responses"),
        ("databricks-gpt-oss-120b", "gpt-oss", {"api": "responses"},
         f"{H}/serving-endpoints/open-responses", "open-responses"),
        ("databricks-gpt-5", "gpt", {"api": "responses"},
         f"{H}/serving-endpoints/responses", "responses"),
        ("my-external-endpoint", "unknown", {"use_responses_api": True},
         f"{H}/serving-endpoints/responses", "responses"),
        ("my-external-endpoint", "unknown", {"api": "open-responses"},
         f"{H}/serving-endpoints/open-responses", "open-responses"),
        ("databricks-claude-sonnet-4-5", "claude", {"api": "chat"},
         f"{H}/serving-endpoints/chat/completions", "chat"),
        ("databricks-claude-sonnet-4-5", "claude", {"api": "responses", "base_url": "http://x/v1"},
         "http://x/v1/responses", "responses"),  # a foreign server: its own /responses
        ("databricks-claude-sonnet-4-5", "claude",
         {"api": "responses", "base_url": f"{H}/serving-endpoints"},
         f"{H}/serving-endpoints/open-responses", "open-responses"),
        ("claude-agent", "claude", {"use_responses_api": True, "endpoint_kind": "invocations"},
         f"{H}/serving-endpoints/claude-agent/invocations", "responses"),  # ResponsesAgent
        ("system.ai.gemini-3-1-pro", "gemini", {"api": "gemini"},
         f"{H}/ai-gateway/gemini/v1beta/models/system.ai.gemini-3-1-pro:generateContent", "gemini"),
        ("system.ai.gemini-3-1-pro", "gemini", {"api": "gemini", "base_url": "http://x/gemini"},
         "http://x/gemini/v1beta/models/system.ai.gemini-3-1-pro:generateContent", "gemini"),
    ],
)  # fmt: skip
def test_api_routes(model, family, kw, url, api):
    route = resolve_route(model, host=H, family=family, **kw)
    assert (route.url, route.api) == (url, api)
    in_path = api == "gemini" or url.endswith("/invocations")
    assert route.body_model == (None if in_path else model)


def test_gemini_streams_to_stream_generate_content():
    route = resolve_route("system.ai.gemini-3-1-pro", host=H, api="gemini", family="gemini")
    assert route.url_for(False) == route.url
    assert route.url_for(True) == (
        f"{H}/ai-gateway/gemini/v1beta/models/system.ai.gemini-3-1-pro:streamGenerateContent?alt=sse"
    )
    chat = resolve_route("databricks-gpt-5", host=H)
    assert chat.url_for(True) == chat.url


@pytest.mark.parametrize(
    ("model", "kw", "match"),
    [
        ("system.ai.claude-sonnet-4-5", {"api": "responses"}, "databricks-claude-sonnet-4-5"),
        ("databricks-claude-sonnet-4-5", {"api": "open-responses", "endpoint_kind": "invocations"},
         "not through an endpoint's /invocations"),
        ("databricks-gemini-2-5-pro", {"api": "gemini", "endpoint_kind": "serving"},
         "Unity AI Gateway only"),
        ("databricks-claude-sonnet-4-5", {"api": "chat", "use_responses_api": True}, "contradicts"),
        ("databricks-claude-sonnet-4-5", {"api": "soap"}, "unknown api"),
        ("apps/my-app", {"api": "gemini"}, "Responses API only"),
        ("system.ai.claude-sonnet-4-5", {"api": "gemini"}, "for Gemini models"),
    ],
)  # fmt: skip
def test_api_configuration_errors(model, kw, match):
    family = "claude" if "claude" in model else "gemini"
    with pytest.raises(ConfigurationError, match=match):
        resolve_route(model, host=H, family=family, **kw)
