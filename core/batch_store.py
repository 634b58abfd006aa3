"""Where the batch runner (:mod:`core.batch`) keeps its results: a JSONL journal keyed by row.

Records are appended as rows finish (one JSON object a line, flushed at once). The store knows
each key's status and where its line is (byte offset), not the records themselves: a run of a
million rows holds a million offsets, not a million answers or vectors. At the end the file is
rewritten in input order by copying those lines (atomically: a crash then keeps the journal).
A line cut short by a crash is dropped (and cut off the file) when the journal is read again.

``.parquet`` outputs (pyarrow) journal to ``<output>.journal.jsonl`` and write the Parquet file
at the end; an earlier Parquet result is read back in full (Parquet has no appendable lines).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError

Record = dict[str, Any]


def _line(record: Record) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class ResultStore:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.parquet = self.path.suffix.lower() == ".parquet"
        if self.parquet:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ConfigurationError(
                    f"{self.path} is a Parquet file but pyarrow is not installed",
                    hint="pip install pyarrow, or write JSONL (an output ending in .jsonl)",
                ) from None
        self.journal = (
            self.path.with_name(self.path.name + ".journal.jsonl") if self.parquet else self.path
        )
        self._status: dict[str, str] = {}  # key -> "ok" | "error"
        self._where: dict[str, tuple[int, int]] = {}  # key -> (offset, length) in the journal
        self._parquet: dict[str, Record] = {}  # rows of an earlier Parquet result
        self._append: Any = None
        self._read: Any = None

    # -- reading ---------------------------------------------------------------------------
    def index(self) -> dict[str, str]:
        """Every key written so far and its status (the last record of a key wins)."""
        self.close()
        self._status, self._where, self._parquet = {}, {}, {}
        if self.parquet and self.path.exists():
            import pyarrow.parquet as pq

            for record in pq.read_table(self.path).to_pylist():
                key = str(record["key"])
                self._parquet[key] = record
                self._status[key] = str(record.get("status"))
        if self.journal.exists():
            for key, status, offset, length in _scan(self.journal):
                self._status[key] = status
                self._where[key] = (offset, length)
                self._parquet.pop(key, None)
        return dict(self._status)

    def status(self, key: str) -> str | None:
        return self._status.get(key)

    def keys(self) -> list[str]:
        return list(self._status)

    def read(self, key: str) -> Record:
        if key in self._where:
            offset, length = self._where[key]
            if self._append is not None:
                self._append.flush()
            if self._read is None:
                self._read = open(self.journal, "rb")
            self._read.seek(offset)
            record: Record = json.loads(self._read.read(length))
            return record
        return self._parquet[key]

    def load(self) -> dict[str, Record]:
        """Every record written so far (reads them all: for small results and tests)."""
        return {key: self.read(key) for key in self.index()}

    # -- writing ---------------------------------------------------------------------------
    def append(self, record: Record) -> None:
        if self._append is None:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            self._append = open(self.journal, "ab")
        data = _line(record)
        offset = self._append.tell()
        self._append.write(data)
        self._append.flush()  # a crash (not a power cut) loses nothing written so far
        key = str(record["key"])
        self._where[key] = (offset, len(data))
        self._status[key] = str(record.get("status"))
        self._parquet.pop(key, None)

    def close(self) -> None:
        for handle in (self._append, self._read):
            if handle is not None:
                handle.close()
        self._append = self._read = None

    def finish(self, order: Iterable[str]) -> None:
        """Rewrite the result with the records of ``order``'s keys in that order."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist([self.read(key) for key in order])
            self.close()
            pq.write_table(table, tmp)
            os.replace(tmp, self.path)
            if self.journal.exists():
                self.journal.unlink()
            return
        if self._append is not None:
            self._append.flush()
        with open(self.journal, "rb") as src, open(tmp, "wb") as out:
            for key in order:
                offset, length = self._where[key]
                src.seek(offset)
                out.write(src.read(length))
        self.close()
        os.replace(tmp, self.path)
        self._status, self._where, self._parquet = {}, {}, {}  # index() again to read more


def _scan(path: Path) -> Iterable[tuple[str, str, int, int]]:
    """``(key, status, offset, length)`` of each journal line; a last line cut short by a
    crash is cut off the file so the next append starts on a line of its own."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                break
            if line.strip():
                key, status = _key_and_status(path, number, line)
                yield key, status, offset, len(line)
            offset += len(line)
    if offset < size:
        with open(path, "r+b") as f:
            f.truncate(offset)


def _key_and_status(path: Path, number: int, line: bytes) -> tuple[str, str]:
    try:
        record = json.loads(line)
    except ValueError:
        raise ConfigurationError(
            f"{path} line {number} is not a JSON record: is it the output of another command?",
            hint="give a new output path, or delete the file to start over",
        ) from None
    if not isinstance(record, dict) or "key" not in record:
        raise ConfigurationError(f"{path} line {number} is not a batch record (no 'key')")
    return str(record["key"]), str(record.get("status"))
