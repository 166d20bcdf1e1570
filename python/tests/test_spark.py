"""convqa.spark on Spark local[2]: the CLI's rows, row for row, and a bad row as a reject."""

import json
import os
import sys

import pytest

pyspark = pytest.importorskip("pyspark")

import convqa.spark as cs  # noqa: E402
from conftest import INPUT_SCHEMA, sample_rows  # noqa: E402

# the rows' order is Spark's: compare sorted on each table's key
KEYS = {
    "conversations": ["conversation_id"],
    "turns": ["conversation_id", "turn_index"],
    "flags": None,  # every column
}


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # the Python workers must be this interpreter (the one with convqa installed)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("convqa-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


def input_df(spark, rows, partitions=2):
    import pyarrow as pa

    table = pa.Table.from_pylist(rows, schema=INPUT_SCHEMA)
    return spark.createDataFrame(table).repartition(partitions)  # Arrow in, no pandas types


def sorted_rows(table_rows, key):
    def sort_key(row):
        values = [row[k] for k in key] if key else list(row.values())
        return [json.dumps(v, sort_keys=True, default=str) for v in values]

    return sorted(table_rows, key=sort_key)


def test_spark_equals_the_cli_row_for_row(spark, cli_out):
    out = cs.score(input_df(spark, sample_rows()))
    try:
        assert out.rejects.count() == 0
        for name, key in KEYS.items():
            expected = cli_out[name]
            got = getattr(out, name).toArrow()
            assert got.column_names == expected.column_names, name
            a = sorted_rows(got.to_pylist(), key)
            e = sorted_rows(expected.to_pylist(), key)
            assert len(a) == len(e), f"{name}: {len(a)} rows from Spark, {len(e)} from the CLI"
            for i, (x, y) in enumerate(zip(a, e)):
                assert x == y, f"{name} row {i} differs:\n{x}\n---\nCLI:\n{y}"
    finally:
        out.combined.unpersist()


def test_a_bad_row_is_a_reject_not_a_failed_job(spark):
    rows = sample_rows()[:3]
    bad = json.loads(json.dumps(rows[0]))
    bad["conversation_id"] = "bad-ts"
    bad["turns"][0]["ts"] = "yesterday"
    out = cs.score(input_df(spark, rows + [bad], partitions=1), model=None)
    try:
        assert sorted(r.conversation_id for r in out.conversations.collect()) == sorted(r["conversation_id"] for r in rows)
        rejects = [r.asDict() for r in out.rejects.collect()]
        assert [(r["code"], r["field"], r["line"]) for r in rejects] == [("invalid_field", "turns[0].ts", 4)]
        assert rejects[0]["file"] == "spark partition 0"
    finally:
        out.combined.unpersist()
