"""core.params / core.compat / core.schema: the framework-independent argument handling both
adapters and the CLI share."""

from __future__ import annotations

import json
import warnings

import pytest

from core.compat import model_from, settings_from_aliases
from core.errors import ConfigurationError, InvalidRequestError
from core.params import (
    call_params,
    header_map,
    replay_arguments,
    response_format_from,
    sort_unknown_kwargs,
    tool_choice_from,
    tool_choice_to_openai,
    tool_from_spec,
    tools_from_specs,
    validate_metadata,
)
from core.schema import strict_schema
from core.types import NamedToolChoice, ResponseFormat, Tool

ADD = {"type": "object", "properties": {"a": {"type": "integer"}}}


# ---------------------------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec",
    [
        {"type": "function", "function": {"name": "add", "description": "Add.", "parameters": ADD}},
        {"type": "function", "name": "add", "description": "Add.", "parameters": ADD},  # Responses
        {"name": "add", "description": "Add.", "input_schema": ADD},  # Anthropic
        {"name": "add", "description": "Add.", "parameters": ADD},  # CLI / flat
    ],
)
def test_every_function_spelling_is_one_tool(spec) -> None:
    assert tool_from_spec(spec) == Tool(name="add", description="Add.", parameters=ADD)


def test_strict_tool_gets_a_strict_valid_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
              "required": ["a"]}  # fmt: skip
    strict = tool_from_spec({"name": "f", "parameters": schema, "strict": True})
    assert strict.parameters["additionalProperties"] is False
    assert strict.parameters["required"] == ["a", "b"]
    assert strict.parameters["properties"]["b"] == {"type": ["string", "null"]}
    loose = tool_from_spec({"name": "f", "parameters": schema})
    assert loose.parameters == schema  # not strict: sent as given


def test_tools_custom_builtin_strict_and_passthrough() -> None:
    strict = {"type": "function", "function": {"name": "f", "parameters": ADD, "strict": True}}
    custom = {"type": "custom", "name": "patch", "description": "free text"}
    builtin = {"type": "image_generation", "size": "1024x1024"}
    core_tool = Tool(name="x")
    out = tools_from_specs([strict, custom, builtin, core_tool])
    assert out is not None
    assert out[0].strict is True and out[0].kind == "function"
    assert (out[1].kind, out[1].name, out[1].raw) == ("custom", "patch", custom)
    assert (out[2].kind, out[2].raw) == ("image_generation", builtin)
    assert out[3] is core_tool
    assert tools_from_specs([]) is None and tools_from_specs(None) is None
    # no parameters: an empty object schema
    assert tool_from_spec({"name": "ping"}).parameters == {"type": "object", "properties": {}}


@pytest.mark.parametrize(
    ("specs", "pattern"),
    [
        ([42], "tool 0: a tool must be a dict"),
        ([{"type": "function", "function": {"description": "no name"}}], "without a name"),
        ([{"name": "f", "parameters": "object"}], "parameters must be a JSON schema"),
        ({"name": "f"}, "must be a list"),
    ],
)
def test_bad_tools_raise_one_error_type(specs, pattern) -> None:
    with pytest.raises(InvalidRequestError, match=pattern):
        tools_from_specs(specs)


# ---------------------------------------------------------------------------------------------
# tool choice
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("choice", "names", "required", "expected"),
    [
        (None, ["w"], False, None),
        (None, ["w"], True, "required"),
        (False, ["w"], False, None),
        ("auto", ["w"], False, "auto"),
        ("none", None, False, "none"),
        ("any", ["w"], False, "required"),
        ("required", ["w"], False, "required"),
        (True, ["w"], False, NamedToolChoice("w")),
        (True, ["w", "v"], False, "required"),
        ("w", ["w"], False, NamedToolChoice("w")),
        ("w", None, False, NamedToolChoice("w")),  # nothing to check against
        ({"type": "function", "function": {"name": "w"}}, ["w"], False, NamedToolChoice("w")),
        ({"type": "tool", "name": "w"}, ["w"], False, NamedToolChoice("w")),
        ({"type": "custom", "name": "w"}, ["w"], False, NamedToolChoice("w")),
        ({"type": "any"}, ["w"], False, "required"),
        ({"type": "auto"}, ["w"], False, "auto"),
        (NamedToolChoice("w"), ["w"], False, NamedToolChoice("w")),
    ],
)
def test_tool_choice_spellings(choice, names, required, expected) -> None:
    assert tool_choice_from(choice, names, required=required) == expected


