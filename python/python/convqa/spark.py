"""convqa on Spark: the same engine in every Python worker, fed by ``DataFrame.mapInArrow``.

::

    from convqa import spark as cs
    out = cs.score(df, rubric="rubric/default.toml")      # df: the JSONL input schema
    out.conversations.write.partitionBy("date").parquet(...)   # Spark writes; Delta/Iceberg too

Each Python worker loads one engine (first task) and keeps it for the tasks after it (Spark
reuses Python workers by default). The scoring function lives in this module, so executors
import it from the installed package instead of unpickling a copy. ``mapInArrow`` works under
Spark Connect, unlike RDD ``pipe``.

One pass scores each input partition once: its output rows carry a ``kind`` and one struct per
table; :func:`score` persists that and splits it into the four DataFrames, whose columns are
those of ``convqa score``'s Parquet files (Spark makes every column nullable) plus ``rejects``.
Conversation ids are checked for repeats within a partition only: deduplicate across the input
beforehand (``df.dropDuplicates(["conversation_id"])``) if it may hold repeats.
"""

from __future__ import annotations

import functools
import os
from typing import Iterator, NamedTuple, Optional

import pyarrow as pa
import pyarrow.compute as pc

import convqa

KINDS = ("conversations", "turns", "flags", "rejects")

#: One engine per Python worker process, keyed by its options.
_ENGINES: dict = {}


class SparkScored(NamedTuple):
    """The four DataFrames of :func:`score` (and the persisted combined one, to unpersist)."""

    conversations: "pyspark.sql.DataFrame"  # noqa: F821
    turns: "pyspark.sql.DataFrame"  # noqa: F821
    flags: "pyspark.sql.DataFrame"  # noqa: F821
    rejects: "pyspark.sql.DataFrame"  # noqa: F821
    combined: "pyspark.sql.DataFrame"  # noqa: F821


def combined_schema() -> pa.Schema:
    """The Arrow schema of the combined output: ``kind`` and one nullable struct per table."""
    fields = [pa.field("kind", pa.string(), nullable=False)]
    for name, schema in zip(KINDS, convqa.output_schemas()):
        nullable = [f.with_nullable(True) for f in schema]
        fields.append(pa.field(name, pa.struct(nullable), nullable=True))
    return pa.schema(fields)


def engine_for(options: tuple) -> "convqa.Engine":
    """This worker's engine for ``options`` (loaded on first use, then reused)."""
    engine = _ENGINES.get(options)
    if engine is None:
        rubric_text, model, redact, threads, max_turns = options
        engine = convqa.Engine(rubric=rubric_text, model=model, redact=redact, threads=threads, max_turns=max_turns)
        _ENGINES[options] = engine
    return engine


def _partition_name() -> str:
    try:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        if ctx is not None:
            return f"spark partition {ctx.partitionId()}"
    except ImportError:  # pragma: no cover - Ray and plain Python use score_batches directly
        pass
    return "spark partition"


def score_batches(batches: Iterator[pa.RecordBatch], options: tuple, source: Optional[str] = None) -> Iterator[pa.RecordBatch]:
    """The ``mapInArrow`` function: scores each incoming batch with this worker's engine and
    yields combined rows (see :func:`combined_schema`). Rejects keep their row number within
    the partition."""
    engine = engine_for(options)
    schema = combined_schema()
    source = source or _partition_name()
    offset = 0
    for batch in batches:
        scored = engine.score(batch, source=source)
        rejects = scored.rejects
        if rejects.num_rows:
            rejects = rejects.set_column(1, "line", pc.add(rejects.column("line"), offset))
        offset += batch.num_rows
        for kind, table in zip(KINDS, (*scored[:3], rejects)):
            if table.num_rows == 0:
                continue
            n = table.num_rows
            columns = [pa.array([kind] * n, pa.string())]
            for other in KINDS:
                struct_type = schema.field(other).type
                if other == kind:
                    arrays = [table.column(f.name).combine_chunks() for f in struct_type]
                    columns.append(pa.StructArray.from_arrays(arrays, fields=list(struct_type)))
                else:
                    columns.append(pa.nulls(n, struct_type))
            yield pa.RecordBatch.from_arrays(columns, schema=schema)


def _read_rubric(rubric) -> Optional[str]:
    """The rubric's text, read on the driver so executors need no copy of the file."""
    if rubric is None:
        return None
    path, text = convqa._rubric_args(rubric)
    if path is not None:
        with open(path, encoding="utf-8") as f:
            return f.read()
    return text


def score(
    df,
    rubric=None,
    model="default",
    redact: str = "all",
    threads: int = 1,
    max_turns: int = 10_000,
    persist: bool = True,
) -> SparkScored:
    """Scores a DataFrame of conversations (the JSONL input schema as columns) on the cluster.

    :param rubric: a rubric file on the driver (its text is shipped with the job) or TOML text;
        None for the built-in rubric.
    :param model: ``"default"`` (inside the wheel), None, or a model folder that exists at the
        same path on every executor (``SparkFiles.get`` of a shipped archive, a Volume, DBFS).
    :param threads: scoring threads per engine; Spark runs one task per core, so 1.
    :param persist: keep the scored rows (memory and disk) so writing the four tables scores
        the input once; ``result.combined.unpersist()`` when done.
    :returns: conversations, turns, flags, rejects DataFrames, and the combined one.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    if model not in (None, "default"):
        model = os.fspath(model)
    options = (_read_rubric(rubric), model, redact, threads, max_turns)
    schema = from_arrow_schema(combined_schema())
    combined = df.mapInArrow(functools.partial(score_batches, options=options), schema)
    if persist:
        combined = combined.persist()
    parts = [combined.where(F.col("kind") == kind).select(f"{kind}.*") for kind in KINDS]
    return SparkScored(*parts, combined)
