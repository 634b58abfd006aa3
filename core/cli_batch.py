"""``databricks-llm batch``: a file of prompts through the resumable runner, with progress.

```
databricks-llm batch questions.jsonl -m databricks-claude-sonnet-4-5 -o answers.jsonl
databricks-llm batch questions.csv -m MODEL -o answers.parquet --system "Answer in French"
```

Input: JSONL (one object a line, or one string a line) or CSV (a header row). Each row is a
prompt (column ``prompt``, or ``--column``) or a conversation (column ``messages``: a list of
``{"role", "content"}``; in CSV, that list as JSON text). Rows are keyed by ``--id-column``
when given, else by their position in the file (so keep the file as it is between runs).
Output: JSONL, or Parquet with pyarrow (see :mod:`core.batch`). Run the same command again
after a crash or Ctrl-C: only the rows without a result are sent.

On a terminal, a tqdm progress bar (rows, rows/s, tokens, 429s, ETA); otherwise one log line
every few seconds. A summary at the end; the exit status is 1 when any row failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from core.batch import BatchResult, Progress

LOG_EVERY = 5.0  # seconds between plain progress lines when not on a terminal


def add_batch_parser(sub: Any, workspace: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "batch",
        help="a JSONL/CSV file of prompts through a model: resumable, with progress",
        description="Send every row of INPUT to a model; results go to OUTPUT as they come. "
        "Run the same command again to finish what a crash or Ctrl-C left.",
    )
    p.add_argument("input", help="JSONL or CSV file of prompts or conversations")
    p.add_argument("-m", "--model", required=True, help="serving endpoint or UC model name")
    p.add_argument("-o", "--output", required=True, help="results file (.jsonl or .parquet)")
    p.add_argument("--column", help="the prompt column (default: prompt, else messages)")
    p.add_argument("--id-column", help="a column that names each row (default: its position)")
    p.add_argument("--system", help="a system prompt for rows without one")
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", type=float)
    p.add_argument("--stop", action="append", help="a stop sequence (repeatable)")
    p.add_argument(
        "--reasoning-effort", choices=["none", "minimal", "low", "medium", "high", "xhigh", "max"]
    )
    p.add_argument("--thinking-budget", type=int, help="Claude thinking budget (>= 1024)")
    p.add_argument(
        "--api",
        choices=["chat", "responses", "open-responses", "gemini"],
        help="wire format (as for chat)",
    )
    p.add_argument(
        "--max-concurrency",
        type=int,
        help="at most this many calls in flight (default: the adaptive limit decides)",
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="send rows that failed in an earlier run again"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar or log lines")
    workspace(p)
    p.set_defaults(func=cmd_batch)


# -- input ----------------------------------------------------------------------------------
def read_rows(path: str, column: str | None, id_column: str | None) -> list[tuple[str, Any]]:
    """``(key, prompt or messages)`` for every row of a JSONL or CSV file."""
    from core.cli import _CliError

    file = Path(path)
    if not file.is_file():
        raise _CliError(f"no input file {path!r}")
    suffix = file.suffix.lower()
    if suffix == ".csv":
        rows: Iterator[tuple[int, Any]] = _csv_rows(file)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        rows = _jsonl_rows(file)
    else:
        raise _CliError(
            f"{path}: unknown input format {suffix or '(no extension)'!r}",
            "give a .jsonl (one JSON object or string a line) or a .csv file with a header",
        )
    out: list[tuple[str, Any]] = []
    for line, row in rows:
        if isinstance(row, str):
            if column or id_column:
                raise _CliError(f"{path} line {line}: a bare string has no columns")
            out.append((str(len(out)), row))
            continue
        if not isinstance(row, dict):
            raise _CliError(f"{path} line {line}: expected an object or a string")
        name = column or (
            "prompt" if "prompt" in row else "messages" if "messages" in row else None
        )
        if name is None or name not in row:
            raise _CliError(
                f"{path} line {line}: no {name or 'prompt or messages'!r} column "
                f"(columns: {', '.join(row) or 'none'})",
                "name the prompt column with --column",
            )
        item = row[name]
        if name == "messages" and isinstance(item, str) and suffix == ".csv":
            try:
                item = json.loads(item)
            except ValueError:
                raise _CliError(f"{path} line {line}: the messages column is not JSON") from None
        if id_column:
            if row.get(id_column) in (None, ""):
                raise _CliError(f"{path} line {line}: no value in the id column {id_column!r}")
            key = str(row[id_column])
        else:
            key = str(len(out))
        out.append((key, item))
    return out


def _jsonl_rows(file: Path) -> Iterator[tuple[int, Any]]:
    from core.cli import _CliError

    with open(file, encoding="utf-8") as fh:
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                yield line, json.loads(text)
            except ValueError:
                raise _CliError(f"{file} line {line} is not JSON") from None


def _csv_rows(file: Path) -> Iterator[tuple[int, Any]]:
    with open(file, encoding="utf-8", newline="") as fh:
        yield from enumerate(csv.DictReader(fh), 2)


# -- progress -------------------------------------------------------------------------------
class ProgressView:
    """tqdm on a terminal, else a plain line every LOG_EVERY seconds (and at the end)."""

    def __init__(self, stream: TextIO, enabled: bool = True, label: str = "batch") -> None:
        self.stream = stream
        self.label = label
        self.enabled = enabled
        self.bar: Any = None
        self._tqdm: Any = None
        self._last_log = time.monotonic()
        if enabled and stream.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # the plain lines then
                pass
            else:
                self._tqdm = tqdm

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if self._tqdm is not None:
            if self.bar is None:  # the first row tells how many this run has to do
                self.bar = self._tqdm(
                    total=p.todo, file=self.stream, unit="row", dynamic_ncols=True
                )
            self.bar.n = p.done
            self.bar.set_postfix(
                tokens=p.input_tokens + p.output_tokens,
                failed=p.failed,
                **{"429s": p.rate_limited, "limit": p.limit},
                refresh=False,
            )
            self.bar.refresh()
            return
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY or p.done == p.todo:
            self._last_log = now
            print(progress_line(p, self.label), file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_line(p: Progress, label: str = "batch") -> str:
    eta = f", ETA {p.eta:.0f}s" if p.eta is not None and p.done < p.todo else ""
    limit = f", limit {p.limit}" if p.limit is not None else ""
    return (
        f"{label}: {p.done}/{p.todo} rows ({p.rows_per_second:.1f}/s), {p.failed} failed, "
        f"{p.input_tokens + p.output_tokens:,} tokens, {p.rate_limited} x 429{limit}{eta}"
    )


def summary(result: BatchResult) -> str:
    t = result.totals
    lines = [
        f"{t.rows} rows: {t.ok} answered, {t.failed} failed, {t.skipped} done before",
        f"tokens: {t.input_tokens:,} in, {t.output_tokens:,} out",
        f"time: {t.seconds:.1f}s ({t.rows_per_second:.1f} rows/s), {t.rate_limited} x 429",
        f"output: {result.output}",
    ]
    lines.extend(failed_lines(result))
    return "\n".join(lines)


def failed_lines(result: BatchResult) -> list[str]:
    failed = result.failed_records
    if not failed:
        return []
    lines = [f"failed rows ({len(failed)}):"]
    for record in failed[:10]:
        error = record.get("error") or {}
        lines.append(f"  {record['key']}: {error.get('type')}: {error.get('message')}")
    if len(failed) > 10:
        lines.append(f"  ... and {len(failed) - 10} more (status 'error' in the output)")
    lines.append("re-run with --retry-failed to send them again")
    return lines


# -- the command ----------------------------------------------------------------------------
def cmd_batch(args: argparse.Namespace) -> int:
    from core.batch_jobs import ChatJob
    from core.cli import EXIT_ERROR, _settings_kwargs
    from core.client import DatabricksChatClient
    from core.types import GenerationParams

    rows = read_rows(args.input, args.column, args.id_column)
    params = GenerationParams(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        stop=args.stop,
        reasoning_effort=args.reasoning_effort,
        thinking_budget=args.thinking_budget,
    )
    kw = _settings_kwargs(args)
    if args.max_concurrency:
        kw["max_concurrency"] = args.max_concurrency
    with DatabricksChatClient(model=args.model, **kw) as client:
        job = ChatJob(client, params, system=args.system)
        return _run(args, job, rows, EXIT_ERROR)


def _run(args: argparse.Namespace, job: Any, rows: list[tuple[str, Any]], exit_error: int) -> int:
    from core.batch import BatchRunner

    view = ProgressView(sys.stderr, enabled=not args.no_progress)
    runner = BatchRunner(
        job,
        output=args.output,
        retry_failed=args.retry_failed,
        keep_records=False,  # a file of a million rows: offsets in memory, not answers
        on_progress=view,
    )
    try:
        result = runner.run(rows)
    finally:
        view.close()
    if args.json:
        print(json.dumps({"totals": result.totals.as_dict(), "output": str(result.output),
                          "failed": result.failed_keys}, indent=2))  # fmt: skip
    else:
        print(summary(result))
    return exit_error if result.totals.failed or result.failed_keys else 0


# -- embed -o FILE: resumable through the same runner ---------------------------------------
def embed_to_file(
    client: Any, records: Iterable[Any], args: argparse.Namespace, params: dict[str, Any] | None
) -> int:
    """``databricks-llm embed ... -o FILE`` (core/cli_embed.py): the records
    (``.text``, ``.id``) through the batch runner, so a second run after a crash embeds only
    what is missing. Keys: the record's id, else ``#<position>``; the id is kept in the
    output. Vectors are not held in memory: the texts, and each row's place in the file."""
    from core.batch import BatchRunner
    from core.batch_jobs import EmbeddingJob

    rows = [
        (f"#{n}" if r.id is None else str(r.id), r.text, None if r.id is None else {"id": r.id})
        for n, r in enumerate(records)
    ]
    view = ProgressView(sys.stderr, enabled=not args.quiet, label="embed")
    runner = BatchRunner(
        EmbeddingJob(client, params),
        output=args.output,
        concurrency=client.max_concurrency,
        retry_failed=args.retry_failed,
        keep_records=False,
        on_progress=view,
    )
    try:
        result = runner.run(rows)
    finally:
        view.close()
    t = result.totals
    print(
        f"embedded {t.ok} texts ({t.skipped} done before, {t.failed} failed), "
        f"{t.input_tokens} tokens, {t.seconds:.1f}s ({t.rows_per_second:.0f} texts/s), "
        f"{t.rate_limited} x 429",
        file=sys.stderr,
    )
    if result.failed_keys:
        print("\n".join(failed_lines(result)), file=sys.stderr)
        return 1
    return 0
