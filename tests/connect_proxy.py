"""A small HTTP proxy on 127.0.0.1 for tests: CONNECT tunnels (https targets) and plain
forwarding (http targets), optional Basic proxy auth. Written here rather than taken from a
library: the candidates (pproxy, proxy.py) are unmaintained or heavy, and tests need to see
exactly what reached the proxy (targets, Proxy-Authorization)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections.abc import Iterator


class ConnectProxy:
    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.credentials = (
            base64.b64encode(f"{user}:{password}".encode()).decode() if user is not None else None
        )
        self.seen: list[tuple[str, str]] = []  # (method, target) of each proxied request
        self.refused = 0  # requests answered 407
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def targets(self) -> list[str]:
        return [target for _, target in self.seen]

    # -- serving ---------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if self.credentials is not None and headers.get("proxy-authorization") != (
            f"Basic {self.credentials}"
        ):
            self.refused += 1
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        self.seen.append((method, target))
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:  # absolute-form request for an http target: pass it on as it is
            rest = target.split("://", 1)[1].split("/", 1)[0]
            host, _, port = rest.partition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port or 80))
            up_writer.write(head)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def start(self) -> ConnectProxy:
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stop.wait()
            server.close()
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.contextmanager
def run_proxy(user: str | None = None, password: str | None = None) -> Iterator[ConnectProxy]:
    proxy = ConnectProxy(user, password).start()
    try:
        yield proxy
    finally:
        proxy.stop()
