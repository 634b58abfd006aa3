"""The databricks-llm CLI, driven through main([...]) against the emulator."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.cli import main, mask
from core.emulator import run_emulator

ROOT = Path(__file__).resolve().parents[1]
WEATHER = json.dumps(
    {
        "name": "get_weather",
        "description": "Get the weather at a location.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    }
)


@pytest.fixture(scope="module")
def emu():
    with run_emulator(retry_after=0.01) as emulator:
        yield emulator


@pytest.fixture
def pat_env(emu, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    emu.clear_requests()
    return emu


@pytest.fixture
def oauth_env(emu, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", emu.client_id)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", emu.client_secret)
    return emu


def test_chat_one_prompt_streams_reasoning_and_answer(pat_env, capsys):
    code = main(
        ["chat", "Why is the sky blue?", "--thinking-budget", "2048", "--max-tokens", "4000"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("thinking: ")
    assert 'You said: "Why is the sky blue?"' in out
    (req,) = pat_env.requests
    assert req.json["stream"] is True
    assert req.json["model"] == "databricks-claude-sonnet-4-5"
    assert req.json["thinking"]["budget_tokens"] == 2048


def test_chat_json_with_tool_and_reasoning_effort(pat_env, capsys):
    code = main(["chat", "--model", "databricks-gpt-oss-120b", "--json", "--reasoning-effort", "high",
                 "--tool", WEATHER, "What is the weather in Paris?"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tool_calls"][0]["name"] == "get_weather"
    assert data["tool_calls"][0]["arguments"] == {"location": "Paris"}
    assert data["reasoning"] and data["finish_reason"] == "tool_calls"
    assert data["usage"]["total_tokens"] > 0
    assert pat_env.requests[-1].json["reasoning_effort"] == "high"


def test_chat_streamed_tool_call_is_shown(pat_env, capsys):
    assert main(["chat", "--model", "databricks-meta-llama-3-3-70b-instruct", "--tool", WEATHER,
                 "What is the weather in Oslo?"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert 'tool call: get_weather({"location": "Oslo"})' in out


def test_chat_prompt_from_stdin(pat_env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("piped prompt\n"))
    assert main(["chat"]) == 0
    assert 'You said: "piped prompt"' in capsys.readouterr().out


def test_chat_interactive_keeps_history(pat_env, capsys, monkeypatch):
    stdin = io.StringIO()
    stdin.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", stdin)
    lines = iter(["first", "", "second", "/exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat", "--model", "databricks-meta-llama-3-3-70b-instruct"]) == 0
    out = capsys.readouterr().out
    assert 'You said: "first"' in out and 'You said: "second"' in out
    last = pat_env.requests[-1].json["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user"]


def test_chat_interactive_error_keeps_session(pat_env, capsys, monkeypatch):
    stdin = io.StringIO()
    stdin.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", stdin)
    lines = iter(["hello"])

    def fake_input(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    assert main(["chat", "--model", "databricks-meta-llama-3-3-70b-instruct+fault=403"]) == 0
    err = capsys.readouterr().err
    assert "error: [403" in err and "hint:" in err


def test_models_joins_registry(pat_env, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert header.split()[:4] == ["NAME", "TASK", "STATE", "FAMILY"]
    claude = next(r for r in rows if r.startswith("databricks-claude-sonnet-4-5 "))
    assert "claude" in claude and "READY" in claude
    assert main(["models", "--json"]) == 0
    rows_json = json.loads(capsys.readouterr().out)
    agent = next(r for r in rows_json if r["name"] == "my-agent")
    assert agent["task"] == "agent/v1/responses" and agent["known"] is False


def test_models_shows_served_model_and_rules(pat_env, capsys):
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    ext = rows["my-claude"]  # an opaque name: rules come from the served external model
    assert ext["serves"] == "anthropic:claude-opus-4-7" and ext["known"]
    assert ext["rejected_params"] == ["temperature", "top_p", "top_k"]
    assert ext["thinking"] == ["adaptive"] and ext["rules_from"].startswith("claude-opus-4-7")
    pt = rows["my-llama-pt"]
    assert pt["serves"] == "system.ai.meta_llama_v3_3_70b_instruct" and pt["family"] == "llama"
    oss = rows["databricks-gpt-oss-120b"]
    assert oss["multiple_tool_calls"] is False and "1 tool call/turn" in oss["rules"]
    assert rows["my-chat-agent"]["known"] is False and rows["my-chat-agent"]["rules"] == ""
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("my-claude "))
    assert "anthropic:claude-opus-4-7" in line and "no temperature/top_p/top_k" in line


def test_auth_pat_is_masked(pat_env, capsys):
    assert main(["auth"]) == 0
    out = capsys.readouterr().out
    assert pat_env.token not in out and pat_env.token[4:12] not in out
    assert "method:   pat" in out and pat_env.host in out
    assert "identity: emulator-user@databricks.local" in out
    assert "dapi********" in out


def test_auth_oauth_shows_expiry_without_secrets(oauth_env, capsys):
    assert main(["auth", "--json"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["method"] == "oauth-m2m" and info["oauth"] is True
    assert 3500 <= info["expires_in_seconds"] <= 3600
    assert info["identity"] == oauth_env.client_id
    assert oauth_env.client_secret not in captured.out + captured.err


def test_apps_chat_with_oauth(oauth_env, capsys):
    assert main(["chat", "--model", "apps/my-agent-app", "hello app"]) == 0
    assert 'You said: "hello app"' in capsys.readouterr().out


def _assert_clean_error(capsys, expect: str) -> str:
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and expect in lines[0]
    assert lines[1].startswith("hint: ")
    return err


def test_error_no_workspace_configured(capsys):
    assert main(["chat", "hi"]) == 1
    err = _assert_clean_error(capsys, "host")
    assert "databricks-llm emulate" in err


def test_error_wrong_token(emu, monkeypatch, capsys):
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi0123456789abcdef0123456789abcdef")
    assert main(["chat", "hi"]) == 1
    err = _assert_clean_error(capsys, "401")
    assert "dapi0123456789abcdef" not in err


def test_error_unknown_model_and_rate_limit(pat_env, capsys):
    assert main(["chat", "--model", "databricks-does-not-exist", "hi"]) == 1
    _assert_clean_error(capsys, "404")
    assert main(["chat", "--model", "databricks-meta-llama-3-3-70b-instruct+fault=429", "hi"]) == 1
    _assert_clean_error(capsys, "429")


def test_error_bad_tool_spec(pat_env, capsys):
    assert main(["chat", "--tool", "not json", "hi"]) == 1
    _assert_clean_error(capsys, "--tool")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "chat" in capsys.readouterr().err


def test_mask_never_shows_the_value():
    assert mask("Bearer dapiabcdef0123456789") == "dapi******** (20 chars)"
    assert "secret" not in mask("supersecretvalue")
    assert mask(None) == "(none)"


def test_emulate_prints_exports_and_serves():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "emulate", "--port", "0", "--token", "dapi-test-token"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert exports["DATABRICKS_TOKEN"] == "dapi-test-token"
        host = exports["DATABRICKS_HOST"]
        assert host.startswith("http://127.0.0.1:")
        r = httpx.post(
            host + "/serving-endpoints/chat/completions",
            json={"model": "databricks-gpt-5", "messages": [{"role": "user", "content": "ping"}]},
            headers={"Authorization": "Bearer dapi-test-token"},
        )
        assert r.status_code == 200 and "ping" in r.json()["choices"][0]["message"]["content"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_stream_broken_mid_way_ends_the_line_then_reports(pat_env, capsys):
    code = main(["chat", "--model", "databricks-gpt-oss-120b+fault=disconnect", "hi"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.startswith("thinking: ") and captured.out.endswith("\n")
    assert captured.err.startswith("error: ") and "mid-stream" in captured.err
    assert "Traceback" not in captured.err


def test_apps_with_pat_explains_oauth(pat_env, capsys):
    assert main(["chat", "--model", "apps/my-agent-app", "hi"]) == 1
    err = capsys.readouterr().err
    assert "OAuth" in err.splitlines()[0] and "databricks-llm auth" in err


@pytest.mark.parametrize(
    ("api", "path"),
    [("responses", "/serving-endpoints/open-responses"), ("chat", "/serving-endpoints/chat/completions")],
)
def test_chat_api_option_picks_the_surface(pat_env, capsys, api, path):
    code = main(["chat", "--api", api, "--reasoning-effort", "low", "Why is the sky blue?"])
    out = capsys.readouterr().out
    assert code == 0 and 'You said: "Why is the sky blue?"' in out
    assert out.startswith("thinking: ")
    (req,) = pat_env.requests
    assert req.path == path
