"""One measurement of one implementation, in a fresh process (run by bench/run.py).

Usage: ``python bench/worker.py '<json spec>'``; prints one JSON line with the result.
The spec has ``impl``, ``measure`` and the measure's parameters; ``host`` is the load server.

This file must run under any interpreter (the project's venv and each peer's venv), so at module
level it imports only a few stdlib modules: the import-time measure starts from that baseline.
Everything else is imported lazily inside the implementation that needs it.

Measures:
* ``import``: wall time and resident-memory growth of the implementation's import statement.
* ``invoke``: client CPU (``time.process_time``) per non-streaming call, best batch of N calls.
* ``stream``: client CPU per 200-chunk streamed call, the consumer accumulating as a user would
  (LangChain: ``acc = acc + chunk``; LlamaIndex: keep the cumulative response, read its delta).
* ``first_chunk``: wall time from the server sending the first chunk (its text is the send
  time) to the caller getting it, against the server's first-chunk port.
* ``concurrent``: N concurrent async non-streaming calls: wall, client CPU per call, errors.
"""

from __future__ import annotations

import json
import os
import sys
import time

MODEL = "databricks-meta-llama-3-3-70b-instruct"
TOKEN = "dapi-bench-token"
PROMPT = "Say hello."
SYSTEM = "You are a helpful assistant."
ANSWER = "Hello! This is a canned answer from the benchmark load server."
N_CHUNKS = 200
STREAM_TEXT = "".join(f"tok{i} " for i in range(N_CHUNKS))
TOKENS = [f"tok{i} " for i in range(N_CHUNKS)]
_STAMP_FIRST = False  # no-I/O models: put the creation time in the first chunk


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -------------------------------------------------------------------------------------------
# Implementations. Each has: framework, import_stmt, dists (versions to report), and
# make(host) -> object with invoke() / stream() / stream_texts() / async ainvoke() / aclose().
# -------------------------------------------------------------------------------------------
class Impl:
    name = ""
    framework = ""  # "langchain" | "llamaindex" | "" (raw)
    import_stmt = ""
    dists: tuple[str, ...] = ()
    measures = ("import", "invoke", "stream", "first_chunk", "concurrent")

    def __init__(self, host: str) -> None:
        self.host = host

    async def aclose(self) -> None:
        return None


class LangChainImpl(Impl):
    framework = "langchain"
    model = None

    def _messages(self):
        from langchain_core.messages import HumanMessage, SystemMessage

        return [SystemMessage(SYSTEM), HumanMessage(PROMPT)]

    def invoke(self) -> str:
        return self.model.invoke(self._messages()).content

    def stream(self) -> str:
        acc = None
        for chunk in self.model.stream(self._messages()):
            acc = chunk if acc is None else acc + chunk
        return acc.content

    def stream_texts(self):
        for chunk in self.model.stream(self._messages()):
            yield chunk.content if isinstance(chunk.content, str) else chunk.text

    async def ainvoke(self) -> str:
        return (await self.model.ainvoke(self._messages())).content


class LlamaIndexImpl(Impl):
    framework = "llamaindex"
    llm = None

    def _messages(self):
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=PROMPT)]

    def invoke(self) -> str:
        return self.llm.chat(self._messages()).message.content

    def stream(self) -> str:
        last = None
        for response in self.llm.stream_chat(self._messages()):
            _ = response.delta  # a user prints the new piece...
            last = response  # ...and keeps the cumulative response
        return last.message.content

    def stream_texts(self):
        for response in self.llm.stream_chat(self._messages()):
            yield response.delta or ""

    async def ainvoke(self) -> str:
        return (await self.llm.achat(self._messages())).message.content


# --- floors ----------------------------------------------------------------------------------
def _body(stream: bool) -> dict:
    return {
        "model": MODEL,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}],
        "stream": stream,
    }


def _sse_text(lines) -> str:
    parts = []
    for line in lines:
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            break
        choices = json.loads(data)["choices"]
        if choices:
            text = choices[0]["delta"].get("content")
            if text:
                parts.append(text)
    return "".join(parts)


