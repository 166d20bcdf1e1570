"""Checks that DuckDB and pyarrow read convqa's outputs as they are, and that the tables agree
with summary.json. Usage: python3 tests/interop/check_outputs.py OUT_DIR
"""
import json
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq


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
    for table, rows in expected_rows.items():
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
