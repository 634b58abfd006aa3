"""Nothing a user passes is silently dropped or misplaced: both adapters against the emulator,
sync and async, streaming and not (issue 13 section 4)."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Iterator
from functools import reduce
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from core.emulator import run_emulator
from core.errors import BadRequestError, InvalidRequestError
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

CLAUDE = "databricks-claude-sonnet-4-5"
GPT5 = "databricks-gpt-5"
MODES = ("sync", "stream", "async", "astream")
TAGS = '{"team": "search", "env": "test"}'


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator(chunk_size=6) as emulator:
        yield emulator


def lc(emu: Any, model: str = CLAUDE, **kw: Any) -> ChatDatabricks:
    kw.setdefault("max_retries", 0)
    return ChatDatabricks(model=model, host=emu.host, token=emu.token, **kw)


def li(emu: Any, model: str = CLAUDE, **kw: Any) -> Databricks:
    kw.setdefault("max_retries", 0)
    return Databricks(model=model, host=emu.host, token=emu.token, **kw)


def run_lc(llm: ChatDatabricks, mode: str, **kw: Any) -> Any:
    prompt = [HumanMessage("hi")]
    if mode == "sync":
        return llm.invoke(prompt, **kw)
    if mode == "stream":
        return reduce(operator.add, llm.stream(prompt, **kw))

    async def go() -> Any:
        if mode == "async":
            return await llm.ainvoke(prompt, **kw)
        return reduce(operator.add, [c async for c in llm.astream(prompt, **kw)])

    return asyncio.run(go())


def run_li(llm: Databricks, mode: str, **kw: Any) -> Any:
    msgs = [ChatMessage(role="user", content="hi")]
    if mode == "sync":
        return llm.chat(msgs, **kw)
    if mode == "stream":
        return list(llm.stream_chat(msgs, **kw))[-1]

    async def go() -> Any:
        if mode == "async":
            return await llm.achat(msgs, **kw)
        return [c async for c in await llm.astream_chat(msgs, **kw)][-1]

    return asyncio.run(go())


RUNNERS = {"langchain": (lc, run_lc), "llamaindex": (li, run_li)}


def last(emu: Any) -> Any:
    return emu.requests[-1]


# ---------------------------------------------------------------------------------------------
# routing arguments
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_endpoint_kind_invocations_is_honoured(emu: Any, adapter: str, mode: str) -> None:
    make, run = RUNNERS[adapter]
    llm = make(emu, "my-agent", endpoint_kind="invocations")
    run(llm, mode)
    req = last(emu)
    assert req.path == "/serving-endpoints/my-agent/invocations"
    assert "model" not in req.json  # the path names the endpoint


@pytest.mark.parametrize("mode", ["sync", "astream"])
def test_use_ai_gateway_native_api(emu: Any, mode: str) -> None:
    llm = lc(emu, use_ai_gateway_native_api=True)
    run_lc(llm, mode)
    assert last(emu).path == "/ai-gateway/openai/v1/chat/completions"
    assert last(emu).json["model"] == CLAUDE
    responses = lc(emu, GPT5, use_ai_gateway_native_api=True, use_responses_api=True)
    run_lc(responses, mode)
    assert last(emu).path == "/ai-gateway/openai/v1/responses"
    with pytest.raises(ValueError, match="Cannot set both"):
        lc(emu, use_ai_gateway=True, use_ai_gateway_native_api=True)


def test_endpoint_kind_gateway_openai_on_llamaindex(emu: Any) -> None:
    run_li(li(emu, endpoint_kind="gateway-openai"), "sync")
    assert last(emu).path == "/ai-gateway/openai/v1/chat/completions"


# ---------------------------------------------------------------------------------------------
# headers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_default_and_per_call_headers_are_http_headers(emu: Any, adapter: str, mode: str) -> None:
    make, run = RUNNERS[adapter]
    llm = make(emu, default_headers={"Databricks-Ai-Gateway-Request-Tags": TAGS})
    run(llm, mode, extra_headers={"X-Trace": "abc"})
    req = last(emu)
    headers = {k.lower(): v for k, v in req.headers.items()}
    assert headers["databricks-ai-gateway-request-tags"] == TAGS
    assert headers["x-trace"] == "abc"
    assert "extra_headers" not in req.json and "default_headers" not in req.json
    run(llm, mode)  # per-call headers are for that call only
    headers = {k.lower(): v for k, v in last(emu).headers.items()}
    assert "x-trace" not in headers and "databricks-ai-gateway-request-tags" in headers


def test_headers_must_be_strings(emu: Any) -> None:
    with pytest.raises(InvalidRequestError, match="json.dumps"):
        lc(emu, default_headers={"Databricks-Ai-Gateway-Request-Tags": {"team": "x"}})
    with pytest.raises(InvalidRequestError, match="json.dumps"):
        li(emu, default_headers={"Databricks-Ai-Gateway-Request-Tags": {"team": "x"}})
    n = len(emu.requests)
    with pytest.raises(InvalidRequestError):
        lc(emu).invoke("hi", extra_headers={"X": 1})
    assert len(emu.requests) == n  # refused before sending


# ---------------------------------------------------------------------------------------------
# custom_inputs on chat completions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_custom_inputs_on_chat_completions(emu: Any, adapter: str, mode: str) -> None:
    make, run = RUNNERS[adapter]
    # a legacy ChatModel agent (task agent/v1/chat): chat completions plus custom_inputs
    llm = make(emu, "my-legacy-agent", endpoint_kind="invocations", custom_inputs={"tier": "gold"})
    run(llm, mode)
    assert last(emu).json["custom_inputs"] == {"tier": "gold"}
    assert "messages" in last(emu).json  # the chat-completions schema
    run(llm, mode, custom_inputs={"tier": "silver"})  # a call's own value wins
    assert last(emu).json["custom_inputs"] == {"tier": "silver"}
    run(make(emu, custom_inputs={"k": 1}), mode)  # the shared chat route carries it too
    assert last(emu).path == "/serving-endpoints/chat/completions"
    assert last(emu).json["custom_inputs"] == {"k": 1}


# ---------------------------------------------------------------------------------------------
# unknown keywords
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_near_miss_of_a_field_is_an_error(emu: Any, adapter: str) -> None:
    make, run = RUNNERS[adapter]
    with pytest.raises(ValueError, match="did you mean 'temperature'"):
        make(emu, temprature=0.2)
    with pytest.raises(ValueError, match="did you mean 'max_tokens'"):
        make(emu, max_token=5)
    n = len(emu.requests)
    with pytest.raises(InvalidRequestError, match="did you mean 'temperature'"):
        run(make(emu), "sync", temprature=0.2)
    assert len(emu.requests) == n


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_unknown_keyword_is_sent_with_a_warning(emu: Any, adapter: str, mode: str) -> None:
    make, run = RUNNERS[adapter]
    into = "model_kwargs" if adapter == "langchain" else "additional_kwargs"
    with pytest.warns(UserWarning, match=f"'user' is not a parameter of .*moved to {into}"):
        llm = make(emu, user="u-42")
    run(llm, mode)
    assert last(emu).json["user"] == "u-42"


def test_langchain_model_kwargs_and_known_params_without_field(emu: Any) -> None:
    llm = lc(emu, GPT5, use_responses_api=True, instructions="Be brief.")  # no warning
    assert llm.model_kwargs == {"instructions": "Be brief."}
    llm.invoke("hi")
    assert last(emu).json["instructions"] == "Be brief."


# ---------------------------------------------------------------------------------------------
# a 400 that names a parameter
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_bad_request_names_the_parameter(emu: Any, adapter: str, mode: str) -> None:
    make, run = RUNNERS[adapter]
    llm = make(emu)
    with pytest.raises(BadRequestError) as info:
        run(llm, mode, seed=7)  # the emulator refuses seed, as the service does
    assert info.value.param == "seed"
    assert info.value.hint is not None and "'seed'" in info.value.hint


# ---------------------------------------------------------------------------------------------
# LangChain's metadata/tags vs the Responses API metadata parameter
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_langchain_metadata_and_tags_never_reach_the_wire(emu: Any, mode: str) -> None:
    llm = lc(emu, GPT5, use_responses_api=True, metadata={"run": "x"}, tags=["t"])
    run_lc(llm, mode)
    body = last(emu).json
    assert "metadata" not in body and "tags" not in body
    # The API's own parameter: LangChain keeps the `metadata` keyword for callbacks, so it
    # goes through model_kwargs (every call) or extra_body (one call), validated either way.
    llm = lc(emu, GPT5, use_responses_api=True, model_kwargs={"metadata": {"app": "a"}})
    run_lc(llm, mode)
    assert last(emu).json["metadata"] == {"app": "a"}
    run_lc(llm, mode, extra_body={"metadata": {"purpose": "eval"}})
    assert last(emu).json["metadata"] == {"purpose": "eval"}


@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_responses_metadata_is_validated_before_sending(emu: Any, adapter: str) -> None:
    make, run = RUNNERS[adapter]
    llm = make(emu, GPT5, use_responses_api=True)
    n = len(emu.requests)
    for bad, pattern in (
        ({f"k{i}": "v" for i in range(17)}, "17 keys"),
        ({"k" * 65: "v"}, "at most 64"),
        ({"k": "v" * 513}, "at most 512"),
        ({"k": 3}, "must be a string"),
    ):
        with pytest.raises(InvalidRequestError, match=pattern):
            if adapter == "langchain":
                run(llm, "sync", extra_body={"metadata": bad})
            else:
                run(llm, "sync", metadata=bad)
    assert len(emu.requests) == n


@pytest.mark.parametrize("adapter", sorted(RUNNERS))
def test_responses_only_parameter_on_chat_is_refused(emu: Any, adapter: str) -> None:
    make, run = RUNNERS[adapter]
    n = len(emu.requests)
    with pytest.raises(InvalidRequestError, match="instructions is a Responses API parameter"):
        run(make(emu), "sync", instructions="Be brief.")
    assert len(emu.requests) == n


def test_llamaindex_old_class_name_is_exported() -> None:
    from llamaindex_plugin import DataBricks  # llama-index-llms-databricks' older spelling

    assert DataBricks is Databricks


@pytest.mark.parametrize("mode", ["sync", "astream"])
def test_strict_tools_are_sent_with_a_strict_valid_schema(emu: Any, mode: str) -> None:
    from pydantic import BaseModel

    class Lookup(BaseModel):
        """Look something up."""

        query: str
        limit: int | None = None

    run_lc(lc(emu, GPT5).bind_tools([Lookup], strict=True), mode)
    fn = last(emu).json["tools"][0]["function"]
    assert fn["strict"] is True
    params = fn["parameters"]
    assert params["additionalProperties"] is False
    assert set(params["required"]) == {"query", "limit"}
    # LlamaIndex: a strict OpenAI-style tool dict the same way
    tool = {"type": "function", "function": {"name": "lookup", "strict": True, "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["q"]}}}  # fmt: skip
    run_li(li(emu, GPT5), mode, tools=[tool])
    params = last(emu).json["tools"][0]["function"]["parameters"]
    assert params["required"] == ["q", "n"] and params["properties"]["n"]["type"] == ["integer", "null"]


def test_langchain_model_kwargs_are_checked_at_construction(emu: Any) -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'temperature'"):
        lc(emu, model_kwargs={"temprature": 0.2})
    with pytest.raises(InvalidRequestError, match="17 keys"):
        lc(emu, GPT5, model_kwargs={"metadata": {f"k{i}": "v" for i in range(17)}})
