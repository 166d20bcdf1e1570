#!/usr/bin/env bash
# Restores the teacher model, convqa-e5-small (12 layers × 384, dynamic int8, 36.8 MiB), into
# target/models/convqa-e5-small/ (not tracked), for the model benchmark (student vs teacher in the
# same run), training/distill.py and anyone who wants to score with it (`--model DIR`).
#
# The teacher shipped in models/ until the distilled student (models/convqa-mini) replaced it as
# the default: models/ must stay small (issue 5: at most 30 MB in all). Its files are taken from
# the git history at the last commit that had them and checked against the SHA-256 values of its
# manifest. Its training stays reproducible from training/ (training/README.md). Idempotent.
#
#   bash scripts/fetch-teacher.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."

commit=b732c9479a22595738d5f1315a75c79fddcd77cd
src=models/convqa-e5-small
dest=${1:-target/models/convqa-e5-small}

if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
  echo "fetch-teacher: commit $commit is not in this clone (a shallow clone?); run 'git fetch --unshallow' first" >&2
  exit 1
fi
mkdir -p "$dest"
for f in manifest.toml tokenizer.json model.onnx parity.jsonl MODEL_CARD.md; do
  git show "$commit:$src/$f" > "$dest/$f.part"
  mv "$dest/$f.part" "$dest/$f"
done
# the manifest lists the SHA-256 of model.onnx and tokenizer.json: check both
python3 - "$dest" <<'PY'
import hashlib, os, sys, tomllib
dest = sys.argv[1]
with open(os.path.join(dest, "manifest.toml"), "rb") as f:
    sums = tomllib.load(f)["sha256"]
for name, expected in sums.items():
    with open(os.path.join(dest, name), "rb") as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    if actual != expected:
        sys.exit(f"fetch-teacher: {dest}/{name}: SHA-256 {actual}, manifest says {expected}")
print(f"teacher model restored to {dest} (checksums match its manifest)")
PY
