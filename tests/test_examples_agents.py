"""examples/agents.py runs end to end against the emulator: a LangGraph agent and a LlamaIndex
FunctionAgent each using a deployed agent as their model and another as a tool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_agents_example_runs_against_the_emulator(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "DEMO_"))}
    env.update(HOME=str(tmp_path), DATABRICKS_CONFIG_FILE=str(tmp_path / "none.cfg"))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "agents.py")],
        cwd=tmp_path,  # not the checkout: the example must find the packages itself
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stderr, proc.stderr[-2000:]
    out = proc.stdout
    lg = out.split("1. LangGraph", 1)[1].split("2. LlamaIndex", 1)[0]
    # the deployed ResponsesAgent as the model: it called our tool, we ran it, it answered
    assert "tool call: get_weather({'city': 'Paris'})" in lg
    assert "tool result: It is sunny and 21°C in Paris." in lg
    assert "answer: The get_weather tool returned It is sunny and 21°C in Paris." in lg
    # the deployed ChatAgent as a tool: its own steps came back as steps, its answer as text
    assert "research agent step: lookup({'query': 'Databricks agents'})" in lg
    assert "research agent step: -> 3 results for 'Databricks agents'" in lg
    assert "tool result: Here is what I found: 3 results for 'Databricks agents'." in lg
    li = out.split("2. LlamaIndex", 1)[1]
    assert "tool call: multiply({'a': 6, 'b': 7})" in li and "tool result: 42" in li
    assert 'lookup agent step: function_call {"query": "weather in Oslo"}' in li
    assert "tool result: Here is what I found: 3 results for 'weather in Oslo'." in li
    assert li.rstrip().endswith("That is the answer to your question.")