def test_tool_choice_errors_say_what_is_wrong() -> None:
    with pytest.raises(InvalidRequestError, match="Unrecognized tool_choice type"):
        tool_choice_from(123, ["w"])
    with pytest.raises(InvalidRequestError, match="Tool choice 'nope' was specified"):
        tool_choice_from("nope", ["w"])
    with pytest.raises(InvalidRequestError, match="Tool choice 'nope'"):
        tool_choice_from({"type": "function", "function": {"name": "nope"}}, ["w"])
    with pytest.raises(InvalidRequestError, match="Unrecognized tool_choice"):
        tool_choice_from({"type": "sometimes"}, ["w"])
    with pytest.raises(ValueError):  # InvalidRequestError is a ValueError for framework code
        tool_choice_from(1.5)


def test_tool_choice_to_openai() -> None:
    assert tool_choice_to_openai(NamedToolChoice("w")) == {
        "type": "function",
        "function": {"name": "w"},
    }
    assert tool_choice_to_openai("required") == "required"
    assert tool_choice_to_openai(None) is None


# ---------------------------------------------------------------------------------------------
# response format
# ---------------------------------------------------------------------------------------------
def test_response_format_spellings() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    chat = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}}
    flat = {"type": "json_schema", "name": "out", "schema": schema, "strict": True}
    want = ResponseFormat(type="json_schema", schema=schema, name="out", strict=True)
    assert response_format_from(chat) == want
    assert response_format_from(flat) == want
    assert response_format_from({"type": "json_object"}) == ResponseFormat(type="json_object")
    assert response_format_from(want) is want and response_format_from(None) is None
    for bad in ({"type": "yaml"}, "json", {"type": "json_schema", "json_schema": "x"}):
        with pytest.raises(InvalidRequestError):
            response_format_from(bad)


def test_response_format_from_pydantic_class() -> None:
    from pydantic import BaseModel

    class Person_V2(BaseModel):
        """A person."""

        name: str

    rf = response_format_from(Person_V2)
    assert rf is not None and rf.type == "json_schema" and rf.name == "Person_V2"
    assert rf.description == "A person." and rf.schema is not None
    assert rf.schema["required"] == ["name"]


# ---------------------------------------------------------------------------------------------
# call keyword arguments
# ---------------------------------------------------------------------------------------------
def test_call_params_defaults_then_call_and_merges() -> None:
    call = call_params(
        {"temperature": 0.1, "max_tokens": 9, "extra_body": {"a": 1, "b": 1}, "stop": "END"},
        {
            "temperature": 0.5,
            "extra_body": {"b": 2},
            "seed_like": 7,
            "extra_headers": {"X-Tag": "t"},
            "tools": [{"name": "w", "parameters": ADD}],
            "tool_choice": "w",
            "response_format": {"type": "json_object"},
            "metadata": {"k": "v"},
            "verbose": True,
        },
        skip={"verbose"},
    )
    p = call.params
    assert (p.temperature, p.max_tokens, p.stop) == (0.5, 9, ["END"])
    assert p.extra_body == {"a": 1, "b": 2, "seed_like": 7}
    assert call.headers == {"X-Tag": "t"}
    assert p.tools == [Tool(name="w", parameters=ADD)]
    assert p.tool_choice == NamedToolChoice("w")
    assert p.response_format == ResponseFormat(type="json_object")
    assert p.metadata == {"k": "v"}


