"""Gemini's native API (api="gemini") end to end through both adapters against the emulator:
sync and async, streamed and not, a tool loop whose thoughtSignatures go back byte for byte (the
emulator refuses a modified one), media inline and by URI, usage once, and the CLI."""

from __future__ import annotations

import base64

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from weather_tool import get_weather, li_get_weather

from core.cli import main
from core.emulator import run_emulator
from core.errors import BadRequestError
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

G3 = "system.ai.gemini-3-1-pro"
PATH = f"/ai-gateway/gemini/v1beta/models/{G3}"


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=6) as emu:
        yield emu


def lc_model(emu, **kw):
    return ChatDatabricks(model=G3, host=emu.host, api_key=emu.token, api="gemini",
                          reasoning_effort="low", max_retries=0, **kw)  # fmt: skip


def signed_parts(contents):
    return [p for c in contents if c["role"] == "model" for p in c["parts"] if "thoughtSignature" in p]


# ---------------------------------------------------------------------------------------------
# LangChain
# ---------------------------------------------------------------------------------------------
def test_langchain_invoke_and_stream(emu):
    llm = lc_model(emu)
    msg = llm.invoke("hello gemini")
    req = emu.requests[-1]
    assert req.path == f"{PATH}:generateContent" and "model" not in req.json
    assert req.json["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "low", "includeThoughts": True}
    assert 'You said: "hello gemini"' in msg.text
    assert [b["type"] for b in msg.content][0] == "reasoning"
    assert msg.usage_metadata["output_token_details"]["reasoning"] > 0
    assert msg.response_metadata["model_name"] == G3

    chunks = list(llm.stream("hello gemini"))
    assert emu.requests[-1].path == f"{PATH}:streamGenerateContent"
    assert emu.requests[-1].query == {"alt": "sse"}
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.text == msg.text
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert full.usage_metadata == msg.usage_metadata


@pytest.mark.parametrize("stream", [False, True])
def test_langchain_tool_loop_replays_signatures(emu, stream):
    llm = lc_model(emu).bind_tools([get_weather])

    def call(msgs):
        if not stream:
            return llm.invoke(msgs)
        full = None
        for chunk in llm.stream(msgs):
            full = chunk if full is None else full + chunk
        return full

    history = [HumanMessage('What is the weather in "Paris"?')]
    first = call(history)
    assert first.tool_calls[0]["name"] == "get_weather"
    assert first.tool_calls[0]["args"] == {"city": "Paris"}
    history += [first, ToolMessage(get_weather.invoke(first.tool_calls[0]["args"]),
                                   tool_call_id=first.tool_calls[0]["id"])]  # fmt: skip
    second = call(history)
    assert "18C and sunny in Paris" in second.text
    contents = emu.requests[-1].json["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "get_weather"
    (signed,) = signed_parts(contents)
    assert "functionCall" in signed

    history += [second, HumanMessage('and in "Rome"?')]
    call(history)  # both model turns go back signed; the emulator checks every signature
    assert len(signed_parts(emu.requests[-1].json["contents"])) == 2


def test_langchain_edited_answer_is_refused(emu):
    llm = lc_model(emu)
    first = llm.invoke("say something")
    tampered = first.model_copy(deep=True)
    block = next(b for b in tampered.content if b["type"] == "text")
    block["text"] += " (edited)"
    with pytest.raises(BadRequestError, match="Corrupted thought signature"):
        llm.invoke([HumanMessage("say something"), tampered, HumanMessage("next")])
    assert llm.invoke([HumanMessage("say something"), first, HumanMessage("next")]).text


def test_langchain_media_inline_and_by_uri(emu):
    llm = lc_model(emu)
    audio = base64.b64encode(b"ID3" + b"\0" * 20).decode()
    msg = HumanMessage(content=[
        {"type": "text", "text": "Summarize these."},
        {"type": "video", "url": "https://example.com/clip.mp4"},
        {"type": "audio", "base64": audio, "mime_type": "audio/mp3"},
    ])  # fmt: skip
    assert "Summarize these." in llm.invoke([msg]).text
    parts = emu.requests[-1].json["contents"][0]["parts"]
    assert parts[1] == {"fileData": {"fileUri": "https://example.com/clip.mp4", "mimeType": "video/mp4"}}
    assert parts[2] == {"inlineData": {"mimeType": "audio/mp3", "data": audio}}


async def test_langchain_async(emu):
    llm = lc_model(emu)
    msg = await llm.ainvoke("async gemini")
    chunks = [c async for c in llm.astream("async gemini")]
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.text == msg.text and "async gemini" in msg.text
    await llm.aclose()


# ---------------------------------------------------------------------------------------------
# LlamaIndex
# ---------------------------------------------------------------------------------------------
def li_model(emu):
    return Databricks(model=G3, host=emu.host, token=emu.token, api="gemini",
                      reasoning_effort="low", max_retries=0)  # fmt: skip


def test_llamaindex_chat_and_stream(emu):
    li = li_model(emu)
    r = li.chat([ChatMessage(role="user", content="hello from llamaindex")])
    assert 'You said: "hello from llamaindex"' in r.message.content
    assert any(type(b).__name__ == "ThinkingBlock" for b in r.message.blocks)
    pieces = list(li.stream_chat([ChatMessage(role="user", content="hello from llamaindex")]))
    assert pieces[-1].message.content == r.message.content
    assert "".join(p.delta or "" for p in pieces) == r.message.content


@pytest.mark.parametrize("stream", [False, True])
def test_llamaindex_tool_loop_replays_signatures(emu, stream):
    li = li_model(emu)
    weather = FunctionTool.from_defaults(fn=li_get_weather)
    history = [ChatMessage(role="user", content='weather in "Paris"?')]

    def call(msgs):
        if not stream:
            return li.chat_with_tools([weather], chat_history=msgs)
        return list(li.stream_chat_with_tools([weather], chat_history=msgs))[-1]

    first = call(history)
    (sel,) = li.get_tool_calls_from_response(first, error_on_no_tool_call=True)
    assert sel.tool_name == "li_get_weather" and sel.tool_kwargs == {"city": "Paris"}
    history += [first.message,
                ChatMessage(role="tool", content=str(weather.call(**sel.tool_kwargs)),
                            additional_kwargs={"tool_call_id": sel.tool_id})]  # fmt: skip
    second = call(history)
    assert "18C and sunny in Paris" in second.message.content
    (signed,) = signed_parts(emu.requests[-1].json["contents"])
    assert signed["functionCall"]["name"] == "li_get_weather"


async def test_llamaindex_async(emu):
    li = li_model(emu)
    r = await li.achat([ChatMessage(role="user", content="async li")])
    gen = await li.astream_chat([ChatMessage(role="user", content="async li")])
    pieces = [p async for p in gen]
    assert pieces[-1].message.content == r.message.content
    assert emu.requests[-1].path == f"{PATH}:streamGenerateContent"


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def test_cli_chat_api_gemini(emu, monkeypatch, capsys):
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    assert main(["chat", "--api", "gemini", "-m", G3, "--reasoning-effort", "high", "Why?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("thinking: ") and 'You said: "Why?"' in out
    assert emu.requests[-1].path == f"{PATH}:streamGenerateContent"


# ---------------------------------------------------------------------------------------------
# Faults on the Gemini routes (core client)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "error"),
    [("error_event", "StreamErrorEvent"), ("malformed", "MalformedEventError"),
     ("disconnect", "StreamError")],
)  # fmt: skip
def test_stream_faults_are_typed_errors(emu, fault, error):
    from core import errors
    from core.client import DatabricksChatClient
    from core.types import GenerationParams, Message, TextPart

    with DatabricksChatClient(model=G3, host=emu.host, token=emu.token, api="gemini", max_retries=0,
                              extra_headers={"X-Emulator-Fault": fault}) as c:  # fmt: skip
        with pytest.raises(getattr(errors, error)):
            list(c.stream([Message("user", [TextPart("a long enough answer please")])],
                          GenerationParams()))  # fmt: skip


def test_rate_limit_is_retried(emu):
    from core.client import DatabricksChatClient
    from core.types import GenerationParams, Message, TextPart

    emu.configure(retry_after=0.01)
    emu.reset_faults()
    with DatabricksChatClient(model=G3, host=emu.host, token=emu.token, api="gemini",
                              extra_headers={"X-Emulator-Fault": "429:1"}) as c:  # fmt: skip
        r = c.complete([Message("user", [TextPart("retry me")])], GenerationParams())
    assert '"retry me"' in r.text
    assert [q.path for q in emu.requests[-2:]] == [f"{PATH}:generateContent"] * 2
