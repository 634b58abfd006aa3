"""Run the emulator in a process of its own (for load measurements and rate-limit tests).

In-process (:func:`core.emulator.run_emulator`) the server shares the GIL with the client under
test: under load, its answers - a 429 included - reach the client late, and the client looks
worse than it is against a real endpoint. A separate process (spawned: nothing inherited from
a threaded parent) keeps the two apart, as they are in real life.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmulatorProcess:
    host: str
    token: str = ""

    def __repr__(self) -> str:  # never shows the token
        return f"EmulatorProcess(host={self.host!r})"


def _serve(queue: Any, options: dict[str, Any]) -> None:
    from core.emulator import serve_forever

    serve_forever(on_ready=lambda emu: queue.put((emu.host, emu.token)), **options)


@contextlib.contextmanager
def run_emulator_process(**options: Any) -> Iterator[EmulatorProcess]:
    """Start the emulator in a spawned process with ``options``; stop it on exit."""
    options.setdefault("record_requests", False)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(
        target=_serve, args=(queue, options), name="databricks-emulator", daemon=True
    )
    proc.start()
    try:
        host, token = queue.get(timeout=60)
        yield EmulatorProcess(host, token)
    finally:
        proc.terminate()  # SIGTERM: serve_forever stops its server cleanly
        proc.join(10)
        if proc.is_alive():  # pragma: no cover
            proc.kill()
            proc.join(5)