def test_call_params_near_miss_raises_with_the_way_out() -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'temperature'") as info:
        call_params({}, {"temprature": 0.2})
    assert "extra_body={'temprature': ...}" in str(info.value)
    with pytest.raises(InvalidRequestError, match="did you mean 'max_tokens'"):
        call_params({}, {"max_token": 5})
    # far from every known name: a body field as given
    assert call_params({}, {"seed": 3}).params.extra_body == {"seed": 3}


def test_call_params_validates_tool_choice_against_tools() -> None:
    with pytest.raises(InvalidRequestError, match="Tool choice 'x'"):
        call_params({}, {"tools": [{"name": "w"}], "tool_choice": "x"})


def test_metadata_limits() -> None:
    assert validate_metadata({"a": "b"}) == {"a": "b"}
    ok = {f"k{i}": "v" * 512 for i in range(16)}
    assert validate_metadata(ok) == ok
    with pytest.raises(InvalidRequestError, match="17 keys"):
        validate_metadata({f"k{i}": "v" for i in range(17)})
    with pytest.raises(InvalidRequestError, match="at most 64"):
        validate_metadata({"k" * 65: "v"})
    with pytest.raises(InvalidRequestError, match="at most 512"):
        validate_metadata({"k": "v" * 513})
    with pytest.raises(InvalidRequestError, match="must be a string"):
        validate_metadata({"k": 1})
    with pytest.raises(InvalidRequestError):
        validate_metadata(["k"])


def test_header_map() -> None:
    assert header_map({"A": "1"}) == {"A": "1"}
    assert header_map(None) is None and header_map({}) is None
    with pytest.raises(InvalidRequestError, match="json.dumps"):
        header_map({"Databricks-Ai-Gateway-Request-Tags": {"team": "x"}})
    with pytest.raises(InvalidRequestError, match="line break"):
        header_map({"A": "1\r\nB: 2"})


def test_sort_unknown_kwargs() -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'temperature'"):
        sort_unknown_kwargs({"temprature": 1}, ["temperature"], owner="X", into="model_kwargs")
    with pytest.warns(UserWarning, match="'seed' is not a parameter of X; it was moved to mk"):
        assert sort_unknown_kwargs({"seed": 1}, ["temperature"], owner="X", into="mk") == {
            "seed": 1
        }


# ---------------------------------------------------------------------------------------------
# replaying tool-call arguments
# ---------------------------------------------------------------------------------------------
def test_replay_arguments() -> None:
    raw = '{ "city" :"Zürich"}'
    assert replay_arguments({"city": "Zürich"}, raw) == raw  # unedited: byte-exact
    assert replay_arguments({"city": "Oslo"}, raw) == '{"city": "Oslo"}'  # edited: re-encoded
    assert replay_arguments({}, "") == "{}"  # never "" (Claude rejects it)
    assert replay_arguments({}, None) == "{}"
    assert replay_arguments("free text", None) == "free text"
    cut = '{"a": 1'
    assert replay_arguments({"a": 1}, cut) == '{"a": 1}'  # broken raw, no lenient parser
    assert replay_arguments({"a": 1}, cut, lenient=lambda t: json.loads(t + "}")) == cut


# ---------------------------------------------------------------------------------------------
# compatibility aliases
# ---------------------------------------------------------------------------------------------
def test_target_uri_forms_and_deprecation() -> None:
    with pytest.warns(DeprecationWarning, match="The 'target_uri' parameter is deprecated"):
        assert settings_from_aliases(target_uri="https://h.cloud.databricks.com") == {
            "host": "https://h.cloud.databricks.com"
        }
    with pytest.warns(DeprecationWarning):
        assert settings_from_aliases(target_uri="databricks://dev") == {"profile": "dev"}
    with pytest.warns(DeprecationWarning):
        assert settings_from_aliases(target_uri="databricks") == {}
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigurationError, match="not supported"):
        settings_from_aliases(target_uri="mlflow")
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(ValueError, match="Cannot specify both 'workspace_client' and 'target_uri'"),
    ):
        settings_from_aliases(target_uri="databricks", workspace_client=object())


