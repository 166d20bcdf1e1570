"""Checks that DuckDB and pyarrow read convqa's outputs as they are, that each table's columns
are the ones the README's column reference (generated from src/output/schema.rs) lists, and that
the tables agree with summary.json. Usage: python3 tests/interop/check_outputs.py OUT_DIR
"""
import json
import re
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_columns() -> dict:
    """Per table, its columns as (name, type, nullable) from the README's generated reference."""
    text = README.read_text()
    block = text.split("<!-- output columns: generated from src/output/schema.rs -->")[1]
    block = block.split("<!-- end of generated output columns -->")[0]
    tables, current = {}, None
    for line in block.splitlines():
        heading = re.match(r"### `(\w+)\.parquet`", line)
        if heading:
            current = tables.setdefault(heading.group(1), [])
            continue
        row = re.match(r"\| `(\w+)` \| ([^|]+?) \| (yes)? *\|", line)
        if row and current is not None:
            current.append((row.group(1), row.group(2), row.group(3) == "yes"))
    return tables


def type_is(t: pa.DataType, name: str) -> bool:
    return {
        "string": lambda: pa.types.is_string(t) or pa.types.is_large_string(t),
        "int32": lambda: pa.types.is_int32(t),
        "float64": lambda: pa.types.is_float64(t),
        "bool": lambda: pa.types.is_boolean(t),
        "timestamp[µs, UTC]": lambda: pa.types.is_timestamp(t) and t.unit == "us" and t.tz == "UTC",
        "list<string>": lambda: pa.types.is_list(t) and pa.types.is_string(t.value_type),
        "list<float64>": lambda: pa.types.is_list(t) and pa.types.is_float64(t.value_type),
    }[name]()


def schema_problems(table: str, schema: pa.Schema, documented: list) -> list:
    """What differs between a file's schema and the documented columns."""
    names = [f.name for f in schema]
    if names != [c[0] for c in documented]:
        return [f"{table}: columns {names}, the README lists {[c[0] for c in documented]}"]
    return [
        f"{table}.{name}: {schema.field(name).type} (nullable {schema.field(name).nullable}), "
        f"the README says {ty} (nullable {nullable})"
        for name, ty, nullable in documented
        if not type_is(schema.field(name).type, ty) or schema.field(name).nullable != nullable
    ]


def main(out: Path) -> int:
    summary = json.loads((out / "summary.json").read_text())
    counts = summary["counts"]
    expected_rows = {
        "conversations": counts["scored"],
        "turns": counts["turns"],
        "flags": counts["flags"],
    }
    failures = []
    incremental = summary.get("incremental")
    documented = documented_columns()
    for table, rows in expected_rows.items():
        files = sorted((out / table).glob("*/*.parquet")) if incremental else [out / f"{table}.parquet"]
        for f in files[:1]:
            failures += schema_problems(table, pq.read_schema(f), documented[table])
        if incremental:
            # Hive-style date partitions: each reader takes the table's folder as one table
            path = out / table
            arrow_rows = pq.read_table(path).num_rows
            duck_rows = duckdb.sql(
                f"select count(*) from read_parquet('{path}/*/*.parquet', hive_partitioning = true)"
            ).fetchall()[0][0]
            pandas_rows = len(pd.read_parquet(path))
            if incremental["new"] + incremental["replaced"] != counts["scored"]:
                rows = None  # a later run: the folder holds earlier runs' rows too
        else:
            path = out / f"{table}.parquet"
            arrow_rows = pq.read_table(path).num_rows
            duck_rows = duckdb.sql(f"select count(*) from '{path}'").fetchall()[0][0]
            pandas_rows = len(pd.read_parquet(path))
        if rows is None:
            rows = arrow_rows
        if not arrow_rows == duck_rows == pandas_rows == rows:
            failures.append(
                f"{table}: pyarrow {arrow_rows}, duckdb {duck_rows}, pandas {pandas_rows}, summary {rows}"
            )
    rejects = sum(1 for line in (out / "rejects.jsonl").read_text().splitlines() if line)
    if rejects != counts["rejected"] or counts["read"] != counts["scored"] + counts["rejected"]:
        failures.append(f"rejects.jsonl has {rejects} lines; summary counts {counts}")
    # A join across the tables, as a QA analyst would write it.
    conv, flags = (
        (f"read_parquet('{out}/conversations/*/*.parquet', hive_partitioning = true)",
         f"read_parquet('{out}/flags/*/*.parquet', hive_partitioning = true)")
        if incremental else (f"'{out / 'conversations.parquet'}'", f"'{out / 'flags.parquet'}'")
    )
    worst = duckdb.sql(
        f"""select c.conversation_id, c.qa_score, count(f.flag) as flags
            from {conv} c left join {flags} f using (conversation_id)
            group by all order by c.qa_score, flags desc limit 3"""
    ).fetchall()
    # What the detectors saw per turn: three parallel lists a reader zips back together.
    turns = (f"read_parquet('{out}/turns/*/*.parquet', hive_partitioning = true)"
             if incremental else f"'{out / 'turns.parquet'}'")
    uneven = duckdb.sql(
        f"""select count(*) from {turns}
            where len(detected) != len(detected_by) or len(detected) != len(detected_score)"""
    ).fetchall()[0][0]
    if uneven:
        failures.append(f"turns: {uneven} rows whose detected / detected_by / detected_score differ in length")
    by_detector = duckdb.sql(
        f"""select d.detector, count(*) from {turns}, unnest(detected_by) as d(detector) group by 1 order by 1"""
    ).fetchall()
    print(f"interop check: detections per detector in turns: {by_detector}")
    if incremental:
        dates = duckdb.sql(f"select count(distinct date) from {conv}").fetchall()[0][0]
        print(f"interop check: incremental layout, {dates} date partitions read as one table")
    # The report tables, when the run wrote them (--report): every reader opens them, the CSV and
    # the Parquet queue agree, and a planner's question is one query away.
    if (out / "review_queue.parquet").exists():
        for table in ["review_queue", "agents", "skill_gaps", "follow_ups"]:
            path = out / f"{table}.parquet"
            n = {pq.read_table(path).num_rows, len(pd.read_parquet(path)),
                 duckdb.sql(f"select count(*) from '{path}'").fetchall()[0][0]}
            if len(n) != 1:
                failures.append(f"{table}: readers disagree on the row count {n}")
        csv_ids = pd.read_csv(out / "review_queue.csv")["conversation_id"].tolist()
        pq_ids = pq.read_table(out / "review_queue.parquet").column("conversation_id").to_pylist()
        if csv_ids != pq_ids:
            failures.append("review_queue.csv and review_queue.parquet list different conversations")
        evidence = duckdb.sql(
            f"""select q.conversation_id, e.turn_index, e.speaker
                from '{out / "review_queue.parquet"}' q, unnest(q.evidence) as t(e)
                where q.rank = 1 limit 1"""
        ).fetchall()
        if not evidence:
            failures.append("DuckDB cannot unnest the evidence of the first queue entry")
        gaps = duckdb.sql(
            f"""select agent_id, dimension, mean from '{out / "skill_gaps.parquet"}'
                where scope = 'agent' and period = 'all' order by mean limit 3"""
        ).fetchall()
        print(f"interop check: report tables read; first evidence {evidence}; biggest gaps {gaps}")
    if failures:
        print("interop check FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"interop check: pyarrow, pandas and duckdb read all tables; worst conversations: {worst}")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
