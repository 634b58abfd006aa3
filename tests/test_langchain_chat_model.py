"""ChatDatabricks end to end against the local emulator: reasoning for every family (invoke and
stream, sent back byte-identical), tools, structured output, multimodal input from local data,
the Responses/Apps path, errors before sending, configuration and serialization."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from core.emulator import run_emulator
from core.errors import ConfigurationError, InvalidRequestError
from langchain_plugin import ChatDatabricks

CLAUDE = "databricks-claude-sonnet-4-5"
GPT_OSS = "databricks-gpt-oss-120b"
GEMINI = "databricks-gemini-2-5-pro"
GPT5 = "databricks-gpt-5"
LLAMA = "databricks-meta-llama-3-3-70b-instruct"

# family -> constructor arguments that turn reasoning on
REASONING = {
    CLAUDE: {"thinking_budget": 1024, "max_tokens": 4096},
    GPT_OSS: {"reasoning_effort": "low"},
    GEMINI: {"reasoning_effort": "low"},
    GPT5: {"reasoning_effort": "low"},
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator(chunk_size=5) as emulator:
        yield emulator


def make(emu: Any, model: str = CLAUDE, **kw: Any) -> ChatDatabricks:
    return ChatDatabricks(model=model, host=emu.host, token=emu.token, **kw)


def chat_requests(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


def stream_sum(llm: Any, prompt: Any, **kw: Any) -> Any:
    full = None
    n_usage = 0
    for chunk in llm.stream(prompt, **kw):
        n_usage += bool(chunk.usage_metadata)
        full = chunk if full is None else full + chunk
    assert full is not None
    assert n_usage <= 1
    return full


def raw_chat(emu: Any, body: dict[str, Any]) -> dict[str, Any]:
    """What the server answers to a body, read without the library."""
    r = httpx.post(
        f"{emu.host}/serving-endpoints/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {emu.token}"},
    )
    r.raise_for_status()
    return r.json()


# ---------------------------------------------------------------------------------------------
# reasoning: every family, invoke and stream, round trip byte-identical on the wire
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", sorted(REASONING))
def test_reasoning_invoke_and_round_trip(emu: Any, model: str) -> None:
    llm = make(emu, model, **REASONING[model])
    first = llm.invoke("Why is the sky blue?")
    request_body = chat_requests(emu)[-1].json
    assert first.text.startswith("You said")
    blocks = first.content_blocks
    if model == GEMINI:
        # Gemini reasons internally; its text block carries an opaque thoughtSignature
        assert isinstance(first.content, list)
        assert first.content[0]["extras"]["thoughtSignature"]
    else:
        assert blocks[0]["type"] == "reasoning" and blocks[0]["reasoning"]
        assert blocks[-1] == {"type": "text", "text": first.text}
        assert first.usage_metadata["output_token_details"]["reasoning"] > 0
        if model == CLAUDE:
            assert first.content[0]["extras"]["signature"]
        else:
            assert "signature" not in first.content[0].get("extras", {})

    # the server's own answer to the same body (the emulator is deterministic)
    server_message = raw_chat(emu, request_body)["choices"][0]["message"]

    second = llm.invoke(
        [HumanMessage("Why is the sky blue?"), first, HumanMessage("And at sunset?")]
    )
    assert second.text
    sent = chat_requests(emu)[-1].json["messages"][1]
    assert json.dumps(sent) == json.dumps(server_message)


@pytest.mark.parametrize("model", sorted(REASONING))
def test_reasoning_stream_and_round_trip(emu: Any, model: str) -> None:
    llm = make(emu, model, **REASONING[model])
    chunks = list(llm.stream("Why is the sky blue?"))
    request_body = dict(chat_requests(emu)[-1].json)
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert chunks[-1].chunk_position == "last"
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert full.text.startswith("You said")
    if model != GEMINI:
        # reasoning arrives as reasoning chunks with an index, merged into one block
        reasoning_chunks = [
            c
            for c in chunks
            if isinstance(c.content, list) and c.content and c.content[0]["type"] == "reasoning"
        ]
        assert len(reasoning_chunks) > 1
        assert all("index" in c.content[0] for c in reasoning_chunks)
        kinds = [b["type"] for b in full.content_blocks]
        assert kinds == ["reasoning", "text"]

    request_body.pop("stream", None)
    request_body.pop("stream_options", None)
    server_message = raw_chat(emu, request_body)["choices"][0]["message"]
    llm.invoke([HumanMessage("Why is the sky blue?"), full, HumanMessage("And at sunset?")])
    sent = chat_requests(emu)[-1].json["messages"][1]
    assert json.dumps(sent) == json.dumps(server_message)


@pytest.mark.parametrize("model", sorted(REASONING))
async def test_reasoning_async(emu: Any, model: str) -> None:
    llm = make(emu, model, **REASONING[model])
    msg = await llm.ainvoke("hello")
    full = None
    async for chunk in llm.astream("hello"):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert [b["type"] for b in full.content_blocks] == [b["type"] for b in msg.content_blocks]
    assert full.text == msg.text
    await llm.aclose()


def test_no_reasoning_means_string_content(emu: Any) -> None:
    msg = make(emu, LLAMA).invoke("hi")
    assert isinstance(msg.content, str) and msg.content == msg.text


def test_tampered_reasoning_is_rejected_by_server(emu: Any) -> None:
    llm = make(emu, CLAUDE, **REASONING[CLAUDE])
    first = llm.invoke("hello")
    tampered = first.model_copy(deep=True)
    tampered.content[0]["reasoning"] += " (edited)"
    with pytest.raises(Exception, match="signature"):
        llm.invoke([HumanMessage("hello"), tampered, HumanMessage("more")])


def test_anthropic_style_history(emu: Any) -> None:
    """ChatAnthropic-style thinking/redacted_thinking/tool_use blocks are accepted."""
    llm = make(emu, CLAUDE, **REASONING[CLAUDE])
    first = llm.invoke("hello")
    reasoning = first.content[0]
    anthropic_style = AIMessage(
        content=[
            {
                "type": "thinking",
                "thinking": reasoning["reasoning"],
                "signature": reasoning["extras"]["signature"],
            },
            {"type": "redacted_thinking", "data": "opaque-data"},
            {"type": "text", "text": first.text},
        ]
    )
    second = llm.invoke([HumanMessage("hello"), anthropic_style, HumanMessage("more")])
    assert second.text
    sent = chat_requests(emu)[-1].json["messages"][1]["content"]
    summary = sent[0]["summary"]
    assert summary[0] == {
        "type": "summary_text",
        "text": reasoning["reasoning"],
        "signature": reasoning["extras"]["signature"],
    }
    assert summary[1] == {"type": "summary_encrypted_text", "data": "opaque-data"}


# ---------------------------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------------------------
@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"It is sunny in {city}."


@tool
def magic_function(input: int) -> int:
    """Apply a magic function to an input."""
    return input + 2


class Add(BaseModel):
    """Add two integers."""

    a: int = Field(description="first")
    b: int = Field(description="second")


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_bind_tools_every_form_and_tool_choice(emu: Any) -> None:
    llm = make(emu, CLAUDE)
    schema = {
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
    anthropic_tool = {
        "name": "pick",
        "description": "Pick a color.",
        "input_schema": {"type": "object", "properties": {"c": {"type": "string"}}},
    }
    bound = llm.bind_tools(
        [get_weather, Add, multiply, schema, anthropic_tool], tool_choice="multiply"
    )
    msg = bound.invoke("multiply 6 and 7")
    assert msg.tool_calls[0]["name"] == "multiply"
    assert msg.tool_calls[0]["args"] == {"a": 6, "b": 7}
    assert msg.tool_calls[0]["id"]
    body = chat_requests(emu)[-1].json
    assert [t["function"]["name"] for t in body["tools"]] == [
        "get_weather",
        "Add",
        "multiply",
        "lookup",
        "pick",
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "multiply"}}

    for choice, wire in [
        ("any", "required"),
        ("required", "required"),
        ("auto", "auto"),
        ("none", "none"),
        (
            {"type": "function", "function": {"name": "Add"}},
            {"type": "function", "function": {"name": "Add"}},
        ),
        ({"type": "tool", "name": "Add"}, {"type": "function", "function": {"name": "Add"}}),
    ]:
        llm.bind_tools([Add, multiply], tool_choice=choice).invoke("add 1 and 2")
        assert chat_requests(emu)[-1].json["tool_choice"] == wire, choice
    # True: the single tool
    msg = llm.bind_tools([Add], tool_choice=True).invoke("add 1 and 2")
    assert msg.tool_calls[0]["name"] == "Add"
    assert chat_requests(emu)[-1].json["tool_choice"] == {
        "type": "function",
        "function": {"name": "Add"},
    }
    llm.bind_tools([Add, multiply], parallel_tool_calls=False).invoke("add 1 and 2")
    assert chat_requests(emu)[-1].json["parallel_tool_calls"] is False


def test_unknown_tool_choice_raises_at_bind(emu: Any) -> None:
    with pytest.raises(InvalidRequestError, match="nope"):
        make(emu).bind_tools([Add], tool_choice="nope")


def test_tool_call_chunks_have_ids_and_indexes(emu: Any) -> None:
    llm = make(emu, GPT5).bind_tools([get_weather], tool_choice="any")
    chunks = list(llm.stream("What is the weather in 'Paris'?"))
    tcc = [c.tool_call_chunks[0] for c in chunks if c.tool_call_chunks]
    assert tcc[0]["id"] and tcc[0]["name"] == "get_weather" and tcc[0]["index"] == 0
    assert len(tcc) > 1  # arguments arrive in pieces
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert full.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": tcc[0]["id"], "type": "tool_call"}
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"


def test_tool_messages_string_list_and_error(emu: Any) -> None:
    llm = make(emu, CLAUDE).bind_tools([get_weather])
    ai = llm.invoke("What is the weather in 'Paris'?")
    (call,) = ai.tool_calls
    for result in [
        ToolMessage("sunny", tool_call_id=call["id"]),
        ToolMessage([{"type": "text", "text": "sunny"}], tool_call_id=call["id"]),
        ToolMessage("service down", tool_call_id=call["id"], status="error"),
    ]:
        answer = llm.invoke([HumanMessage("What is the weather in 'Paris'?"), ai, result])
        assert answer.text
        sent = chat_requests(emu)[-1].json["messages"]
        assert sent[-1]["role"] == "tool" and sent[-1]["tool_call_id"] == call["id"]
        # the assistant tool-call turn goes back with the arguments exactly as received
        assert sent[1]["tool_calls"][0]["function"]["arguments"] == json.dumps(call["args"])


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")  # langchain not installed
def test_langgraph_react_agent(emu: Any) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(
        make(emu, CLAUDE, **REASONING[CLAUDE]), [get_weather, magic_function]
    )
    result = agent.invoke({"messages": [HumanMessage("What is the weather in 'Paris'?")]})
    messages = result["messages"]
    kinds = [m.type for m in messages]
    assert kinds == ["human", "ai", "tool", "ai"]
    assert messages[1].tool_calls[0]["name"] == "get_weather"
    assert messages[2].content == "It is sunny in Paris."
    assert "sunny" in messages[3].text
    # the reasoning of the tool-calling turn went back with its signature (server verified it)
    sent = chat_requests(emu)[-1].json["messages"][1]
    assert sent["content"][0]["type"] == "reasoning"
    assert sent["content"][0]["summary"][0]["signature"]


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")  # langchain not installed
async def test_langgraph_react_agent_streaming_async(emu: Any) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(make(emu, GPT5, streaming=True), [magic_function])
    result = await agent.ainvoke({"messages": [HumanMessage("what is magic_function(3)?")]})
    assert [m.type for m in result["messages"]] == ["human", "ai", "tool", "ai"]
    assert result["messages"][2].content == "5"
    assert "5" in result["messages"][3].text


def test_chain_prompt_model_parser(emu: Any) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), ("human", "Tell me about {topic}")]
    )
    chain = prompt | make(emu, CLAUDE, **REASONING[CLAUDE]) | StrOutputParser()
    out = chain.invoke({"topic": "otters"})
    assert out.startswith('You said: "Tell me about otters"')  # text only, no reasoning
    assert "".join(chain.stream({"topic": "otters"})) == out
    assert chain.batch([{"topic": "a"}, {"topic": "b"}])[1].startswith(
        'You said: "Tell me about b"'
    )


async def test_async_surface(emu: Any) -> None:
    llm = make(emu, LLAMA)
    results = await llm.abatch(["one", "two"])
    assert [r.text.split('"')[1] for r in results] == ["one", "two"]
    events = [e async for e in llm.astream_events("hello", version="v2")]
    kinds = {e["event"] for e in events}
    assert {"on_chat_model_start", "on_chat_model_stream", "on_chat_model_end"} <= kinds
    await llm.aclose()


# ---------------------------------------------------------------------------------------------
# structured output
# ---------------------------------------------------------------------------------------------
class Joke(BaseModel):
    """A joke."""

    setup: str
    punchline: str


def test_structured_output_methods(emu: Any) -> None:
    gpt = make(emu, GPT5)
    claude = make(emu, CLAUDE)
    joke = gpt.with_structured_output(Joke, method="json_schema").invoke("a joke")
    assert isinstance(joke, Joke)
    rf = chat_requests(emu)[-1].json["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    streamed = list(gpt.with_structured_output(Joke, method="json_schema").stream("a joke"))
    assert streamed and streamed[-1] == joke
    joke = claude.with_structured_output(Joke, method="json_schema").invoke("a joke")
    assert isinstance(joke, Joke)
    # strict on every model (as databricks-langchain), with a strict-valid schema
    spec = chat_requests(emu)[-1].json["response_format"]["json_schema"]
    assert spec["strict"] is True and spec["schema"]["additionalProperties"] is False
    assert spec["schema"]["required"] == ["setup", "punchline"]
    loose = claude.with_structured_output(Joke, method="json_schema", strict=False)
    assert isinstance(loose.invoke("a joke"), Joke)
    spec = chat_requests(emu)[-1].json["response_format"]["json_schema"]
    assert spec["strict"] is False and "additionalProperties" not in spec["schema"]
    # default: function calling (as databricks-langchain)
    joke = claude.with_structured_output(Joke).invoke("a joke")
    assert isinstance(joke, Joke)
    body = chat_requests(emu)[-1].json
    assert body["tool_choice"]["function"]["name"] == "Joke"
    assert not any(k.startswith("ls_") for k in body)  # tracing hints never reach the wire
    out = claude.with_structured_output(
        Joke.model_json_schema(), method="json_mode", include_raw=True
    ).invoke("a joke with 'setup' and 'punchline' keys")
    assert isinstance(out["raw"], AIMessage)
    assert set(out["parsed"]) == {"setup", "punchline"} and out["parsing_error"] is None
    assert chat_requests(emu)[-1].json["response_format"] == {"type": "json_object"}


# ---------------------------------------------------------------------------------------------
# multimodal input from local data
# ---------------------------------------------------------------------------------------------
PNG_B64 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f2d0000000049454e44ae426082"
    )
).decode()


def test_multimodal_inputs(emu: Any) -> None:
    llm = make(emu, GEMINI)
    data_url = f"data:image/png;base64,{PNG_B64}"
    msg = HumanMessage(
        content=[
            {"type": "text", "text": "describe these"},
            {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": data_url}},
            {"type": "audio", "base64": "UklGRg==", "mime_type": "audio/wav"},
        ]
    )
    assert llm.invoke([msg]).text
    content = chat_requests(emu)[-1].json["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "describe these"}
    assert content[1]["type"] == "image_url" and content[1]["image_url"]["url"] == data_url
    assert content[2]["image_url"]["url"] == data_url
    assert content[3]["type"] == "audio_url"
    assert content[3]["audio_url"]["url"] == "data:audio/wav;base64,UklGRg=="


# ---------------------------------------------------------------------------------------------
# Responses API and Apps agents (routing is the core's; the adapter maps blocks and metadata)
# ---------------------------------------------------------------------------------------------
def test_responses_api_path(emu: Any) -> None:
    llm = make(emu, GPT5, use_responses_api=True, **REASONING[GPT5])
    msg = llm.invoke("hello")
    assert emu.requests[-1].path.endswith("/responses")
    assert msg.text.startswith("You said")
    assert msg.response_metadata["model_name"]
    full = stream_sum(llm, "hello")
    assert full.text == msg.text
    # the reasoning of turn 1 goes back in turn 2
    again = llm.invoke([HumanMessage("hello"), msg, HumanMessage("more")])
    assert again.text


def test_apps_agent_custom_inputs_outputs(emu: Any) -> None:
    llm = ChatDatabricks(
        model="apps/my-agent",
        host=emu.host,
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        custom_inputs={"user_tier": "gold"},
    )
    msg = llm.invoke("hello")
    req = emu.requests[-1]
    assert req.json["custom_inputs"] == {"user_tier": "gold"}
    assert msg.response_metadata["custom_outputs"]["user_tier"] == "gold"
    assert msg.custom_outputs["user_tier"] == "gold"  # as databricks-langchain
    full = stream_sum(llm, "hello", custom_inputs={"x": 1})
    assert emu.requests[-1].json["custom_inputs"] == {"x": 1}
    assert full.response_metadata["custom_outputs"]["x"] == 1


def test_apps_refuse_a_pat_at_construction(emu: Any) -> None:
    with pytest.raises(ConfigurationError, match="OAuth"):
        make(emu, "apps/my-agent")


# ---------------------------------------------------------------------------------------------
# errors before sending, configuration, serialization, plumbing
# ---------------------------------------------------------------------------------------------
def test_bad_input_raises_before_sending(emu: Any) -> None:
    llm = make(emu, LLAMA)
    before = len(emu.requests)
    with pytest.raises(InvalidRequestError):
        llm.invoke([HumanMessage(content=[{"type": "image", "file_id": "file-1"}])])
    with pytest.raises(InvalidRequestError):
        llm.invoke([HumanMessage(content=[{"type": "mystery"}])])
    with pytest.raises(InvalidRequestError, match="reasoning"):
        make(emu, LLAMA, thinking_budget=2048).invoke("hi")
    with pytest.raises(InvalidRequestError):
        list(llm.stream([HumanMessage(content=[{"type": "image_url", "image_url": {}}])]))
    assert len(emu.requests) == before


def test_constructor_aliases_and_compat(emu: Any) -> None:
    with pytest.warns(DeprecationWarning, match="'target_uri' parameter is deprecated"):
        llm = ChatDatabricks(
            endpoint=CLAUDE,
            target_uri=emu.host,
            api_key=emu.token,
            extra_params={"a": 1},
            extra_body={"b": 2},
        )
    assert llm.model == CLAUDE and llm.token is not None
    assert llm.client.host == emu.host
    llm.invoke("hi")
    body = chat_requests(emu)[-1].json
    assert body["a"] == 1 and body["b"] == 2
    # per-call parameters and model override
    msg = llm.invoke("hi", model=LLAMA, temperature=0.5, stop=["x"])
    body = chat_requests(emu)[-1].json
    assert body["model"] == LLAMA and body["temperature"] == 0.5 and body["stop"] == ["x"]
    assert msg.response_metadata["model_name"] == LLAMA


def test_configuration_errors_at_construction(tmp_path: Any, monkeypatch: Any) -> None:
    with pytest.raises(ConfigurationError):
        ChatDatabricks(model=CLAUDE)  # no host, no credentials anywhere
    with pytest.raises(ConfigurationError):
        with pytest.warns(DeprecationWarning):
            ChatDatabricks(model=CLAUDE, host="https://x.cloud.databricks.com", target_uri="mlflow")
    cfg = tmp_path / "cfg"
    cfg.write_text("[dev]\nhost = https://dev.cloud.databricks.com\ntoken = dapi123456789\n")
    llm = ChatDatabricks(model=CLAUDE, profile="dev", config_file=str(cfg))
    assert llm.databricks_profile == "dev"
    assert llm.client.host == "https://dev.cloud.databricks.com"
    monkeypatch.setenv("DATABRICKS_HOST", "https://env.cloud.databricks.com")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-env")
    assert ChatDatabricks(model=CLAUDE).client.host == "https://env.cloud.databricks.com"


def test_secrets_never_printed_or_serialized(emu: Any) -> None:
    llm = ChatDatabricks(
        model=CLAUDE, host=emu.host, client_id=emu.client_id, client_secret=emu.client_secret
    )
    llm2 = make(emu)
    for m in (llm, llm2):
        for text in (repr(m), str(m), dumps(m)):
            assert emu.token not in text
            assert emu.client_secret not in text
    assert llm.lc_secrets == {
        "token": "DATABRICKS_TOKEN",
        "client_secret": "DATABRICKS_CLIENT_SECRET",
        "proxy": "HTTPS_PROXY",  # a proxy URL may carry credentials
    }


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_dumpd_load(emu: Any) -> None:
    llm = make(emu, temperature=0.2, max_tokens=50)
    data = dumpd(llm)
    assert data["kwargs"]["token"] == {"lc": 1, "type": "secret", "id": ["DATABRICKS_TOKEN"]}
    revived = load(
        data,
        secrets_map={"DATABRICKS_TOKEN": emu.token},
        valid_namespaces=["langchain_plugin"],
        allowed_objects=[ChatDatabricks],
    )
    assert isinstance(revived, ChatDatabricks)
    assert revived.asdict() == llm.asdict()
    assert revived.invoke("hi").text


def test_ls_params_and_identity(emu: Any) -> None:
    llm = make(emu, temperature=0.1, max_tokens=7, stop=["s"])
    assert llm._llm_type == "chat-databricks"  # as databricks-langchain
    assert llm._get_ls_params() == {
        "ls_provider": "databricks",
        "ls_model_name": CLAUDE,
        "ls_model_type": "chat",
        "ls_temperature": 0.1,
        "ls_max_tokens": 7,
        "ls_stop": ["s"],
    }
    assert llm._get_ls_params(model="other")["ls_model_name"] == "other"
    assert llm.profile and llm.profile["tool_calling"] is True  # LangChain model profile


def test_rate_limiter_is_honoured(emu: Any) -> None:
    class Counting(BaseRateLimiter):
        def __init__(self) -> None:
            self.calls = 0

        def acquire(self, *, blocking: bool = True) -> bool:
            self.calls += 1
            return True

        async def aacquire(self, *, blocking: bool = True) -> bool:
            self.calls += 1
            return True

    limiter = Counting()
    llm = make(emu, LLAMA, rate_limiter=limiter)
    llm.invoke("a")
    list(llm.stream("b"))
    assert limiter.calls == 2


def test_import_is_lazy() -> None:
    code = (
        "import sys, langchain_plugin; "
        "print(any(m in sys.modules for m in ('core.client', 'langchain_plugin.chat_models', "
        "'langchain_core.language_models', 'httpx')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_system_and_developer_messages(emu: Any) -> None:
    make(emu, GPT5).invoke(
        [
            SystemMessage("be brief"),
            SystemMessage("dev note", additional_kwargs={"__openai_role__": "developer"}),
            HumanMessage("hi", name="alice"),
        ]
    )
    sent = chat_requests(emu)[-1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "developer", "user"]
    assert sent[2].get("name") == "alice"


def test_stream_usage_off(emu: Any) -> None:
    chunks = list(make(emu, LLAMA, stream_usage=False).stream("hi"))
    assert not any(c.usage_metadata for c in chunks)
    chunks = list(make(emu, LLAMA).stream("hi", stream_usage=False))
    assert not any(c.usage_metadata for c in chunks)


@pytest.mark.parametrize("stream", [False, True])
def test_output_version_v1_round_trip(emu: Any, stream: bool) -> None:
    """With LangChain's v1 output, content is standard blocks; it still goes back intact."""
    llm = make(emu, CLAUDE, output_version="v1", **REASONING[CLAUDE]).bind_tools([get_weather])
    prompt = "What is the weather in 'Paris'?"
    msg = stream_sum(llm, prompt) if stream else llm.invoke(prompt)
    types = [b["type"] for b in msg.content]
    assert types[0] == "reasoning" and "tool_call" in types
    result = ToolMessage("sunny", tool_call_id=msg.tool_calls[0]["id"])
    answer = llm.invoke([HumanMessage(prompt), msg, result])  # the server checks the signature
    assert "sunny" in answer.text
    sent = chat_requests(emu)[-1].json["messages"][1]
    assert sent["content"][0]["summary"][0]["signature"] == msg.content[0]["extras"]["signature"]
    assert sent["tool_calls"][0]["function"]["name"] == "get_weather"


def test_stream_events_v3_keeps_reasoning_and_tool_calls(emu: Any) -> None:
    from langchain_tests.integration_tests.chat_models import assert_valid_event_stream

    llm = make(emu, CLAUDE, **REASONING[CLAUDE]).bind_tools([get_weather])
    stream = llm.stream_events("What is the weather in 'Paris'?", version="v3")
    assert_valid_event_stream(list(stream))
    message = stream.output
    assert [b["type"] for b in message.content] == ["reasoning", "tool_call"]
    assert message.content[0]["extras"]["signature"]
    assert message.tool_calls[0]["args"] == {"city": "Paris"}


def test_configurable_fields_and_deepcopy(emu: Any) -> None:
    import copy

    from langchain_core.runnables import ConfigurableField

    llm = make(emu, CLAUDE)
    configurable = llm.configurable_fields(
        temperature=ConfigurableField(id="t"), model=ConfigurableField(id="m")
    )
    msg = configurable.with_config(configurable={"t": 0.3, "m": LLAMA}).invoke("hi")
    assert msg.response_metadata["model_name"] == LLAMA
    assert chat_requests(emu)[-1].json["temperature"] == 0.3
    assert copy.deepcopy(llm).invoke("x").text.startswith('You said: "x"')
