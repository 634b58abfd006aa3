"""Many calls beyond one machine: pandas UDFs that run a column through a model on Spark.

```python
from core.spark import chat_udf, embeddings_udf

answer = chat_udf("databricks-claude-sonnet-4-5", system="Answer in one word.", max_tokens=20)
df = df.withColumn("out", answer("prompt"))        # struct: answer, reasoning, tool_calls,
df.select("out.answer", "out.error.type")           #         usage, error
df = df.withColumn("vec", embeddings_udf("databricks-gte-large-en")("text"))  # array<float>
```

Needs the ``spark`` extra (pyspark, pandas, pyarrow), imported only when a UDF is built.

* Each partition goes through :class:`core.batch.BatchRunner` (one event loop per Arrow batch,
  order kept, every failed row recorded) and the endpoint's shared adaptive limiter of that
  Python worker. A failed row never fails the job: its ``error`` (type, message, status) is in
  the output struct and the other fields are null. ``fail_on_error=True`` fails the task (and,
  after Spark's task retries, the job) at the first failed row instead.
* Concurrency: Spark runs one Python worker process per task slot, and each has its own
  limiter. Left alone, N slots would each start at the limiter's initial 8 and grow until the
  endpoint answers 429: N times the storm one process makes. So give ``endpoint_limit`` (the
  calls in flight the endpoint takes, e.g. its QPS times its latency): each worker is capped at
  ``endpoint_limit / slots`` (``slots`` = ``spark.sparkContext.defaultParallelism``, the
  cluster's task slots, unless given), so all of them together stay under the limit even
  when every slot runs at once; under that cap each worker's limiter still halves on 429s
  and waits out ``Retry-After``, so a shared endpoint that other jobs also load is not
  stormed either. ``max_concurrency`` sets the per-worker cap directly.
* Credentials never appear in a plan, a log or ``explain()``: the UDF's pickled closure
  (which is part of the plan) holds only the model name and options; the host and
  credentials travel in a Spark broadcast variable (shipped to executors as a block, read
  there once per worker), resolved on the driver as any client resolves them (explicit
  arguments, ``DATABRICKS_*``, ``~/.databrickscfg``). A personal access token or OAuth M2M
  client credentials are passed as they are (executors refresh OAuth tokens themselves);
  other methods (a token provider, a databricks-sdk login) pass the token they hold now,
  which expires with it: a warning says so.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from core.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyspark.sql.types import DataType

    from core.batch import Job, Record

logger = logging.getLogger("core.spark")


def require_spark() -> None:
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            f"Spark UDFs need pyspark, pandas and pyarrow ({exc.name} is missing)",
            hint="pip install 'databricks-llm-plugins[spark]'",
        ) from None


# -- credentials: resolved on the driver, shipped in a broadcast ---------------------------
class Credentials:
    """Settings for executors; ``repr`` shows no secret (Spark may log broadcast objects)."""

    __slots__ = ("settings",)

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"Credentials(host={self.settings.get('host')!r}, ***)"

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.settings = state["settings"]


def executor_settings(**settings: Any) -> Credentials:
    """Resolve host and credentials here, on the driver (a ConfigurationError now, not in a
    task), into settings an executor can use without the driver's files or SDK login."""
    from pydantic import SecretStr

    from core.auth import resolve_auth
    from core.connection import hide_secrets, settings_from

    hide_secrets(settings)
    s = settings_from(None, settings)
    resolved = resolve_auth(s)
    provider = resolved.provider
    out: dict[str, Any] = {
        name: getattr(s, name)
        for name in ("base_url", "endpoint_kind", "api", "timeout", "max_retries", "transport")
        if getattr(s, name) is not None
    }
    if s.extra_headers:
        out["extra_headers"] = s.extra_headers
    out["host"] = resolved.host
    if provider.method == "pat":
        out["token"] = provider._token  # type: ignore[attr-defined]
    elif provider.method == "oauth-m2m":
        out["client_id"] = provider.client_id  # type: ignore[attr-defined]
        out["client_secret"] = provider._secret  # type: ignore[attr-defined]
    else:
        value = provider.header()
        token = value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value
        out["token"] = SecretStr(token)
        warnings.warn(
            f"Spark executors get the token the {provider.method} credentials hold now; it "
            "expires with them (OAuth M2M client credentials or a PAT avoid that)",
            stacklevel=3,
        )
    return Credentials(out)


