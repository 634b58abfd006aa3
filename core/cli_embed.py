"""``databricks-llm embed``: embed lines or JSONL records, write JSONL vectors.

```
databricks-llm embed docs.txt -m databricks-gte-large-en > vectors.jsonl   # one text per line
databricks-llm embed docs.jsonl --field body --id-field doc_id -o vectors.jsonl
cat notes.txt | databricks-llm embed - --concurrency 16
```

Each output line is ``{"index": n, "embedding": [...]}`` (plus ``"id"`` when the input record
has one) in input order. Progress goes to stderr: a tqdm bar on a terminal, plain lines
otherwise; the last line sums up texts, requests, tokens and time.

:func:`embed_records` is the loop itself (read in chunks, embed each chunk with the client's
bounded concurrency, write in order), callable without the CLI by batch runners.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from core.embeddings import DatabricksEmbeddingsClient

DEFAULT_EMBED_MODEL = "databricks-gte-large-en"
CHUNK = 10_000  # texts held in memory at once: output is written chunk by chunk


@dataclass(slots=True)
class Record:
    text: str
    id: Any = None


@dataclass(slots=True)
class EmbedSummary:
    texts: int = 0
    requests: int = 0
    tokens: int | None = None
    seconds: float = 0.0


def read_records(
    lines: Iterable[str], *, jsonl: bool, field: str = "text", id_field: str = "id"
) -> Iterator[Record]:
    """Texts from plain lines (blank lines skipped) or JSONL records (``field`` holds the text;
    a line that is a JSON string is the text itself). Bad records raise naming the line."""
    from core.errors import InvalidRequestError

    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if not jsonl:
            yield Record(line)
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise InvalidRequestError(f"line {number} is not JSON: {exc}") from None
        if isinstance(value, str):
            yield Record(value)
        elif isinstance(value, dict) and isinstance(value.get(field), str):
            yield Record(value[field], value.get(id_field))
        else:
            raise InvalidRequestError(
                f"line {number} has no string field {field!r}",
                hint="choose the text field with --field, or pass plain lines without --jsonl",
            )


def embed_records(
    client: DatabricksEmbeddingsClient,
    records: Iterable[Record],
    write: Callable[[dict[str, Any]], None],
    *,
    on_progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
    params: dict[str, Any] | None = None,
) -> EmbedSummary:
    """Embed ``records`` ``chunk`` at a time (each chunk batched and sent concurrently by the
    client), calling ``write`` for every result in input order and ``on_progress(n)`` with the
    number of texts just finished."""
    summary = EmbedSummary()
    start = time.perf_counter()
    batch: list[Record] = []
    last = 0

    def progress(done: int, _total: int) -> None:
        nonlocal last
        if on_progress is not None:
            on_progress(done - last)
        last = done

    def flush() -> None:
        nonlocal last
        last = 0
        result = client.embed([r.text for r in batch], params=params, on_progress=progress)
        for offset, (record, vector) in enumerate(zip(batch, result.vectors, strict=True)):
            row: dict[str, Any] = {"index": summary.texts + offset, "embedding": vector}
            if record.id is not None:
                row["id"] = record.id
            write(row)
        summary.texts += len(batch)
        summary.requests += result.requests
        if result.usage is not None:
            summary.tokens = (summary.tokens or 0) + result.usage.total_tokens
        batch.clear()

    for record in records:
        batch.append(record)
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    summary.seconds = time.perf_counter() - start
    return summary


class _PlainProgress:
    """Progress as lines (not a terminal): about every 10% and at the end."""

    def __init__(self, stream: TextIO, total: int | None) -> None:
        self.stream, self.total, self.done, self.shown = stream, total, 0, 0

    def update(self, n: int) -> None:
        self.done += n
        step = max(1, (self.total or 10_000) // 10)
        if self.done - self.shown >= step or (self.total and self.done >= self.total):
            self.shown = self.done
            of = f"/{self.total}" if self.total else ""
            print(f"embedded {self.done}{of} texts", file=self.stream, flush=True)

    def close(self) -> None:
        pass


def _progress(stream: TextIO, total: int | None, quiet: bool) -> Any:
    if quiet:
        return None
    if getattr(stream, "isatty", lambda: False)():
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return _PlainProgress(stream, total)
        return tqdm(total=total, unit="text", file=stream, desc="embedding")
    return _PlainProgress(stream, total)


def cmd_embed(args: argparse.Namespace) -> int:
    from core.cli import _settings_kwargs
    from core.embeddings import DatabricksEmbeddingsClient

    kw = _settings_kwargs(args)
    params = {"dimensions": args.dimensions} if args.dimensions else None
    client = DatabricksEmbeddingsClient(
        model=args.model or DEFAULT_EMBED_MODEL,
        batch_size=args.batch_size,
        max_concurrency=args.concurrency,
        **kw,
    )
    with contextlib.ExitStack() as stack:
        stack.callback(client.close)
        source: IO[str] = sys.stdin
        jsonl, total = bool(args.jsonl), None
        if args.input not in (None, "-"):
            source = stack.enter_context(open(args.input, encoding="utf-8"))
            jsonl = jsonl or args.input.endswith((".jsonl", ".ndjson"))
            total = _count_lines(args.input)
        if args.output:  # resumable: through the batch runner (core/cli_batch.py)
            from core.cli_batch import embed_to_file

            found = read_records(source, jsonl=jsonl, field=args.field, id_field=args.id_field)
            return embed_to_file(client, found, args, params)
        out: IO[str] = sys.stdout
        if args.output:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8"))
        bar = _progress(sys.stderr, total, args.quiet)
        if bar is not None:
            stack.callback(bar.close)

        def write(row: dict[str, Any]) -> None:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")

        records = read_records(source, jsonl=jsonl, field=args.field, id_field=args.id_field)
        summary = embed_records(
            client,
            records,
            write,
            on_progress=bar.update if bar is not None else None,
            params=params,
        )
        out.flush()
    tokens = f", {summary.tokens} tokens" if summary.tokens is not None else ""
    rate = summary.texts / summary.seconds if summary.seconds else 0.0
    print(
        f"embedded {summary.texts} texts in {summary.requests} requests{tokens}, "
        f"{summary.seconds:.1f}s ({rate:.0f} texts/s)",
        file=sys.stderr,
    )
    return 0


def _count_lines(path: str) -> int | None:
    """Non-blank lines, for the bar's total (a quick pass; None if unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return None


def add_parser(sub: Any, workspace: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("embed", help="embed lines or JSONL records; JSONL vectors out")
    p.add_argument("input", nargs="?", help="a file of lines or JSONL ('-' or none: stdin)")
    p.add_argument("--model", "-m", help=f"embedding endpoint or UC name (default {DEFAULT_EMBED_MODEL})")  # fmt: skip
    p.add_argument("--jsonl", action="store_true", help="input is JSONL (default for .jsonl)")
    p.add_argument("--field", default="text", help="JSONL field with the text (default text)")
    p.add_argument("--id-field", default="id", help="JSONL field copied to the output as id")
    p.add_argument("--output", "-o", help="write vectors here (default stdout)")
    p.add_argument("--batch-size", type=int, help="inputs per request (default: the model's)")
    p.add_argument("--concurrency", type=int, help="requests in flight at most (default: up to 16, adaptive)")
    p.add_argument("--dimensions", type=int, help="vector size (Matryoshka models only)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.add_argument("--retry-failed", action="store_true", help="with -o: embed again the texts that failed in an earlier run")
    workspace(p)
    p.set_defaults(func=cmd_embed)