class RawHttpx(Impl):
    """The floor: httpx + json by hand, nothing else."""

    name = "httpx"
    import_stmt = "import httpx"
    dists = ("httpx",)

    def __init__(self, host: str) -> None:
        import httpx

        super().__init__(host)
        self.url = host + "/serving-endpoints/chat/completions"
        self.headers = {"Authorization": f"Bearer {TOKEN}"}
        self.client = httpx.Client(headers=self.headers)
        self._aclient = None

    def invoke(self) -> str:
        r = self.client.post(self.url, json=_body(False))
        r.raise_for_status()
        return r.json()["choices"][0]["message"]["content"]

    def stream(self) -> str:
        with self.client.stream("POST", self.url, json=_body(True)) as r:
            r.raise_for_status()
            return _sse_text(r.iter_lines())

    def stream_texts(self):
        with self.client.stream("POST", self.url, json=_body(True)) as r:
            for line in r.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    choices = json.loads(line[6:])["choices"]
                    if choices:
                        yield choices[0]["delta"].get("content") or ""

    def _async_client(self):
        import httpx

        return httpx.AsyncClient(headers=self.headers, timeout=60)

    async def ainvoke(self) -> str:
        if self._aclient is None:
            self._aclient = self._async_client()
        r = await self._aclient.post(self.url, json=_body(False))
        r.raise_for_status()
        return r.json()["choices"][0]["message"]["content"]

    async def aclose(self) -> None:
        if self._aclient is not None:
            await self._aclient.aclose()


class RawHttpxAiohttp(RawHttpx):
    """httpx's interface over an aiohttp transport (httpx-aiohttp): async calls only."""

    name = "httpx-aiohttp"
    import_stmt = "import httpx, httpx_aiohttp"
    dists = ("httpx", "httpx-aiohttp", "aiohttp")
    measures = ("import", "concurrent")

    def _async_client(self):
        import httpx_aiohttp

        return httpx_aiohttp.HttpxAiohttpClient(headers=self.headers, timeout=60)


class RawAiohttp(Impl):
    """The concurrency floor: aiohttp + json by hand (async calls only)."""

    name = "aiohttp"
    import_stmt = "import aiohttp"
    dists = ("aiohttp",)
    measures = ("import", "concurrent")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.url = host + "/serving-endpoints/chat/completions"
        self.session = None

    async def ainvoke(self) -> str:
        import aiohttp

        if self.session is None:
            self.session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=60),
            )
        async with self.session.post(self.url, json=_body(False)) as r:
            r.raise_for_status()
            data = await r.json()
        return data["choices"][0]["message"]["content"]

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


# --- framework overhead: chat models that do no I/O -------------------------------------------
class LangChainNoIO(LangChainImpl):
    """LangChain's own overhead: a BaseChatModel returning canned messages, no I/O."""

    name = "langchain-no-io"
    import_stmt = "from langchain_core.language_models import BaseChatModel"
    dists = ("langchain-core",)

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from langchain_core.language_models import BaseChatModel
        from langchain_core.messages import AIMessage, AIMessageChunk
        from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

        usage = {"input_tokens": 12, "output_tokens": 14, "total_tokens": 26}

        def result():
            msg = AIMessage(content=ANSWER, usage_metadata=usage,
                            response_metadata={"model_name": MODEL, "finish_reason": "stop"})
            return ChatResult(generations=[ChatGeneration(message=msg)])

        def chunks():
            for i, tok in enumerate(TOKENS):
                if i == 0 and _STAMP_FIRST:
                    tok = repr(time.time())
                extra = {"chunk_position": "last"} if i == N_CHUNKS - 1 else {}
                yield ChatGenerationChunk(message=AIMessageChunk(content=tok, **extra))

        class NoIOChatModel(BaseChatModel):
            @property
            def _llm_type(self) -> str:
                return "no-io"

            def _generate(self, messages, stop=None, run_manager=None, **kwargs):
                return result()

            async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
                return result()

            # BaseChatModel.stream() itself reports every chunk to the callbacks
            # (on_llm_new_token): a model's _stream only yields.
            def _stream(self, messages, stop=None, run_manager=None, **kwargs):
                yield from chunks()

            async def _astream(self, messages, stop=None, run_manager=None, **kwargs):
                for chunk in chunks():
                    yield chunk

        self.model = NoIOChatModel()

    def stream_texts(self):  # no server: the gap is the framework's own first-chunk latency
        global _STAMP_FIRST
        _STAMP_FIRST = True
        yield from super().stream_texts()


