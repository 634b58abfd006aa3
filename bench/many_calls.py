"""Many calls against a rate limit: LangChain ``abatch`` with the adaptive limiter vs a fixed
concurrency, side by side (issue 18).

The emulator runs in a process of its own (core.emulator.process), allowing ``rate`` model
calls per second (a token bucket holding one second's worth; 429 + ``Retry-After`` beyond,
core/emulator/ratelimit.py) with a model latency of ``latency`` seconds on average (0.5x to
1.5x). Each side gets a fresh server. Reported per side: wall time, its ratio to the ideal
``calls / rate``, the share of HTTP answers that were 429, and rows that failed (429 still
after the transport's retries).

    python -m bench.many_calls              # 2,000 calls at 100/s (about 45 s)
    python -m bench.many_calls --calls 300  # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, TextIO

MODEL = "databricks-meta-llama-3-3-70b-instruct"


def _side(calls: int, rate: float, latency: float, *, fixed: int | None) -> dict[str, Any]:
    from core.emulator.process import run_emulator_process
    from core.limiter import reset_limiters
    from langchain_plugin import ChatDatabricks

    reset_limiters()
    with run_emulator_process(rate_limit=rate, latency=latency) as server:
        kw: dict[str, Any] = {"model": MODEL, "host": server.host, "api_key": server.token}
        if fixed is not None:  # no adaptive limiter: a fixed cap that counts what it sees
            kw.update(adaptive_concurrency=False, max_concurrency=fixed)
        llm = ChatDatabricks(max_tokens=5, **kw)
        gate: Any = llm.client.http.gate if fixed is not None else llm.client.limiter
        started = time.perf_counter()
        out = asyncio.run(llm.abatch([f"row {i}" for i in range(calls)], return_exceptions=True))
        seconds = time.perf_counter() - started
    answered = gate.succeeded + gate.rate_limited
    ideal = calls / rate
    return {
        "concurrency": f"fixed {fixed}" if fixed is not None else "adaptive",
        "seconds": round(seconds, 2),
        "ratio_to_ideal": round(seconds / ideal, 3),
        "http_429": gate.rate_limited,
        "share_429": round(gate.rate_limited / answered, 4) if answered else 0.0,
        "failed_rows": sum(isinstance(o, Exception) for o in out),
        "final_limit": gate.limit,
    }


def measure(
    calls: int = 2000,
    rate: float = 100.0,
    latency: float = 0.2,
    fixed: int = 64,
    log: TextIO = sys.stderr,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "calls": calls,
        "rate_per_s": rate,
        "latency_s": latency,
        "ideal_s": round(calls / rate, 2),
    }
    for name, cap in (("adaptive", None), ("fixed", fixed)):
        t0 = time.perf_counter()
        result[name] = _side(calls, rate, latency, fixed=cap)
        print(f"[bench] many calls, {name}: {time.perf_counter() - t0:.1f} s", file=log, flush=True)
    return result


def markdown(result: dict[str, Any]) -> str:
    rows = [
        "## Many calls against a rate limit",
        "",
        f"{result['calls']} LangChain `abatch` calls; the emulator allows {result['rate_per_s']:g} "
        f"calls/s (429 + Retry-After beyond), model latency ~{result['latency_s']:g} s; ideal "
        f"{result['ideal_s']:g} s.",
        "",
        "| concurrency | time (s) | x ideal | 429 answers | share 429 | failed rows |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("adaptive", "fixed"):
        r = result[name]
        rows.append(
            f"| {r['concurrency']} | {r['seconds']} | {r['ratio_to_ideal']} | {r['http_429']} "
            f"| {r['share_429'] * 100:.1f}% | {r['failed_rows']} |"
        )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.many_calls", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--fixed", type=int, default=64, help="the fixed concurrency compared")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.calls, args.rate, args.latency, args.fixed)
    print(json.dumps(result, indent=1) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
