"""``DatabricksEmbeddingsClient``: one configured Databricks embedding model, framework-neutral.

Same settings, auth, transport, retries and typed errors as the chat client
(:mod:`core.connection`); route from :func:`core.endpoints.resolve_embeddings_route`, wire JSON
and input rules from :mod:`core.codecs.embeddings`, limits from
:mod:`core.embedding_registry`.

``embed(texts)`` checks every input first (non-strings, inputs surely over the model's token
limit: a typed error naming the item, nothing sent), splits the list into batches within the
endpoint's limits, sends up to ``max_concurrency`` batches at a time (threads for ``embed``,
one event loop for ``aembed``; every attempt also passes the endpoint's adaptive limiter shared
by the process, :mod:`core.limiter`, which backs off on 429s) and returns the vectors in input order whatever order the
answers arrive in, with the usage summed. An empty list returns at once without a request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from core.auth import AuthProvider
from core.codecs.embeddings import (
    EmbeddingBatch,
    EmbeddingResult,
    EmbeddingUsage,
    build_request,
    check_inputs,
    check_params,
    parse_response,
    plan_batches,
)
from core.connection import encode_json, hide_secrets, open_connection, settings_from
from core.embedding_registry import EmbeddingModelInfo, lookup_embedding_model
from core.endpoints import Route, resolve_embeddings_route
from core.errors import ConfigurationError, InvalidRequestError
from core.settings import ClientSettings

if TYPE_CHECKING:  # pragma: no cover
    from core.limiter import AdaptiveLimiter

__all__ = ["DatabricksEmbeddingsClient", "EmbeddingResult", "EmbeddingUsage", "Progress"]

# Workers per call when no max_concurrency is set: the shared adaptive limiter (which starts at
# 8 attempts in flight and grows while the endpoint keeps up) decides how many really go out.
DEFAULT_CONCURRENCY = 16
MAX_THREADS = 256  # the pool's ceiling; a call uses at most its concurrency
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
# (inputs done so far, inputs in this call): called after each batch, from one thread at a time
Progress = Callable[[int, int], None]


class DatabricksEmbeddingsClient:
    """Embed texts with one Databricks embedding endpoint: ``embed`` / ``aembed``.

    ``batch_size`` caps inputs per request (default: the registry's ``max_batch`` for the
    model); ``max_concurrency`` caps requests in flight (also the settings' client cap, as on the
    chat client); the attribute sets the workers of later calls and may be lowered at any time;
    ``params`` are extra body fields sent with every request (``instruction``, ``dimensions``).
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        batch_size: int | None = None,
        max_concurrency: int | None = None,
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        hide_secrets(kwargs)
        if max_concurrency is not None:
            kwargs["max_concurrency"] = _positive("max_concurrency", max_concurrency)
        self.settings: ClientSettings = settings_from(settings, kwargs)
        s = self.settings
        if not s.model:
            raise ConfigurationError(
                "no model given: pass model='<embedding endpoint name>' (e.g. "
                "'databricks-gte-large-en') or a Unity Catalog name ('system.ai.gte-large-en')"
            )
        self.model: str = s.model
        if s.use_responses_api or s.api is not None:
            raise ConfigurationError(
                "api/use_responses_api choose a chat wire format; embeddings have one "
                "(input -> vectors): leave them unset"
            )
        self.info: EmbeddingModelInfo = lookup_embedding_model(s.model)
        _refuse_chat_model(s.model, self.info)
        self.route: Route = resolve_embeddings_route(
            s.model, host="", endpoint_kind=s.endpoint_kind, base_url=s.base_url
        )  # checked before credentials are looked for; rebuilt with the host below
        conn = self._conn = open_connection(s)
        self.host: str = conn.host
        self.auth: AuthProvider = conn.auth
        self.auth_source: str = conn.auth_source
        self.http = conn.http
        self.route = resolve_embeddings_route(
            s.model, host=self.host, endpoint_kind=s.endpoint_kind, base_url=conn.base_url
        )
        self.batch_size: int = _positive(
            "batch_size", self.info.max_batch if batch_size is None else batch_size
        )
        self.max_concurrency: int = s.max_concurrency or DEFAULT_CONCURRENCY
        self.params: dict[str, Any] = dict(params or {})
        check_params(self.params, self.info)
        # Databricks' OpenAI-compatible serving route takes encoding_format="base64" (the
        # openai client sends it by default, as in Databricks' own examples): 4 bytes per float,
        # and decoding it costs a fraction of parsing 1,024 JSON numbers. Elsewhere (AI Gateway,
        # /invocations, a foreign base_url) it is not documented or not ours to assume: floats,
        # unless params ask. The codec reads both.
        self._wire: dict[str, Any] = (
            {"encoding_format": "base64"} if self.route.kind == "serving" else {}
        )
        self._body_model = self.route.body_model
        self._threads: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- introspection ---------------------------------------------------------------------
    @property
    def auth_method(self) -> str:
        return self.auth.method

    def __repr__(self) -> str:
        route = getattr(self, "route", None)
        auth = getattr(self, "auth", None)
        return (
            f"DatabricksEmbeddingsClient(model={getattr(self, 'model', None)!r}, "
            f"host={getattr(self, 'host', None)!r}, route={route.kind if route else None}, "
            f"auth={auth.method if auth else None})"
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> DatabricksEmbeddingsClient:
        return self._copy()

    def __copy__(self) -> DatabricksEmbeddingsClient:
        return self._copy()

    def _copy(self) -> DatabricksEmbeddingsClient:
        twin = type(self)(self.settings, batch_size=self.batch_size, params=self.params)
        twin.max_concurrency = self.max_concurrency
        return twin

    @property
    def limiter(self) -> AdaptiveLimiter | None:
        """The endpoint's shared adaptive limiter (``.state()`` for logs), None when off."""
        return self._conn.limiter

    # -- one request -----------------------------------------------------------------------
    def _body(self, texts: Sequence[str], params: Mapping[str, Any] | None) -> bytes:
        merged = {**self._wire, **self.params, **(params or {})}
        return encode_json(build_request(texts, model=self._body_model, params=merged))

    def _send(self, texts: Sequence[str], params: Mapping[str, Any] | None) -> EmbeddingBatch:
        content = self._body(texts, params)
        data = self.http.request_json("POST", self.route.url, content=content, headers=_HEADERS)
        return parse_response(data, len(texts))

    async def _asend(
        self, texts: Sequence[str], params: Mapping[str, Any] | None
    ) -> EmbeddingBatch:
        content = self._body(texts, params)
        data = await self.http.arequest_json(
            "POST", self.route.url, content=content, headers=_HEADERS
        )
        return parse_response(data, len(texts))

    # -- public API ------------------------------------------------------------------------
    def prepare(
        self,
        texts: Any,
        batch_size: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> tuple[list[str], list[tuple[int, int]]]:
        """The checked inputs and their batches: what ``embed`` would send, without sending."""
        if params:
            check_params(params, self.info)
        items = check_inputs(texts, self.info)
        size = _positive("batch_size", self.batch_size if batch_size is None else batch_size)
        return items, plan_batches(items, size)

    def _plan(
        self,
        texts: Any,
        params: Mapping[str, Any] | None,
        batch_size: int | None,
        concurrency: int | None,
        on_progress: Progress | None,
    ) -> _Call:
        items, spans = self.prepare(texts, batch_size, params)
        limit = self.max_concurrency if concurrency is None else concurrency
        workers = min(_positive("concurrency", limit), len(spans))
        return _Call(items, spans, params, workers, _Reporter(on_progress, len(items)))

    def embed(
        self,
        texts: Sequence[str],
        *,
        params: Mapping[str, Any] | None = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        on_progress: Progress | None = None,
    ) -> EmbeddingResult:
        """Vectors for ``texts`` in order; requests run on up to ``concurrency`` threads."""
        call = self._plan(texts, params, batch_size, concurrency, on_progress)

        def run(n: int) -> None:
            start, end = call.spans[n]
            call.done(n, self._send(call.items[start:end], call.params))

        if call.workers <= 1:
            for n in range(len(call.spans)):
                run(n)
        else:
            self._run_threads(run, len(call.spans), call.workers)
        return _merge(call.results, self.model)

    def _run_threads(self, run: Callable[[int], None], count: int, workers: int) -> None:
        """``run(0..count-1)`` on ``workers`` threads of the client's pool, each pulling the
        next batch number; the first error stops the others after their current batch and is
        raised. The pool's threads are reused across calls (starting 16 threads per call cost
        more than the rest of a 1,000-text call)."""
        pending = iter(range(count))
        lock = threading.Lock()
        failed = threading.Event()

        def loop() -> None:
            while not failed.is_set():
                with lock:
                    n = next(pending, None)
                if n is None:
                    return
                try:
                    run(n)
                except BaseException:
                    failed.set()
                    raise

        futures = [self._pool().submit(loop) for _ in range(workers)]
        wait(futures)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error

    def _pool(self) -> ThreadPoolExecutor:
        pool = self._threads
        if pool is None:
            with self._pool_lock:
                pool = self._threads
                if pool is None:
                    # Threads start only as calls need them and stay for the next call.
                    pool = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="databricks-embed")
                    self._threads = pool
        return pool

    async def aembed(
        self,
        texts: Sequence[str],
        *,
        params: Mapping[str, Any] | None = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        on_progress: Progress | None = None,
    ) -> EmbeddingResult:
        """Vectors for ``texts`` in order; up to ``concurrency`` requests in flight."""
        call = self._plan(texts, params, batch_size, concurrency, on_progress)
        pending = iter(range(len(call.spans)))

        async def worker() -> None:
            # a fixed set of workers pulling batch numbers: bounded, and no task per batch
            for n in pending:
                start, end = call.spans[n]
                call.done(n, await self._asend(call.items[start:end], call.params))

        if call.workers == 1:
            await worker()
        elif call.workers > 1:
            tasks = [asyncio.ensure_future(worker()) for _ in range(call.workers)]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
        return _merge(call.results, self.model)

    def embed_one(self, text: str, *, params: Mapping[str, Any] | None = None) -> list[float]:
        return self.embed([text], params=params).vectors[0]

    async def aembed_one(
        self, text: str, *, params: Mapping[str, Any] | None = None
    ) -> list[float]:
        return (await self.aembed([text], params=params)).vectors[0]

    def _stop_threads(self) -> None:
        pool, self._threads = self._threads, None
        if pool is not None:
            pool.shutdown(wait=False)

    def close(self) -> None:
        self._stop_threads()
        self.http.close()

    async def aclose(self) -> None:
        self._stop_threads()
        await self.http.aclose()

    def __enter__(self) -> DatabricksEmbeddingsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> DatabricksEmbeddingsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Call:
    """One ``embed``/``aembed`` call: checked inputs, their batches, answers by batch number."""

    __slots__ = ("items", "params", "report", "results", "spans", "workers")

    def __init__(
        self,
        items: list[str],
        spans: list[tuple[int, int]],
        params: Mapping[str, Any] | None,
        workers: int,
        report: _Reporter,
    ) -> None:
        self.items, self.spans, self.params, self.workers = items, spans, params, workers
        self.report = report
        self.results: list[EmbeddingBatch | None] = [None] * len(spans)

    def done(self, n: int, batch: EmbeddingBatch) -> None:
        self.results[n] = batch
        start, end = self.spans[n]
        self.report(end - start)


class _Reporter:
    """Counts finished inputs and calls the progress callback, one thread at a time."""

    __slots__ = ("callback", "done", "lock", "total")

    def __init__(self, callback: Progress | None, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0
        self.lock = threading.Lock()

    def __call__(self, n: int) -> None:
        if self.callback is None:
            return
        with self.lock:
            self.done += n
            self.callback(self.done, self.total)


def _merge(results: list[EmbeddingBatch | None], model: str) -> EmbeddingResult:
    vectors: list[list[float]] = []
    usage: EmbeddingUsage | None = None
    answered_model: str | None = None
    for batch in results:
        assert batch is not None  # every batch ran, or embed raised
        vectors.extend(batch.vectors)
        if batch.usage is not None:
            usage = batch.usage if usage is None else usage + batch.usage
        answered_model = answered_model or batch.model
    return EmbeddingResult(vectors, usage, answered_model or model, len(results))


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a positive integer, got {value!r}")
    return value


def _refuse_chat_model(model: str, info: EmbeddingModelInfo) -> None:
    """A name the chat registry knows (and the embedding registry does not) is a chat model:
    say so now rather than let the endpoint answer with an obscure 400."""
    if info.known:
        return
    from core.registry import lookup_model

    chat = lookup_model(model)
    if chat.known:
        raise ConfigurationError(
            f"{model!r} is a chat model ({chat.family}), not an embedding model",
            hint="use an embedding endpoint such as 'databricks-gte-large-en' or "
            "'databricks-bge-large-en', or register yours with "
            "core.embedding_registry.register_embedding_model",
        )
