"""Run any LangChain chain over a Spark DataFrame column, the way :mod:`core.spark` runs a model.

```python
from langchain_plugin.spark import chain_udf

def make_chain():                      # runs on the executors, once per Python worker
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_plugin import ChatDatabricks
    prompt = ChatPromptTemplate.from_template("Rate this review from 1 to 5: {review}")
    return prompt | ChatDatabricks(model="databricks-claude-sonnet-4-5", max_tokens=5)

scored = df.withColumn("score", chain_udf(make_chain, input_key="review")(df.review))
scored.select("score.output", "score.error.type")
```

The factory is called on the executor (a chain is not shipped from the driver); the workspace
host and credentials, resolved on the driver like any client's, reach it as the worker's
``DATABRICKS_*`` environment through a Spark broadcast (never the plan, a log or ``explain()``).
Each Arrow batch goes through :class:`core.batch.BatchRunner`: input order kept, one
``ainvoke`` per row, a failed row's error in the output struct (``output`` null) unless
``fail_on_error``. ``endpoint_limit`` / ``max_concurrency`` bound the rows in progress per
worker as for :func:`core.spark.chat_udf` (the chain's ChatDatabricks calls also share the
worker's adaptive limiter).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.batch import Record, error_record
from core.limiter import AdaptiveLimiter

OUTPUT_FIELDS = "output string, error struct<type: string, message: string, status_code: int>"


class ChainJob:
    """One ``ainvoke`` per row (``{input_key: value}`` when ``input_key`` is given)."""

    chunk = 1
    limiter: AdaptiveLimiter | None = None  # the chain's models have their own

    def __init__(self, chain: Any, input_key: str | None = None) -> None:
        self.chain = chain
        self.input_key = input_key

    def check(self, item: Any) -> None:
        return None

    async def arun(self, items: Sequence[Any]) -> list[Record]:
        records = []
        for item in items:
            started = time.monotonic()
            value = {self.input_key: item} if self.input_key else item
            try:
                result = await self.chain.ainvoke(value)
            except Exception as exc:  # any chain step may fail; the row records what it was
                record: Record = {"status": "error", "error": error_record(exc)}
            else:
                record = {"status": "ok", "output": as_text(result)}
            record["seconds"] = round(time.monotonic() - started, 3)
            records.append(record)
        return records


def as_text(result: Any) -> str:
    """A chain's result as the ``output`` string: a message's text, a string, or JSON."""
    from langchain_core.messages import BaseMessage

    if isinstance(result, BaseMessage):
        text = result.text
        return str(text() if callable(text) else text)  # a method before langchain-core 1.0
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(result)


def chain_udf(
    factory: Callable[[], Any],
    *,
    input_key: str | None = None,
    max_concurrency: int | None = None,
    endpoint_limit: int | None = None,
    slots: int | None = None,
    fail_on_error: bool = False,
    **settings: Any,
) -> Any:
    """A pandas UDF running ``factory()``'s chain on each cell of a column; a struct of
    ``output`` (string) and ``error`` out. ``settings``: where and as whom (host, token,
    profile, client_id/client_secret...), resolved here on the driver."""
    from core import spark

    spark.require_spark()
    cap = spark.per_worker_cap(max_concurrency, endpoint_limit, slots)
    creds = spark.broadcast(spark.executor_settings(**settings))

    def job() -> ChainJob:
        def build() -> Any:
            spark.apply_to_environment(creds.value)
            return factory()

        chain = spark.cached(("chain", id(factory), id(creds)), build)
        return ChainJob(chain, input_key)

    return spark.make_pandas_udf(
        job,
        OUTPUT_FIELDS,
        spark.plain,
        _row,
        fail_on_error,
        "chain",
        columns=("output", "error"),
        concurrency=cap,
    )


def _row(record: Record) -> dict[str, Any]:
    from core import spark

    if record.get("status") != "ok":
        return {"output": None, "error": spark.error_fields(record)}
    return {"output": record.get("output"), "error": None}
