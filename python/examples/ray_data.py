"""Ray Data: the Spark function, fed by ``map_batches(batch_format="pyarrow")``.

    pip install "ray[data]" ./convqa-*.whl
    python python/examples/ray_data.py data/sample target/ray-out

Each Ray worker process loads one engine on its first batch and keeps it (the same per-process
cache as on Spark), so the engine loads once per worker, not per batch. The output rows carry a
``kind`` and one struct per table, as with Spark; the example splits them and writes Parquet.
"""

import sys

import pyarrow as pa
import pyarrow.json as pj

from convqa.spark import KINDS, combined_schema, score_batches

#: (rubric text or None, model, redact, threads, max_turns): one thread per Ray task
OPTIONS = (None, "default", "all", 1, 10_000)

#: The JSONL input schema, with times kept as RFC 3339 strings (their offsets kept).
INPUT_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()), ("agent_id", pa.string()), ("channel", pa.string()),
        ("customer_id", pa.string()), ("started_at", pa.string()), ("language", pa.string()),
        ("resolved", pa.bool_()), ("csat", pa.int64()), ("tags", pa.list_(pa.string())),
        ("turns", pa.list_(pa.struct([("speaker", pa.string()), ("text", pa.string()), ("ts", pa.string())]))),
    ]
)


def score_table(table: pa.Table) -> pa.Table:
    """One Ray batch (a pyarrow Table) → the combined scored rows."""
    batches = score_batches(iter(table.to_batches()), OPTIONS, source="ray batch")
    return pa.Table.from_batches(list(batches), schema=combined_schema())


def split(combined: pa.Table) -> dict:
    """The combined rows → one table per kind, with the columns of ``convqa score``'s files."""
    import pyarrow.compute as pc

    out = {}
    for kind in KINDS:
        rows = combined.filter(pc.equal(combined.column("kind"), kind))
        out[kind] = pa.Table.from_struct_array(rows.column(kind).combine_chunks()) if rows.num_rows else None
    return out


def main(inputs: str, out: str) -> None:
    import ray
    import pyarrow.parquet as pq

    ds = ray.data.read_json(inputs, parse_options=pj.ParseOptions(explicit_schema=INPUT_SCHEMA))
    combined = ds.map_batches(score_table, batch_format="pyarrow", batch_size=1024).to_arrow_refs()
    tables = pa.concat_tables(ray.get(combined))
    for kind, table in split(tables).items():
        if table is not None:
            pq.write_table(table, f"{out}/{kind}.parquet")
            print(f"{kind}: {table.num_rows} rows")


if __name__ == "__main__":
    import os

    os.makedirs(sys.argv[2], exist_ok=True)
    main(sys.argv[1], sys.argv[2])
