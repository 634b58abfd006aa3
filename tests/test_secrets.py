"""Secrets never leak: not in repr/str, logs (every level, httpx/httpcore too), exception
messages, traceback locals, LangChain dumpd/dumps, LlamaIndex to_dict/to_json, or the CLI's
output. The Authorization header goes only to the workspace and to app URLs the workspace
returned; a redirect elsewhere drops it (a second loopback server plays the foreign host).
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any

import pytest

from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.errors import AuthenticationError, DatabricksError
from core.settings import ClientSettings
from core.types import GenerationParams, Message, TextPart

LLAMA = "databricks-meta-llama-3-3-70b-instruct"
MSGS = [Message("user", [TextPart("hi")])]
PARAMS = GenerationParams(max_tokens=4)


@pytest.fixture(scope="module")
def emu():
    with run_emulator() as e:
        yield e


def secrets_of(emu: Any, *extra: str) -> list[str]:
    """Every credential value in play: PAT, client secret, its Basic form, issued tokens."""
    basic = base64.b64encode(f"{emu.client_id}:{emu.client_secret}".encode()).decode()
    out = [emu.token, emu.client_secret, basic, *emu.state.oauth_tokens, *extra]
    return [s for s in out if s]


def assert_clean(text: str, secrets: list[str], where: str) -> None:
    for s in secrets:
        assert s not in text, f"a secret ({s[:6]}...) leaked into {where}"


# ---------------------------------------------------------------------------------------------
# repr / str
# ---------------------------------------------------------------------------------------------
def test_repr_and_str_of_every_object(emu):
    from langchain_plugin import ChatDatabricks
    from llamaindex_plugin import Databricks

    pat = DatabricksChatClient(model=LLAMA, host=emu.host, token=emu.token)
    m2m = DatabricksChatClient(
        model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=emu.client_secret
    )
    m2m.complete(MSGS, PARAMS)  # a token is issued and cached inside the provider
    tp = DatabricksChatClient(model=LLAMA, host=emu.host, token_provider=lambda: emu.token)
    lc_pat = ChatDatabricks(model=LLAMA, host=emu.host, api_key=emu.token)
    lc_m2m = ChatDatabricks(
        model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=emu.client_secret
    )
    li_pat = Databricks(model=LLAMA, host=emu.host, token=emu.token)
    li_m2m = Databricks(
        model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=emu.client_secret
    )
    settings = ClientSettings(model=LLAMA, host=emu.host, token=emu.token,
                              client_secret=emu.client_secret)  # fmt: skip
    objects: list[Any] = [
        settings, pat, m2m, tp, pat.auth, m2m.auth, tp.auth, pat.http, m2m.http,
        lc_pat, lc_m2m, lc_pat.client, li_pat, li_m2m, li_pat.client, emu,
    ]  # fmt: skip
    secrets = secrets_of(emu)
    for obj in objects:
        for text in (repr(obj), str(obj), format(obj)):
            assert_clean(text, secrets, f"repr/str of {type(obj).__name__}")
    # pydantic dumps of the settings (what people print or log)
    assert_clean(settings.model_dump_json(), secrets, "ClientSettings.model_dump_json")
    assert_clean(str(settings.model_dump()), secrets, "ClientSettings.model_dump")
    # LangChain / LlamaIndex pydantic dumps and repr of their fields
    assert_clean(str(lc_m2m.model_dump()), secrets, "ChatDatabricks.model_dump")
    assert_clean(str(li_m2m.model_dump()), secrets, "Databricks.model_dump")
    for c in (pat, m2m, tp):
        c.close()


# ---------------------------------------------------------------------------------------------
# Serialization through the frameworks
# ---------------------------------------------------------------------------------------------
def test_langchain_dumpd_and_dumps(emu):
    from langchain_core.load import dumpd, dumps

    from langchain_plugin import ChatDatabricks

    for kw in ({"api_key": emu.token},
               {"client_id": emu.client_id, "client_secret": emu.client_secret}):  # fmt: skip
        llm = ChatDatabricks(model=LLAMA, host=emu.host, **kw)
        text = dumps(llm) + str(dumpd(llm)) + dumps(llm, pretty=True)
        assert_clean(text, secrets_of(emu), "LangChain dumpd/dumps")
        assert '"secret"' in dumps(llm)  # secrets are referenced by env var name instead


def test_llamaindex_to_dict_and_to_json(emu):
    from llamaindex_plugin import Databricks

    for kw in ({"token": emu.token},
               {"client_id": emu.client_id, "client_secret": emu.client_secret}):  # fmt: skip
        llm = Databricks(model=LLAMA, host=emu.host, **kw)
        text = llm.to_json() + str(llm.to_dict()) + str(llm.dict())
        assert_clean(text, secrets_of(emu), "LlamaIndex to_dict/to_json")


# ---------------------------------------------------------------------------------------------
# Logs at every level, through a full call including an OAuth refresh
# ---------------------------------------------------------------------------------------------
@contextmanager
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    names = ["", "httpx", "httpcore", "core", "core.transport", "core.auth", "aiohttp",
             "langchain_plugin", "llamaindex_plugin", "asyncio"]  # fmt: skip
    levels = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        yield
    for n, lvl in levels.items():
        logging.getLogger(n).setLevel(lvl)


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for r in caplog.records:
        parts.append(r.getMessage())
        parts.append(repr(r.args))
        parts.append(repr(getattr(r, "__dict__", {})))
        if r.exc_info:
            parts.append("".join(traceback.format_exception(*r.exc_info)))
    return "\n".join(parts)


def test_logs_at_debug_never_carry_secrets(emu, caplog):
    from langchain_plugin import ChatDatabricks

    with all_logs(caplog):
        client = DatabricksChatClient(
            model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=emu.client_secret
        )
        client.complete(MSGS, PARAMS)
        list(client.stream(MSGS, PARAMS))
        emu.expire_tokens()  # the server now refuses the token: 401, refresh, retry
        client.complete(MSGS, PARAMS)

        async def go() -> None:
            await client.acomplete(MSGS, PARAMS)
            emu.expire_tokens()
            async for _ in client.astream(MSGS, PARAMS):
                pass
            await client.aclose()

        asyncio.run(go())
        emu.set_fault("503:1")
        try:
            ChatDatabricks(model=LLAMA, host=emu.host, api_key=emu.token).invoke("hi")
        finally:
            emu.set_fault(None)
        client.close()
    assert client.auth.fetch_count >= 3  # type: ignore[attr-defined]  # the refreshes happened
    assert any(r.name.startswith("httpx") for r in caplog.records)  # the loggers were on
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert_clean(_log_text(caplog), secrets_of(emu), "log records")


# ---------------------------------------------------------------------------------------------
# Exceptions: messages and traceback locals
# ---------------------------------------------------------------------------------------------
def _tb_text(exc: BaseException) -> str:
    """The traceback with every frame's locals, minus this test file's own frames (which hold
    the secrets as test data)."""
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__, capture_locals=True)
    out = [str(te)]
    while te is not None:
        for frame in te.stack:
            if frame.filename.endswith("test_secrets.py"):
                continue
            out.append(f"{frame.filename}:{frame.lineno} {frame.name} {frame.line}")
            out.extend(f"{k}={v}" for k, v in (frame.locals or {}).items())
        te = te.__cause__ or (None if te.__suppress_context__ else te.__context__)
    return "\n".join(out)


def _failures(emu: Any, wrong_pat: str, wrong_secret: str) -> Iterator[BaseException]:
    from llama_index.core.llms import ChatMessage

    from langchain_plugin import ChatDatabricks
    from llamaindex_plugin import Databricks

    calls = [
        # the server refuses a PAT (401)
        lambda: DatabricksChatClient(model=LLAMA, host=emu.host, token=wrong_pat).complete(
            MSGS, PARAMS
        ),
        lambda: list(
            DatabricksChatClient(model=LLAMA, host=emu.host, token=wrong_pat).stream(MSGS, PARAMS)
        ),
        # the token endpoint refuses the client secret
        lambda: DatabricksChatClient(
            model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=wrong_secret
        ).complete(MSGS, PARAMS),
        # a valid token, then a server error
        lambda: _with_fault(emu, "500", lambda: DatabricksChatClient(
            model=LLAMA, host=emu.host, token=emu.token, max_retries=0).complete(MSGS, PARAMS)),
        lambda: _with_fault(emu, "error_event", lambda: list(DatabricksChatClient(
            model=LLAMA, host=emu.host, client_id=emu.client_id, client_secret=emu.client_secret,
        ).stream(MSGS, PARAMS))),
        # a PAT for an Apps agent, refused at construction; invalid settings next to a secret
        lambda: DatabricksChatClient(model="apps/agent", host=emu.host, token=emu.token),
        lambda: ChatDatabricks(model="apps/agent", host=emu.host, api_key=emu.token),
        lambda: Databricks(model="apps/agent", host=emu.host, token=emu.token),
        lambda: DatabricksChatClient(model=LLAMA, host=emu.host, token=emu.token, timeout=-1),
        lambda: DatabricksChatClient(model=LLAMA, host="http://example.com",
                                     client_id=emu.client_id, client_secret=emu.client_secret),
        # through the adapters
        lambda: ChatDatabricks(model=LLAMA, host=emu.host, api_key=wrong_pat).invoke("hi"),
        lambda: Databricks(model=LLAMA, host=emu.host, client_id=emu.client_id,
                           client_secret=wrong_secret).chat([ChatMessage(role="user", content="x")]),
        lambda: _with_fault(emu, "500", lambda: ChatDatabricks(
            model=LLAMA, host=emu.host, api_key=emu.token, max_retries=0).invoke("hi")),
    ]  # fmt: skip
    for call in calls:
        try:
            call()
        except DatabricksError as exc:
            yield exc
        else:  # pragma: no cover - every call above must fail
            raise AssertionError("expected a failure")


def _with_fault(emu: Any, fault: str, fn: Any) -> Any:
    emu.set_fault(fault)
    try:
        return fn()
    finally:
        emu.set_fault(None)


def test_exception_messages_and_traceback_locals(emu):
    wrong_pat = "dapi" + "0badc0de" * 4
    wrong_secret = "dose" + "5ec2e7" * 5
    secrets = secrets_of(emu, wrong_pat, wrong_secret)
    seen = 0
    for exc in _failures(emu, wrong_pat, wrong_secret):
        seen += 1
        where = f"{type(exc).__name__}: {str(exc)[:60]}"
        assert_clean(str(exc) + repr(exc) + repr(exc.args) + repr(vars(exc)), secrets, where)
        assert_clean(_tb_text(exc), secrets, f"traceback locals of {where}")
    assert seen == 13


def test_server_echoing_a_token_is_redacted():
    """A server that echoes the credential in its error text does not get it into ours."""
    token = "dapi" + "ab12" * 8
    err = AuthenticationError(f"token {token} is invalid; header was 'Bearer {token}'")
    assert token not in str(err) and token not in repr(err)


# ---------------------------------------------------------------------------------------------
# The CLI's output
# ---------------------------------------------------------------------------------------------
def _cli(cli: Any, argv: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main(argv)
        except SystemExit:
            pass
        except Exception as exc:  # an uncaught error is output too (with its locals)
            err.write(str(exc) + _tb_text(exc))
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("creds", ["pat", "m2m", "wrong-secret", "wrong-pat"])
def test_cli_output_never_shows_secrets(emu, monkeypatch, creds):
    from core import cli

    wrong = "dose" + "c1c1" * 8 if creds == "wrong-secret" else "dapi" + "c1c1" * 8
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    if creds in ("m2m", "wrong-secret"):
        monkeypatch.setenv("DATABRICKS_CLIENT_ID", emu.client_id)
        secret = emu.client_secret if creds == "m2m" else wrong
        monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", secret)
    else:
        monkeypatch.setenv("DATABRICKS_TOKEN", emu.token if creds == "pat" else wrong)
    outputs = [
        _cli(cli, argv)
        for argv in (["--help"], ["chat", "--help"], ["auth"], ["auth", "--json"], ["models"],
                     ["models", "--json"], ["chat", "-m", LLAMA, "hello"],
                     ["chat", "-m", LLAMA, "--json", "hello"], ["chat", "-m", "apps/agent", "hi"])
    ]  # fmt: skip
    text = "\n".join(outputs)
    if creds in ("pat", "m2m"):
        assert "You said" in text  # the CLI really talked to the emulator
    assert_clean(text, secrets_of(emu, wrong), f"CLI output ({creds})")


# ---------------------------------------------------------------------------------------------
# Where the Authorization header may go
# ---------------------------------------------------------------------------------------------
class Recorder:
    """A tiny loopback HTTP server in its own thread: records headers, answers by path."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str, str | None]] = []  # (method, path, Authorization)
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        await request.read()
        self.seen.append((request.method, request.path, request.headers.get("Authorization")))
        route = self.routes.get(request.path)
        if route is None:
            return web.json_response({"error_code": "NOT_FOUND", "message": "no"}, status=404)
        return route(request)

    def __enter__(self) -> Recorder:
        from aiohttp import web

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _completion(_request: Any) -> Any:
    from aiohttp import web

    return web.json_response({
        "id": "c1", "object": "chat.completion", "model": LLAMA,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "from afar"},
                     "finish_reason": "stop"}],
    })  # fmt: skip


