"""Writes the committed sample conversations (data/sample) N times over, with unique ids, as one
JSONL file: a quick, deterministic corpus for `bash benches/e2e.sh --no-models`. It is the sample's
text, not a realistic distribution of sizes; the model bench (`benches/e2e.sh`) and the scaling
bench (`benches/scaling.sh`) use the synthetic corpus of `convqa generate` instead.

Usage: python3 benches/replicate_sample.py N OUT.jsonl
"""
import json
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
n, out_path = int(sys.argv[1]), Path(sys.argv[2])
lines = [line for f in sorted((root / "data" / "sample").glob("*.jsonl")) for line in f.open() if line.strip()]
with out_path.open("w") as out:
    for i in range(n):
        for line in lines:
            c = json.loads(line)
            c["conversation_id"] = f"{c['conversation_id']}-{i}"
            out.write(json.dumps(c, ensure_ascii=False) + "\n")
