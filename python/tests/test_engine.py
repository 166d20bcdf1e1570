"""convqa.Engine gives the command line's tables: same columns, same values, row for row."""

import json

import pyarrow as pa
import pytest

import convqa
from conftest import INPUT_SCHEMA, SAMPLE, sample_rows

TABLES = ("conversations", "turns", "flags")


def assert_same_tables(got: convqa.Scored, cli: dict):
    for name in TABLES:
        expected, actual = cli[name], getattr(got, name)
        assert actual.schema.equals(expected.schema), (
            f"{name}: schema differs from the CLI's Parquet file\n{actual.schema}\n---\n{expected.schema}"
        )
        assert actual.num_rows == expected.num_rows, f"{name}: {actual.num_rows} rows, the CLI wrote {expected.num_rows}"
        for column in expected.column_names:
            a, e = actual.column(column).to_pylist(), expected.column(column).to_pylist()
            diff = [i for i, (x, y) in enumerate(zip(a, e)) if x != y]
            assert not diff, f"{name}.{column}: rows {diff[:5]} differ, e.g. {a[diff[0]]!r} vs CLI {e[diff[0]]!r}"


def test_score_jsonl_equals_the_cli(engine, cli_out):
    got = engine.score_jsonl(SAMPLE)
    assert got.rejects.num_rows == 0
    assert got.conversations.num_rows == len(sample_rows())
    assert_same_tables(got, cli_out)


def test_score_table_equals_the_cli(engine, cli_out, sample_table):
    got = engine.score(sample_table)
    assert got.rejects.num_rows == 0
    assert_same_tables(got, cli_out)


def test_record_batches_and_a_stream_give_the_same_tables(engine, cli_out, sample_table):
    # several batches through one call: ids are still checked across them
    reader = pa.RecordBatchReader.from_batches(sample_table.schema, sample_table.to_batches(max_chunksize=7))
    assert_same_tables(engine.score(reader), cli_out)
    one = engine.score(sample_table.to_batches()[0].slice(0, 3))
    assert one.conversations.column("conversation_id").to_pylist() == [r["conversation_id"] for r in sample_rows()[:3]]


def test_bad_rows_come_back_as_rejects_with_reasons(engine, sample_table):
    rows = sample_rows()[:2]
    no_agent = dict(rows[0], conversation_id="bad-1", agent_id=None)
    bad_ts = json.loads(json.dumps(rows[1]))
    bad_ts["conversation_id"] = "bad-2"
    bad_ts["turns"][1]["ts"] = "yesterday"
    repeat = rows[0]
    table = pa.Table.from_pylist(rows + [no_agent, bad_ts, repeat], schema=INPUT_SCHEMA)
    got = engine.score(table, source="crm-export")
    assert got.conversations.column("conversation_id").to_pylist() == [r["conversation_id"] for r in rows]
    rejects = got.rejects.to_pylist()
    assert [(r["file"], r["line"], r["code"], r["field"]) for r in rejects] == [
        ("crm-export", 3, "missing_field", "agent_id"),
        ("crm-export", 4, "invalid_field", "turns[1].ts"),
        ("crm-export", 5, "duplicate_id", "conversation_id"),
    ]
    assert "crm-export:1" in rejects[2]["reason"]
    assert got.rejects.schema.names == ["file", "line", "code", "field", "reason", "raw"]


def test_timestamp_columns_are_read_as_utc(engine):
    row = sample_rows()[0]
    ts_type = pa.timestamp("us", tz="UTC")
    turn = pa.struct([("speaker", pa.string()), ("text", pa.string()), ("ts", ts_type)])
    schema = pa.schema([("conversation_id", pa.string()), ("agent_id", pa.string()), ("channel", pa.string()), ("turns", pa.list_(turn))])
    from datetime import datetime

    turns = [dict(t, ts=datetime.fromisoformat(t["ts"])) for t in row["turns"]]
    table = pa.Table.from_pylist([dict(row, turns=turns)], schema=schema)
    got = engine.score(table)
    assert got.rejects.num_rows == 0, got.rejects.to_pylist()
    expected = engine.score(pa.Table.from_pylist([row], schema=INPUT_SCHEMA))
    assert got.turns.column("ts").equals(expected.turns.column("ts"))
    assert got.conversations.column("qa_score").equals(expected.conversations.column("qa_score"))


