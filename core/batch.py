"""A resumable batch runner for many model calls: chat rows or texts to embed.

```python
from core.batch import BatchRunner
from core.batch_jobs import ChatJob

runner = BatchRunner(ChatJob(client, params), output="answers.jsonl")
result = runner.run([("row-1", "Why is the sky blue?"), ("row-2", [{"role": "user", ...}])])
result.records          # one dict per input row, in input order, failed rows included
result.totals           # rows, ok, failed, tokens, seconds, 429s seen
```

* Every input row gets exactly one record, in input order: the answer, or its typed error
  (``{"type": "RateLimitError", "message": ..., "status_code": 429, ...}``) after the
  transport's retries. A failed row is never dropped and never fails the run (unless
  ``fail_fast``).
* Written as it goes: each finished row is appended to ``output`` (JSONL, one record a line,
  flushed at once) keyed by ``key``. Run the same thing again after a crash and only the rows
  without a record are sent; a row is never recorded twice. At the end the file is rewritten
  in input order (atomically). ``output`` ending in ``.parquet`` (needs pyarrow) journals to
  ``<output>.journal.jsonl`` and writes the Parquet file at the end.
* Failed rows stay done on a re-run (their error is the result); ``retry_failed=True`` sends
  them again and keeps the new record.
* How many calls run at once is the endpoint's shared adaptive limiter's business
  (:mod:`core.limiter`); ``concurrency`` only bounds the rows in progress (memory, tasks).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from core.batch_store import Record, ResultStore
from core.errors import DatabricksError, InvalidRequestError, redact
from core.limiter import AdaptiveLimiter

__all__ = ["BatchResult", "BatchRunner", "Progress", "Record", "ResultStore", "error_record"]
DEFAULT_CONCURRENCY = 256


class Job(Protocol):
    """What to do with rows: ``chunk`` rows per call of :meth:`arun` (1 for chat; a batch of
    texts for embeddings). ``arun`` returns one record per row and never raises for a row's
    failure (the error goes into that row's record)."""

    chunk: int

    @property
    def limiter(self) -> AdaptiveLimiter | None: ...

    def check(self, item: Any) -> None: ...

    async def arun(self, items: Sequence[Any]) -> list[Record]: ...


def error_record(exc: BaseException) -> dict[str, Any]:
    """A row's error as data: its type and what it said (secrets redacted)."""
    if isinstance(exc, DatabricksError):
        return {
            "type": type(exc).__name__,
            "message": exc.message,
            "status_code": exc.status_code,
            "error_code": exc.error_code,
            "request_id": exc.request_id,
        }
    return {"type": type(exc).__name__, "message": redact(str(exc))}


# -- progress and totals --------------------------------------------------------------------
@dataclass
class BatchTotals:
    rows: int = 0  # rows in the input
    skipped: int = 0  # already done in an earlier run
    ok: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    rate_limited: int = 0  # 429 answers seen by the endpoint's limiter during the run

    @property
    def done(self) -> int:
        return self.ok + self.failed

    @property
    def rows_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 3)}


@dataclass(frozen=True)
class Progress:
    """A snapshot after each finished row (for a progress bar or a log line)."""

    done: int  # rows finished in this run
    todo: int  # rows this run has to do
    ok: int
    failed: int
    input_tokens: int
    output_tokens: int
    rate_limited: int
    elapsed: float
    limit: int | None  # the endpoint limiter's current concurrency limit

    @property
    def rows_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rows_per_second
        return (self.todo - self.done) / rate if rate > 0 else None


@dataclass
class BatchResult:
    records: list[Record]  # one per input row, in input order (empty: keep_records=False)
    totals: BatchTotals
    output: Path | None = None
    failed_keys: list[str] = field(default_factory=list)  # input rows whose record is an error
    failed_records: list[Record] = field(default_factory=list)


