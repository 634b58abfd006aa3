"""Embeddings throughput: documents per second for 10,000 short texts, ours vs the official classes.

Run alone (the chat benchmark ``python -m bench.run`` runs it too, after its own measures)::

    .venv/bin/python -m bench.embeddings                 # ours + both official classes
    .venv/bin/python -m bench.embeddings --no-peers --n 2000

Implementations, each in a fresh process (``python bench/embeddings.py --worker ...``) against
the canned load server (``bench/server.py``: one pre-rendered 1024-dimension vector per input):

| name | class | how it sends |
|---|---|---|
| ``ours-langchain`` | ``langchain_plugin.DatabricksEmbeddings`` | batches within the model's limit (100), up to 16 in flight |
| ``ours-llamaindex`` | ``llamaindex_plugin.DatabricksEmbedding`` | the same, 1,000 texts per hand-over |
| ``databricks-langchain`` | ``databricks_langchain.DatabricksEmbeddings`` 0.22.0 | MLflow deployments ``predict``, 20 texts per request, one after another |
| ``llama-index-embeddings-databricks`` | ``llama_index.embeddings.databricks.DatabricksEmbedding`` 0.6.0 | ``openai`` client, ``embed_batch_size`` (100) texts per request |

Figures: documents per second (wall, best of ``--reps`` after a warm-up), the client's CPU
milliseconds per 1,000 documents, requests sent; sync (``embed_documents`` /
``get_text_embedding_batch``) and async (``aembed_documents`` / ``aget_text_embedding_batch``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

MODEL = "databricks-gte-large-en"
TOKEN = "dapi-bench-token"
# (name, peer venv or None for this project's)
IMPLS = [
    ("ours-langchain", None),
    ("ours-llamaindex", None),
    ("databricks-langchain", "databricks-langchain"),
    ("llama-index-embeddings-databricks", "llama-index-embeddings-databricks"),
]
PEERS = {"llama-index-embeddings-databricks": "llama-index-embeddings-databricks==0.6.0"}


def texts(n: int) -> list[str]:
    return [f"short text number {i} about topic {i % 97}" for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Worker side (runs under the implementation's interpreter)
# ---------------------------------------------------------------------------------------------
def _build(impl: str, host: str) -> tuple[Any, Any, Any]:
    """(object, sync embed(list) -> vectors, async embed(list) -> vectors)."""
    if impl == "ours-langchain":
        from langchain_plugin import DatabricksEmbeddings

        lc = DatabricksEmbeddings(model=MODEL, host=host, token=TOKEN)
        return lc, lc.embed_documents, lc.aembed_documents
    if impl == "ours-llamaindex":
        from llamaindex_plugin import DatabricksEmbedding

        li = DatabricksEmbedding(model=MODEL, host=host, token=TOKEN)
        return li, li.get_text_embedding_batch, li.aget_text_embedding_batch
    if impl == "databricks-langchain":
        from databricks_langchain import DatabricksEmbeddings as Official

        dl = Official(endpoint=MODEL)  # DATABRICKS_HOST / DATABRICKS_TOKEN from the environment
        return dl, dl.embed_documents, dl.aembed_documents
    if impl == "llama-index-embeddings-databricks":
        from llama_index.embeddings.databricks import DatabricksEmbedding as OfficialLI

        le = OfficialLI(model=MODEL, endpoint=f"{host}/serving-endpoints", api_key=TOKEN)
        return le, le.get_text_embedding_batch, le.aget_text_embedding_batch
    raise SystemExit(f"unknown implementation {impl}")


def _check(vectors: list[list[float]], n: int) -> None:
    if len(vectors) != n or any(len(v) != 1024 for v in vectors):
        raise AssertionError(f"got {len(vectors)} vectors for {n} texts")


def work(impl: str, host: str, n: int, reps: int, warmup: int) -> dict[str, Any]:
    import asyncio

    obj, sync, async_ = _build(impl, host)
    docs = texts(n)
    out: dict[str, Any] = {}
    for mode in ("sync", "async"):
        _check(sync(docs[:warmup]) if mode == "sync" else asyncio.run(async_(docs[:warmup])), warmup)
        best: dict[str, float] | None = None
        for _ in range(reps):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            vectors = sync(docs) if mode == "sync" else asyncio.run(async_(docs))
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            _check(vectors, n)
            run = {"docs_per_s": n / wall, "wall_s": wall, "cpu_ms_per_1k": cpu * 1e6 / n}
            if best is None or run["wall_s"] < best["wall_s"]:
                best = run
        out[mode] = best
    del obj
    return out


# ---------------------------------------------------------------------------------------------
# Runner side
# ---------------------------------------------------------------------------------------------
def run_all(
    host: str, pythons: dict[str, Path], base_env: dict[str, str], *, n: int, reps: int,
    timeout: float, log: Any = sys.stderr,
) -> dict[str, Any]:
    """Every implementation in ``pythons`` in its own process; errors are results too."""
    import subprocess
    import tempfile

    results: dict[str, Any] = {}
    for impl, python in pythons.items():
        env = dict(base_env)
        if python == Path(sys.executable):  # this project's venv: our packages from here
            env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
        t0 = time.perf_counter()
        args = [str(python), str(Path(__file__).resolve()), "--worker", impl, "--host", host,
                "--n", str(n), "--reps", str(reps)]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=tempfile.gettempdir())
        except subprocess.TimeoutExpired:
            results[impl] = {"error": f"timed out after {timeout:.0f} s"}
            continue
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("EMBED-RESULT ")), None)
        if line is None:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            results[impl] = {"error": f"worker exited {proc.returncode}: {tail}"[:500],
                             "traceback": proc.stderr[-3000:]}
        else:
            results[impl] = json.loads(line[len("EMBED-RESULT "):])
        print(f"[bench] embeddings {impl}: {time.perf_counter() - t0:.1f} s", file=log,
              flush=True)
    return results


def markdown(results: dict[str, Any], n: int) -> str:
    """The results as a markdown section (appended to bench/results/results.md)."""
    lines = [
        f"## Embeddings: {n:,} short texts, `{MODEL}` (1024 dims)",
        "",
        "| implementation | sync docs/s | async docs/s | sync CPU ms / 1k docs | async CPU ms / 1k docs |",
        "|---|---:|---:|---:|---:|",
    ]
    for impl, res in results.items():
        if "error" in res:
            lines.append(f"| {impl} | error: {res['error'][:80]} | | | |")
            continue
        s, a = res["sync"], res["async"]
        lines.append(f"| {impl} | {s['docs_per_s']:,.0f} | {a['docs_per_s']:,.0f} | "
                     f"{s['cpu_ms_per_1k']:,.0f} | {a['cpu_ms_per_1k']:,.0f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=10_000, help="texts per run (default 10,000)")
    parser.add_argument("--reps", type=int, default=2, help="runs per mode, best kept")
    parser.add_argument("--no-peers", action="store_true", help="only this project's classes")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    if args.worker:
        res = work(args.worker, args.host, args.n, args.reps, warmup=min(200, args.n))
        versions = {}
        for pkg in ("databricks-langchain", "llama-index-embeddings-databricks", "mlflow",
                    "openai", "langchain-core", "llama-index-core"):
            try:
                from importlib.metadata import version

                versions[pkg] = version(pkg)
            except Exception:
                continue
        print("EMBED-RESULT " + json.dumps({**res, "versions": versions}), flush=True)
        return 0

    results = measure(n=args.n, reps=args.reps, no_peers=args.no_peers, timeout=args.timeout)
    print(markdown(results, args.n))
    return 0


def measure(
    *, n: int, reps: int, no_peers: bool, timeout: float = 900.0, log: Any = sys.stderr
) -> dict[str, Any]:
    """Start a load server, run every implementation, stop the server."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.run import BENCH, LoadServer, worker_env

    pythons = peer_pythons(no_peers=no_peers, log=log)
    log_path = BENCH / "embeddings-server.log"
    server = LoadServer(first_delay=0.03, rest_delay=0.05, log=log_path)
    try:
        return run_all(server.host, pythons, worker_env(server.host), n=n, reps=reps,
                       timeout=timeout, log=log)
    finally:
        server.close()
        log_path.unlink(missing_ok=True)


def peer_pythons(*, no_peers: bool, log: Any) -> dict[str, Path]:
    """The interpreter of every implementation; peer venvs are created from their locks."""
    from bench.run import ensure_peer_venv

    pythons: dict[str, Path] = {}
    for impl, peer in IMPLS:
        if peer is None:
            pythons[impl] = Path(sys.executable)
        elif not no_peers:
            pythons[impl] = ensure_peer_venv(peer, log, pin=PEERS.get(peer))
    return pythons


if __name__ == "__main__":
    sys.exit(main())
