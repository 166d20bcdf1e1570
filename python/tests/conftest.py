"""Fixtures: the command line's outputs on data/sample (the reference), the engine, and
data/sample as an Arrow table of the input schema."""

import json
import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import convqa

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"

#: The JSONL input schema as Arrow columns; times stay RFC 3339 strings (offsets kept).
TURN = pa.struct([("speaker", pa.string()), ("text", pa.string()), ("ts", pa.string())])
INPUT_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("agent_id", pa.string()),
        ("channel", pa.string()),
        ("customer_id", pa.string()),
        ("started_at", pa.string()),
        ("language", pa.string()),
        ("resolved", pa.bool_()),
        ("csat", pa.int64()),
        ("tags", pa.list_(pa.string())),
        ("turns", pa.list_(TURN)),
    ]
)


def sample_rows():
    """data/sample's conversations in the order the command line reads them (sorted files)."""
    rows = []
    for path in sorted(SAMPLE.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


@pytest.fixture(scope="session")
def cli_out(tmp_path_factory):
    """`convqa score data/sample` run by the command line (CONVQA_BIN, else cargo run)."""
    out = tmp_path_factory.mktemp("cli")
    binary = os.environ.get("CONVQA_BIN")
    cmd = [binary] if binary else ["cargo", "run", "--locked", "--quiet", "--"]
    subprocess.run(cmd + ["score", str(SAMPLE), "--out", str(out), "--quiet"], cwd=ROOT, check=True)
    return {name: pq.read_table(out / f"{name}.parquet") for name in ("conversations", "turns", "flags")}


@pytest.fixture(scope="session")
def engine():
    return convqa.Engine(threads=2)


@pytest.fixture(scope="session")
def sample_table():
    return pa.Table.from_pylist(sample_rows(), schema=INPUT_SCHEMA)
