"""langchain_plugin.DatabricksEmbeddings: LangChain's standard embeddings suites against the
emulator, databricks-langchain's arguments, usage, and bad input refused before sending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from core.emulator import run_emulator
from core.errors import ConfigurationError, InvalidRequestError
from langchain_plugin import DatabricksEmbeddings

_EMU: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def emulator() -> Iterator[Any]:
    with run_emulator() as emu:
        _EMU["emu"] = emu
        yield emu
    _EMU.clear()


class TestDatabricksEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[DatabricksEmbeddings]:
        return DatabricksEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "databricks-gte-large-en", "host": "https://example.cloud.databricks.com", "token": "dapi-unit"}  # fmt: skip

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DATABRICKS_HOST": "https://env.cloud.databricks.com", "DATABRICKS_TOKEN": "dapi-env"},
            {"model": "databricks-bge-large-en"},
            {"model": "databricks-bge-large-en"},
        )


class TestDatabricksEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[DatabricksEmbeddings]:
        return DatabricksEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        emu = _EMU["emu"]
        return {"model": "databricks-gte-large-en", "host": emu.host, "token": emu.token}


def make(emu: Any, **kw: Any) -> DatabricksEmbeddings:
    kw.setdefault("model", "databricks-gte-large-en")
    return DatabricksEmbeddings(host=emu.host, token=emu.token, **kw)


def test_env_credentials_are_used(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", emulator.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emulator.token)
    emb = DatabricksEmbeddings(model="databricks-bge-large-en")
    assert len(emb.embed_query("hello")) == 1024


def test_databricks_langchain_arguments(emulator: Any) -> None:
    emulator.clear_requests()
    emb = DatabricksEmbeddings(
        endpoint="databricks-bge-large-en",
        target_uri=emulator.host,
        token=emulator.token,
        query_params={"instruction": "Represent this sentence for searching relevant passages:"},
        documents_params={"instruction": ""},
    )
    assert emb.model == "databricks-bge-large-en"
    emb.embed_documents(["a document"])
    emb.embed_query("a question")
    docs_req, query_req = emulator.requests[-2:]
    # endpoint= keeps databricks-langchain's path: the endpoint's /invocations, no model field
    assert docs_req.path == "/serving-endpoints/databricks-bge-large-en/invocations"
    assert docs_req.json == {"instruction": "", "input": ["a document"]}
    assert query_req.json["instruction"].startswith("Represent this sentence")
    assert query_req.json["input"] == ["a question"]


def test_model_argument_uses_the_openai_compatible_route(emulator: Any) -> None:
    emulator.clear_requests()
    make(emulator).embed_documents(["x"])
    assert emulator.requests[-1].path == "/serving-endpoints/embeddings"
    assert emulator.requests[-1].json["model"] == "databricks-gte-large-en"
    emulator.clear_requests()
    DatabricksEmbeddings(model="system.ai.gte-large-en", host=emulator.host, token=emulator.token).embed_query("x")
    assert emulator.requests[-1].path == "/ai-gateway/mlflow/v1/embeddings"


def test_target_uri_profile_and_workspace_client(emulator: Any, tmp_path: Any) -> None:
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[emu]\nhost = {emulator.host}\ntoken = {emulator.token}\n")
    emb = DatabricksEmbeddings(endpoint="databricks-gte-large-en", target_uri="databricks://emu", config_file=str(cfg))
    assert emb.client.host == emulator.host
    assert len(emb.embed_query("hi")) == 1024
    with pytest.raises(ConfigurationError, match="target_uri"):
        DatabricksEmbeddings(endpoint="databricks-gte-large-en", target_uri="mlflow://x")
    sdk = pytest.importorskip("databricks.sdk")
    wc = sdk.WorkspaceClient(host=emulator.host, token=emulator.token)
    emb = DatabricksEmbeddings(endpoint="databricks-gte-large-en", workspace_client=wc)
    assert emb.client.auth_method == "databricks-sdk" and emb.client.host == emulator.host
    assert len(emb.embed_documents(["a", "b"])) == 2


def test_usage_and_batches(emulator: Any) -> None:
    emulator.clear_requests()
    emb = make(emulator, batch_size=10, max_concurrency=2)
    vectors = emb.embed_documents([f"text {i}" for i in range(35)])
    assert len(vectors) == 35
    assert len(emulator.requests) == 4
    assert emb.last_usage is not None and emb.last_usage.prompt_tokens == 70


async def test_async_matches_sync(emulator: Any) -> None:
    emb = make(emulator, batch_size=3)
    texts = [f"sentence {i} about cats" for i in range(10)]
    assert await emb.aembed_documents(texts) == emb.embed_documents(texts)
    assert await emb.aembed_query("cats") == emb.embed_query("cats")


def test_bad_input_is_refused_before_sending(emulator: Any) -> None:
    emb = make(emulator, model="databricks-bge-large-en")
    emulator.clear_requests()
    assert emb.embed_documents([]) == []
    with pytest.raises(InvalidRequestError, match="input #1 is a int"):
        emb.embed_documents(["ok", 5])  # type: ignore[list-item]
    with pytest.raises(InvalidRequestError, match="input #0 has at least 700 tokens"):
        emb.embed_query("token " * 700)
    with pytest.raises(InvalidRequestError, match="input #0 is a NoneType"):
        emb.embed_query(None)  # type: ignore[arg-type]
    assert emulator.requests == []
    with pytest.raises(ConfigurationError, match="chat model"):
        make(emulator, model="databricks-claude-sonnet-4-5")


def test_secrets_stay_out_of_repr_and_dumps(emulator: Any) -> None:
    emb = make(emulator)
    assert emulator.token not in repr(emb)
    assert emulator.token not in emb.model_dump_json()


def test_use_ai_gateway_and_default_headers(emulator: Any) -> None:
    emulator.clear_requests()
    emb = make(emulator, use_ai_gateway=True, default_headers={"X-Team": "search"})
    emb.embed_query("x")
    req = emulator.requests[-1]
    assert req.path == "/ai-gateway/mlflow/v1/embeddings"
    assert req.headers["X-Team"] == "search"
    with pytest.raises(InvalidRequestError, match="default_headers"):
        make(emulator, default_headers={"X-Bad": 1})


def test_target_uri_is_not_deprecated_here(emulator: Any, recwarn: pytest.WarningsRecorder) -> None:
    DatabricksEmbeddings(endpoint="databricks-gte-large-en", target_uri=emulator.host, token=emulator.token)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_unknown_arguments_near_miss_raises_others_are_sent_with_a_warning(emulator: Any) -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'batch_size'"):
        make(emulator, batchsize=10)
    with pytest.warns(UserWarning, match="'instruction' is not a parameter"):
        emb = make(emulator, model="databricks-bge-large-en", instruction="Represent this")
    emulator.clear_requests()
    emb.embed_query("q")
    emb.embed_documents(["d"])
    assert [r.json["instruction"] for r in emulator.requests] == ["Represent this"] * 2
