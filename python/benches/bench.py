"""The same generated corpus through the command line, the Python package and Spark local[2].

    python python/benches/bench.py --cli target/release/convqa [--conversations 20000]

Prints conversations/s of each, the ratio to the command line, Spark's session start apart,
and the memory of one engine in a Python process (what an executor's Python worker needs).
Build both in release first (python/README.md: Benchmark). Writes target/bench-python/results.json.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rss_mib() -> float:
    """Peak RSS of this process so far, MiB (Linux: ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_cli(cli: str, corpus: Path, out: Path, threads: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([cli, "score", str(corpus), "--out", str(out), "--quiet", "--threads", str(threads)], check=True)
    wall = time.perf_counter() - t
    summary = json.loads((out / "summary.json").read_text())
    return {
        "seconds": wall,
        "scored": summary["counts"]["scored"],
        "peak_rss_mib": max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024,
    }


#: One engine with one thread, as in a Spark or Ray worker, measured in a fresh process.
ENGINE_MEMORY = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[2])
from bench import current_rss_mib
import pyarrow as pa
base = current_rss_mib()
import convqa
imported = current_rss_mib()
engine = convqa.Engine(threads=1)
loaded = current_rss_mib()
result = engine.score_jsonl(sys.argv[1])
print(json.dumps({"python_mib": base, "after_import_mib": imported, "after_load_mib": loaded,
                  "after_scoring_mib": current_rss_mib(),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "scored": result.conversations.num_rows}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "convqa"))
    ap.add_argument("--conversations", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--work", default=str(ROOT / "target" / "bench-python"))
    ap.add_argument("--skip-spark", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / f"corpus-{args.conversations}-{args.seed}.jsonl"
    if not corpus.exists():
        subprocess.run([args.cli, "generate", "--conversations", str(args.conversations), "--seed", str(args.seed), "--out", str(corpus), "--quiet"], check=True)
    n = args.conversations
    results = {"conversations": n, "corpus_mb": corpus.stat().st_size / 1e6, "threads": args.threads}

    # 1. the command line (start-up included: it is part of every run)
    results["cli"] = run_cli(args.cli, corpus, work / "cli-out", args.threads)
    print(f"cli: {n / results['cli']['seconds']:,.0f} conversations/s ({results['cli']['seconds']:.2f} s)", flush=True)

    # 2. the Python package, in this process
    import pyarrow as pa
    import pyarrow.json as pj

    import convqa

    t = time.perf_counter()
    engine = convqa.Engine(threads=args.threads)
    load = time.perf_counter() - t
    t = time.perf_counter()
    scored = engine.score_jsonl(corpus)
    jsonl_s = time.perf_counter() - t
    assert scored.conversations.num_rows + scored.rejects.num_rows == n
    turn = pa.struct([("speaker", pa.string()), ("text", pa.string()), ("ts", pa.string())])
    schema = pa.schema([("conversation_id", pa.string()), ("agent_id", pa.string()), ("channel", pa.string()),
                        ("customer_id", pa.string()), ("started_at", pa.string()), ("language", pa.string()),
                        ("resolved", pa.bool_()), ("csat", pa.int64()), ("tags", pa.list_(pa.string())),
                        ("turns", pa.list_(turn))])
    t = time.perf_counter()
    table = pj.read_json(corpus, parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"))
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    scored_table = engine.score(table)
    table_s = time.perf_counter() - t
    assert scored_table.conversations.num_rows == scored.conversations.num_rows
    results["python"] = {"load_seconds": load, "score_jsonl_seconds": jsonl_s, "arrow_read_seconds": read_s,
                         "score_table_seconds": table_s, "peak_rss_mib": rss_mib()}
    cli_rate = n / results["cli"]["seconds"]
    for name, secs in (("score_jsonl", load + jsonl_s), ("score(table)", load + table_s)):
        print(f"python {name} (load included): {n / secs:,.0f} conversations/s, {n / secs / cli_rate:.3f}x the CLI", flush=True)
    del engine, scored, scored_table

    # 3. memory of one single-thread engine (one Spark/Ray Python worker)
    sample = work / "memory-sample.jsonl"
    with open(corpus, encoding="utf-8") as src, open(sample, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i == 2048:
                break
            dst.write(line)
    out = subprocess.run([sys.executable, "-c", ENGINE_MEMORY, str(sample), str(Path(__file__).parent)], check=True, capture_output=True, text=True)
    results["engine_memory"] = json.loads(out.stdout)
    print(f"one engine (1 thread): {results['engine_memory']}", flush=True)

    # 4. Spark local[2]
    if not args.skip_spark:
        results["spark"] = spark_bench(corpus, work, n, args.partitions)
        s = results["spark"]
        for key in ("cold", "warm"):
            rate = n / s[f"{key}_seconds"]
            print(f"spark local[2] {key}: {rate:,.0f} conversations/s, {rate / cli_rate:.3f}x the CLI "
                  f"(session start {s['session_start_seconds']:.1f} s apart)", flush=True)
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


def spark_bench(corpus: Path, work: Path, n: int, partitions: int) -> dict:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    t = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("convqa-bench")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.range(1).count()  # the JVM and the first job: part of the session start
    start = time.perf_counter() - t
    import convqa.spark as cs

    ddl = ("conversation_id string, agent_id string, channel string, customer_id string, started_at string, "
           "language string, resolved boolean, csat bigint, tags array<string>, "
           "turns array<struct<speaker:string,text:string,ts:string>>")
    timings = {}
    for key in ("cold", "warm"):  # cold: Python workers start and load their engines
        df = spark.read.schema(ddl).json(str(corpus)).repartition(partitions)
        t = time.perf_counter()
        out = cs.score(df)
        for name in ("conversations", "turns", "flags", "rejects"):
            getattr(out, name).write.mode("overwrite").parquet(str(work / f"spark-{key}" / name))
        timings[f"{key}_seconds"] = time.perf_counter() - t
        out.combined.unpersist()
        scored = spark.read.parquet(str(work / f"spark-{key}" / "conversations")).count()
        assert scored == n, (scored, n)
    spark.stop()
    return {"session_start_seconds": start, "partitions": partitions, **timings}


if __name__ == "__main__":
    sys.exit(main())