# -- per worker process: one client per configuration --------------------------------------
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def apply_to_environment(creds: Credentials) -> None:
    """Make the broadcast credentials this worker's ``DATABRICKS_*`` environment, for code
    that builds its own clients from the environment (a chain factory's ``ChatDatabricks``)."""
    import os

    settings = creds.settings
    names = {"host": "DATABRICKS_HOST", "token": "DATABRICKS_TOKEN",
             "client_id": "DATABRICKS_CLIENT_ID", "client_secret": "DATABRICKS_CLIENT_SECRET"}  # fmt: skip
    for key, env in names.items():
        value = settings.get(key)
        if value is not None:
            os.environ[env] = (
                value.get_secret_value() if hasattr(value, "get_secret_value") else value
            )


def cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = build()
    return client


def per_worker_cap(
    max_concurrency: int | None, endpoint_limit: int | None, slots: int | None
) -> int | None:
    """The cap of calls in flight for each Python worker (see the module docstring)."""
    if max_concurrency is not None:
        return max_concurrency
    if endpoint_limit is None:
        return None
    if slots is None:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        slots = session.sparkContext.defaultParallelism if session is not None else 1
    return max(1, endpoint_limit // max(1, slots))


def run_partition(
    job: Job, items: list[Any], fail_on_error: bool, concurrency: int | None = None
) -> list[Record]:
    """One Arrow batch through the batch runner, in input order (``concurrency``: rows in
    progress at once; the default leaves it to the endpoint's limiter)."""
    from core.batch import DEFAULT_CONCURRENCY, BatchRunner

    runner = BatchRunner(
        job,
        fail_fast=fail_on_error,
        concurrency=concurrency or DEFAULT_CONCURRENCY,
        refuse_bad_rows=False,  # a bad cell is that row's error, not the task's
    )
    rows = list(enumerate(items))
    return asyncio.run(runner.arun(rows)).records


# -- chat ------------------------------------------------------------------------------------
CHAT_FIELDS = "answer string, reasoning string, " \
    "tool_calls array<struct<id: string, name: string, arguments: string>>, " \
    "usage struct<input_tokens: bigint, output_tokens: bigint, total_tokens: bigint>, " \
    "finish_reason string, " \
    "error struct<type: string, message: string, status_code: int>"  # fmt: skip
ERROR_FIELDS = ("type", "message", "status_code")
CHAT_COLUMNS = ("answer", "reasoning", "tool_calls", "usage", "finish_reason", "error")


def chat_udf(
    model: str,
    *,
    system: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop: list[str] | None = None,
    reasoning_effort: str | None = None,
    thinking_budget: int | None = None,
    max_concurrency: int | None = None,
    endpoint_limit: int | None = None,
    slots: int | None = None,
    fail_on_error: bool = False,
    **settings: Any,
) -> Any:
    """A pandas UDF: a prompt (string) or messages (array of ``{role, content}``) column in,
    a struct of ``answer, reasoning, tool_calls, usage, finish_reason, error`` out.
    ``settings`` are :class:`core.settings.ClientSettings` fields (host, token, profile...)."""
    require_spark()
    from core.types import GenerationParams

    params = GenerationParams(
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        reasoning_effort=reasoning_effort,
        thinking_budget=thinking_budget,
    )
    cap = per_worker_cap(max_concurrency, endpoint_limit, slots)
    creds = broadcast(executor_settings(model=model, **settings))

    def job() -> Job:
        from core.batch_jobs import ChatJob
        from core.client import DatabricksChatClient

        client = cached(
            ("chat", model, cap, id(creds)),
            lambda: DatabricksChatClient(
                model=model, adapter="spark", max_concurrency=cap, **creds.value.settings
            ),
        )
        return ChatJob(client, params, system=system)

    return make_pandas_udf(
        job, CHAT_FIELDS, _chat_item, _chat_row, fail_on_error, "chat", columns=CHAT_COLUMNS
    )


def _chat_item(value: Any) -> Any:
    """A cell as the chat job takes it: a string, or a list of message dicts."""
    if value is None or isinstance(value, str):
        return value
    return [plain(m) for m in value]


def plain(value: Any) -> Any:
    """Arrow/pandas containers (Row, numpy arrays) as plain dicts and lists."""
    if hasattr(value, "asDict"):
        value = value.asDict(recursive=True)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if hasattr(value, "tolist") and not isinstance(value, str):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _chat_row(record: Record) -> dict[str, Any]:
    if record.get("status") != "ok":
        return {**dict.fromkeys(CHAT_COLUMNS), "error": error_fields(record)}
    return {
        "answer": record.get("answer"),
        "reasoning": record.get("reasoning"),
        "tool_calls": record.get("tool_calls"),
        "usage": record.get("usage"),
        "finish_reason": record.get("finish_reason"),
        "error": None,
    }


def error_fields(record: Record) -> dict[str, Any]:
    error = record.get("error") or {}
    return {name: error.get(name) for name in ERROR_FIELDS}


# -- embeddings ------------------------------------------------------------------------------
EMBEDDING_FIELDS = (
    "embedding array<float>, error struct<type: string, message: string, status_code: int>"
)


def embeddings_udf(
    model: str,
    *,
    batch_size: int | None = None,
    max_concurrency: int | None = None,
    endpoint_limit: int | None = None,
    slots: int | None = None,
    fail_on_error: bool = False,
    with_errors: bool = False,
    **settings: Any,
) -> Any:
    """A pandas UDF: a text column in, ``array<float>`` out (null for a failed row, whose
    error is logged on the executor); ``with_errors=True``: a struct ``embedding, error``."""
    require_spark()
    cap = per_worker_cap(max_concurrency, endpoint_limit, slots)
    creds = broadcast(executor_settings(model=model, **settings))

    def job() -> Job:
        from core.batch_jobs import EmbeddingJob
        from core.embeddings import DatabricksEmbeddingsClient
        from core.settings import ClientSettings

        client = cached(
            ("embeddings", model, cap, batch_size, id(creds)),
            lambda: DatabricksEmbeddingsClient(
                ClientSettings(
                    model=model, adapter="spark", max_concurrency=cap, **creds.value.settings
                ),
                batch_size=batch_size,
            ),
        )
        return EmbeddingJob(client)

    if with_errors:
        return make_pandas_udf(
            job, EMBEDDING_FIELDS, _text, _embedding_row, fail_on_error, "embed",
            columns=("embedding", "error"),
        )  # fmt: skip
    return make_pandas_udf(job, "array<float>", _text, _embedding_only, fail_on_error, "embed")


def _text(value: Any) -> Any:
    return value


def _embedding_row(record: Record) -> dict[str, Any]:
    if record.get("status") != "ok":
        return {"embedding": None, "error": error_fields(record)}
    return {"embedding": record.get("embedding"), "error": None}


def _embedding_only(record: Record) -> Any:
    if record.get("status") != "ok":
        error = error_fields(record)
        logger.warning(
            "row %s: no embedding: %s: %s", record.get("key"), error["type"], error["message"]
        )
        return None
    return record.get("embedding")


# -- the UDF itself --------------------------------------------------------------------------
def broadcast(creds: Credentials) -> Any:
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        raise ConfigurationError(
            "no active SparkSession: build the UDF after SparkSession.builder...getOrCreate()"
        )
    return session.sparkContext.broadcast(creds)


def make_pandas_udf(
    job: Callable[[], Job],
    return_type: str | DataType,
    to_item: Callable[[Any], Any],
    to_row: Callable[[Record], Any],
    fail_on_error: bool,
    name: str,
    columns: tuple[str, ...] | None = None,
    concurrency: int | None = None,
) -> Any:
    """An iterator-of-Series pandas UDF: the job is built once per task, each Arrow batch goes
    through the batch runner; None cells get no call (and null fields). ``columns``: the
    struct's fields, for a struct result."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def run(batches: Iterator[pd.Series]) -> Iterator[Any]:
        the_job = job()
        for batch in batches:
            cells = [to_item(v) for v in batch]
            present = [i for i, cell in enumerate(cells) if cell is not None]
            records = run_partition(
                the_job, [cells[i] for i in present], fail_on_error, concurrency
            )
            out: list[Any] = [None] * len(cells)
            for i, record in zip(present, records, strict=True):
                out[i] = to_row(record)
            if columns is not None:
                empty = dict.fromkeys(columns)
                yield pd.DataFrame([empty if row is None else row for row in out], columns=columns)
            else:
                yield pd.Series(out)

    run.__name__ = f"databricks_{name}"
    # pyspark reads the kind of UDF from these hints (real objects, not postponed strings)
    result: Any = Iterator[pd.DataFrame] if columns is not None else Iterator[pd.Series]
    run.__annotations__ = {"batches": Iterator[pd.Series], "return": result}
    # Nondeterministic: Spark must not duplicate the call when several fields of the result
    # are selected (CollapseProject would inline it into each), nor assume a rerun is equal.
    return pandas_udf(run, return_type).asNondeterministic()  # type: ignore[call-overload]
