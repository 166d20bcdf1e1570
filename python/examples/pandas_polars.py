"""pandas and Polars go through Arrow: no copy of the scoring, no conversion of the results.

    python python/examples/pandas_polars.py data/sample/en.jsonl
"""

import sys

import pandas as pd
import pyarrow as pa

import convqa

engine = convqa.Engine(threads=2)

# pandas: a DataFrame of the input schema (turns as lists of dicts) → Arrow → scored
df = pd.read_json(sys.argv[1], lines=True, dtype={"csat": "Int64", "resolved": "boolean"}, convert_dates=False)
scored = engine.score(pa.Table.from_pandas(df, preserve_index=False))
conversations = scored.conversations.to_pandas()
print(conversations[["conversation_id", "qa_score", "passed"]].head())
print(scored.rejects.to_pandas())

try:
    import polars as pl
except ImportError:
    sys.exit(0)
# Polars: a DataFrame is an Arrow stream; results come back with pl.from_arrow
frame = pl.read_ndjson(sys.argv[1])
scored = engine.score(frame)
print(pl.from_arrow(scored.flags).group_by("flag").len())