def test_api_base_and_serving_endpoint_variable() -> None:
    got = settings_from_aliases(api_base="https://h.net/serving-endpoints/", environ={})
    assert got == {"host": "https://h.net", "endpoint_kind": "serving"}
    assert settings_from_aliases(api_base="http://localhost:8000/v1", environ={}) == {
        "base_url": "http://localhost:8000/v1"
    }
    env = {"DATABRICKS_SERVING_ENDPOINT": "https://e.net/serving-endpoints"}
    assert settings_from_aliases(environ=env)["host"] == "https://e.net"
    assert settings_from_aliases(host="https://mine.net", environ=env) == {
        "host": "https://mine.net"
    }


def test_gateway_flags() -> None:
    assert settings_from_aliases(use_ai_gateway=True) == {"endpoint_kind": "gateway"}
    assert settings_from_aliases(use_ai_gateway=False) == {"endpoint_kind": "serving"}
    assert settings_from_aliases(use_ai_gateway_native_api=True) == {
        "endpoint_kind": "gateway-openai"
    }
    with pytest.raises(ConfigurationError, match="Cannot set both"):
        settings_from_aliases(use_ai_gateway=True, use_ai_gateway_native_api=True)
    with pytest.raises(ConfigurationError, match="'use_ai_gateway_native_api' and 'base_url'"):
        settings_from_aliases(use_ai_gateway_native_api=True, base_url="http://x")
    with pytest.raises(ConfigurationError, match="contradicts endpoint_kind"):
        settings_from_aliases(use_ai_gateway=True, endpoint_kind="invocations")
    # base_url wins over use_ai_gateway (the gateway flag is about Databricks hosts)
    assert settings_from_aliases(use_ai_gateway=True, base_url="http://x") == {
        "base_url": "http://x"
    }


def test_model_aliases() -> None:
    assert model_from(("model", "m"), ("endpoint", None)) == "m"
    assert model_from(("model", None), ("endpoint", "e")) == "e"
    assert model_from(("model", "m"), ("endpoint", "m")) == "m"
    assert model_from(("model", None)) is None
    with pytest.raises(ConfigurationError, match="conflicting model names"):
        model_from(("model", "a"), ("endpoint", "b"))


# ---------------------------------------------------------------------------------------------
# strict schemas
# ---------------------------------------------------------------------------------------------
def test_strict_schema_makes_every_object_closed_and_complete() -> None:
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "note": {"type": "string", "default": None},
            "level": {"enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "object", "properties": {"t": {}}}},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "ref": {"$ref": "#/$defs/Inner"},
        },
        "required": ["answer"],
        "$defs": {"Inner": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    before = json.dumps(schema, sort_keys=True)
    out = strict_schema(schema)
    assert json.dumps(schema, sort_keys=True) == before  # input untouched
    assert out["additionalProperties"] is False
    assert out["required"] == ["answer", "note", "level", "tags", "maybe", "ref"]
    props = out["properties"]
    assert props["answer"] == {"type": "string"}  # was required: unchanged
    assert props["note"] == {"type": ["string", "null"]}  # optional: nullable, no null default
    assert props["level"] == {"anyOf": [{"enum": ["a", "b"]}, {"type": "null"}]}
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}  # already
    assert props["tags"]["type"] == ["array", "null"]
    item = props["tags"]["items"]
    assert item["additionalProperties"] is False and item["required"] == ["t"]
    inner = out["$defs"]["Inner"]
    assert inner["additionalProperties"] is False and inner["required"] == ["x"]
    assert props["ref"] == {"anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}]}


def test_no_warning_for_known_generation_parameters() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert call_params({}, {"instructions": "x"}).params.instructions == "x"