def test_redaction_and_phrases_only_engine(sample_table):
    plain = convqa.Engine(model=None, redact="none", threads=1)
    redacted = convqa.Engine(model=None, redact="all", threads=1)
    assert plain.info()["model_name"] is None
    a, b = plain.score(sample_table), redacted.score(sample_table)
    assert a.conversations.column("sentiment_score").null_count == a.conversations.num_rows
    texts_a, texts_b = a.turns.column("text").to_pylist(), b.turns.column("text").to_pylist()
    changed = [(x, y) for x, y in zip(texts_a, texts_b) if x != y]
    assert changed and all("[" in y for _, y in changed), changed[:3]


def test_rubric_as_text_or_path_and_errors(tmp_path):
    from pathlib import Path

    default = Path(__file__).resolve().parents[2] / "rubric" / "default.toml"
    by_path = convqa.Engine(rubric=default, model=None)
    by_text = convqa.Engine(rubric=default.read_text(encoding="utf-8"), model=None)
    assert by_path.info()["rubric_sha256"] == by_text.info()["rubric_sha256"]
    with pytest.raises(convqa.ConvqaError, match="not found"):
        convqa.Engine(rubric=str(tmp_path / "missing.toml"), model=None)
    with pytest.raises(convqa.ConvqaError):
        convqa.Engine(rubric="[[rule]]\nid = 1\n", model=None)
    with pytest.raises(ValueError, match="unknown kind"):
        convqa.Engine(model=None, redact="emails")
    with pytest.raises(convqa.ConvqaError):
        convqa.Engine(model=tmp_path)


def test_pandas_and_polars_through_arrow(engine, sample_table, cli_out):
    df = sample_table.to_pandas()
    got = engine.score(pa.Table.from_pandas(df, schema=INPUT_SCHEMA, preserve_index=False))
    assert_same_tables(got, cli_out)
    pl = pytest.importorskip("polars")
    frame = pl.from_arrow(sample_table)
    got = engine.score(frame)  # a Polars frame is an Arrow stream (large/view strings)
    assert got.rejects.num_rows == 0, got.rejects.to_pylist()[:2]
    assert_same_tables(got, cli_out)
    assert pl.from_arrow(got.conversations).height == len(sample_rows())


def test_output_schemas_without_an_engine(cli_out):
    schemas = convqa.output_schemas()
    for name in TABLES:
        assert getattr(schemas, name).equals(cli_out[name].schema)


def test_the_gil_is_released_while_scoring(engine):
    import threading
    import time

    done = threading.Event()
    elapsed = {}

    def score():
        t = time.perf_counter()
        for _ in range(3):
            engine.score_jsonl(SAMPLE)
        elapsed["score"] = time.perf_counter() - t
        done.set()

    worker = threading.Thread(target=score)
    ticks = [time.perf_counter()]
    worker.start()
    while not done.is_set():
        time.sleep(0.001)  # Python code that needs the GIL between sleeps
        ticks.append(time.perf_counter())
    worker.join()
    longest = max(b - a for a, b in zip(ticks, ticks[1:]))
    # held for the whole call, the longest gap would be a whole score_jsonl (a third of the time)
    assert longest < elapsed["score"] / 10, f"Python stalled {longest:.3f} s of {elapsed['score']:.3f} s"


def test_the_ray_example_function_gives_the_same_tables(engine, sample_table):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "ray_data.py"
    spec = importlib.util.spec_from_file_location("ray_data_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    combined = pa.concat_tables(example.score_table(t) for t in (sample_table.slice(0, 20), sample_table.slice(20)))
    tables = example.split(combined)
    direct = engine.score(sample_table)
    for name in TABLES:
        # same values row for row (the combined rows make every column nullable)
        assert tables[name].to_pylist() == getattr(direct, name).to_pylist(), name
    assert tables["rejects"] is None


def test_onnx_runtime_and_the_model_come_with_the_package(engine):
    import os

    if "ORT_DYLIB_PATH" not in os.environ:
        # the library the onnxruntime wheel installed, not the repository's runtime/ folder
        assert "onnxruntime" in convqa.ort_library().parts, convqa.ort_library()
    assert (convqa.DEFAULT_MODEL / "model.onnx").is_file()
    assert engine.info()["model_name"] == "convqa-mini"


def test_an_empty_table_gives_empty_tables_with_the_columns(engine, cli_out):
    got = engine.score(pa.Table.from_pylist([], schema=INPUT_SCHEMA))
    for name in TABLES:
        assert getattr(got, name).num_rows == 0
        assert getattr(got, name).schema.equals(cli_out[name].schema)
    assert got.rejects.num_rows == 0
