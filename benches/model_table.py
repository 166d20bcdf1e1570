#!/usr/bin/env python3
"""Prints the model benchmark as a table with ratios, from criterion's estimates of the last
`cargo bench --bench models` (target/criterion/model_turns and model_load).

    python3 benches/model_table.py [--criterion target/criterion] [--teacher convqa-e5-small]
        [--check MODEL]

turns/s = turns in the set / mean seconds per pass. The ratio column divides each row by the
teacher at batch 1 on two threads (what convqa runs for it: its dynamic int8 is batch-dependent).
With --check MODEL, exits 1 unless MODEL reaches 1,000 turns/s and 5x the teacher in its best
layout (issue 5's targets) and loads in under a second.
"""
import argparse
import glob
import json
import os
import sys


def read(group_dir):
    rows = {}
    for bench in glob.glob(os.path.join(group_dir, "**", "new", "benchmark.json"), recursive=True):
        with open(bench) as f:
            meta = json.load(f)
        with open(os.path.join(os.path.dirname(bench), "estimates.json")) as f:
            est = json.load(f)
        rows[meta["function_id"]] = (est["mean"]["point_estimate"] / 1e9, (meta.get("throughput") or {}),
                                     os.path.getmtime(bench))
    # criterion keeps the results of models benched in earlier runs: keep the last run's only
    newest = max((r[2] for r in rows.values()), default=0)
    for k in [k for k, r in rows.items() if r[2] < newest - 3600]:
        print(f"(left out: {k}, from an earlier run)", file=sys.stderr)
        del rows[k]
    return {k: r[:2] for k, r in rows.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--criterion", default="target/criterion")
    ap.add_argument("--teacher", default="convqa-e5-small")
    ap.add_argument("--check", default="", metavar="MODEL")
    args = ap.parse_args()
    turns = read(os.path.join(args.criterion, "model_turns"))
    loads = read(os.path.join(args.criterion, "model_load"))
    if not turns:
        sys.exit(f"no results under {args.criterion}/model_turns: run `cargo bench --bench models` first")
    speed = {k: tp.get("Elements", 0) / secs for k, (secs, tp) in turns.items()}
    teacher = speed.get(f"{args.teacher}/batch1_threads2")
    print("| model | layout | turns/s | vs teacher (batch 1, 2 threads) |")
    print("|---|---|---|---|")
    for key in sorted(speed, key=lambda k: (k.split("/")[0] == args.teacher, k)):
        model, layout = key.split("/", 1)
        ratio = f"{speed[key] / teacher:.1f}x" if teacher else "(no teacher run)"
        print(f"| {model} | {layout.replace('_', ', ')} | {speed[key]:,.0f} | {ratio} |")
    print()
    for model, (secs, _) in sorted(loads.items()):
        print(f"load {model}: {secs:.3f} s (manifest, checksums, tokenizer, 2 sessions)")
    if not args.check:
        return
    model = args.check
    runs = [v for k, v in speed.items() if k.startswith(model + "/")]
    if not runs:
        sys.exit(f"no runs of {model} in {args.criterion}/model_turns")
    best = max(runs)
    problems = []
    if best < 1000:
        problems.append(f"{model}: {best:,.0f} turns/s < 1,000")
    if not teacher:
        problems.append(f"no run of the teacher {args.teacher} to compare with")
    elif best < 5 * teacher:
        problems.append(f"{model}: {best / teacher:.1f}x the teacher < 5x")
    load = loads.get(model, (None,))[0]
    if load is None or load >= 1.0:
        problems.append(f"{model}: load time {load} s (target < 1 s)")
    for p in problems:
        print("target missed: " + p)
    if problems:
        sys.exit(1)
    print(f"targets met: {model} {best:,.0f} turns/s, {best / teacher:.1f}x the teacher, loads in {load:.2f} s")


if __name__ == "__main__":
    main()
