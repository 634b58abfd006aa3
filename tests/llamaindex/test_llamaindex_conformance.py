"""A conformance suite for LlamaIndex LLMs, mirroring LangChain's standard integration tests.

LlamaIndex ships no standard suite, so this one follows
``langchain_tests.integration_tests.ChatModelIntegrationTests`` test by test (invoke, stream,
async, batch, conversation, usage, stop sequences, tool calling forced/unforced, tool message
histories, agent loop, unicode tool arguments, structured output, JSON mode, reasoning round
trip) and runs it over loopback against the project's emulator, for several model families.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, Literal

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.bridge.pydantic import BaseModel, Field
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool

from core import errors
from core.emulator.model import sign

MODELS = [
    "databricks-claude-sonnet-4-5",
    "databricks-gpt-5",
    "databricks-gpt-oss-120b",
    "databricks-gemini-2-5-pro",
    "databricks-meta-llama-3-3-70b-instruct",
]


@pytest.fixture(params=MODELS)
def model(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def llm(make_llm, model):
    return make_llm(model)


def user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


def magic_function(input: int) -> int:
    """Applies a magic function to an input."""
    return input + 2


def magic_function_no_args() -> int:
    """Calculates a magic function."""
    return 5


def magic_tool() -> FunctionTool:
    return FunctionTool.from_defaults(fn=magic_function)


def _assert_text_response(resp: ChatResponse) -> None:
    assert isinstance(resp, ChatResponse)
    assert resp.message.role == MessageRole.ASSISTANT
    assert isinstance(resp.message.content, str) and resp.message.content


# ------------------------------------------------------------------------------------------------
# invoke / stream / async / batch / conversation
# ------------------------------------------------------------------------------------------------
def test_invoke(llm) -> None:
    resp = llm.chat([user("Hello")])
    _assert_text_response(resp)
    assert "Hello" in resp.message.content
    comp = llm.complete("Hello")
    assert isinstance(comp, CompletionResponse) and "Hello" in comp.text


async def test_ainvoke(llm) -> None:
    resp = await llm.achat([user("Hello")])
    _assert_text_response(resp)
    comp = await llm.acomplete("Hello")
    assert "Hello" in comp.text


def test_stream(llm) -> None:
    chunks = list(llm.stream_chat([user("Hello, how are you today?")]))
    assert len(chunks) > 2
    assert all(isinstance(c, ChatResponse) for c in chunks)
    text = "".join(c.delta or "" for c in chunks)
    assert text and text == chunks[-1].message.content
    # cumulative: every chunk's content is a prefix of the final content
    for c in chunks:
        assert chunks[-1].message.content.startswith(c.message.content or "")
    # exactly one text block in the final message
    assert sum(isinstance(b, TextBlock) for b in chunks[-1].message.blocks) == 1
    comp = list(llm.stream_complete("Hello"))
    assert "".join(c.delta or "" for c in comp) == comp[-1].text


async def test_astream(llm) -> None:
    gen = await llm.astream_chat([user("Hello, how are you today?")])
    chunks = [c async for c in gen]
    assert len(chunks) > 2
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].message.content
    cgen = await llm.astream_complete("Hello")
    comp = [c async for c in cgen]
    assert "".join(c.delta or "" for c in comp) == comp[-1].text


def test_batch(llm) -> None:
    prompts = ["Hello", "Hey", "Good morning"]
    results = [llm.chat([user(p)]) for p in prompts]
    assert [p in r.message.content for p, r in zip(prompts, results, strict=True)] == [True] * 3


async def test_abatch(llm) -> None:
    prompts = ["Hello", "Hey", "Good morning", "Hi"]
    results = await asyncio.gather(*(llm.achat([user(p)]) for p in prompts))
    assert [p in r.message.content for p, r in zip(prompts, results, strict=True)] == [True] * 4


def test_conversation(llm) -> None:
    messages = [
        user("hello"),
        ChatMessage(role=MessageRole.ASSISTANT, content="hello"),
        user("how are you"),
    ]
    resp = llm.chat(messages)
    _assert_text_response(resp)
    assert "how are you" in resp.message.content


def test_double_messages_conversation(llm) -> None:
    messages = [
        ChatMessage(role="system", content="hello"),
        ChatMessage(role="system", content="hello"),
        user("hello"),
        user("hello"),
        ChatMessage(role="assistant", content="hello"),
        ChatMessage(role="assistant", content="hello"),
        user("how are you"),
    ]
    _assert_text_response(llm.chat(messages))


# ------------------------------------------------------------------------------------------------
# usage, stop sequences, max tokens, errors
# ------------------------------------------------------------------------------------------------
def test_usage_metadata(llm) -> None:
    resp = llm.chat([user("Hello")])
    kw = resp.additional_kwargs
    assert kw["prompt_tokens"] > 0 and kw["completion_tokens"] > 0
    assert kw["total_tokens"] == kw["prompt_tokens"] + kw["completion_tokens"]
    assert resp.raw["usage"]["total_tokens"] == kw["total_tokens"]
    assert resp.raw["model"] and resp.raw["finish_reason"] == "stop"


def test_usage_metadata_streaming(llm) -> None:
    chunks = list(llm.stream_chat([user("Write me 2 haikus. Only include the haikus.")]))
    with_usage = [c for c in chunks if "total_tokens" in c.additional_kwargs]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1]
    non_stream = llm.chat([user("Write me 2 haikus. Only include the haikus.")])
    assert chunks[-1].additional_kwargs == non_stream.additional_kwargs


def test_token_counting_handler_reads_usage(make_llm) -> None:
    counter = TokenCountingHandler()
    llm = make_llm(callback_manager=CallbackManager([counter]))
    resp = llm.chat([user("Hello")])
    assert counter.prompt_llm_token_count == resp.additional_kwargs["prompt_tokens"]
    assert counter.completion_llm_token_count == resp.additional_kwargs["completion_tokens"]


def test_stop_sequence(llm) -> None:
    full = llm.chat([user("hi")]).message.content
    assert "scripted" in full
    cut = llm.chat([user("hi")], stop=["scripted"]).message.content
    assert "scripted" not in cut and full.startswith(cut)
    from llamaindex_plugin import Databricks

    bound = Databricks(
        model=llm.model, host=llm.host, token=llm.client.settings.token, stop=["scripted"]
    )
    assert "scripted" not in bound.chat([user("hi")]).message.content


def test_max_tokens_finish_reason(make_llm) -> None:
    llm = make_llm("databricks-meta-llama-3-3-70b-instruct", max_tokens=3)
    resp = llm.chat([user("tell me a long story about the sea")])
    assert resp.raw["finish_reason"] == "length"
    assert len(resp.message.content.split()) <= 3


def test_typed_errors(make_llm) -> None:
    with pytest.raises(errors.ServerError):
        make_llm("databricks-claude-sonnet-4-5+fault=500").chat([user("hi")])
    with pytest.raises(errors.RateLimitError):
        make_llm("databricks-claude-sonnet-4-5+fault=429").complete("hi")
    with pytest.raises(errors.AuthenticationError):
        make_llm(token="dapi-wrong-token-0000").chat([user("hi")])
    with pytest.raises(errors.BadRequestError):
        make_llm().chat([user("hi")], seed=1)  # unknown kwargs go to the body; the server says 400
    # a retry after a transient error is invisible to the caller
    ok = make_llm("databricks-claude-sonnet-4-5+fault=503:1", max_retries=2)
    assert ok.chat([user("hi")]).message.content


# ------------------------------------------------------------------------------------------------
# tools
# ------------------------------------------------------------------------------------------------
def _check_tool_calls(llm, resp: ChatResponse, name: str = "magic_function") -> dict[str, Any]:
    calls = llm.get_tool_calls_from_response(resp)
    assert len(calls) == 1
    call = calls[0]
    assert call.tool_name == name and call.tool_id
    blocks = [b for b in resp.message.blocks if isinstance(b, ToolCallBlock)]
    assert blocks and blocks[0].tool_call_id == call.tool_id
    return call.tool_kwargs


def test_tool_calling(llm) -> None:
    tool = magic_tool()
    resp = llm.chat_with_tools(
        [tool], user_msg="What is the value of magic_function(3)? Use the tool."
    )
    assert _check_tool_calls(llm, resp) == {"input": 3}
    # streaming: the last chunk holds the whole call; earlier chunks are cumulative prefixes
    chunks = list(
        llm.stream_chat_with_tools([tool], user_msg="What is the value of magic_function(3)?")
    )
    assert _check_tool_calls(llm, chunks[-1]) == {"input": 3}


async def test_tool_calling_async(llm) -> None:
    tool = magic_tool()
    resp = await llm.achat_with_tools([tool], user_msg="What is magic_function(3)?")
    assert _check_tool_calls(llm, resp) == {"input": 3}
    gen = await llm.astream_chat_with_tools([tool], user_msg="What is magic_function(3)?")
    chunks = [c async for c in gen]
    assert _check_tool_calls(llm, chunks[-1]) == {"input": 3}


def test_tool_choice_forced(llm, log) -> None:
    def get_weather(location: str) -> str:
        """Get weather at a location."""
        return "It's sunny."

    tools = [magic_tool(), FunctionTool.from_defaults(fn=get_weather)]
    resp = llm.chat_with_tools(tools, user_msg="Hello!", tool_required=True)
    assert llm.get_tool_calls_from_response(resp)
    assert log.bodies[-1]["tool_choice"] == "required"
    resp = llm.chat_with_tools(tools, user_msg="Hello!", tool_choice="get_weather")
    assert _check_tool_calls(llm, resp, "get_weather") is not None
    assert log.bodies[-1]["tool_choice"] == {
        "type": "function",
        "function": {"name": "get_weather"},
    }


def test_tool_calling_unforced_no_call(llm) -> None:
    resp = llm.chat_with_tools([magic_tool()], user_msg="Say hello to my friend")
    assert llm.get_tool_calls_from_response(resp, error_on_no_tool_call=False) == []
    assert resp.message.content


def test_tool_calling_with_no_arguments(llm) -> None:
    tool = FunctionTool.from_defaults(fn=magic_function_no_args)
    resp = llm.chat_with_tools([tool], user_msg="What is the value of magic_function_no_args()?")
    assert _check_tool_calls(llm, resp, "magic_function_no_args") == {}
    out = llm.predict_and_call([tool], user_msg="What is the value of magic_function_no_args()?")
    assert out.response == "5"


def test_tool_message_histories_and_agent_loop(llm) -> None:
    """Call the tool, send the result back (string and block content), get a final answer."""
    tool = magic_tool()
    history = [user("What is the value of magic_function(3)? Use the tool.")]
    resp = llm.chat_with_tools([tool], chat_history=history)
    (call,) = llm.get_tool_calls_from_response(resp)
    result = tool(**call.tool_kwargs)
    history += [
        resp.message,
        ChatMessage(
            role="tool",
            content=str(result.content),
            additional_kwargs={"tool_call_id": call.tool_id},
        ),
    ]
    final = llm.chat_with_tools([tool], chat_history=history)
    assert llm.get_tool_calls_from_response(final, error_on_no_tool_call=False) == []
    assert "5" in final.message.content

    # the same history with the tool result as blocks, and a ToolCallBlock-only assistant turn
    bare = ChatMessage(
        role="assistant",
        blocks=[
            ToolCallBlock(
                tool_call_id=call.tool_id, tool_name=call.tool_name, tool_kwargs=call.tool_kwargs
            )
        ],
    )
    history2 = [
        history[0],
        bare,
        ChatMessage(
            role="tool",
            blocks=[TextBlock(text="5")],
            additional_kwargs={"tool_call_id": call.tool_id},
        ),
    ]
    assert "5" in llm.chat(history2).message.content


def test_predict_and_call(llm) -> None:
    out = llm.predict_and_call([magic_tool()], user_msg="What is magic_function(40)?")
    assert out.response == "42"


async def test_apredict_and_call(llm) -> None:
    out = await llm.apredict_and_call([magic_tool()], user_msg="What is magic_function(40)?")
    assert out.response == "42"


def test_unicode_tool_call_integration(llm, log) -> None:
    def translate(text: str, language: str) -> str:
        """Translate a text into a language."""
        return text

    tool = FunctionTool.from_defaults(fn=translate)
    prompt = 'Use translate with text "你好，世界 — café ☕" and language "日本語".'
    resp = llm.chat_with_tools([tool], user_msg=prompt, tool_required=True)
    (call,) = llm.get_tool_calls_from_response(resp)
    assert call.tool_kwargs == {"text": "你好，世界 — café ☕", "language": "日本語"}
    # and it survives being sent back
    history = [
        user(prompt),
        resp.message,
        ChatMessage(
            role="tool", content="こんにちは", additional_kwargs={"tool_call_id": call.tool_id}
        ),
    ]
    final = llm.chat_with_tools([tool], chat_history=history)
    assert "こんにちは" in final.message.content
    sent = log.bodies[-1]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == call.tool_kwargs


# ------------------------------------------------------------------------------------------------
# structured output and JSON mode
# ------------------------------------------------------------------------------------------------
class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")
    rating: int = Field(description="how funny, 1 to 10")


PROMPT = PromptTemplate(
    'Tell me a joke about {topic}: setup "{setup}", punchline "{punch}", rating 7'
)


def test_structured_output(llm, log) -> None:
    out = llm.structured_predict(Joke, PROMPT, topic="cats", setup="Why?", punch="Because.")
    assert out == Joke(setup="Why?", punchline="Because.", rating=7)
    body = log.bodies[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert "tools" not in body


async def test_structured_output_async(llm) -> None:
    out = await llm.astructured_predict(Joke, PROMPT, topic="cats", setup="Why?", punch="Because.")
    assert out == Joke(setup="Why?", punchline="Because.", rating=7)


def test_structured_output_streaming(llm) -> None:
    outs = list(llm.stream_structured_predict(Joke, PROMPT, topic="c", setup="S", punch="P"))
    assert len(outs) >= 2
    assert outs[-1] == Joke(setup="S", punchline="P", rating=7)


async def test_structured_output_astreaming(llm) -> None:
    agen = await llm.astream_structured_predict(Joke, PROMPT, topic="c", setup="S", punch="P")
    outs = [o async for o in agen]
    assert outs[-1] == Joke(setup="S", punchline="P", rating=7)


def test_structured_output_via_tools(make_llm, log) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", structured_output_method="function_calling")
    out = llm.structured_predict(Joke, PROMPT, topic="cats", setup="Why?", punch="Because.")
    assert out == Joke(setup="Why?", punchline="Because.", rating=7)
    body = log.bodies[-1]
    assert body["tools"][0]["function"]["name"] == "Joke" and "response_format" not in body
    outs = list(llm.stream_structured_predict(Joke, PROMPT, topic="c", setup="S", punch="P"))
    assert outs[-1] == Joke(setup="S", punchline="P", rating=7)


def test_structured_output_optional_and_nested(llm) -> None:
    class Address(BaseModel):
        city: str

    class Person(BaseModel):
        name: str
        age: int | None = None
        address: Address
        kind: Literal["human", "robot"] = "human"

    out = llm.structured_predict(
        Person, PromptTemplate('A robot named "Ro", age 4, in city "Oslo"')
    )
    assert out.name == "Ro" and out.age == 4 and out.address.city == "Oslo" and out.kind == "robot"


def test_as_structured_llm(llm) -> None:
    sllm = llm.as_structured_llm(Joke)
    resp = sllm.chat([user('A joke: setup "A", punchline "B", rating 3')])
    assert resp.raw == Joke(setup="A", punchline="B", rating=3)


def test_json_mode(llm) -> None:
    resp = llm.chat(
        [user('Return JSON with keys "name" and "color"')], response_format={"type": "json_object"}
    )
    assert set(json.loads(resp.message.content)) == {"name", "color"}


# ------------------------------------------------------------------------------------------------
# multimodal input
# ------------------------------------------------------------------------------------------------
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def test_image_input(make_llm, log, tmp_path) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5")
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    msg = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="describe"),
            ImageBlock(image=PNG),
            ImageBlock(path=path),
            ImageBlock(url="https://example.com/cat.png"),
        ],
    )
    assert llm.chat([msg]).message.content
    content = log.bodies[-1]["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "describe"}
    urls = [c["image_url"]["url"] for c in content[1:]]
    assert urls[0].startswith("data:image/png;base64,") and urls[0] == urls[1]
    assert urls[2] == "https://example.com/cat.png"


def test_audio_video_document_input(make_llm, log) -> None:
    llm = make_llm("databricks-gemini-2-5-pro")
    msg = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="what?"),
            AudioBlock(audio=b"RIFF$\x00\x00\x00WAVEfmt fake", format="wav"),
            VideoBlock(url="https://example.com/v.mp4"),
            DocumentBlock(
                data=b"%PDF-1.4 fake", title="r.pdf", document_mimetype="application/pdf"
            ),
        ],
    )
    assert llm.chat([msg]).message.content
    content = log.bodies[-1]["messages"][0]["content"]
    assert [c["type"] for c in content] == ["text", "audio_url", "video_url", "file"]
    audio = content[1]["audio_url"]["url"]
    assert audio.startswith("data:audio/") and base64.b64decode(audio.split(",", 1)[1]).startswith(
        b"RIFF"
    )
    assert content[2]["video_url"]["url"] == "https://example.com/v.mp4"
    assert content[3]["file"]["filename"] == "r.pdf"
    assert (
        content[3]["file"]["file_data"]
        == "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 fake").decode()
    )


# ------------------------------------------------------------------------------------------------
# reasoning round trip
# ------------------------------------------------------------------------------------------------
def _reasoning_block_sent(log, message_index: int) -> dict[str, Any]:
    content = log.bodies[-1]["messages"][message_index]["content"]
    return next(b for b in content if b.get("type") == "reasoning")


def test_reasoning_round_trip_claude(make_llm, log, emu) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    first = llm.chat([user("hello there")])
    think = first.message.blocks[0]
    assert isinstance(think, ThinkingBlock) and think.content
    assert think.additional_information["signature"] == sign(think.content)
    # the server's own answer, raw, to compare bytes with what we send back
    import httpx

    raw = httpx.post(
        f"{emu.host}/serving-endpoints/chat/completions",
        headers={"Authorization": f"Bearer {emu.token}"},
        content=log.all[-1].body,
    ).json()["choices"][0]["message"]["content"]
    second = llm.chat([user("hello there"), first.message, user("and again")])
    assert second.message.content
    sent = log.bodies[-1]["messages"][1]["content"]
    assert sent == raw  # reasoning block with signature, then text, exactly as received
    assert (
        json.dumps(sent[0], separators=(",", ":"), ensure_ascii=False).encode() in log.all[-1].body
    )


def test_reasoning_round_trip_streaming(make_llm, log) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    chunks = list(llm.stream_chat([user("hello there")]))
    thinking = "".join(c.additional_kwargs.get("thinking_delta") or "" for c in chunks)
    final = chunks[-1].message
    assert thinking and final.blocks[0].content == thinking
    second = llm.chat([user("hello there"), final, user("again")])
    assert second.message.content
    block = _reasoning_block_sent(log, 1)
    assert block["summary"][0] == {
        "type": "summary_text",
        "text": thinking,
        "signature": sign(thinking),
    }


def test_reasoning_tampered_is_rejected(make_llm) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    first = llm.chat([user("hello there")])
    first.message.blocks[0].content = "something else"
    with pytest.raises(errors.BadRequestError):
        llm.chat([user("hello there"), first.message, user("again")])


def test_reasoning_gpt_oss_unsigned(make_llm, log) -> None:
    llm = make_llm("databricks-gpt-oss-120b", reasoning_effort="low")
    first = llm.chat([user("hi")])
    think = [b for b in first.message.blocks if isinstance(b, ThinkingBlock)]
    assert think and "signature" not in think[0].additional_information
    assert llm.chat([user("hi"), first.message, user("again")]).message.content
    assert log.bodies[-1]["reasoning_effort"] == "low"


def test_gemini_thought_signature_round_trip(make_llm, log) -> None:
    llm = make_llm("databricks-gemini-2-5-pro", reasoning_effort="low")
    first = llm.chat([user("hi")])
    assert first.message.additional_kwargs.get("text_extras")
    assert llm.chat([user("hi"), first.message, user("again")]).message.content
    sent = log.bodies[-1]["messages"][1]["content"]
    assert any("thoughtSignature" in b for b in sent if isinstance(b, dict))


def test_reasoning_with_tool_calls_agent_loop(make_llm, log) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    tool = magic_tool()
    history = [user("What is magic_function(3)?")]
    resp = llm.chat_with_tools([tool], chat_history=history)
    assert isinstance(resp.message.blocks[0], ThinkingBlock)
    (call,) = llm.get_tool_calls_from_response(resp)
    history += [
        resp.message,
        ChatMessage(role="tool", content="5", additional_kwargs={"tool_call_id": call.tool_id}),
    ]
    final = llm.chat_with_tools([tool], chat_history=history)
    assert "5" in final.message.content
    block = _reasoning_block_sent(log, 1)
    text = resp.message.blocks[0].content
    assert block["summary"][0]["signature"] == sign(text)


def test_default_headers_and_user_agent(make_llm, log) -> None:
    """llama-index-llms-databricks' ``default_headers`` reach the wire; never in to_dict."""
    llm = make_llm(default_headers={"X-Team": "e"})
    llm.chat([user("hi")])
    headers = log.all[-1].headers
    assert headers["X-Team"] == "e"
    assert "llamaindex" in headers["User-Agent"].lower()
    assert "X-Team" not in llm.to_json()


def test_auth_methods(make_llm, emu, tmp_path, monkeypatch) -> None:
    """Token provider, OAuth M2M, a config-file profile and the environment all work."""
    calls = []

    def provider() -> str:
        calls.append(1)
        return emu.token

    assert make_llm(token=None, token_provider=provider).chat([user("hi")]).message.content
    assert calls
    m2m = make_llm(token=None, client_id=emu.client_id, client_secret=emu.client_secret)
    assert m2m.chat([user("hi")]).message.content
    assert emu.client_secret not in m2m.to_json()
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[emu]\nhost = {emu.host}\ntoken = {emu.token}\n")
    from llamaindex_plugin import Databricks

    by_profile = Databricks(model="databricks-gpt-5", profile="emu", config_file=str(cfg))
    assert by_profile.chat([user("hi")]).message.content
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    assert Databricks(model="databricks-gpt-5").complete("hi").text
    monkeypatch.delenv("DATABRICKS_HOST")
    monkeypatch.setenv("DATABRICKS_SERVING_ENDPOINT", f"{emu.host}/serving-endpoints")
    compat = Databricks(model="databricks-gpt-5")
    assert compat.complete("hi").text
    for llm in (by_profile, compat):
        llm.close()
