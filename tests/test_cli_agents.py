"""``databricks-llm chat -m <agent>``: every agent schema, its own tool steps shown, agent options."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.emulator import run_emulator

STEPS = [
    "Let me look that up.",
    '  ↳ lookup({"query": "weather in Oslo"})',
    "  ← 3 results for 'weather in Oslo'",
    "Here is what I found: 3 results for 'weather in Oslo'.",
]


@pytest.fixture(scope="module")
def emu():
    with run_emulator(chunk_size=4) as emulator:
        yield emulator


@pytest.fixture
def env(emu, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    emu.clear_requests()
    return emu


@pytest.mark.parametrize("name", ["my-tool-agent", "my-items-agent", "my-json-agent",
                                  "my-chat-agent"])  # fmt: skip
def test_chat_shows_the_agents_own_steps(env, capsys, name):
    code = main(["chat", "-m", name, "--custom-inputs", '{"k": 1}',
                 "--context", '{"user_id": "u"}', "weather in Oslo"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines() == STEPS
    req = env.requests[-1]
    assert req.path == f"/serving-endpoints/{name}/invocations"
    assert req.json["custom_inputs"] == {"k": 1} and req.json["context"] == {"user_id": "u"}


def test_chat_legacy_chat_model(env, capsys):
    assert main(["chat", "-m", "my-legacy-agent", "weather in Oslo"]) == 0
    assert capsys.readouterr().out.splitlines() == [STEPS[-1]]


def test_chat_json_lists_steps_and_custom_outputs(env, capsys):
    assert main(["chat", "-m", "my-chat-agent", "--json", "--custom-inputs", '{"k": 1}',
                 "weather in Oslo"]) == 0  # fmt: skip
    got = json.loads(capsys.readouterr().out)
    assert [s["type"] for s in got["agent_steps"]] == ["function_call", "function_call_output"]
    assert got["tool_calls"] == []
    assert got["custom_outputs"] == {"agent": "my-chat-agent", "custom_inputs": {"k": 1}}
    assert got["usage"]["total_tokens"] == 86  # both model calls of the answer


def test_agent_schema_option_overrides_the_task(env, capsys):
    # my-agent's task says ResponsesAgent; told chat_model it gets a chat completions body
    assert main(["chat", "-m", "my-agent", "--agent-schema", "chat_model", "hi"]) == 0
    req = env.requests[-1]
    assert req.path == "/serving-endpoints/my-agent/invocations"
    assert "messages" in req.json and "input" not in req.json


def test_bad_json_options_are_usage_errors(env, capsys):
    assert main(["chat", "-m", "my-chat-agent", "--custom-inputs", "[1]", "hi"]) != 0
    err = capsys.readouterr().err
    assert "--custom-inputs '[1]' is not a JSON object" in err
    assert not env.requests  # refused before anything was sent
