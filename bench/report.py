"""Figures of a bench run: the implementations, their floors, the targets, the table and chart.

Split from bench/run.py (which runs the measurements); run.py re-exports these names.
"""

from __future__ import annotations

import statistics
from pathlib import Path

# Implementations, in table order: (name, group, framework).
IMPLS: list[tuple[str, str, str]] = [
    ("httpx", "floor", ""),
    ("aiohttp", "floor", ""),
    ("httpx-aiohttp", "floor", ""),
    ("langchain-no-io", "framework", "langchain"),
    ("llamaindex-no-io", "framework", "llamaindex"),
    ("langchain-raw", "perfect", "langchain"),
    ("llamaindex-raw", "perfect", "llamaindex"),
    ("ours-langchain", "ours", "langchain"),
    ("ours-llamaindex", "ours", "llamaindex"),
    ("databricks-langchain", "peer", "langchain"),
    ("langchain-openai", "peer", "langchain"),
    ("llama-index-llms-databricks", "peer", "llamaindex"),
]
GROUP = {name: group for name, group, _ in IMPLS}
# Rows shown in the table and the chart but not run: each framework's combined floor, issue 17's
# "raw client plus the framework's no-I/O model", added up from the two measured rows.
COMBINED = {"langchain": "langchain-combined", "llamaindex": "llamaindex-combined"}
FRAMEWORK = {name: fw for name, _, fw in IMPLS}
FRAMEWORK_FLOOR = {"langchain": "langchain-no-io", "llamaindex": "llamaindex-no-io"}
OURS = {"langchain": "ours-langchain", "llamaindex": "ours-llamaindex"}
PERFECT = {"langchain": "langchain-raw", "llamaindex": "llamaindex-raw"}
LABEL = {
    "httpx": "raw httpx (floor)",
    "aiohttp": "raw aiohttp (async floor)",
    "httpx-aiohttp": "httpx over aiohttp transport",
    "langchain-no-io": "LangChain, no-I/O model",
    "llamaindex-no-io": "LlamaIndex, no-I/O LLM",
    "langchain-raw": "perfect adapter: LangChain model + raw httpx/aiohttp",
    "llamaindex-raw": "perfect adapter: LlamaIndex LLM + raw httpx/aiohttp",
    "ours-langchain": "ours: langchain_plugin.ChatDatabricks",
    "ours-llamaindex": "ours: llamaindex_plugin.Databricks",
    "databricks-langchain": "databricks-langchain ChatDatabricks",
    "langchain-openai": "langchain-openai ChatOpenAI(base_url)",
    "llama-index-llms-databricks": "llama-index-llms-databricks Databricks",
    "langchain-combined": "combined floor: raw httpx/aiohttp + LangChain no-I/O, added up",
    "llamaindex-combined": "combined floor: raw httpx/aiohttp + LlamaIndex no-I/O, added up",
}


# ---------------------------------------------------------------------------------------------
# Figures, ratios, targets
# ---------------------------------------------------------------------------------------------
def _get(results: dict, impl: str, measure: str, key: str) -> float | None:
    value = results.get(impl, {}).get(measure, {}).get(key)
    return value if isinstance(value, (int, float)) else None


# The floor a perfect adapter would reach. Measured: the framework's own model doing raw httpx
# (sync) / raw aiohttp (async) calls (the "perfect adapter" rows, bench/worker.py). Its parts
# added up (raw client + the framework's no-I/O model, same run) are shown too: with 1,000 calls
# in flight the sum misses the garbage collector's cost of the framework's objects that live
# across the network wait, so it is a floor no adapter reaches.
COMBINED_PARTS = [
    ("invoke", "cpu_ms", "httpx"),
    ("stream", "cpu_ms", "httpx"),
    ("concurrent", "wall_s", "aiohttp"),
    ("concurrent", "cpu_ms_per_call", "aiohttp"),
]