def _sse(_request: Any) -> Any:
    from aiohttp import web

    chunk = ('{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
             '"delta":{"content":"from afar"},"finish_reason":"stop"}]}')  # fmt: skip
    return web.Response(text=f"data: {chunk}\n\ndata: [DONE]\n\n", content_type="text/event-stream")


def _redirect_to(target: str) -> Any:
    def handler(request: Any) -> Any:
        from aiohttp import web

        return web.Response(status=307, headers={"Location": target + request.path})

    return handler


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
def test_redirect_to_another_host_drops_authorization(mode):
    token = "dapi" + "feed" * 8
    path = "/serving-endpoints/chat/completions"
    with Recorder({path: _sse if "stream" in mode else _completion}) as foreign:
        with Recorder({path: _redirect_to(foreign.url)}) as workspace:
            client = DatabricksChatClient(model=LLAMA, host=workspace.url, token=token)
            if mode == "sync":
                text = client.complete(MSGS, PARAMS).text
            elif mode == "stream":
                text = "".join(getattr(d, "text", "") for d in client.stream(MSGS, PARAMS))
            else:

                async def go() -> str:
                    try:
                        if mode == "async":
                            return (await client.acomplete(MSGS, PARAMS)).text
                        return "".join(
                            [getattr(d, "text", "") async for d in client.astream(MSGS, PARAMS)]
                        )
                    finally:
                        await client.aclose()

                text = asyncio.run(go())
            client.close()
    assert text == "from afar"  # the redirect was followed...
    assert workspace.seen == [("POST", path, f"Bearer {token}")]  # ...the workspace got it
    assert foreign.seen == [("POST", path, None)]  # ...the foreign host did not


