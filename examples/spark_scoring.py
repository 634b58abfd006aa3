"""Score a small DataFrame with a LangChain chain and embed a column, on Spark (local[2]).

    pip install 'databricks-llm-plugins[spark]'    # pyspark, pandas, pyarrow; Java 17
    python examples/spark_scoring.py               # the local emulator (offline)
    python examples/spark_scoring.py --workspace   # DATABRICKS_HOST + credentials

On Databricks, drop the SparkSession lines: ``spark`` is there. Models: SPARK_CHAT_MODEL
(default databricks-claude-sonnet-4-5) and SPARK_EMBEDDING_MODEL (default
databricks-gte-large-en).

What it shows:
1. ``chain_udf``: a prompt | ChatDatabricks chain built on each executor by a factory,
   run over the ``review`` column; a struct of ``output`` and ``error`` comes back (a failed
   row fails no job).
2. ``embeddings_udf``: the same column as ``array<float>``.
Credentials are resolved here on the driver and reach the executors in a broadcast: the plan
(printed) never shows them. ``endpoint_limit`` splits the endpoint's concurrency across the
task slots (see core/spark.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

CHAT_MODEL = os.environ.get("SPARK_CHAT_MODEL", "databricks-claude-sonnet-4-5")
EMBEDDING_MODEL = os.environ.get("SPARK_EMBEDDING_MODEL", "databricks-gte-large-en")
REVIEWS = [
    (1, "The blender is loud but crushes ice in seconds."),
    (2, "Broke after two days. Never again."),
    (3, "Does what it says; the lid leaks a little."),
    (4, "Best purchase this year, my kids love the smoothies."),
]


def make_chain() -> Any:
    """Runs on the executors: nothing here is pickled but this function."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from langchain_plugin import ChatDatabricks

    prompt = ChatPromptTemplate.from_template(
        "Rate this product review from 1 (bad) to 5 (great). Answer with the digit only.\n\n"
        "{review}"
    )
    return prompt | ChatDatabricks(model=CHAT_MODEL, max_tokens=5) | StrOutputParser()


@contextlib.contextmanager
def workspace(use_workspace: bool) -> Iterator[dict[str, Any]]:
    """Where to send calls: the configured workspace, or a local emulator."""
    if use_workspace:
        yield {}  # DATABRICKS_* / ~/.databrickscfg, resolved on the driver
        return
    from core.emulator import run_emulator

    with run_emulator() as emu:
        yield {"host": emu.host, "token": emu.token}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", action="store_true", help="use the configured workspace")
    args = parser.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from core.spark import embeddings_udf
    from langchain_plugin.spark import chain_udf

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("databricks-llm example")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        with workspace(args.workspace) as where:
            df = spark.createDataFrame(REVIEWS, "id int, review string")
            score = chain_udf(make_chain, input_key="review", endpoint_limit=8, **where)
            vector = embeddings_udf(EMBEDDING_MODEL, endpoint_limit=8, **where)
            scored = df.withColumn("score", score("review")).withColumn("vec", vector("review"))
            scored.explain()  # the plan: UDF names and columns, no host token
            # one action computes everything; collect, then sort here (a sort in Spark would
            # sample its input in an extra job, calling the models twice)
            for row in sorted(scored.collect(), key=lambda r: r.id):
                result = row.score.output if row.score.error is None else row.score.error.type
                print(f"{row.id}: {result!s:40.40} | vector[{len(row.vec or [])}] | {row.review}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