class LlamaIndexNoIO(LlamaIndexImpl):
    """LlamaIndex's own overhead: an LLM subclass returning canned responses, no I/O."""

    name = "llamaindex-no-io"
    import_stmt = "import llama_index.core"
    dists = ("llama-index-core",)

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from llama_index.core.base.llms.types import (
            ChatMessage,
            ChatResponse,
            CompletionResponse,
            LLMMetadata,
        )
        from llama_index.core.llms import LLM
        from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

        def response() -> ChatResponse:
            return ChatResponse(message=ChatMessage(role="assistant", content=ANSWER),
                                raw={"model": MODEL})

        def responses():
            text = ""
            for i, tok in enumerate(TOKENS):
                if i == 0 and _STAMP_FIRST:
                    tok = repr(time.time())
                text += tok
                yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta=tok)

        class NoIOLLM(LLM):
            @property
            def metadata(self) -> LLMMetadata:
                return LLMMetadata(is_chat_model=True, model_name="no-io")

            @llm_chat_callback()
            def chat(self, messages, **kwargs):
                return response()

            @llm_chat_callback()
            def stream_chat(self, messages, **kwargs):
                return responses()

            @llm_chat_callback()
            async def achat(self, messages, **kwargs):
                return response()

            @llm_chat_callback()
            async def astream_chat(self, messages, **kwargs):
                async def gen():
                    for r in responses():
                        yield r

                return gen()

            @llm_completion_callback()
            def complete(self, prompt, formatted=False, **kwargs):
                return CompletionResponse(text=ANSWER)

            @llm_completion_callback()
            def stream_complete(self, prompt, formatted=False, **kwargs):
                raise NotImplementedError

            @llm_completion_callback()
            async def acomplete(self, prompt, formatted=False, **kwargs):
                return CompletionResponse(text=ANSWER)

            @llm_completion_callback()
            async def astream_complete(self, prompt, formatted=False, **kwargs):
                raise NotImplementedError

        self.llm = NoIOLLM()

    def stream_texts(self):  # no server: the gap is the framework's own first-chunk latency
        global _STAMP_FIRST
        _STAMP_FIRST = True
        yield from super().stream_texts()


# --- perfect adapters: the framework's own model doing raw I/O (bench/perfect.py) --------------
class LangChainRaw(LangChainImpl):
    """The perfect LangChain adapter: a BaseChatModel doing raw httpx / aiohttp."""

    name = "langchain-raw"
    import_stmt = "from langchain_core.language_models import BaseChatModel; import httpx, aiohttp"
    dists = ("langchain-core", "httpx", "aiohttp")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from perfect import RawIO, langchain_model

        self.io = RawIO(host, TOKEN)
        self.model = langchain_model(self.io, MODEL)

    async def aclose(self) -> None:
        await self.io.aclose()


class LlamaIndexRaw(LlamaIndexImpl):
    """The perfect LlamaIndex adapter: an LLM doing raw httpx / aiohttp."""

    name = "llamaindex-raw"
    import_stmt = "import llama_index.core; import httpx, aiohttp"
    dists = ("llama-index-core", "httpx", "aiohttp")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from perfect import RawIO, llamaindex_llm

        self.io = RawIO(host, TOKEN)
        self.llm = llamaindex_llm(self.io, MODEL)

    async def aclose(self) -> None:
        await self.io.aclose()


# --- this project -----------------------------------------------------------------------------
class OursLangChain(LangChainImpl):
    name = "ours-langchain"
    import_stmt = "from langchain_plugin import ChatDatabricks"
    dists = ("databricks-llm-plugins", "langchain-core", "httpx", "aiohttp")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from langchain_plugin import ChatDatabricks

        self.model = ChatDatabricks(model=MODEL, host=host, token=TOKEN)


class OursLlamaIndex(LlamaIndexImpl):
    name = "ours-llamaindex"
    import_stmt = "from llamaindex_plugin import Databricks"
    dists = ("databricks-llm-plugins", "llama-index-core", "httpx", "aiohttp")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from llamaindex_plugin import Databricks

        self.llm = Databricks(model=MODEL, host=host, token=TOKEN)


# --- peers (each in its own venv) -------------------------------------------------------------
class PeerDatabricksLangChain(LangChainImpl):
    name = "databricks-langchain"
    import_stmt = "from databricks_langchain import ChatDatabricks"
    dists = ("databricks-langchain", "langchain-core", "openai", "databricks-sdk", "httpx")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from databricks_langchain import ChatDatabricks

        # Host and token come from the environment, as a user's would: DATABRICKS_HOST here (this
        # process only) and DATABRICKS_TOKEN (set by run.py), both for the loopback server.
        if not host.startswith("http://127.0.0.1:"):
            raise ValueError(f"the bench server must be on loopback, not {host}")
        os.environ["DATABRICKS_HOST"] = host
        self.model = ChatDatabricks(endpoint=MODEL)


class PeerLangChainOpenAI(LangChainImpl):
    name = "langchain-openai"
    import_stmt = "from langchain_openai import ChatOpenAI"
    dists = ("langchain-openai", "langchain-core", "openai", "httpx")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from langchain_openai import ChatOpenAI

        self.model = ChatOpenAI(model=MODEL, base_url=host + "/serving-endpoints", api_key=TOKEN)


class PeerLlamaIndexDatabricks(LlamaIndexImpl):
    name = "llama-index-llms-databricks"
    import_stmt = "from llama_index.llms.databricks import Databricks"
    dists = ("llama-index-llms-databricks", "llama-index-core", "llama-index-llms-openai",
             "openai", "httpx")

    def __init__(self, host: str) -> None:
        super().__init__(host)
        from llama_index.llms.databricks import Databricks

        self.llm = Databricks(model=MODEL, api_key=TOKEN, api_base=host + "/serving-endpoints")


