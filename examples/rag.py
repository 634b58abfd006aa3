"""Retrieval on Databricks models only: embeddings and chat, in LlamaIndex and in LangChain.

    python examples/rag.py              # your workspace if one is configured, else the emulator
    python examples/rag.py --emulator   # always the local emulator

1. LlamaIndex: a VectorStoreIndex built with DatabricksEmbedding, queried through a query engine
   whose LLM is Databricks (no OpenAI key anywhere).
2. LangChain: an InMemoryVectorStore with DatabricksEmbeddings as the retriever of a chain
   retriever -> prompt -> ChatDatabricks.

Models: DEMO_EMBEDDING_MODEL (default databricks-gte-large-en) and DEMO_RAG_CHAT_MODEL (default
databricks-claude-sonnet-4-5). The emulator's embeddings are a hashed bag of words, so the
document that shares the question's words is retrieved; its chat model repeats the prompt, so
the answer shows the retrieved context.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo import bold, dim, say, target

DOCUMENTS = [
    "The Zurich office badge color is teal; visitors get a grey badge at reception.",
    "Project Falcon ships its first release on 14 March, after the security review.",
    "The cafeteria on the third floor serves pancakes every Tuesday morning.",
    "Expense reports above 500 euros need a director's approval before payment.",
    "The on-call rotation for the data platform changes every Monday at 09:00 UTC.",
]
QUESTION = "What color is the badge at the Zurich office?"
EXPECTED = DOCUMENTS[0]


def models() -> tuple[str, str]:
    return (
        os.environ.get("DEMO_EMBEDDING_MODEL", "databricks-gte-large-en"),
        os.environ.get("DEMO_RAG_CHAT_MODEL", "databricks-claude-sonnet-4-5"),
    )


async def llamaindex_rag(conn: dict[str, Any]) -> tuple[str, list[str]]:
    """Answer QUESTION with a LlamaIndex query engine; returns (answer, retrieved texts)."""
    from llama_index.core import Document, VectorStoreIndex

    from llamaindex_plugin import Databricks, DatabricksEmbedding

    embed_name, chat_name = models()
    say()
    say(bold(f"LlamaIndex: VectorStoreIndex(DatabricksEmbedding({embed_name!r})) + Databricks({chat_name!r})"))  # fmt: skip
    embed_model = DatabricksEmbedding(model=embed_name, **conn)
    llm = Databricks(model=chat_name, max_tokens=512, **conn)
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in DOCUMENTS], embed_model=embed_model
    )
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    say(f"question: {QUESTION}")
    response = await engine.aquery(QUESTION)
    sources = [n.node.get_content() for n in response.source_nodes]
    say(dim(f"retrieved: {sources[0] if sources else '(nothing)'}"))
    say(f"answer: {response}")
    await llm.aclose()
    await embed_model.aclose()
    return str(response), sources


def langchain_rag(conn: dict[str, Any]) -> tuple[str, list[str]]:
    """Answer QUESTION with a LangChain retrieval chain; returns (answer, retrieved texts)."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough
    from langchain_core.vectorstores import InMemoryVectorStore

    from langchain_plugin import ChatDatabricks, DatabricksEmbeddings

    embed_name, chat_name = models()
    say()
    say(bold(f"LangChain: InMemoryVectorStore(DatabricksEmbeddings({embed_name!r})) | ChatDatabricks({chat_name!r})"))  # fmt: skip
    embeddings = DatabricksEmbeddings(model=embed_name, **conn)
    store = InMemoryVectorStore.from_texts(DOCUMENTS, embedding=embeddings)
    retriever = store.as_retriever(search_kwargs={"k": 1})
    retrieved: list[str] = []

    def context(docs: list[Any]) -> str:
        retrieved.extend(d.page_content for d in docs)
        return "\n\n".join(d.page_content for d in docs)

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from the context only, in one sentence."),
            ("human", "Context:\n{context}\n\nQuestion: {question}"),
        ]
    )
    llm = ChatDatabricks(model=chat_name, max_tokens=512, **conn)
    chain = (
        {"context": retriever | context, "question": RunnablePassthrough()}
        | prompt
        | llm
        | StrOutputParser()
    )
    say(f"question: {QUESTION}")
    answer = chain.invoke(QUESTION)
    say(dim(f"retrieved: {retrieved[0] if retrieved else '(nothing)'}"))
    say(f"answer: {answer}")
    llm.close()
    embeddings.close()
    return answer, retrieved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--emulator", action="store_true", help="always use the local emulator")
    args = parser.parse_args(argv)
    with target(args.emulator) as conn:
        asyncio.run(llamaindex_rag(conn))
        langchain_rag(conn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
