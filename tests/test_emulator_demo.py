"""The README's main job: examples/demo.py runs end to end against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(HOME=str(tmp_path), NO_COLOR="1", DATABRICKS_CONFIG_FILE=str(tmp_path / "none.cfg"))
    return env


def test_demo_runs_against_the_emulator(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=tmp_path,  # not the checkout: the demo must find the packages itself
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "using the local Databricks emulator" in out
    # LangChain: streamed reasoning, a tool call with arguments from the prompt, a final answer
    lc = out.split("1. LangChain", 1)[1].split("2. LlamaIndex", 1)[0]
    assert "thinking: " in lc
    assert "tool call: get_weather({'city': 'Paris'})" in lc
    assert "tool result: It is sunny and 21°C in Paris." in lc
    assert "answer: " in lc and "sunny" in lc.split("answer: ", 1)[1]
    # LlamaIndex: the agent called the tool and answered with its result
    li = out.split("2. LlamaIndex", 1)[1].split("3. Retrieval", 1)[0]
    assert "tool call: multiply({'a': 6, 'b': 7})" in li
    assert "tool result: 42" in li
    assert "answer: " in li and "42" in li.split("answer: ", 1)[1]
    # Retrieval: both frameworks found the Zurich badge document and answered from it
    rag = out.split("3. Retrieval", 1)[1]
    assert rag.count("retrieved: The Zurich office badge color is teal") == 2
    assert all("teal" in part.split("\n\n")[0] for part in rag.split("answer: ")[1:])
    assert "Traceback" not in proc.stderr


def test_demo_prefers_a_configured_workspace(tmp_path):
    """With a (fake, unreachable) workspace configured the demo targets it and fails cleanly."""
    cfg = tmp_path / "databrickscfg"
    cfg.write_text("[DEFAULT]\nhost = http://127.0.0.1:9\ntoken = dapi-not-a-real-token\n")
    env = _env(tmp_path)
    env["DATABRICKS_CONFIG_FILE"] = str(cfg)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "Using your Databricks workspace" in proc.stdout
    assert proc.returncode == 1
    assert "error: " in proc.stderr and "Traceback" not in proc.stderr
    assert "dapi-not-a-real-token" not in proc.stdout + proc.stderr
