"""How much ``import core`` costs beyond ``import httpx, pydantic`` (target: < 50 ms).

Each sample is a fresh interpreter (``python -c``), so nothing is cached in ``sys.modules``.
Measured, in the same process, after ``import httpx, pydantic`` (the base dependencies any
client pays for anyway):

* ``import core``                  - the package itself (lazy: should be ~0);
* ``import core.client``           - what an adapter imports to talk to Databricks: settings,
  auth, transport, endpoints, registry, types, errors (codecs load on first request);
* ``core.client + codecs.chat``    - plus the chat codec (first request);
* ``(ref) one pydantic BaseModel`` - for scale: the part of the above that is pydantic's own
  lazily-loaded machinery (any BaseModel pays it once).

Run: ``python bench/bench_import.py [--runs 15] [--json]``. Exits 1 when the median
``import core`` extra exceeds the 50 ms target (the issue's criterion); the other rows are
reported for information (on a loaded machine every row scales up together, so compare them
with the ``httpx+pydantic`` column of the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TARGET_MS = 50.0

SNIPPET = """
import time
t0 = time.perf_counter()
import httpx, pydantic
t1 = time.perf_counter()
{what}
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000)
"""

CASES = {
    "import core": "import core",
    "import core.client": "import core.client",
    "core.client + codecs.chat": "import core.client, core.codecs.chat",
    # For scale: pydantic imports lazily; the first BaseModel pulls in its machinery, which
    # ClientSettings (a BaseModel by contract) pays inside "import core.client".
    "(ref) one pydantic BaseModel": "class _M(pydantic.BaseModel):\n    x: int = 0",
}


def sample(what: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(what=what)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    base, extra = out.stdout.split()
    return float(base), float(extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--no-pyc",
        action="store_true",
        help="measure with PYTHONDONTWRITEBYTECODE as inherited (sources compiled on every "
        "import); by default bytecode is cached in a temporary PYTHONPYCACHEPREFIX, as an "
        "installed wheel would have it",
    )
    args = parser.parse_args()

    env = None
    cache_dir = None
    if not args.no_pyc:
        cache_dir = tempfile.TemporaryDirectory(prefix="bench-import-pyc-")
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir.name

    results = {}
    for name, what in CASES.items():
        sample(what, env)  # warm the OS file cache and write the .pyc files
        base, extra = zip(*(sample(what, env) for _ in range(args.runs)), strict=True)
        results[name] = {
            "httpx_pydantic_ms": round(statistics.median(base), 2),
            "extra_ms_median": round(statistics.median(extra), 2),
            "extra_ms_min": round(min(extra), 2),
            "extra_ms_max": round(max(extra), 2),
        }
    if cache_dir is not None:
        cache_dir.cleanup()
    ok = results["import core"]["extra_ms_median"] < TARGET_MS
    if args.json:
        print(json.dumps({"target_ms": TARGET_MS, "ok": ok, "results": results}, indent=2))
    else:
        print(f"{'case':28} {'httpx+pydantic':>15} {'extra median':>13} {'min':>8} {'max':>8}")
        for name, r in results.items():
            print(
                f"{name:28} {r['httpx_pydantic_ms']:>13.1f}ms {r['extra_ms_median']:>11.1f}ms "
                f"{r['extra_ms_min']:>6.1f}ms {r['extra_ms_max']:>6.1f}ms"
            )
        print(f"target: import core < {TARGET_MS:.0f} ms extra -> {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