def test_authorization_goes_to_the_app_url_the_workspace_returned_only(emu):
    """An app on another origin (as the workspace said) gets the token; a redirect from the
    app to a third origin does not."""
    from aiohttp import web

    with Recorder({"/agent/responses": _redirect_to("")}) as third, \
            Recorder({}) as app:  # fmt: skip
        app.routes["/agent/responses"] = lambda r: web.Response(
            status=307, headers={"Location": third.url + "/agent/responses"}
        )
        third.routes["/agent/responses"] = lambda r: web.json_response({
            "id": "resp_1", "object": "response", "status": "completed", "model": "agent",
            "output": [{"type": "message", "id": "m1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "hello", "annotations": []}]}],
        })  # fmt: skip

        with Recorder({}) as workspace:
            workspace.routes["/api/2.0/apps/agent"] = lambda r: web.json_response(
                {"name": "agent", "url": app.url + "/agent"}
            )
            client = DatabricksChatClient(
                model="apps/agent", host=workspace.url, token_provider=lambda: "oauth-tok-123456"
            )
            assert client.complete(MSGS, GenerationParams()).text == "hello"
            client.close()
    assert workspace.seen == [("GET", "/api/2.0/apps/agent", "Bearer oauth-tok-123456")]
    assert app.seen == [("POST", "/agent/responses", "Bearer oauth-tok-123456")]
    assert third.seen == [("POST", "/agent/responses", None)]
