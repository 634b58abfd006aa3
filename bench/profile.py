"""Profile one implementation's measurement: where does the client's time go?

    .venv/bin/python -m bench.profile ours-langchain stream [--n 200] [--top 25]
    .venv/bin/python -m bench.profile ours-llamaindex concurrent --n 1000

Starts the load server, runs the worker's measurement in a subprocess (the implementation's
own interpreter: a peer runs in its venv) under cProfile, and prints the functions with the
largest self time and cumulative time as ``file:function`` with their share of the total.
With pyinstrument installed in the project's venv (``pip install pyinstrument``), ``--tree``
prints pyinstrument's call tree instead (our implementations only).
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import BENCH, FULL, GROUP, IMPLS, ROOT, LoadServer, peer_python, worker_env

_RUNNER = r"""
import cProfile, json, sys, time
sys.path.insert(0, {bench!r})
import worker
spec = json.loads({spec!r})
cls = worker.IMPLS[spec["impl"]]
cls(spec["params"]["host"])  # imports happen here, outside the profile
if spec["tree"]:
    from pyinstrument import Profiler
    prof = Profiler(interval=0.0005, async_mode="enabled")
    prof.start()
    result = worker.MEASURES[spec["measure"]](cls, spec["params"])
    prof.stop()
    print(prof.output_text(unicode=False, color=False, show_all=False))
else:
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    result = worker.MEASURES[spec["measure"]](cls, spec["params"])
    prof.disable()
    prof.dump_stats(spec["out"])
print("RESULT", json.dumps(result))
"""


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3."):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker.startswith("/lib") else tail
    try:
        return str(Path(filename).resolve().relative_to(ROOT))
    except ValueError:
        return filename


def report(stats_path: str, top: int) -> str:
    st = pstats.Stats(stats_path)
    total = st.total_tt or 1e-9  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_cc, _nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append((tt, ct, f"{_short(filename)}:{line}:{func}"))
    out = [f"total profiled CPU: {total:.3f} s", "", "by self time:"]
    for tt, ct, name in sorted(rows, reverse=True)[:top]:
        out.append(f"  {tt / total:6.1%} self {ct / total:6.1%} cum  {name}")
    out += ["", "by cumulative time (functions of this project and of the frameworks):"]
    ours = [r for r in rows if any(k in r[2] for k in ("langchain_plugin", "llamaindex_plugin",
                                                       "core/", "langchain_core", "llama_index",
                                                       "databricks", "langchain_openai",
                                                       "openai/"))]
    for tt, ct, name in sorted(ours, key=lambda r: r[1], reverse=True)[:top]:
        out.append(f"  {ct / total:6.1%} cum {tt / total:6.1%} self  {name}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("impl", choices=[name for name, _, _ in IMPLS])
    parser.add_argument("measure", choices=["invoke", "stream", "concurrent", "first_chunk"])
    parser.add_argument("--n", type=int, help="calls to profile (default: the full run's count)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--tree", action="store_true", help="pyinstrument call tree")
    parser.add_argument("--callees", metavar="FUNC",
                        help="also print what functions whose name contains FUNC call")
    args = parser.parse_args(argv)

    params = dict(FULL[args.measure])
    if args.n:
        params["n"] = args.n
    params["batches"] = 1
    params["reps"] = 1
    python = peer_python(args.impl) if GROUP[args.impl] == "peer" else Path(sys.executable)
    if not python.exists():
        parser.error(f"{python} missing: run `python -m bench.run` once to create the peer venvs")
    server = LoadServer(0.03, 0.05, Path(tempfile.gettempdir()) / "bench-profile-server.log")
    try:
        params["host"] = server.fc_host if args.measure == "first_chunk" else server.host
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "prof.pstats")
            spec = json.dumps({"impl": args.impl, "measure": args.measure, "params": params,
                               "out": out, "tree": args.tree})
            env = worker_env(params["host"])
            if python == Path(sys.executable):
                env["PYTHONPATH"] = str(ROOT)
            proc = subprocess.run(
                [str(python), "-c", _RUNNER.format(bench=str(BENCH), spec=spec)],
                capture_output=True, text=True, env=env, cwd=tmp,
            )
            if proc.returncode != 0:
                print(proc.stderr[-4000:], file=sys.stderr)
                return 1
            print(proc.stdout if args.tree else
                  "\n".join(line for line in proc.stdout.splitlines()
                            if line.startswith("RESULT")))
            if not args.tree:
                print(report(out, args.top))
                if args.callees:
                    st = pstats.Stats(out)
                    st.sort_stats("cumulative").print_callees(args.callees)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
