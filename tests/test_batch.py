"""core.batch + core.batch_jobs end to end against the emulator: order, errors, resume."""

from __future__ import annotations

import json
import time

import pytest

from core.batch import BatchRowError, BatchRunner, ResultStore
from core.batch_jobs import ChatJob, EmbeddingJob, messages_from
from core.client import DatabricksChatClient
from core.embeddings import DatabricksEmbeddingsClient
from core.emulator import run_emulator
from core.errors import ConfigurationError, InvalidRequestError
from core.types import GenerationParams

MODEL = "databricks-meta-llama-3-3-70b-instruct"
EMBED = "databricks-gte-large-en"
CHAT_PATH = "/serving-endpoints/chat/completions"


@pytest.fixture(scope="module")
def emu():
    with run_emulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _clean(emu):
    emu.set_fault(None)
    emu.clear_requests()
    yield
    emu.set_fault(None)


def chat(emu, **kw):
    return DatabricksChatClient(model=MODEL, host=emu.host, token=emu.token, **kw)


def rows(n):
    return [(f"r{i}", f"question {i}") for i in range(n)]


def chat_calls(emu):
    return [r for r in emu.requests if r.path.endswith(("/chat/completions", "/invocations"))]


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_in_input_order_with_answers_usage_and_totals(emu, tmp_path):
    out = tmp_path / "out.jsonl"
    seen = []
    runner = BatchRunner(
        ChatJob(chat(emu), GenerationParams(max_tokens=20), system="Be brief."),
        output=out,
        concurrency=8,
        on_progress=seen.append,
    )
    result = runner.run(rows(30))
    assert [r["key"] for r in result.records] == [f"r{i}" for i in range(30)]
    assert [r["index"] for r in result.records] == list(range(30))
    assert all(r["status"] == "ok" and r["answer"] for r in result.records)
    assert all(r["usage"]["input_tokens"] > 0 for r in result.records)
    t = result.totals
    assert (t.rows, t.ok, t.failed, t.skipped) == (30, 30, 0, 0)
    assert t.input_tokens == sum(r["usage"]["input_tokens"] for r in result.records)
    assert t.output_tokens == sum(r["usage"]["output_tokens"] for r in result.records) > 0
    assert t.seconds > 0 and t.rows_per_second > 0
    # the file holds the same records, in input order
    assert lines(out) == result.records
    # the system prompt went first, the row's prompt after it
    body = chat_calls(emu)[0].json
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_tokens"] == 20
    assert len(seen) == 30 and seen[-1].done == 30 and seen[-1].eta == 0


def test_failed_rows_are_recorded_with_their_typed_error(emu, tmp_path):
    emu.set_fault("500:3")  # the first three requests fail; no retries
    result = BatchRunner(ChatJob(chat(emu, max_retries=0)), output=tmp_path / "o.jsonl").run(
        rows(10)
    )
    failed = [r for r in result.records if r["status"] == "error"]
    assert len(result.records) == 10 and len(failed) == 3
    assert result.totals.failed == 3 and result.totals.ok == 7
    for record in failed:
        assert record["error"]["type"] == "ServerError"
        assert record["error"]["status_code"] == 500
        assert "answer" not in record
    assert sorted(result.failed_keys) == sorted(r["key"] for r in failed)


def test_retries_go_through_the_transport(emu, tmp_path):
    emu.set_fault("503:2")
    emu.configure(retry_after=0.01)
    try:
        result = BatchRunner(ChatJob(chat(emu, max_retries=3))).run(rows(4))
    finally:
        emu.configure(retry_after=1.0)
    assert result.totals.ok == 4 and len(chat_calls(emu)) == 6


def test_conversations_and_bad_rows(emu):
    conversation = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": [{"type": "text", "text": "hello"}]},
    ]
    result = BatchRunner(ChatJob(chat(emu), system="ignored: the row has its own")).run(
        [("a", conversation)]
    )
    assert result.records[0]["status"] == "ok"
    assert chat_calls(emu)[0].json["messages"][0] == {"role": "system", "content": "S"}
    emu.clear_requests()
    for bad, match in [
        ("", "the prompt is empty"),
        ([], "empty"),
        ([{"role": "user", "content": [{"type": "image_url"}]}], "only text content"),
        ([{"role": "robot", "content": "x"}], "message 0 is not"),
        ([{"role": "user", "content": "x", "tools": []}], "fields the batch input does not"),
        (42, "expected a prompt"),
    ]:
        with pytest.raises(InvalidRequestError, match=match):
            BatchRunner(ChatJob(chat(emu))).run([("ok", "fine"), ("bad", bad)])
    with pytest.raises(InvalidRequestError, match="appears twice"):
        BatchRunner(ChatJob(chat(emu))).run([("k", "a"), ("k", "b")])
    assert chat_calls(emu) == []  # checked before anything was sent


class Crash(Exception):
    pass


