"""A local Databricks model-serving emulator: a real aiohttp server on 127.0.0.1.

```python
from core.emulator import run_emulator

with run_emulator(chunk_size=8) as emu:
    emu.host, emu.token                 # "http://127.0.0.1:PORT", a valid PAT
    emu.client_id, emu.client_secret    # OAuth M2M credentials for /oidc/v1/token
    emu.requests                        # RecordedRequest(method, path, query, headers, json)
    emu.set_fault("429:2")              # every request: the first two get 429
```

Needs the ``emulator`` extra (aiohttp); importing this package is cheap, aiohttp loads when a
server starts. See :class:`core.emulator.server.EmulatorOptions` for every option and
``server.FAULT_NAMES`` for faults (header ``X-Emulator-Fault`` or model suffix ``+fault=``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from core.emulator.ratelimit import RateLimitStats
    from core.emulator.server import EmulatorOptions, EmulatorState, RecordedRequest

__all__ = ["Emulator", "arun_emulator", "run_emulator", "serve_forever"]


def _options(kwargs: dict[str, Any]) -> EmulatorOptions:
    from core.emulator.server import EmulatorOptions

    known = {f.name for f in fields(EmulatorOptions)}
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(f"unknown emulator option(s): {', '.join(sorted(unknown))}")
    return EmulatorOptions(**kwargs)


class Emulator:
    """A running emulator. Create it with :func:`run_emulator` / :func:`arun_emulator`."""

    def __init__(self, **options: Any) -> None:
        from core.emulator.server import EmulatorApp, EmulatorState

        self.state: EmulatorState = EmulatorState(_options(options))
        self._app = EmulatorApp(self.state)
        self._runner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- public surface ------------------------------------------------------------------------
    @property
    def options(self) -> EmulatorOptions:
        return self.state.options

    @property
    def host(self) -> str:
        scheme = "https" if self.options.ssl_context is not None else "http"
        return f"{scheme}://{self.options.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.host

    @property
    def token(self) -> str:
        return self.state.options.token

    @property
    def client_id(self) -> str:
        return self.state.options.client_id

    @property
    def client_secret(self) -> str:
        return self.state.options.client_secret

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    @property
    def token_requests(self) -> int:
        """How many OAuth tokens /oidc/v1/token issued."""
        return self.state.token_requests

    @property
    def rate_limit_stats(self) -> RateLimitStats:
        """Model calls admitted and refused (429) by the ``rate_limit`` option."""
        return self._app.rate.stats

    def app_url(self, name: str) -> str:
        return f"{self.host}/apps-proxy/{name}"

    def set_fault(self, fault: str | None) -> None:
        """Apply a fault to every request (``None`` to clear); resets ``:N`` counters."""
        self.state.options.fault = fault
        self.state.fault_counts.clear()

    def reset_faults(self) -> None:
        self.state.fault_counts.clear()

    def expire_tokens(self) -> None:
        """Make every OAuth token issued so far expired (tests of refresh)."""
        for token in list(self.state.oauth_tokens):
            self.state.oauth_tokens[token] = 0.0

    def clear_requests(self) -> None:
        self.state.requests.clear()

    def configure(self, **options: Any) -> None:
        """Change options on the running server (chunk_size, chunk_delay, usage_mode...)."""
        for key, value in options.items():
            if not hasattr(self.state.options, key):
                raise TypeError(f"unknown emulator option: {key}")
            setattr(self.state.options, key, value)

    # -- lifecycle -----------------------------------------------------------------------------
    async def astart(self) -> Emulator:
        from aiohttp import web

        self._app.add_catch_all()
        runner = web.AppRunner(self._app.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner,
            self.options.host,
            self.options.port,
            backlog=4096,
            reuse_address=True,
            ssl_context=self.options.ssl_context,
        )
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        self.state.base_url = self.host
        self._runner = runner
        return self

    async def astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> Emulator:
        """Start in a background thread with its own event loop."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.astop())
                loop.close()

        self._thread = threading.Thread(target=run, name="databricks-emulator", daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None
            self._loop = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never shows the token
        return f"Emulator(host={self.host!r})"


@contextlib.contextmanager
def run_emulator(**options: Any) -> Iterator[Emulator]:
    """Run the emulator in a background thread for the duration of the ``with`` block."""
    emu = Emulator(**options).start()
    try:
        yield emu
    finally:
        emu.stop()


@contextlib.asynccontextmanager
async def arun_emulator(**options: Any) -> AsyncIterator[Emulator]:
    """Run the emulator on the current event loop (inside async tests).

    Clients used against it must be async too: a blocking call in the same loop would wait on a
    server that cannot run. Use :func:`run_emulator` for sync code.
    """
    emu = Emulator(**options)
    await emu.astart()
    try:
        yield emu
    finally:
        await emu.astop()


def serve_forever(*, on_ready: Any = None, **options: Any) -> None:
    """Run the emulator in the foreground until interrupted (the CLI's ``emulate``)."""

    async def main() -> None:
        import signal

        emu = Emulator(**options)
        await emu.astart()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # also when started in the background, where SIGINT is ignored by default
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        if on_ready is not None:
            on_ready(emu)
        try:
            await stop.wait()
        finally:
            await emu.astop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
