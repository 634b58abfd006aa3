"""``databricks-llm``: chat with a Databricks model, list models, check auth, run the emulator.

```
databricks-llm chat "Why is the sky blue?" --model databricks-claude-sonnet-4-5 --thinking-budget 2048
databricks-llm chat                      # interactive session (Ctrl-D to quit)
databricks-llm embed docs.txt -o vectors.jsonl   # embeddings, progress bar on a terminal
databricks-llm models                    # serving endpoints joined with the model registry
databricks-llm auth                      # resolved method, host, identity; token masked
databricks-llm emulate --port 8000       # local emulator; prints the variables to export
```

Errors print one line and a hint on stderr and exit non-zero; no traceback (set
``DATABRICKS_LLM_DEBUG=1`` to get one). No secret is ever printed (the emulator's own local
token is the one exception: ``emulate`` prints it so it can be exported).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from core import cli_agents

DEFAULT_MODEL = "databricks-claude-sonnet-4-5"
EXIT_ERROR = 1
EXIT_USAGE = 2

_NOT_CONFIGURED_HINT = (
    "configure a workspace: set DATABRICKS_HOST and DATABRICKS_TOKEN (or "
    "DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET), use --profile with ~/.databrickscfg, or "
    "try it locally with `databricks-llm emulate`."
)
_HINTS = {
    "ConfigurationError": "fix the configuration as described; `databricks-llm auth` shows the "
    "host and credentials that were resolved.",
    "AuthenticationError": "the credentials were refused: check the token or client secret (and "
    "that it has not expired); `databricks-llm auth` shows what was resolved.",
    "PermissionDeniedError": "the identity lacks permission (CAN_QUERY on the endpoint, CAN_USE "
    "on an app).",
    "NotFoundError": "check the model/endpoint name; `databricks-llm models` lists what exists.",
    "RateLimitError": "the endpoint is rate limited; retry later or lower concurrency.",
    "BadRequestError": "the endpoint refused the request; check the parameters for this model.",
    "ServerError": "the service failed; retry later.",
    "TimeoutError": "the request timed out; retry or raise the timeout.",
    "ConnectionError": "the host could not be reached; check DATABRICKS_HOST and the network.",
    "StreamError": "the stream broke off; retry.",
    "InvalidRequestError": "fix the request parameters.",
}


class _CliError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# ---------------------------------------------------------------------------------------------
# Output helpers
# ---------------------------------------------------------------------------------------------
class _Style:
    def __init__(self, stream: TextIO) -> None:
        isatty = getattr(stream, "isatty", lambda: False)()
        self.on = bool(isatty) and not os.environ.get("NO_COLOR")

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.on and text else text

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.on and text else text


def mask(secret: str | None) -> str:
    """A token reduced to something safe to print: its kind and length, never its value."""
    if not secret:
        return "(none)"
    value = secret.split(" ", 1)[1] if secret.lower().startswith("bearer ") else secret
    prefix = value[:4] if value.startswith(("dapi", "dose", "eyJ")) else ""
    return f"{prefix}{'*' * 8} ({len(value)} chars)"


def _settings_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {"adapter": "cli"}
    if getattr(args, "host", None):
        kw["host"] = args.host
    if getattr(args, "profile", None):
        kw["profile"] = args.profile
    if getattr(args, "timeout", None):
        kw["timeout"] = args.timeout
    if getattr(args, "proxy", None):
        kw["proxy"] = args.proxy
    if getattr(args, "ca_bundle", None):
        kw["verify"] = args.ca_bundle
    if getattr(args, "api", None):
        kw["api"] = args.api
    kw.update(cli_agents.agent_settings(args))
    return kw


# ---------------------------------------------------------------------------------------------
# chat
# ---------------------------------------------------------------------------------------------
def _parse_tool(spec: str) -> Any:
    try:
        raw = json.loads(spec)
    except ValueError:
        if os.path.exists(spec):
            with open(spec, encoding="utf-8") as fh:
                raw = json.load(fh)
        else:
            raise _CliError(
                f"--tool {spec!r} is neither JSON nor a file", "pass a JSON function spec"
            ) from None
    from core.errors import InvalidRequestError
    from core.params import tool_from_spec

    try:
        return tool_from_spec(raw)
    except InvalidRequestError as exc:
        raise _CliError(f"--tool {spec!r}: {exc.message}", exc.hint) from None


def _params(args: argparse.Namespace) -> Any:
    from core.types import GenerationParams

    return GenerationParams(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        reasoning_effort=args.reasoning_effort,
        thinking_budget=args.thinking_budget,
        tools=[_parse_tool(t) for t in args.tool] or None,
        **cli_agents.agent_params(args),
    )


def _response_json(resp: Any) -> dict[str, Any]:
    from core.types import ReasoningPart, ToolCallPart

    usage = None
    if resp.usage is not None:
        u = resp.usage
        usage = {
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "total_tokens": u.total_tokens,
            "reasoning_tokens": u.reasoning_tokens,
        }
    return {
        "model": resp.model,
        "id": resp.id,
        "text": resp.text,
        "reasoning": [
            {"text": p.text, "signed": p.signature is not None}
            for p in resp.parts
            if isinstance(p, ReasoningPart)
        ],
        "tool_calls": [
            {"id": p.id, "name": p.name, "arguments": _maybe_json(p.arguments)}
            for p in resp.parts
            if isinstance(p, ToolCallPart)
        ],
        "finish_reason": resp.finish_reason,
        "usage": usage,
        "agent_steps": cli_agents.steps_json(resp.parts),
        "custom_outputs": resp.extras.get("custom_outputs"),
    }


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _print_deltas(deltas: Any, acc: Any, style: _Style, out: TextIO, state: dict[str, Any]) -> None:
    from core.types import ReasoningDelta, ServerToolDelta, TextDelta

    for delta in deltas:
        mode = state["mode"]
        acc.add(delta)
        if isinstance(delta, ReasoningDelta) and delta.text:
            if mode != "reasoning":
                out.write(
                    style.dim("thinking: ") if mode is None else "\n" + style.dim("thinking: ")
                )
                state["mode"] = "reasoning"
            out.write(style.dim(delta.text))
        elif isinstance(delta, TextDelta) and delta.text:
            if mode == "reasoning":
                out.write("\n")
            state["mode"] = "text"
            out.write(delta.text)
        elif isinstance(delta, ServerToolDelta):  # a step the agent (or server) ran itself
            if mode is not None:
                out.write("\n")
            state["mode"] = None
            out.write(style.dim(cli_agents.step_line(delta.item)) + "\n")
        else:
            continue
        out.flush()


def _stream_turn(client: Any, messages: list[Any], params: Any, out: TextIO) -> Any:
    from core.accumulator import StreamAccumulator

    style = _Style(out)
    acc = StreamAccumulator()
    state: dict[str, Any] = {"mode": None}  # "reasoning" | "text" once something was printed
    try:
        _print_deltas(client.stream(messages, params), acc, style, out, state)
    except BaseException:
        if state["mode"] is not None:
            out.write("\n")  # end the partial line before the error goes to stderr
            out.flush()
        raise
    mode = state["mode"]
    resp = acc.response()
    if mode is not None:
        out.write("\n")
    for call in resp.tool_calls:
        out.write(style.bold(f"tool call: {call.name}({call.arguments})") + f"  [id {call.id}]\n")
    if resp.finish_reason == "length":
        out.write(style.dim("(stopped: max tokens reached)") + "\n")
    out.flush()
    return resp


def cmd_chat(args: argparse.Namespace) -> int:
    from core.client import DatabricksChatClient
    from core.types import Message, TextPart

    model = args.model or os.environ.get("DATABRICKS_MODEL") or DEFAULT_MODEL
    params = _params(args)
    out = sys.stdout
    prompt = " ".join(args.prompt) if args.prompt else None
    interactive = prompt is None and sys.stdin.isatty()
    if prompt is None and not interactive:
        prompt = sys.stdin.read().strip()
        if not prompt:
            raise _CliError("no prompt given", 'pass a prompt: databricks-llm chat "Hello"')
    messages: list[Any] = []
    if args.system:
        messages.append(Message("system", [TextPart(args.system)]))
    with DatabricksChatClient(model=model, **_settings_kwargs(args)) as client:
        if not interactive:
            assert prompt is not None
            messages.append(Message("user", [TextPart(prompt)]))
            if args.json:
                resp = client.complete(messages, params)
                json.dump(_response_json(resp), out, ensure_ascii=False, indent=2)
                out.write("\n")
            else:
                _stream_turn(client, messages, params, out)
            return 0
        style = _Style(out)
        out.write(
            style.dim(f"Chatting with {model} at {client.host}. Ctrl-D or /exit to quit.") + "\n"
        )
        while True:
            try:
                line = input("> ")
            except EOFError:
                out.write("\n")
                return 0
            line = line.strip()
            if not line:
                continue
            if line in ("/exit", "/quit"):
                return 0
            messages.append(Message("user", [TextPart(line)]))
            try:
                resp = _stream_turn(client, messages, params, out)
            except Exception as exc:
                messages.pop()
                _report(exc)
                continue
            messages.append(Message("assistant", list(resp.parts)))


# ---------------------------------------------------------------------------------------------
# models / auth
# ---------------------------------------------------------------------------------------------
def _transport(args: argparse.Namespace) -> tuple[Any, Any]:
    from core.auth import resolve_auth
    from core.settings import ClientSettings
    from core.transport import HttpTransport

    kw = _settings_kwargs(args)
    kw.pop("adapter", None)
    settings = ClientSettings(**kw)
    resolved = resolve_auth(settings)
    http = HttpTransport(
        auth=resolved.provider,
        timeout=settings.timeout,
        max_retries=1,
        adapter="cli",
        proxy=settings.proxy.get_secret_value() if settings.proxy is not None else None,
        verify=settings.verify,
    )
    http.allow_url(resolved.host)
    return resolved, http


def cmd_models(args: argparse.Namespace) -> int:
    from core.model_report import endpoint_row

    resolved, http = _transport(args)
    try:
        data = http.request_json("GET", f"{resolved.host}/api/2.0/serving-endpoints")
    finally:
        http.close()
    rows = [endpoint_row(ep) for ep in (data or {}).get("endpoints") or [] if isinstance(ep, dict)]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("No serving endpoints found.")
        return 0
    headers = ["NAME", "TASK", "STATE", "FAMILY", "REASONING", "CONTEXT", "INPUTS", "API"]
    headers += ["SERVES", "RULES"]
    table = [
        [
            r["name"],
            r["task"],
            r["state"],
            r["family"] or "-",
            r["reasoning"] or "-",
            str(r["context_window"] or "-"),
            r["inputs"] or "-",
            r["api"] or "-",
            r["serves"] or "-",
            r["rules"] or "-",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_auth(args: argparse.Namespace) -> int:
    from core.errors import DatabricksError

    resolved, http = _transport(args)
    provider = resolved.provider
    info: dict[str, Any] = {
        "host": resolved.host,
        "method": provider.method,
        "source": resolved.source,
        "oauth": bool(getattr(provider, "is_oauth", False)),
    }
    try:
        header = provider.header()
        info["token"] = mask(header)
        token_state = getattr(provider, "_token", None)
        expires_at = getattr(token_state, "expires_at", None)
        clock = getattr(provider, "_clock", time.monotonic)
        if expires_at is not None:
            info["expires_in_seconds"] = max(0, int(expires_at - clock()))
        try:
            me = http.request_json("GET", f"{resolved.host}/api/2.0/preview/scim/v2/Me")
            info["identity"] = (me or {}).get("userName") or (me or {}).get("displayName")
        except DatabricksError as exc:
            info["identity"] = None
            info["identity_error"] = str(exc).splitlines()[0]
    finally:
        http.close()
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"host:     {info['host']}")
    print(f"method:   {info['method']} (from {info['source']})")
    print(f"identity: {info.get('identity') or 'unknown'}")
    print(f"token:    {info['token']}")
    if "expires_in_seconds" in info:
        print(f"expires:  in {info['expires_in_seconds']} s")
    return 0


# ---------------------------------------------------------------------------------------------
# emulate
# ---------------------------------------------------------------------------------------------
def cmd_emulate(args: argparse.Namespace) -> int:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise _CliError(
            "the emulator needs aiohttp", "pip install 'databricks-llm-plugins[emulator]'"
        ) from None
    from core.emulator import serve_forever

    options: dict[str, Any] = {
        "host": args.bind,
        "port": args.port,
        "chunk_size": args.chunk_size,
        "chunk_delay": args.chunk_delay,
        "token_lifetime": args.token_lifetime,
        "record_requests": False,
    }
    if args.token:
        options["token"] = args.token
    # core/emulator/ratelimit.py
    options.update(rate_limit=args.rate_limit or None, latency=args.latency)
    if args.upstream:
        options["upstream"] = args.upstream
        options["upstream_model"] = args.upstream_model
        options["upstream_api_key"] = os.environ.get("EMULATOR_UPSTREAM_API_KEY")

    def ready(emu: Any) -> None:
        print(f"# Databricks emulator listening on {emu.host} (Ctrl-C to stop)")
        print(f"export DATABRICKS_HOST={emu.host}")
        print(f"export DATABRICKS_TOKEN={emu.token}")
        print(f"# OAuth M2M (needed for apps/<name>): DATABRICKS_CLIENT_ID={emu.client_id} "
              f"DATABRICKS_CLIENT_SECRET={emu.client_secret}")  # fmt: skip
        sys.stdout.flush()

    serve_forever(on_ready=ready, **options)
    return 0


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="databricks-llm", description="Databricks-hosted models from the command line."
    )
    sub = parser.add_subparsers(dest="command", metavar="{chat,embed,models,auth,batch,emulate}")

    def workspace(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="workspace URL (default: DATABRICKS_HOST or the profile)")
        p.add_argument("--profile", help="~/.databrickscfg profile (default: DEFAULT)")
        p.add_argument("--timeout", type=float, help="request timeout in seconds")
        p.add_argument("--proxy", help="proxy URL (default: HTTPS_PROXY/HTTP_PROXY, NO_PROXY)")
        p.add_argument("--ca-bundle", help="CA bundle (PEM) to verify TLS with (SSL_CERT_FILE)")
        p.add_argument("--json", action="store_true", help="machine-readable JSON output")

    chat = sub.add_parser("chat", help="one prompt, or an interactive session")
    chat.add_argument("prompt", nargs="*", help="the prompt (omit for an interactive session)")
    chat.add_argument(
        "--model", "-m", help=f"endpoint, UC name or apps/<name> (default {DEFAULT_MODEL})"
    )
    chat.add_argument(
        "--reasoning-effort", choices=["none", "minimal", "low", "medium", "high", "xhigh", "max"]
    )
    chat.add_argument(
        "--thinking-budget", type=int, help="Claude thinking budget in tokens (>= 1024)"
    )
    chat.add_argument("--max-tokens", type=int)
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--system", help="a system prompt")
    chat.add_argument(
        "--api",
        choices=["chat", "responses", "open-responses", "gemini"],
        help="wire format: chat completions (default), the Responses format (Open Responses "
        "for non-OpenAI models), or Gemini's native API through Unity AI Gateway",
    )
    chat.add_argument("--tool", action="append", default=[], metavar="JSON|FILE",
                      help="a function tool the model may call (repeatable); calls are shown")  # fmt: skip
    cli_agents.add_arguments(chat)
    workspace(chat)
    chat.set_defaults(func=cmd_chat)

    from core.cli_embed import add_parser as add_embed_parser

    add_embed_parser(sub, workspace)

    models = sub.add_parser("models", help="serving endpoints joined with the model registry")
    workspace(models)
    models.set_defaults(func=cmd_models)

    auth = sub.add_parser("auth", help="which auth method, host and identity were resolved")
    workspace(auth)
    auth.set_defaults(func=cmd_auth)

    from core.cli_batch import add_batch_parser  # batch: its own module

    add_batch_parser(sub, workspace)

    emulate = sub.add_parser("emulate", help="run the local Databricks emulator in the foreground")
    emulate.add_argument("--port", type=int, default=8000, help="port (0 = any free port)")
    emulate.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    emulate.add_argument("--token", help="the PAT to accept (default: generated)")
    emulate.add_argument("--chunk-size", type=int, default=16, help="characters per streamed delta")
    emulate.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between events")
    emulate.add_argument(
        "--token-lifetime", type=float, default=3600.0, help="OAuth token lifetime (s)"
    )
    emulate.add_argument("--rate-limit", type=float, metavar="N",
                         help="model calls per second per endpoint; 429 + Retry-After beyond")  # fmt: skip
    emulate.add_argument("--latency", type=float, default=0.0,
                         help="mean seconds per model call (0.5x-1.5x, uniform)")  # fmt: skip
    emulate.add_argument("--upstream", help="proxy mode: an OpenAI-compatible base URL (…/v1)")
    emulate.add_argument("--upstream-model", help="model name to send upstream")
    emulate.set_defaults(func=cmd_emulate)
    return parser


def _report(exc: BaseException) -> int:
    from core.errors import DatabricksError

    if isinstance(exc, _CliError):
        message, hint = exc.message, exc.hint
    elif isinstance(exc, DatabricksError):
        first = str(exc).splitlines()[0]
        message = first
        hint = exc.hint
        if (
            not hint
            and type(exc).__name__ == "ConfigurationError"
            and (
                "no databricks workspace host" in first.lower()
                or "no databricks credentials" in first.lower()
            )
        ):
            hint = _NOT_CONFIGURED_HINT
        if not hint:
            for cls in type(exc).__mro__:
                if cls.__name__ in _HINTS:
                    hint = _HINTS[cls.__name__]
                    break
    else:
        from core.errors import redact

        message = redact(f"unexpected {type(exc).__name__}: {exc}")
        hint = "set DATABRICKS_LLM_DEBUG=1 for a traceback, and please report it."
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("DATABRICKS_LLM_DEBUG"):
            raise
        return _report(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
