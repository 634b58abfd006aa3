"""Model registry: names, figures, unknown-model defaults, user overrides."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from core import registry
from core.registry import ModelInfo, lookup_model, normalize_name, register_model


@pytest.fixture(autouse=True)
def _forget_overrides():
    yield
    registry._reset_overrides()


ISSUE_MODELS = [
    "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4", "claude-opus-4-8",
    "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1",
    "gpt-5", "gpt-5-1", "gpt-5-2", "gpt-5-mini", "gpt-5-nano", "gpt-5-1-codex-max",
    "gpt-5-1-codex-mini", "gpt-oss-120b", "gpt-oss-20b", "gemini-3-1-pro", "gemma-3-12b",
    "llama-4-maverick", "meta-llama-3-3-70b-instruct", "meta-llama-3-1-8b-instruct",
    "meta-llama-3-1-405b-instruct",
]


@pytest.mark.parametrize("short", ISSUE_MODELS)
def test_every_issue_model_under_both_names(short):
    by_endpoint = lookup_model(f"databricks-{short}")
    by_uc = lookup_model(f"system.ai.{short}")
    assert by_endpoint == by_uc
    assert by_endpoint.known
    assert by_endpoint.family != "unknown"
    assert by_endpoint.context_window > by_endpoint.max_output_tokens > 0


@pytest.mark.parametrize(
    ("name", "family", "ctx", "out", "reasoning"),
    [
        ("databricks-claude-sonnet-4-5", "claude", 200_000, 64_000, "hybrid"),
        ("databricks-claude-opus-4-1", "claude", 200_000, 32_000, "hybrid"),
        ("databricks-gpt-5", "gpt", 400_000, 128_000, "effort"),
        ("databricks-gpt-oss-120b", "gpt-oss", 131_072, 32_768, "always"),
        ("databricks-gemini-3-1-pro", "gemini", 1_048_576, 65_536, "effort"),
        ("databricks-meta-llama-3-3-70b-instruct", "llama", 128_000, 8192, None),
        ("databricks-gemma-3-12b", "gemma", 128_000, 8192, None),
    ],
)
def test_documented_figures(name, family, ctx, out, reasoning):
    info = lookup_model(name)
    assert (info.family, info.context_window, info.max_output_tokens, info.reasoning) == (
        family, ctx, out, reasoning)


def test_capabilities():
    gpt5 = lookup_model("databricks-gpt-5")
    assert gpt5.max_images == 500 and "image" in gpt5.input_modalities
    assert gpt5.supports_strict_schema and gpt5.api == "chat+responses"
    assert lookup_model("databricks-gpt-5-1-codex-max").api == "responses-only"
    assert lookup_model("system.ai.gpt-5-1-codex-mini").api == "responses-only"
    assert lookup_model("databricks-gemma-3-12b").max_images == 5
    assert lookup_model("databricks-llama-4-maverick").max_images == 5
    gem = lookup_model("databricks-gemini-3-1-pro")
    assert {"audio", "video", "image"} <= set(gem.input_modalities)
    assert lookup_model("databricks-gpt-oss-20b").input_modalities == ("text",)
    for name in ("databricks-claude-sonnet-4-5", "databricks-gemini-2-5-pro", "databricks-gpt-oss-120b"):
        assert not lookup_model(name).supports_strict_schema
        assert lookup_model(name).api == "chat"


def test_aliases_and_case():
    assert lookup_model("llama-3-3-70b-instruct") == lookup_model(
        "databricks-meta-llama-3-3-70b-instruct")
    assert lookup_model("Databricks-Claude-Sonnet-4-5").name == "claude-sonnet-4-5"
    assert lookup_model("claude-sonnet-4-5").known
    assert normalize_name("system.ai.databricks-gpt-5") == "gpt-5"


@pytest.mark.parametrize(
    ("name", "family", "reasoning"),
    [
        ("my-claude-finetune", "claude", "hybrid"),
        ("databricks-gpt-oss-999b", "gpt-oss", "always"),
        ("system.ai.gemini-ultra", "gemini", "effort"),
        ("acme-llama-7b", "llama", None),
        ("gpt-4o", "gpt", None),
        ("mystery-model", "unknown", None),
        ("apps/my-agent", "unknown", None),
    ],
)
def test_unknown_models_get_safe_defaults(name, family, reasoning):
    info = lookup_model(name)
    assert not info.known
    assert info.name == name
    assert (info.family, info.reasoning) == (family, reasoning)
    assert info.context_window > 0 and info.max_output_tokens > 0
    assert info.supports_tools


def test_unknown_codex_is_responses_only():
    assert lookup_model("gpt-5-3-codex").api == "responses-only"


def test_register_partial_override():
    before = lookup_model("databricks-claude-sonnet-4-5")
    after = register_model({"name": "system.ai.claude-sonnet-4-5", "max_output_tokens": 8000})
    assert after.max_output_tokens == 8000
    assert after.context_window == before.context_window
    assert lookup_model("databricks-claude-sonnet-4-5") == after
    registry._reset_overrides()
    assert lookup_model("databricks-claude-sonnet-4-5") == before


def test_register_new_model_with_aliases():
    info = register_model({"name": "my-endpoint", "family": "gpt-oss", "context_window": 32000,
                           "aliases": ["prod-llm"]})
    assert info.known and info.reasoning == "always" and info.context_window == 32000
    assert lookup_model("prod-llm") == info
    assert lookup_model("my-endpoint") == info


def test_register_model_info_instance():
    info = ModelInfo(name="custom-vision", family="unknown", input_modalities=("text", "image"),
                     known=True)
    assert register_model(info) is info
    assert lookup_model("custom-vision") is info


@pytest.mark.parametrize(
    "bad",
    [{"family": "gpt"}, {"name": "x", "family": "bard"}, {"name": "x", "reasoning": "lots"},
     {"name": "x", "api": "grpc"}, {"name": "x", "input_modalities": ["smell"]},
     {"name": "x", "colour": "red"}],
)
def test_register_validates(bad):
    with pytest.raises(ValueError):
        register_model(bad)


def test_models_json_is_data_with_valid_fields():
    data = json.loads(resources.files("core").joinpath("models.json").read_text())
    allowed = {f for f in ModelInfo.__dataclass_fields__} | {"aliases", "_comment"}
    for key, entry in data["models"].items():
        assert set(entry) <= allowed, key
        assert key == key.lower() and not key.startswith(("databricks-", "system.ai."))


def test_loaded_once(monkeypatch):
    lookup_model("databricks-gpt-5")
    calls = []
    monkeypatch.setattr(registry.json, "loads", lambda *a: calls.append(a))
    lookup_model("databricks-gpt-5-1")
    lookup_model("whatever")
    assert calls == []


def test_register_after_unknown_lookup_takes_effect():
    assert not lookup_model("later-model").known
    register_model({"name": "later-model", "family": "llama"})
    assert lookup_model("later-model").known
    assert lookup_model("later-model").family == "llama"


# ---------------------------------------------------------------------------------------------
# Model rules as data, version-aware lookup
# ---------------------------------------------------------------------------------------------
NO_SAMPLING = ("temperature", "top_p", "top_k")


@pytest.mark.parametrize(
    ("name", "rejected", "thinking", "display"),
    [
        ("databricks-claude-opus-4-8", NO_SAMPLING, ("adaptive",), "omitted"),
        ("databricks-claude-opus-4-7", NO_SAMPLING, ("adaptive",), "omitted"),
        ("databricks-claude-opus-4-6", (), ("budget", "adaptive"), None),
        ("databricks-claude-sonnet-4-6", (), ("budget", "adaptive"), None),
        ("databricks-claude-sonnet-4-5", (), ("budget",), None),
        ("databricks-gpt-5-2", (), ("effort",), None),
        ("databricks-gemini-3-1-pro", (), ("effort",), None),
        ("databricks-meta-llama-3-3-70b-instruct", (), (), None),
    ],
)
def test_rules_of_the_lineup(name, rejected, thinking, display):
    info = lookup_model(name)
    assert info.known and info.based_on is None
    assert (info.rejected_params, info.thinking, info.thinking_display_default) == (
        rejected, thinking, display)


def test_lineup_limits_are_not_opus_4_5_figures():
    assert lookup_model("claude-opus-4-7").max_output_tokens == 128_000
    assert lookup_model("claude-opus-4-5").max_output_tokens == 64_000


def test_one_tool_call_per_turn_and_prompt_caching_flags():
    assert not lookup_model("databricks-gpt-oss-120b").multiple_tool_calls
    assert lookup_model("databricks-gpt-5").multiple_tool_calls
    assert lookup_model("databricks-claude-sonnet-4-5").prompt_caching
    assert not lookup_model("databricks-gpt-5").prompt_caching


@pytest.mark.parametrize(
    ("name", "based_on"),
    [
        ("claude-opus-4-9", "claude-opus-4-8"),  # newer generation: newest of the family
        ("databricks-claude-sonnet-5", "claude-opus-4-8"),
        ("system.ai.claude-sonnet-4-7", "claude-sonnet-4-6"),  # inside the line's range
        ("claude-haiku-4-6", "claude-haiku-4-5"),
        ("claude-opus-4-2", "claude-opus-4-1"),
        ("gpt-5-3", "gpt-5-2"),
        ("gemini-4-pro", "gemini-3-1-pro"),
        ("claude-opus-4-7-20260416", "claude-opus-4-7"),  # date stamps are not versions
    ],
)
def test_unseen_family_member_gets_newest_rules(name, based_on):
    info = lookup_model(name)
    assert info.known and info.based_on == based_on and info.name == name
    base = lookup_model(based_on)
    assert (info.rejected_params, info.thinking, info.max_output_tokens) == (
        base.rejected_params, base.thinking, base.max_output_tokens)


def test_newer_member_rules_are_newest_not_oldest():
    assert lookup_model("claude-opus-4-9").rejected_params == NO_SAMPLING
    assert lookup_model("claude-opus-4-9").thinking == ("adaptive",)


def test_derived_codex_keeps_its_api():
    info = lookup_model("gpt-5-3-codex")
    assert info.known and info.api == "responses-only" and info.based_on == "gpt-5-2"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("gpt-5.1", "gpt-5-1"),
        ("us.anthropic.claude-opus-4-7", "claude-opus-4-7"),
        ("system.ai.meta_llama_v3_3_70b_instruct", "meta-llama-3-3-70b-instruct"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
    ],
)
def test_provider_spellings(name, key):
    assert lookup_model(name) == lookup_model(key)


@pytest.mark.parametrize("name", ["my-claude", "claude", "claude-2-1", "acme-model-7", "gpt-4o"])
def test_no_version_or_older_than_known_stays_permissive(name):
    info = lookup_model(name)
    assert not info.known and info.based_on is None


def test_register_rules_validated_and_used_for_derivation():
    with pytest.raises(ValueError, match="rejected_params"):
        register_model({"name": "x", "rejected_params": ["colour"]})
    with pytest.raises(ValueError, match="thinking"):
        register_model({"name": "x", "thinking": ["deep"]})
    register_model({"name": "claude-opus-5", "family": "claude", "thinking": ["adaptive"],
                    "rejected_params": ["temperature"]})
    assert lookup_model("claude-opus-5-1").based_on == "claude-opus-5"