def combined_floors(results: dict) -> dict:
    """{framework: {measure: {key: raw + framework}}} for the figures both were measured on."""
    out: dict = {}
    for fw, fw_impl in FRAMEWORK_FLOOR.items():
        row: dict = {}
        for measure, key, raw in COMBINED_PARTS:
            a, b = _get(results, raw, measure, key), _get(results, fw_impl, measure, key)
            if a is not None and b is not None:
                row.setdefault(measure, {})[key] = a + b
        if row:
            out[fw] = row
    return out


def with_combined(results: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    """``results`` plus the combined-floor pseudo rows, and the rows in table order (each
    framework's combined floor right after its no-I/O row)."""
    combined = combined_floors(results)
    out = dict(results)
    rows: list[tuple[str, str, str]] = []
    for impl, group, fw in IMPLS:
        rows.append((impl, group, fw))
        if group == "framework" and fw in combined:
            name = COMBINED[fw]
            out[name] = combined[fw]
            rows.append((name, "combined", fw))
    return out, rows


def floors(results: dict) -> dict:
    """The floor each implementation's figures are divided by: raw httpx / raw aiohttp for the
    raw rows; for an adapter, the perfect adapter of its framework when measured, else the sum
    of the raw client and the framework's no-I/O model; for a perfect adapter, that sum."""
    out: dict = {}
    httpx_inv = _get(results, "httpx", "invoke", "cpu_ms")
    httpx_str = _get(results, "httpx", "stream", "cpu_ms")
    aio_wall = _get(results, "aiohttp", "concurrent", "wall_s")
    aio_cpu = _get(results, "aiohttp", "concurrent", "cpu_ms_per_call")
    combined = combined_floors(results)
    for impl, group, fw in IMPLS:
        f: dict = {"concurrent_wall": aio_wall, "concurrent_cpu": aio_cpu,
                   "invoke": httpx_inv, "stream": httpx_str}
        if fw and group != "framework":
            fw_impl = FRAMEWORK_FLOOR[fw]
            sums = combined.get(fw, {})
            perfect = PERFECT[fw] if group != "perfect" else None

            def pick(measure: str, key: str, perfect: str | None = perfect,
                     sums: dict = sums) -> float | None:
                if perfect is not None:
                    value = _get(results, perfect, measure, key)
                    if value is not None:
                        return value
                return sums.get(measure, {}).get(key)

            f["invoke"] = pick("invoke", "cpu_ms")
            f["stream"] = pick("stream", "cpu_ms")
            f["concurrent_wall"] = pick("concurrent", "wall_s")
            f["concurrent_cpu"] = pick("concurrent", "cpu_ms_per_call")
            f["import_s"] = _get(results, fw_impl, "import", "import_s")
            f["rss_mb"] = _get(results, fw_impl, "import", "rss_mb")
        out[impl] = f
    return out


def paired_ratio(results: dict, impl: str, parts: list[str], measure: str,
                 key: str) -> float | None:
    """The median over rounds of ``impl``'s figure over its floor's in the same round (the floor
    being the sum of ``parts``): each round runs every implementation within a few minutes, so
    a drift of the machine's speed between rounds cancels out, and one lucky or unlucky round
    does not decide. None without at least two rounds of each."""
    series = [results.get(name, {}).get(measure, {}).get("round_values") for name in [impl, *parts]]
    if any(not isinstance(v, list) or len(v) < 2 for v in series):
        return None
    n = min(len(v) for v in series)  # type: ignore[arg-type]
    ratios = []
    for i in range(n):
        values = [v[i] for v in series]  # type: ignore[index]
        if any(not isinstance(x, (int, float)) for x in values) or not sum(values[1:]):
            return None
        ratios.append(values[0] / sum(values[1:]))
    return statistics.median(ratios)


def targets(results: dict) -> list[dict]:
    fl = floors(results)
    rows: list[dict] = []

    def add(what: str, value: float | None, limit: float, fmt: str, ok_if_le: bool = True,
            detail: str = "") -> None:
        if value is None:
            rows.append({"target": what, "measured": "n/a", "status": "MISS (not measured)",
                         "detail": detail})
            return
        ok = value <= limit if ok_if_le else value >= limit
        rows.append({"target": what, "measured": fmt.format(value),
                     "status": "pass" if ok else "MISS", "detail": detail})

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    for fw, ours in OURS.items():
        if ours not in results:
            continue
        peers = [i for i, g, f in IMPLS if g == "peer" and f == fw and i in results]
        sums = combined_floors(results).get(fw, {})
        floor_name = f"raw client + {FRAMEWORK_FLOOR[fw]} added up (issue 17's floor)"
        no_io, perfect = FRAMEWORK_FLOOR[fw], PERFECT[fw]

        def against(what: str, measure: str, key: str, raw: str, limit: float,
                    ours: str = ours, sums: dict = sums, no_io: str = no_io,
                    perfect: str = perfect, floor_name: str = floor_name) -> None:
            """The target against both floors: the paired median over rounds when there are
            rounds (else the ratio of the best figures), the best-of ratio beside it."""
            value = _get(results, ours, measure, key)
            combined = ([raw, no_io], sums.get(measure, {}).get(key))
            measured = _get(results, perfect, measure, key)
            # without a measured perfect adapter, its floor is the combined one (as floors())
            perfect_floor = ([perfect], measured) if measured is not None else combined
            for floor, (parts, best_floor) in (
                (floor_name, combined),
                (f"the perfect adapter ({perfect})", perfect_floor),
            ):
                best = ratio(value, best_floor)
                paired = paired_ratio(results, ours, parts, measure, key)
                label = f"{ours}: {what} <= {limit:g}x {floor}"
                if paired is None or best is None:
                    add(label, best, limit, "{:.2f}x")
                    continue
                rounds = len(results[ours][measure]["round_values"])
                rows.append({
                    "target": label,
                    "measured": f"{paired:.2f}x (median of {rounds} rounds; best figures: "
                                f"{best:.2f}x)",
                    "status": "pass" if paired <= limit else "MISS", "detail": "",
                })

        inv = _get(results, ours, "invoke", "cpu_ms")
        against("non-streaming CPU", "invoke", "cpu_ms", "httpx", 1.15)
        for p in peers:
            add(f"{ours}: non-streaming CPU >= 1.5x less than {p}",
                ratio(_get(results, p, "invoke", "cpu_ms"), inv), 1.5, "{:.2f}x less",
                ok_if_le=False)
        st = _get(results, ours, "stream", "cpu_ms")
        against("200-chunk stream CPU", "stream", "cpu_ms", "httpx", 1.15)
        for p in peers:
            add(f"{ours}: stream CPU >= 3x less than {p}",
                ratio(_get(results, p, "stream", "cpu_ms"), st), 3.0, "{:.2f}x less",
                ok_if_le=False)
        add(f"{ours}: first chunk to the caller within 5 ms of its sending (median)",
            _get(results, ours, "first_chunk", "median_ms"), 5.0, "{:.2f} ms")
        errors = _get(results, ours, "concurrent", "errors")
        add(f"{ours}: 1,000 concurrent async calls, zero errors", errors, 0, "{:.0f} errors")
        wall = _get(results, ours, "concurrent", "wall_s")
        against("1,000 concurrent calls, wall", "concurrent", "wall_s", "aiohttp", 1.3)
        for p in peers:
            add(f"{ours}: 1,000 concurrent calls, wall >= 4x less than {p}",
                ratio(_get(results, p, "concurrent", "wall_s"), wall), 4.0, "{:.2f}x less",
                ok_if_le=False)
        imp = _get(results, ours, "import", "import_s")
        rss = _get(results, ours, "import", "rss_mb")
        fw_imp, fw_rss = fl[ours]["import_s"], fl[ours]["rss_mb"]
        add(f"{ours}: import <= 0.2 s over {FRAMEWORK_FLOOR[fw]}'s framework import",
            imp - fw_imp if imp is not None and fw_imp is not None else None, 0.2, "{:+.3f} s")
        add(f"{ours}: import RSS <= 15 MB over the framework import",
            rss - fw_rss if rss is not None and fw_rss is not None else None, 15.0, "{:+.1f} MB")
        if fw == "langchain" and "databricks-langchain" in results:
            add(f"{ours}: import >= 4x faster than databricks-langchain's ChatDatabricks",
                ratio(_get(results, "databricks-langchain", "import", "import_s"), imp), 4.0,
                "{:.2f}x faster", ok_if_le=False)
    return rows


def _fmt(value: float | None, fmt: str, ratio: float | None = None) -> str:
    if value is None:
        return "-"
    text = fmt.format(value)
    if ratio is not None:
        text += f" ({ratio:.2f}x)"
    return text


def _cell(results: dict, impl: str, measure: str, key: str, fmt: str,
          floor: float | None = None) -> str:
    m = results.get(impl, {}).get(measure)
    if m is None:
        return "-"
    if "error" in m:
        return "error"
    value = _get(results, impl, measure, key)
    return _fmt(value, fmt, value / floor if value is not None and floor else None)


def markdown(report: dict) -> str:
    fl = floors(report["results"])
    results, rows = with_combined(report["results"])
    lines = [
        "# Benchmark results",
        "",
        f"Generated {report['generated']} by `{report['command']}`"
        + (" (SMOKE RUN: tiny counts, numbers are not meaningful)" if report["smoke"] else ""),
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
        "",
        "Client-side figures; the load server is a canned aiohttp server in its own process on "
        "127.0.0.1 (`bench/server.py`). CPU is `time.process_time()` of the client process. "
        "Ratios in parentheses: to the floor of the row: raw httpx / raw aiohttp for the raw "
        "rows; for adapter rows, the perfect adapter of the same framework (its own chat model "
        "doing raw httpx / raw aiohttp calls, measured in this run); for the perfect-adapter "
        "rows, the raw client's figure plus the framework's no-I/O model's, added up (the "
        "combined floor rows, issue 17's definition of the floor); import "
        "rows show the growth over the framework's "
        "own chat-model import (LangChain: `from langchain_core.language_models import "
        "BaseChatModel`, LlamaIndex: `import llama_index.core`).",
        "",
        "| implementation | invoke CPU ms/call | 200-chunk stream CPU ms/call | first chunk "
        "gap ms (median / max) | 1,000 concurrent: wall s | CPU ms/call | errors | import s "
        "| import RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for impl, group, fw in rows:
        if impl not in results:
            continue
        f = fl.get(impl, {})
        fc_med = _get(results, impl, "first_chunk", "median_ms")
        fc_max = _get(results, impl, "first_chunk", "max_ms")
        fc = results[impl].get("first_chunk")
        fc_cell = ("-" if fc is None else "error" if "error" in fc else
                   f"{fc_med:.2f} / {fc_max:.2f}")
        imp = _get(results, impl, "import", "import_s")
        rss = _get(results, impl, "import", "rss_mb")
        imp_cell = _cell(results, impl, "import", "import_s", "{:.3f}")
        rss_cell = _cell(results, impl, "import", "rss_mb", "{:.1f}")
        if fw and group != "framework" and imp is not None and f.get("import_s") is not None:
            imp_cell += f" ({imp - f['import_s']:+.3f})"
        if fw and group != "framework" and rss is not None and f.get("rss_mb") is not None:
            rss_cell += f" ({rss - f['rss_mb']:+.1f})"
        errors = results[impl].get("concurrent", {})
        err_cell = ("-" if not errors or group == "combined" else "error" if "error" in errors
                    else str(errors.get("errors")))
        lines.append(
            "| " + " | ".join([
                f"**{LABEL[impl]}**" if group == "ours" else LABEL[impl],
                _cell(results, impl, "invoke", "cpu_ms", "{:.3f}", f.get("invoke")),
                _cell(results, impl, "stream", "cpu_ms", "{:.2f}", f.get("stream")),
                fc_cell,
                _cell(results, impl, "concurrent", "wall_s", "{:.3f}", f.get("concurrent_wall")),
                _cell(results, impl, "concurrent", "cpu_ms_per_call", "{:.3f}",
                      f.get("concurrent_cpu")),
                err_cell, imp_cell, rss_cell,
            ]) + " |"
        )
    lines += ["", "## Targets (issues 8 and 17)", "", "| target | measured | status |",
              "|---|---|---|"]
    for row in report["targets"]:
        lines.append(f"| {row['target']} | {row['measured']} | {row['status']} |")
    errors = [
        f"- {impl} / {m}: {v['error']}"
        for impl, res in report["results"].items()
        for m, v in res.items()
        if isinstance(v, dict) and "error" in v
    ] + [
        f"- {impl} / {m}, one round (another round succeeded and is shown): {err}"
        for impl, res in report["results"].items()
        for m, v in res.items()
        if isinstance(v, dict) and "error" not in v
        for err in v.get("round_errors", [])
    ]
    if report.get("server_restarts"):
        errors.append(f"- the load server died and was restarted {report['server_restarts']} "
                      "time(s) during the run")
    if errors:
        lines += ["", "## Errors", "", *errors]
    lines += ["", "## Versions", ""]
    for impl, _, _ in IMPLS:
        versions = results.get(impl, {}).get("versions")
        if versions:
            lines.append(f"- {LABEL[impl]}: " + ", ".join(
                f"{k} {v}" for k, v in versions.items() if v is not None))
    if report.get("peer_pins"):
        lines += ["", "Peer pins (installed by the bench into `bench/.venvs/` from the locks in "
                  "`bench/peers/`): " + ", ".join(f"`{p}`" for p in report["peer_pins"].values())]
    lines += ["", "![results](results.png)", ""]
    return "\n".join(lines)


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fl = floors(report["results"])
    results, rows = with_combined(report["results"])
    colors = {"floor": "#9e9e9e", "framework": "#c5b358", "combined": "#8d6e63",
              "perfect": "#5c6bc0", "ours": "#2e7d32", "peer": "#c62828"}
    panels = [
        ("invoke", "cpu_ms", "client CPU per invoke / chat (ms)", "invoke"),
        ("stream", "cpu_ms", "client CPU per 200-chunk stream (ms)", "stream"),
        ("first_chunk", "median_ms", "first chunk: caller gap after send (ms, median)", None),
        ("concurrent", "wall_s", "1,000 concurrent async calls: wall (s)", "concurrent_wall"),
        ("import", "import_s", "import time of the chat model class (s)", None),
        ("import", "rss_mb", "RSS growth after the import (MB)", None),
    ]
    fig, axes = plt.subplots(3, 2, figsize=(15, 13))
    for ax, (measure, key, title, floor_key) in zip(axes.flat, panels, strict=True):
        names, values, cols, notes = [], [], [], []
        for impl, group, _ in rows:
            v = _get(results, impl, measure, key)
            if v is None:
                continue
            names.append(LABEL[impl])
            values.append(v)
            cols.append(colors[group])
            f = (fl[impl].get(floor_key)
                 if floor_key and group not in ("framework", "combined") else None)
            notes.append(f"{v:.3g}" + (f"  ({v / f:.2f}x floor)" if f else ""))
        ax.barh(range(len(values)), values, color=cols)
        ax.set_yticks(range(len(values)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        top = max(values) if values else 1
        for i, note in enumerate(notes):
            ax.text(values[i] + top * 0.01, i, note, va="center", fontsize=7)
        ax.set_xlim(0, top * 1.45 if values else 1)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
    fig.legend(handles, ["raw floor", "framework, no I/O", "combined floor (added up)",
                         "perfect adapter (framework + raw I/O)", "this project",
                         "official peers"],
               loc="lower center", ncol=6, bbox_to_anchor=(0.5, 0.015))
    fig.suptitle("databricks-llm-plugins vs official integrations (lower is better)"
                 + ("  [SMOKE RUN]" if report["smoke"] else ""), fontsize=13)
    fig.text(0.5, 0.005, ", ".join(f"{k} {v}" for k, v in report["machine"].items()),
             ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path, dpi=90)
    plt.close(fig)
