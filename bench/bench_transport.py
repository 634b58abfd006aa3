"""Which async transport should ``transport="auto"`` pick? Client CPU per call, measured.

Runs a canned chat-completions server (aiohttp, its own process, loopback) and drives
``DatabricksChatClient.acomplete`` / ``astream`` with ``transport="httpx"`` (httpx's own pool)
and ``transport="aiohttp"`` (aiohttp directly, ``core/transport/aiohttp_io.py``).
Each transport runs in a fresh process; figure = best of ``--repeats`` batches of
``time.process_time()`` (client process only) divided by calls.

Run: ``python bench/bench_transport.py [--calls 1000] [--repeats 3] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

SERVER = textwrap.dedent(
    """
    import json, sys
    from aiohttp import web
    BODY = json.dumps({"id": "c1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there!"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}).encode()
    def chunk(text, finish=None):
        c = {"id": "c1", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
        return b"data: " + json.dumps(c).encode() + b"\\n\\n"
    STREAM = b"".join(chunk(f"tok{i} ") for i in range(50)) + chunk("", "stop") + b"data: [DONE]\\n\\n"
    async def chat(request):
        body = await request.json()
        if body.get("stream"):
            return web.Response(body=STREAM, content_type="text/event-stream")
        return web.Response(body=BODY, content_type="application/json")
    app = web.Application()
    app.router.add_post("/serving-endpoints/chat/completions", chat)
    async def main():
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        print(port, flush=True)
        import asyncio
        await asyncio.Event().wait()
    import asyncio
    asyncio.run(main())
    """
)

CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from core.client import DatabricksChatClient
    from core.types import GenerationParams, Message, TextPart
    port, kind, calls, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    msgs = [Message("user", [TextPart("Say hello.")])]
    params = GenerationParams()
    async def main():
        c = DatabricksChatClient(model="databricks-meta-llama-3-3-70b-instruct",
                                 host=f"http://127.0.0.1:{port}", token="dapi-bench",
                                 transport=kind)
        await asyncio.gather(*(c.acomplete(msgs, params) for _ in range(200)))  # warm up
        best_conc = best_stream = best_seq = float("inf")
        wall = None
        for _ in range(repeats):
            t0, w0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(c.acomplete(msgs, params) for _ in range(calls)))
            cpu = (time.process_time() - t0) / calls
            if cpu < best_conc:
                best_conc, wall = cpu, time.perf_counter() - w0
            t0 = time.process_time()
            for _ in range(100):
                await c.acomplete(msgs, params)
            best_seq = min(best_seq, (time.process_time() - t0) / 100)
            t0 = time.process_time()
            for _ in range(50):
                async for _d in c.astream(msgs, params):
                    pass
            best_stream = min(best_stream, (time.process_time() - t0) / 50)
        await c.aclose()
        print(json.dumps({"transport": kind, "backend": c.http.async_backend,
                          "concurrent_cpu_ms_per_call": round(best_conc * 1000, 3),
                          "concurrent_wall_s": round(wall, 3),
                          "sequential_cpu_ms_per_call": round(best_seq * 1000, 3),
                          "stream_cpu_ms_per_call": round(best_stream * 1000, 3)}))
    asyncio.run(main())
    """
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        results = []
        for kind in ("httpx", "aiohttp"):
            out = subprocess.run(
                [sys.executable, "-c", CLIENT, port, kind, str(args.calls), str(args.repeats)],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                return 1
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        server.terminate()
        server.wait()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{'transport':10} {'conc. CPU/call':>15} {'conc. wall':>11} {'seq. CPU/call':>14}"
            f" {'stream CPU/call':>16}"
        )
        for r in results:
            print(
                f"{r['transport']:10} {r['concurrent_cpu_ms_per_call']:>13.3f}ms "
                f"{r['concurrent_wall_s']:>10.2f}s {r['sequential_cpu_ms_per_call']:>12.3f}ms "
                f"{r['stream_cpu_ms_per_call']:>14.3f}ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
