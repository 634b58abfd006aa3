"""End to end: retrieval on Databricks models only (embeddings and chat) against the emulator,
in LlamaIndex (VectorStoreIndex query engine) and LangChain (retrieval chain), the code of
examples/rag.py: the right document is retrieved and the answer is built from it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.emulator import run_emulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import rag


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator() as e:
        yield e


def _paths(emu: Any) -> list[str]:
    return [r.path for r in emu.requests]


async def test_llamaindex_query_engine_answers_from_the_right_document(emu: Any) -> None:
    emu.clear_requests()
    answer, sources = await rag.llamaindex_rag({"host": emu.host, "token": emu.token})
    assert sources == [rag.EXPECTED]
    assert "badge color is teal" in answer
    for other in rag.DOCUMENTS[1:]:
        assert other[:30] not in answer
    paths = _paths(emu)
    assert paths.count("/serving-endpoints/embeddings") == 2  # the documents, then the query
    assert paths[-1] == "/serving-endpoints/chat/completions"
    docs_request = next(r for r in emu.requests if r.path.endswith("/embeddings"))
    assert len(docs_request.json["input"]) == len(rag.DOCUMENTS)  # one request for all five


def test_langchain_retrieval_chain_answers_from_the_right_document(emu: Any) -> None:
    emu.clear_requests()
    answer, retrieved = rag.langchain_rag({"host": emu.host, "token": emu.token})
    assert retrieved == [rag.EXPECTED]
    assert "badge color is teal" in answer
    assert "Project Falcon" not in answer and "pancakes" not in answer
    paths = _paths(emu)
    assert paths.count("/serving-endpoints/embeddings") == 2
    assert paths[-1] == "/serving-endpoints/chat/completions"


@pytest.mark.parametrize("question", ["When does Project Falcon ship?", "Who approves big expense reports?"])
async def test_other_questions_retrieve_their_documents(emu: Any, question: str) -> None:
    from langchain_core.vectorstores import InMemoryVectorStore
    from llama_index.core import Document, VectorStoreIndex

    from langchain_plugin import DatabricksEmbeddings
    from llamaindex_plugin import DatabricksEmbedding

    expected = rag.DOCUMENTS[1] if "Falcon" in question else rag.DOCUMENTS[3]
    lc = InMemoryVectorStore.from_texts(
        rag.DOCUMENTS, embedding=DatabricksEmbeddings(model="system.ai.gte-large-en", host=emu.host, token=emu.token)
    )
    assert [d.page_content for d in await lc.asimilarity_search(question, k=1)] == [expected]
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in rag.DOCUMENTS],
        embed_model=DatabricksEmbedding(model="databricks-bge-large-en", host=emu.host, token=emu.token),
    )
    nodes = await index.as_retriever(similarity_top_k=1).aretrieve(question)
    assert [n.node.get_content() for n in nodes] == [expected]
