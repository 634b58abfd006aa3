"""Query engines and chat engines on top of the Databricks LLM, end to end against the emulator."""

from __future__ import annotations

from llama_index.core import Document, SummaryIndex, VectorStoreIndex
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.embeddings import MockEmbedding

DOCS = [
    Document(text="The Databricks emulator speaks chat completions and the Responses API."),
    Document(text="Reasoning blocks carry signatures that must be sent back unchanged."),
]


def test_summary_index_query_engine(make_llm, log) -> None:
    llm = make_llm("databricks-meta-llama-3-3-70b-instruct")
    engine = SummaryIndex.from_documents(DOCS).as_query_engine(llm=llm)
    answer = engine.query("What does the emulator speak?")
    assert "scripted answer" in str(answer)
    sent = str(log.bodies[-1]["messages"])
    assert (
        "What does the emulator speak?" in sent and "chat completions and the Responses API" in sent
    )


async def test_summary_index_query_engine_async_streaming(make_llm) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    engine = SummaryIndex.from_documents(DOCS).as_query_engine(llm=llm, streaming=True)
    response = await engine.aquery("What must be sent back?")
    text = "".join([t async for t in response.async_response_gen()])
    assert "scripted answer" in text


def test_vector_index_query_engine(make_llm) -> None:
    llm = make_llm("databricks-gpt-5")
    index = VectorStoreIndex.from_documents(DOCS, embed_model=MockEmbedding(embed_dim=8))
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    assert "scripted answer" in str(engine.query("signatures?"))


def test_simple_chat_engine(make_llm, log) -> None:
    llm = make_llm("databricks-claude-sonnet-4-5", thinking_budget=2048, max_tokens=4096)
    engine = SimpleChatEngine.from_defaults(llm=llm)
    first = engine.chat("Hello engine")
    assert "Hello engine" in str(first)
    streamed = engine.stream_chat("And again")
    text = "".join(streamed.response_gen)
    assert "And again" in text
    # the history went back with the first turn's signed reasoning; the server accepted it
    roles = [m["role"] for m in log.bodies[-1]["messages"]]
    assert roles == ["user", "assistant", "user"]


async def test_chat_engine_context_mode_async(make_llm) -> None:
    llm = make_llm("databricks-gpt-oss-120b")
    index = VectorStoreIndex.from_documents(DOCS, embed_model=MockEmbedding(embed_dim=8))
    engine = index.as_chat_engine(chat_mode="context", llm=llm)
    reply = await engine.achat("Tell me about signatures")
    assert "Tell me about signatures" in str(reply)
    streamed = await engine.astream_chat("more please")
    text = "".join([t async for t in streamed.async_response_gen()])
    assert "more please" in text