# -- the runner -----------------------------------------------------------------------------
class BatchRunner:
    def __init__(
        self,
        job: Job,
        *,
        output: str | os.PathLike[str] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry_failed: bool = False,
        fail_fast: bool = False,
        refuse_bad_rows: bool = True,
        keep_records: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidRequestError(
                f"concurrency must be a positive integer, got {concurrency!r}"
            )
        self.job = job
        self.store = ResultStore(output) if output is not None else None
        self.concurrency = concurrency
        self.retry_failed = retry_failed
        self.fail_fast = fail_fast
        # True: a malformed row is an error before anything is sent (a file the user can fix);
        # False: it is that row's error record (a Spark column: one bad cell fails no job)
        self.refuse_bad_rows = refuse_bad_rows
        # False (with an output file): the result lists no records, and memory holds only
        # each row's status and place in the file, whatever the size of the run
        self.keep_records = keep_records or output is None
        self.on_progress = on_progress

    def run(self, rows: Iterable[tuple[Any, ...]]) -> BatchResult:
        """:meth:`arun` on a new event loop (not from inside a running one)."""
        return asyncio.run(self.arun(rows))

    async def arun(self, rows: Iterable[tuple[Any, ...]]) -> BatchResult:
        keyed = _checked_rows(rows, self.job if self.refuse_bad_rows else None)
        store = self.store
        status = store.index() if store is not None else {}
        todo = [
            (i, key, item)
            for i, (key, item, _) in enumerate(keyed)
            if key not in status or (self.retry_failed and status[key] != "ok")
        ]
        echoed = {key: fields for key, _, fields in keyed if fields}
        totals = BatchTotals(rows=len(keyed), skipped=len(keyed) - len(todo))
        fresh: dict[str, Record] = {}
        try:
            await self._run(todo, fresh, totals, echoed)
        finally:
            if store is not None:
                store.close()
        keys = [key for key, _, _ in keyed]
        if store is None:
            records = [fresh[key] for key in keys if key in fresh]
            failed = [r for r in records if r.get("status") != "ok"]
            return BatchResult(records, totals, None, [r["key"] for r in failed], failed)
        known = [key for key in keys if store.status(key) is not None]
        failed_keys = [key for key in known if store.status(key) != "ok"]
        records = [store.read(key) for key in known] if self.keep_records else []
        failed = [store.read(key) for key in failed_keys]
        inputs = set(keys)
        store.finish(known + [key for key in store.keys() if key not in inputs])  # keeps old rows
        return BatchResult(records, totals, store.path, failed_keys, failed)

    async def _run(
        self,
        todo: list[tuple[int, str, Any]],
        fresh: dict[str, Record],
        totals: BatchTotals,
        echoed: dict[str, dict[str, Any]],
    ) -> None:
        job = self.job
        limiter = job.limiter
        seen_429 = limiter.rate_limited if limiter is not None else 0
        started = time.monotonic()
        chunks = iter([todo[i : i + job.chunk] for i in range(0, len(todo), job.chunk)])

        def finished(index: int, key: str, record: Record) -> None:
            record = {"key": key, "index": index, **echoed.get(key, {}), **record}
            if self.store is not None:
                self.store.append(record)
            else:
                fresh[key] = record
            if record["status"] == "ok":
                totals.ok += 1
            else:
                totals.failed += 1
            usage = record.get("usage") or {}
            totals.input_tokens += usage.get("input_tokens") or 0
            totals.output_tokens += usage.get("output_tokens") or 0
            totals.seconds = time.monotonic() - started
            if limiter is not None:
                totals.rate_limited = limiter.rate_limited - seen_429
            if self.on_progress is not None:
                self.on_progress(
                    Progress(
                        done=totals.done,
                        todo=len(todo),
                        ok=totals.ok,
                        failed=totals.failed,
                        input_tokens=totals.input_tokens,
                        output_tokens=totals.output_tokens,
                        rate_limited=totals.rate_limited,
                        elapsed=totals.seconds,
                        limit=limiter.limit if limiter is not None else None,
                    )
                )
            if self.fail_fast and record["status"] != "ok":
                raise BatchRowError(key, record["error"])

        async def worker() -> None:
            for chunk in chunks:
                records = await job.arun([item for _, _, item in chunk])
                for (index, key, _), record in zip(chunk, records, strict=True):
                    finished(index, key, record)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(self.concurrency, len(todo)))]
        try:
            await _first_error(workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            totals.seconds = time.monotonic() - started
            if limiter is not None:
                totals.rate_limited = limiter.rate_limited - seen_429


class BatchRowError(DatabricksError):
    """A row failed and the run was told to stop at the first failure (``fail_fast``)."""

    def __init__(self, key: str, error: dict[str, Any]) -> None:
        self.key = key
        self.error = error
        super().__init__(
            f"row {key!r} failed: {error.get('type')}: {error.get('message')}",
            status_code=error.get("status_code"),
        )


async def _first_error(tasks: Sequence[asyncio.Future[None]]) -> None:
    """Wait for every task; the first one to raise stops the rest (its error propagates)."""
    if not tasks:
        return
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    await asyncio.gather(*tasks)


def _checked_rows(
    rows: Iterable[tuple[Any, ...]], job: Job | None
) -> list[tuple[str, Any, dict[str, Any] | None]]:
    """Keys as strings, unique; every item checked by ``job`` before anything is sent. A row
    may carry a third element: fields copied into its record (an input id, say)."""
    keyed: list[tuple[str, Any, dict[str, Any] | None]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows):
        try:
            key, item, *more = row
        except (TypeError, ValueError):
            more = [None, None]
        if len(more) > 1 or (more and not isinstance(more[0], (dict, type(None)))):
            raise InvalidRequestError(
                f"row {n}: expected (key, item) or (key, item, fields), got {row!r:.80}"
            )
        fields = more[0] if more else None
        key = str(key)
        if key in seen:
            raise InvalidRequestError(
                f"row {n}: the key {key!r} appears twice; every row needs its own key "
                "(results are stored and resumed by key)"
            )
        seen.add(key)
        try:
            if job is not None:
                job.check(item)
        except InvalidRequestError as exc:
            raise InvalidRequestError(
                f"row {n} (key {key!r}): {exc.message}", hint=exc.hint
            ) from None
        keyed.append((key, item, fields))
    return keyed
