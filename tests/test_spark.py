"""core.spark and langchain_plugin.spark on Spark local[2] against the emulator (marker spark).

Run with ``pytest -m spark`` (.ci/run does, after checking Java). One SparkSession for the
whole module: starting the JVM is most of the cost.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

pytestmark = pytest.mark.spark

pytest.importorskip("pyspark", reason="the spark extra is not installed")

MODEL = "databricks-meta-llama-3-3-70b-instruct"
EMBED = "databricks-gte-large-en"


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java 17 is needed for the Spark tests (install openjdk-17-jre-headless)")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("databricks-llm-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def emu():
    from core.emulator import run_emulator

    with run_emulator(record_requests=True) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _clean(emu):
    emu.set_fault(None)
    emu.clear_requests()
    yield
    emu.set_fault(None)


def test_chat_udf_answers_a_prompt_column_in_order(spark, emu):
    from core.spark import chat_udf

    df = spark.createDataFrame([(i, f"question {i}") for i in range(40)], "id int, prompt string")
    df = df.union(spark.createDataFrame([(40, None)], "id int, prompt string")).repartition(2)
    answer = chat_udf(MODEL, host=emu.host, token=emu.token, max_tokens=12, endpoint_limit=8)
    # sorted here, not with orderBy: Spark samples a sort's input in a job of its own, which
    # would run the model twice (write the result out, or cache it, before sorting)
    rows = sorted(df.withColumn("out", answer("prompt")).collect(), key=lambda r: r.id)
    for row in rows[:40]:
        assert f'"question {row.id}"' in row.out.answer  # each answer next to its own prompt
        assert row.out.error is None and row.out.usage.input_tokens > 0
        assert row.out.finish_reason in ("stop", "length")
    assert rows[40].out.answer is None and rows[40].out.error is None  # null in, no call
    asked = [r for r in emu.requests if r.path.endswith("/chat/completions")]
    assert len(asked) == 40 and all(r.json["max_tokens"] == 12 for r in asked)
    # several fields of one result: still one call per row
    emu.clear_requests()
    picked = df.withColumn("out", answer("prompt")).select("out.answer", "out.usage", "out.error")
    assert len(picked.collect()) == 41
    calls = [r for r in emu.requests if r.path.endswith("/chat/completions")]
    assert len(calls) == 40


def test_a_failed_row_is_in_the_struct_and_fails_no_job(spark, emu):
    from core.spark import chat_udf

    schema = "id int, messages array<struct<role: string, content: string>>"
    data = [
        (1, [{"role": "user", "content": "hello"}]),
        (2, [{"role": "robot", "content": "not a role"}]),
        (3, [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}]),
    ]
    answer = chat_udf(MODEL, host=emu.host, token=emu.token)
    rows = spark.createDataFrame(data, schema).withColumn("o", answer("messages"))
    got = {r.id: r.o for r in rows.collect()}
    assert got[1].answer and got[3].answer and got[2].answer is None
    assert got[2].error.type == "InvalidRequestError" and "message 0" in got[2].error.message
    sent = [r.json["messages"] for r in emu.requests if r.path.endswith("/chat/completions")]
    assert [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}] in sent


def test_server_errors_are_typed_and_fail_on_error_fails_the_job(spark, emu):
    from core.spark import chat_udf

    emu.set_fault("404")
    df = spark.createDataFrame([("a",), ("b",)], "prompt string")
    lenient = chat_udf(MODEL, host=emu.host, token=emu.token, max_retries=0)
    errors = [r.o.error for r in df.withColumn("o", lenient("prompt")).collect()]
    assert [(e.type, e.status_code) for e in errors] == [("NotFoundError", 404)] * 2
    strict = chat_udf(MODEL, host=emu.host, token=emu.token, max_retries=0, fail_on_error=True)
    with pytest.raises(Exception, match="BatchRowError|NotFoundError"):
        df.withColumn("o", strict("prompt")).collect()


def test_embeddings_udf_gives_vectors_and_errors_on_request(spark, emu):
    from core.spark import embeddings_udf

    df = spark.createDataFrame([(i, f"text {i}") for i in range(20)], "id int, text string")
    vectors = embeddings_udf(EMBED, host=emu.host, token=emu.token, batch_size=8)
    rows = sorted(df.withColumn("v", vectors("text")).collect(), key=lambda r: r.id)
    assert all(len(r.v) == 1024 for r in rows)
    assert rows[0].v != rows[1].v
    calls = [r for r in emu.requests if "embeddings" in r.path or "gte" in r.path]
    assert 3 <= len(calls) <= 6  # batches of 8 per partition, not one call per row
    bad = spark.createDataFrame([("fine",), ("word " * 20000,)], "text string")
    checked = embeddings_udf(EMBED, host=emu.host, token=emu.token, with_errors=True)
    out = [r.e for r in bad.withColumn("e", checked("text")).collect()]
    assert len(out[0].embedding) == 1024 and out[0].error is None
    assert out[1].embedding is None and out[1].error.type == "InvalidRequestError"


def test_credentials_never_in_the_plan_explain_or_the_pickled_udf(spark, emu, capsys):
    from pyspark import cloudpickle

    from core.spark import chat_udf, embeddings_udf

    token = emu.token
    answer = chat_udf(MODEL, host=emu.host, token=token)
    vectors = embeddings_udf(EMBED, host=emu.host, token=token)
    df = spark.createDataFrame([("x",)], "prompt string")
    df = df.withColumn("o", answer("prompt")).withColumn("v", vectors("prompt"))
    df.explain(mode="extended")
    plan = capsys.readouterr().out + df._jdf.queryExecution().toString()
    assert "ArrowEvalPython" in plan and token not in plan
    for udf in (answer, vectors):
        assert token.encode() not in cloudpickle.dumps(udf.func)
    assert df.collect()[0].o.answer  # and it still authenticates on the executors


def test_per_worker_cap_splits_the_endpoint_limit_across_task_slots(spark):
    from core.spark import per_worker_cap

    assert spark.sparkContext.defaultParallelism == 2
    assert per_worker_cap(None, 8, None) == 4
    assert per_worker_cap(None, 3, 4) == 1
    assert per_worker_cap(6, 100, None) == 6
    assert per_worker_cap(None, None, None) is None


def test_a_langchain_chain_over_a_column(spark, emu, monkeypatch):
    from langchain_plugin.spark import chain_udf

    def make_chain():
        from langchain_core.prompts import ChatPromptTemplate

        from langchain_plugin import ChatDatabricks

        prompt = ChatPromptTemplate.from_template("Rate this review: {review}")
        # no credentials here: the worker's environment has them (from the broadcast)
        return prompt | ChatDatabricks(model=MODEL, max_tokens=8)

    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    df = spark.createDataFrame([(1, "great"), (2, "awful")], "id int, review string")
    scored = df.withColumn(
        "s", chain_udf(make_chain, input_key="review", host=emu.host, token=emu.token)("review")
    )
    rows = {r.id: r.s for r in scored.collect()}
    assert "Rate this review: great" in rows[1].output and rows[1].error is None
    assert "Rate this review: awful" in rows[2].output