def test_crash_and_resume_loses_no_row_and_does_none_twice(emu, tmp_path):
    out = tmp_path / "out.jsonl"
    data = rows(40)

    def crash_after_15(progress):
        if progress.done == 15:
            raise Crash

    with pytest.raises(Crash):
        BatchRunner(ChatJob(chat(emu)), output=out, concurrency=4, on_progress=crash_after_15).run(
            data
        )
    written = lines(out)
    assert 15 <= len(written) < 40  # rows that finished while the others were stopped count
    # a crash can also cut the last line short: it must not spoil the resume
    with open(out, "a") as f:
        f.write('{"key": "r39", "ind')
    time.sleep(0.5)  # requests the crash cut off may still reach the server: not run two's
    first_calls = len(chat_calls(emu))
    emu.clear_requests()

    result = BatchRunner(ChatJob(chat(emu)), output=out, concurrency=4).run(data)
    final = lines(out)
    assert [r["key"] for r in final] == [k for k, _ in data]  # every row, once, in order
    missing = 40 - len(written)
    assert result.totals.skipped == len(written) and result.totals.ok == missing
    # only the missing rows were sent again, each once (rows in flight at the crash had no
    # record: they are among the missing)
    asked = sorted(r.json["messages"][-1]["content"] for r in chat_calls(emu))
    done_keys = {r["key"] for r in written}
    assert asked == sorted(q for k, q in data if k not in done_keys)
    assert first_calls >= len(written)
    done_before = {r["key"]: r for r in written}
    for record in final:
        if record["key"] in done_before:
            assert record == done_before[record["key"]]  # kept, not redone


def test_failed_rows_stay_done_unless_retry_failed(emu, tmp_path):
    out = tmp_path / "out.jsonl"
    emu.set_fault("500:2")
    first = BatchRunner(ChatJob(chat(emu, max_retries=0)), output=out, concurrency=1).run(rows(5))
    assert first.totals.failed == 2
    emu.set_fault(None)
    emu.clear_requests()
    again = BatchRunner(ChatJob(chat(emu)), output=out).run(rows(5))
    assert again.totals.skipped == 5 and chat_calls(emu) == []
    assert [r["status"] for r in again.records].count("error") == 2
    retried = BatchRunner(ChatJob(chat(emu)), output=out, retry_failed=True).run(rows(5))
    assert retried.totals.ok == 2 and len(chat_calls(emu)) == 2
    assert all(r["status"] == "ok" for r in lines(out)) and len(lines(out)) == 5


def test_fail_fast_stops_at_the_first_failed_row(emu):
    emu.set_fault("404")
    with pytest.raises(BatchRowError, match="NotFoundError"):
        BatchRunner(ChatJob(chat(emu, max_retries=0)), fail_fast=True, concurrency=1).run(rows(5))


def test_an_unrelated_file_is_not_overwritten(tmp_path):
    out = tmp_path / "notes.jsonl"
    out.write_text("just some text\n")
    with pytest.raises(ConfigurationError, match="not a JSON record"):
        ResultStore(out).load()


def test_parquet_output_resumes_too(emu, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out.parquet"
    BatchRunner(ChatJob(chat(emu)), output=out).run(rows(6))
    table = pq.read_table(out).to_pylist()
    assert [r["key"] for r in table] == [f"r{i}" for i in range(6)]
    assert all(r["answer"] for r in table)
    emu.clear_requests()
    result = BatchRunner(ChatJob(chat(emu)), output=out).run(rows(8))
    assert result.totals.skipped == 6 and len(chat_calls(emu)) == 2
    assert [r["key"] for r in pq.read_table(out).to_pylist()] == [f"r{i}" for i in range(8)]
    assert not (tmp_path / "out.parquet.journal.jsonl").exists()


def test_embeddings_in_chunks_with_one_bad_text(emu, tmp_path):
    client = DatabricksEmbeddingsClient(model=EMBED, host=emu.host, token=emu.token, batch_size=4)
    texts = [(f"t{i}", f"text number {i}") for i in range(10)]
    texts[5] = ("t5", "word " * 20000)  # over the model's input limit: refused before sending
    result = BatchRunner(EmbeddingJob(client), output=tmp_path / "e.jsonl").run(texts)
    assert [r["key"] for r in result.records] == [k for k, _ in texts]
    bad = result.records[5]
    assert bad["status"] == "error" and bad["error"]["type"] == "InvalidRequestError"
    good = [r for r in result.records if r["status"] == "ok"]
    assert len(good) == 9 and all(len(r["embedding"]) == 1024 for r in good)
    assert result.totals.input_tokens > 0


def test_messages_from_puts_the_system_prompt_first():
    msgs = messages_from("hi", "sys")
    assert [m.role for m in msgs] == ["system", "user"] and msgs[1].text == "hi"


def test_keep_records_false_holds_no_answers_and_keeps_old_rows(emu, tmp_path):
    out = tmp_path / "out.jsonl"
    BatchRunner(ChatJob(chat(emu)), output=out).run([("old", "from another input")])
    emu.set_fault("404")
    result = BatchRunner(ChatJob(chat(emu, max_retries=0)), output=out, keep_records=False).run(
        rows(3)
    )
    assert result.records == []  # nothing held: the file has it
    assert result.failed_keys == ["r0", "r1", "r2"]
    assert [r["error"]["type"] for r in result.failed_records] == ["NotFoundError"] * 3
    final = lines(out)
    assert [r["key"] for r in final] == ["r0", "r1", "r2", "old"]  # input order, old row kept
    assert final[3]["status"] == "ok"
