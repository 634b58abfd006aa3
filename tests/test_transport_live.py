"""Transport against a real loopback server, for both async backends (httpx, aiohttp).

respx cannot see the aiohttp transport, and it cannot show real socket behaviour: incremental
SSE delivery, a connection dropped mid-stream, several event loops sharing one client.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.auth.base import AuthProvider
from core.errors import ServerError, StreamInterruptedError
from core.transport import HttpTransport


class StaticAuth(AuthProvider):
    method = "static"

    def header(self):
        return "Bearer live-token"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    gate: threading.Event
    seen: list

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        self._send(200, b'{"ok": true}')

    def do_POST(self):
        self._body()
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/json":
            self._send(200, b'{"ok": true}')
        elif self.path == "/busy":
            self._send(503, b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}')
        elif self.path == "/sse-gated":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b"data: first\n\n")
            self.gate.wait(5)
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
        elif self.path == "/sse-drop":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"data: one\n\n")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
        elif self.path == "/redirect":
            port = self.server.server_address[1]
            self._send(307, b"", extra={"Location": f"http://localhost:{port}/json"})
        else:
            self._send(404, b"{}")

    def _chunk(self, data: bytes):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connects when 50 arrive at once on a busy machine,
    # which then look like connect timeouts: a test-server limit, not the client's behaviour.
    request_queue_size = 128


@pytest.fixture
def server():
    gate = threading.Event()
    seen: list = []
    handler = type("H", (Handler,), {"gate": gate, "seen": seen})
    srv = _Server(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield base, gate, seen
    gate.set()
    srv.shutdown()
    srv.server_close()


def transport(base, kind):
    t = HttpTransport(auth=StaticAuth(), kind=kind, timeout=10, max_retries=1)
    t.allow_url(base)

    async def nosleep(s):
        return None

    t.asleep = nosleep
    t.sleep = lambda s: None
    return t


BACKENDS = ["httpx", "aiohttp"]


@pytest.mark.parametrize("kind", BACKENDS)
def test_one_client_many_event_loops(server, kind):
    base, _, _ = server
    t = transport(base, kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):  # like LangChain's standard tests: a new loop per test
            assert asyncio.run(t.arequest_json("POST", f"{base}/json")) == {"ok": True}
        assert len(t._async) == 1  # clients of closed loops dropped
        t.close()
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


@pytest.mark.parametrize("kind", BACKENDS)
async def test_async_first_event_arrives_immediately(server, kind):
    base, gate, _ = server
    t = transport(base, kind)
    events = t.astream_events(f"{base}/sse-gated", content=b"{}")
    first = await asyncio.wait_for(events.__anext__(), 5)  # server holds the rest until gate
    assert first == "first"
    gate.set()
    assert [e async for e in events] == ["[DONE]"]
    await t.aclose()


def test_sync_first_event_arrives_immediately(server):
    base, gate, _ = server
    t = transport(base, "httpx")
    events = t.stream_events(f"{base}/sse-gated", content=b"{}")
    assert next(events) == "first"
    gate.set()
    assert list(events) == ["[DONE]"]
    t.close()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_async_mid_stream_drop(server, kind):
    base, _, seen = server
    t = transport(base, kind)
    got = []
    with pytest.raises(StreamInterruptedError):
        async for e in t.astream_events(f"{base}/sse-drop", content=b"{}"):
            got.append(e)
    assert got == ["one"]
    assert [p for p, _ in seen].count("/sse-drop") == 1  # never retried after data
    await t.aclose()


def test_sync_mid_stream_drop(server):
    base, _, seen = server
    t = transport(base, "httpx")
    with pytest.raises(StreamInterruptedError):
        list(t.stream_events(f"{base}/sse-drop", content=b"{}"))
    assert [p for p, _ in seen].count("/sse-drop") == 1
    t.close()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_async_retry_then_error(server, kind):
    base, _, seen = server
    t = transport(base, kind)
    with pytest.raises(ServerError) as err:
        await t.arequest("POST", f"{base}/busy")
    assert err.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert [p for p, _ in seen].count("/busy") == 2
    await t.aclose()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_async_cross_origin_redirect_drops_authorization(server, kind):
    base, _, seen = server
    t = transport(base, kind)
    await t.arequest("POST", f"{base}/redirect", content=b"{}")
    (first_path, first_headers), (second_path, second_headers) = seen[-2:]
    assert first_path == "/redirect" and first_headers.get("authorization") == "Bearer live-token"
    assert second_path == "/json" and "authorization" not in second_headers
    await t.aclose()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_concurrent_requests_share_one_client(server, kind):
    base, _, _ = server
    t = transport(base, kind)
    results = await asyncio.gather(*(t.arequest_json("GET", f"{base}/x") for _ in range(50)))
    assert results == [{"ok": True}] * 50
    assert len(t._async) == 1
    await t.aclose()


@pytest.mark.parametrize("kind", BACKENDS)
def test_asyncio_run_script_ends_without_unclosed_session_warnings(server, kind):
    """A script doing ``asyncio.run(...)`` once and exiting, never closing anything: the loop's
    client is closed at loop shutdown, so aiohttp prints no "Unclosed client session"."""
    import subprocess
    import sys
    import textwrap

    base, _, _ = server
    script = textwrap.dedent(
        f"""
        import asyncio
        from core.auth.base import AuthProvider
        from core.transport import HttpTransport

        class StaticAuth(AuthProvider):
            method = "pat"
            def header(self):
                return "Bearer x"
            async def aheader(self):
                return "Bearer x"

        t = HttpTransport(auth=StaticAuth(), kind={kind!r}, timeout=10, max_retries=0)
        t.allow_url({base!r})
        print(asyncio.run(t.arequest_json("POST", {base + "/json"!r})))
        """
    )
    out = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", script],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "{'ok': True}" in out.stdout
    assert "Unclosed" not in out.stderr, out.stderr
    assert "ResourceWarning" not in out.stderr, out.stderr
