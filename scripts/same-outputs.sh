#!/usr/bin/env bash
# Refactors change no behaviour: runs the same cases (data/sample with and without the model,
# --report, --incremental twice + verify, a generated corpus flat and incremental, convert,
# score --from, eval, every --help, error cases) with two convqa binaries and compares every
# output file, stdout, stderr and exit code byte for byte (summary.json and run manifests as JSON
# without the fields that carry time; run ids replaced by their rank).
#
# usage: bash scripts/same-outputs.sh BEFORE_BIN AFTER_BIN [ROOT]
#   e.g. git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build) &&
#        cargo build && bash scripts/same-outputs.sh /tmp/old/target/debug/convqa target/debug/convqa
# GEN_N (default 10000) sets the generated corpus's size. Exit 0 when everything is identical.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(realpath "$1"); after=$(realpath "$2"); root=${3:-$(mktemp -d)}
mkdir -p "$root"
# Both runs write into the same folder (then moved), so paths inside messages are equal; each
# binary is copied to the same name so clap prints the same program name.
for side in before after; do
    bin=$before; [[ $side == after ]] && bin=$after
    mkdir -p "$root/bin-$side"; cp "$bin" "$root/bin-$side/convqa"
done
for side in before after; do
    rm -rf "$root/bin"; cp -r "$root/bin-$side" "$root/bin"
    bash scripts/same-outputs/cases.sh "$root/bin/convqa" "$root/work"
    rm -rf "${root:?}/$side"; mv "$root/work" "$root/$side"
done
python3 scripts/same-outputs/compare.py "$root/before" "$root/after"