IMPLS = {
    cls.name: cls
    for cls in (
        RawHttpx, RawHttpxAiohttp, RawAiohttp, LangChainNoIO, LlamaIndexNoIO, LangChainRaw,
        LlamaIndexRaw, OursLangChain,
        OursLlamaIndex, PeerDatabricksLangChain, PeerLangChainOpenAI, PeerLlamaIndexDatabricks,
    )
}


# -------------------------------------------------------------------------------------------
# Measures
# -------------------------------------------------------------------------------------------
def m_import(cls, spec) -> dict:
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    exec(cls.import_stmt, {})
    seconds = time.perf_counter() - t0
    return {"import_s": seconds, "rss_mb": _rss_mb() - rss0}


def _check(value: str, expected: str, what: str) -> None:
    if value != expected:
        raise AssertionError(f"{what}: unexpected result {value[:80]!r}")


def _cpu_per_call(fn, expected: str, n: int, batches: int, warmup: int) -> dict:
    for _ in range(warmup):
        _check(fn(), expected, "warm-up call")
    best = float("inf")
    walls = []
    for _ in range(batches):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        best = min(best, cpu / n)
        walls.append(wall / n)
    _check(fn(), expected, "last call")
    return {"cpu_ms": best * 1e3, "wall_ms": min(walls) * 1e3, "calls": n * batches}


def m_invoke(cls, spec) -> dict:
    impl = cls(spec["host"])
    return _cpu_per_call(impl.invoke, ANSWER, spec["n"], spec["batches"], spec["warmup"])


def m_stream(cls, spec) -> dict:
    impl = cls(spec["host"])
    return _cpu_per_call(impl.stream, STREAM_TEXT, spec["n"], spec["batches"], spec["warmup"])


def m_first_chunk(cls, spec) -> dict:
    impl = cls(spec["host"])
    gaps = []
    for _ in range(spec["n"] + 1):
        gap = None
        for text in impl.stream_texts():
            if gap is None and text:
                gap = time.time() - float(text)
        if gap is None:
            raise AssertionError("stream delivered no text")
        gaps.append(gap * 1e3)
    gaps = sorted(gaps[1:])  # the first one warms up the connection
    return {"median_ms": gaps[len(gaps) // 2], "max_ms": gaps[-1], "min_ms": gaps[0],
            "samples": len(gaps)}


def m_concurrent(cls, spec) -> dict:
    """``reps`` rounds of ``n`` concurrent calls in one event loop; the best round's wall and CPU
    are reported, errors are summed over all rounds."""
    import asyncio

    async def run() -> dict:
        impl = cls(spec["host"])
        n = spec["n"]
        rounds = []
        errors, first_error = 0, None
        try:
            for r in await asyncio.gather(*(impl.ainvoke() for _ in range(spec["warmup"]))):
                _check(r, ANSWER, "warm-up call")
            for _ in range(spec.get("reps", 1)):
                c0, w0 = time.process_time(), time.perf_counter()
                results = await asyncio.gather(*(impl.ainvoke() for _ in range(n)),
                                               return_exceptions=True)
                rounds.append((time.perf_counter() - w0, time.process_time() - c0))
                bad = [r for r in results if r != ANSWER]
                errors += len(bad)
                if bad and first_error is None:
                    first_error = repr(bad[0])[:300]
        finally:
            await impl.aclose()
        wall, cpu = min(rounds)
        out = {"wall_s": wall, "cpu_ms_per_call": cpu / n * 1e3, "calls_per_s": n / wall,
               "errors": errors, "calls": n, "rounds": len(rounds),
               "walls_s": [round(w, 4) for w, _ in rounds]}
        if first_error:
            out["first_error"] = first_error
        return out

    return asyncio.run(run())


MEASURES = {"import": m_import, "invoke": m_invoke, "stream": m_stream,
            "first_chunk": m_first_chunk, "concurrent": m_concurrent}


def versions(cls) -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in cls.dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def main() -> None:
    """argv[1]: {"impl": name, "measures": {measure: params, ...}} (import, if asked, runs first)."""
    spec = json.loads(sys.argv[1])
    cls = IMPLS[spec["impl"]]
    out: dict = {}
    for measure, params in spec["measures"].items():
        if measure not in cls.measures:
            continue
        try:
            out[measure] = MEASURES[measure](cls, params)
        except Exception as exc:  # reported in the results, not hidden
            import traceback

            out[measure] = {"error": f"{type(exc).__name__}: {exc}"[:500],
                            "traceback": traceback.format_exc()[-3000:]}
    out["versions"] = versions(cls)
    print("BENCH-RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
