"""Agents on Databricks Apps through both adapters, against the emulator: the OAuth-only rule,
streaming, custom_inputs/context in and custom_outputs out, error messages."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.llms import ChatMessage

from core.emulator import run_emulator
from core.errors import ConfigurationError, NotFoundError, PermissionDeniedError
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

APP = "apps/my-agent"


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=5) as emu:
        yield emu


def oauth(emu) -> dict:
    return {"host": emu.host, "client_id": emu.client_id, "client_secret": emu.client_secret}


# ---------------------------------------------------------------------------------------------
# LangChain
# ---------------------------------------------------------------------------------------------
def test_langchain_pat_refused_with_fix(emu):
    with pytest.raises(ConfigurationError, match="OAuth") as err:
        ChatDatabricks(model=APP, host=emu.host, api_key=emu.token)
    assert "client_id" in str(err.value) and emu.token not in str(err.value)


def test_langchain_agent_custom_outputs(emu):
    llm = ChatDatabricks(model=APP, custom_inputs={"locale": "fr"}, **oauth(emu))
    msg = llm.invoke("bonjour", context={"conversation_id": "c-1", "user_id": "u-1"})
    assert isinstance(msg, AIMessage) and '"bonjour"' in msg.text
    body = emu.requests[-1].json
    assert emu.requests[-1].path == "/apps-proxy/my-agent/responses"
    assert body["custom_inputs"] == {"locale": "fr"}
    assert body["context"] == {"conversation_id": "c-1", "user_id": "u-1"}
    assert msg.response_metadata["custom_outputs"] == {
        "locale": "fr",
        "agent": "my-agent",
        "conversation_id": "c-1",
        "user_id": "u-1",
    }


def test_langchain_agent_streamed(emu):
    llm = ChatDatabricks(model=APP, **oauth(emu))
    chunks = list(llm.stream([HumanMessage("stream from the agent")], custom_inputs={"n": 2}))
    assert len(chunks) > 3
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert '"stream from the agent"' in full.text
    assert full.response_metadata["custom_outputs"]["n"] == 2
    assert emu.requests[-1].json["stream"] is True


async def test_langchain_agent_async(emu):
    llm = ChatDatabricks(model=APP, **oauth(emu))
    msg = await llm.ainvoke("async agent")
    chunks = [c async for c in llm.astream("async agent")]
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.text == msg.text


def test_langchain_app_errors(emu):
    with pytest.raises(PermissionDeniedError, match="CAN_USE"):
        ChatDatabricks(model="apps/forbidden-app", max_retries=0, **oauth(emu)).invoke("hi")
    with pytest.raises(NotFoundError, match="does not implement POST /responses"):
        ChatDatabricks(model="apps/no-responses-app", max_retries=0, **oauth(emu)).invoke("hi")


# ---------------------------------------------------------------------------------------------
# LlamaIndex
# ---------------------------------------------------------------------------------------------
def test_llamaindex_pat_refused_with_fix(emu):
    with pytest.raises(ConfigurationError, match="OAuth"):
        Databricks(model=APP, host=emu.host, token=emu.token)


def test_llamaindex_agent_custom_outputs(emu):
    llm = Databricks(model=APP, custom_inputs={"locale": "de"}, **oauth(emu))
    r = llm.chat([ChatMessage(role="user", content="hallo")], context={"conversation_id": "c-2"})
    assert '"hallo"' in r.message.content
    body = emu.requests[-1].json
    assert body["custom_inputs"] == {"locale": "de"}
    assert body["context"] == {"conversation_id": "c-2"}
    expected = {"locale": "de", "agent": "my-agent", "conversation_id": "c-2"}
    assert r.additional_kwargs["custom_outputs"] == expected


def test_llamaindex_agent_streamed(emu):
    llm = Databricks(model=APP, custom_inputs={"k": "v"}, **oauth(emu))
    pieces = list(llm.stream_chat([ChatMessage(role="user", content="stream the agent")]))
    assert len(pieces) > 3
    assert "".join(p.delta or "" for p in pieces) == pieces[-1].message.content
    assert pieces[-1].additional_kwargs["custom_outputs"]["k"] == "v"
    assert emu.requests[-1].json["stream"] is True


async def test_llamaindex_agent_async(emu):
    llm = Databricks(model=APP, **oauth(emu))
    r = await llm.acomplete("async agent")
    assert '"async agent"' in r.text


def test_llamaindex_app_errors(emu):
    with pytest.raises(PermissionDeniedError, match="CAN_USE"):
        Databricks(model="apps/forbidden-app", max_retries=0, **oauth(emu)).complete("hi")
    with pytest.raises(NotFoundError, match="no Databricks App named"):
        Databricks(model="apps/missing-app", max_retries=0, **oauth(emu)).complete("hi")
