"""``databricks-llm embed`` against the emulator: lines and JSONL in, JSONL vectors out in
order, progress as a tqdm bar on a terminal and plain lines otherwise; embed_records alone."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from embedding_helpers import received

from core.cli import main
from core.cli_embed import Record, embed_records, read_records
from core.embeddings import DatabricksEmbeddingsClient
from core.emulator import run_emulator
from core.errors import InvalidRequestError


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator() as e:
        yield e


@pytest.fixture
def workspace(emu: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    return emu


def rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_lines_to_jsonl_with_plain_progress(workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "docs.txt"
    texts = [f"document {i} about {i % 5}" for i in range(250)]
    src.write_text("\n".join(texts[:100]) + "\n\n" + "\n".join(texts[100:]) + "\n")
    assert main(["embed", str(src), "--batch-size", "40", "--concurrency", "3"]) == 0
    out, err = capsys.readouterr()
    got = rows(out)
    assert [r["index"] for r in got] == list(range(250))
    assert [r["embedding"] for r in got] == [received(t) for t in texts]
    lines = err.splitlines()
    assert "embedded 250/250 texts" in lines
    assert lines[-1].startswith("embedded 250 texts in 7 requests, 1000 tokens")
    assert "\r" not in err  # no bar when stderr is not a terminal


def test_jsonl_with_ids_to_a_file(workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "docs.jsonl"
    records = [{"doc_id": f"d{i}", "body": f"body {i}"} for i in range(5)]
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n" + json.dumps("a bare string") + "\n")
    dest = tmp_path / "out.jsonl"
    argv = ["embed", str(src), "--field", "body", "--id-field", "doc_id", "-o", str(dest), "-q"]
    assert main(argv + ["-m", "databricks-qwen3-embedding-0-6b", "--dimensions", "64"]) == 0
    got = rows(dest.read_text())
    assert [r.get("id") for r in got] == ["d0", "d1", "d2", "d3", "d4", None]
    assert len(got[0]["embedding"]) == 64
    out, err = capsys.readouterr()
    assert out == "" and "embedded 6/6" not in err and err.startswith("embedded 6 texts")


def test_stdin_and_a_tqdm_bar_on_a_terminal(workspace: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Tty()
    monkeypatch.setattr("sys.stdin", io.StringIO("alpha\nbeta\ngamma\n"))
    monkeypatch.setattr("sys.stderr", term)
    assert main(["embed", "-"]) == 0
    assert [r["embedding"] for r in rows(capsys.readouterr().out)] == [received(t) for t in ("alpha", "beta", "gamma")]
    bar = term.getvalue()
    assert "embedding" in bar and "3text" in bar.replace(" ", "") and "\r" in bar


def test_errors_are_one_line_with_a_hint(workspace: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"title": "no text"}\n')
    assert main(["embed", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 2 has no string field 'text'" in err and "--field" in err
    assert main(["embed", str(bad), "-m", "databricks-gpt-5"]) == 1
    assert "chat model" in capsys.readouterr().err


def test_read_records() -> None:
    assert [r.text for r in read_records(["a\n", "\n", "b\r\n"], jsonl=False)] == ["a", "b"]
    with pytest.raises(InvalidRequestError, match="line 1 is not JSON"):
        list(read_records(["{oops"], jsonl=True))


def test_embed_records_in_chunks_keeps_order_and_counts(emu: Any) -> None:
    client = DatabricksEmbeddingsClient(model="databricks-bge-large-en", host=emu.host, token=emu.token, batch_size=3)
    out: list[dict[str, Any]] = []
    progress: list[int] = []
    texts = [f"t{i}" for i in range(20)]
    summary = embed_records(client, (Record(t, i) for i, t in enumerate(texts)), out.append, on_progress=progress.append, chunk=7)
    assert [r["index"] for r in out] == list(range(20)) and [r["id"] for r in out] == list(range(20))
    assert [r["embedding"] for r in out] == [received(t) for t in texts]
    assert sum(progress) == 20
    assert (summary.texts, summary.requests, summary.tokens) == (20, 3 + 3 + 2, 20)


def test_models_lists_embedding_endpoints_with_their_limits(workspace: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    gte = rows["databricks-gte-large-en"]
    assert (gte["task"], gte["api"], gte["context_window"]) == ("llm/v1/embeddings", "embeddings", 8192)
    assert gte["embedding_dimensions"] == 1024 and gte["max_inputs_per_request"] == 100
    assert rows["databricks-bge-large-en"]["inputs"] == "text -> 1024 dims"
    assert "embedding_dimensions" not in rows["databricks-claude-sonnet-4-5"]
