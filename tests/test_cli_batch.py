"""``databricks-llm batch`` end to end against the emulator, including a real crash (SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core import cli_batch
from core.cli import main
from core.emulator import run_emulator

MODEL = "databricks-meta-llama-3-3-70b-instruct"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def emu():
    with run_emulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _env(emu, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    emu.set_fault(None)
    emu.configure(latency=0.0)
    emu.clear_requests()
    yield
    emu.set_fault(None)
    emu.configure(latency=0.0)


def chat_calls(emu):
    return [r for r in emu.requests if r.path.endswith("/chat/completions")]


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_prompts_to_answers_with_a_summary(emu, tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": f"q{i}"} for i in range(12)] + ["bare"])
    out = tmp_path / "out.jsonl"
    code = main(["batch", str(src), "-m", MODEL, "-o", str(out), "--system", "Be brief.",
                 "--max-tokens", "30", "--temperature", "0.2"])  # fmt: skip
    assert code == 0
    got = records(out)
    assert [r["key"] for r in got] == [str(i) for i in range(13)]
    assert all(r["status"] == "ok" and r["answer"] for r in got)
    body = chat_calls(emu)[0].json
    assert body["messages"][0]["content"] == "Be brief."
    assert body["max_tokens"] == 30 and body["temperature"] == 0.2
    text = capsys.readouterr()
    assert "13 rows: 13 answered, 0 failed, 0 done before" in text.out
    assert "tokens:" in text.out and f"output: {out}" in text.out
    # not a terminal: plain progress lines, the last one at the end
    assert "batch: 13/13 rows" in text.err


def test_csv_with_ids_and_conversations(emu, tmp_path, capsys):
    src = tmp_path / "in.csv"
    conv = json.dumps([{"role": "user", "content": "from a conversation"}])
    src.write_text(
        f'id,messages\na1,"{conv.replace(chr(34), chr(34) * 2)}"\nb2,"{conv.replace(chr(34), chr(34) * 2)}"\n'
    )
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(src), "-m", MODEL, "-o", str(out), "--id-column", "id",
                 "--json"]) == 0  # fmt: skip
    assert [r["key"] for r in records(out)] == ["a1", "b2"]
    summary = json.loads(capsys.readouterr().out)
    assert summary["totals"]["ok"] == 2 and summary["failed"] == []
    assert chat_calls(emu)[0].json["messages"] == [
        {"role": "user", "content": "from a conversation"}
    ]


def test_failed_rows_are_listed_and_the_exit_status_says_so(emu, tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": f"q{i}"} for i in range(4)])
    emu.set_fault("500:1")
    out = tmp_path / "out.jsonl"
    code = main(["batch", str(src), "-m", MODEL, "-o", str(out)])
    # the transport retried the 500: every row answered
    assert code == 0
    emu.set_fault("404")
    out2 = tmp_path / "out2.jsonl"
    code = main(["batch", str(src), "-m", MODEL, "-o", str(out2)])
    assert code == 1
    text = capsys.readouterr().out
    assert "0 answered, 4 failed" in text and "NotFoundError" in text
    assert "--retry-failed" in text
    assert all(r["status"] == "error" for r in records(out2))
    emu.set_fault(None)
    assert main(["batch", str(src), "-m", MODEL, "-o", str(out2), "--retry-failed"]) == 0
    assert all(r["status"] == "ok" for r in records(out2))


@pytest.mark.parametrize(
    "content, suffix, match",
    [
        ('{"text": "x"}\n', ".jsonl", "no 'prompt or messages' column"),
        ("not json\n", ".jsonl", "line 1 is not JSON"),
        ("a,b\n1,2\n", ".txt", "unknown input format"),
    ],
)
def test_bad_input_is_refused_before_any_request(emu, tmp_path, capsys, content, suffix, match):
    src = tmp_path / f"in{suffix}"
    src.write_text(content)
    assert main(["batch", str(src), "-m", MODEL, "-o", str(tmp_path / "o.jsonl")]) == 1
    assert match in capsys.readouterr().err
    assert chat_calls(emu) == []


def test_plain_progress_lines_every_few_seconds(emu, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_batch, "LOG_EVERY", 0.0)
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": f"q{i}"} for i in range(3)])
    main(["batch", str(src), "-m", MODEL, "-o", str(tmp_path / "o.jsonl")])
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" rows")[0] for line in err] == ["batch: 1/3", "batch: 2/3", "batch: 3/3"]
    assert "x 429" in err[-1] and "tokens" in err[-1]


def test_killed_mid_run_then_resumed_loses_no_row_and_does_none_twice(emu, tmp_path):
    rows = [{"id": f"k{i}", "prompt": f"question {i}"} for i in range(60)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    emu.configure(latency=0.05)
    cmd = [sys.executable, "-m", "core.cli", "batch", str(src), "-m", MODEL, "-o", str(out),
           "--id-column", "id", "--max-concurrency", "2"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and len(out.read_text().splitlines()) >= 10:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # a real crash: no cleanup, no final rewrite
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    written = records(out)
    assert 10 <= len(written) < 60
    time.sleep(0.3)  # let requests the kill cut off reach the server before counting
    emu.clear_requests()

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    final = records(out)
    assert [r["key"] for r in final] == [r["id"] for r in rows]  # each row once, in order
    asked = sorted(r.json["messages"][-1]["content"] for r in chat_calls(emu))
    before = {r["key"] for r in written}
    assert asked == sorted(r["prompt"] for r in rows if r["id"] not in before)
    assert (
        f"60 rows: {60 - len(written)} answered, 0 failed, {len(written)} done before"
        in done.stdout
    )


def test_embed_to_a_file_resumes_through_the_runner(emu, tmp_path, capsys):
    src = tmp_path / "docs.jsonl"
    docs = [{"id": f"d{i}", "text": f"document {i}"} for i in range(6)]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "vectors.jsonl"
    argv = ["embed", str(src), "-o", str(out), "-q"]
    assert main(argv) == 0
    first = records(out)
    assert [r["id"] for r in first] == [d["id"] for d in docs]
    assert all(len(r["embedding"]) == 1024 and r["status"] == "ok" for r in first)
    assert capsys.readouterr().err.startswith("embedded 6 texts (0 done before, 0 failed)")
    # a crash cut the file after 4 rows (the last one half written); more texts were added
    kept = out.read_text().splitlines()[:4]
    out.write_text("\n".join(kept) + "\n" + kept[4 - 1][:20])
    docs += [{"id": f"d{i}", "text": f"document {i}"} for i in range(6, 9)]
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    emu.clear_requests()
    assert main(argv) == 0
    final = records(out)
    assert [r["id"] for r in final] == [d["id"] for d in docs]
    assert final[:4] == first[:4]
    sent = [t for r in emu.requests if r.json and "input" in r.json for t in r.json["input"]]
    assert sorted(sent) == [f"document {i}" for i in range(4, 9)]  # only what was missing
    assert "embedded 5 texts (4 done before, 0 failed)" in capsys.readouterr().err


def test_a_tqdm_bar_on_a_terminal(emu, tmp_path, monkeypatch):
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    term = Tty()
    monkeypatch.setattr("sys.stderr", term)
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": f"q{i}"} for i in range(5)])
    assert main(["batch", str(src), "-m", MODEL, "-o", str(tmp_path / "o.jsonl")]) == 0
    bar = term.getvalue()
    assert "\r" in bar and "5/5" in bar and "429s=0" in bar and "tokens=" in bar
    assert "rows (" not in bar  # the bar, not the plain lines
