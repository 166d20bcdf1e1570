"""Type stubs of the compiled extension; use the wrappers in ``convqa``."""

from typing import Any, List, Optional, Tuple

import pyarrow as pa

__version__: str

class ConvqaError(Exception): ...

class Engine:
    def __init__(
        self,
        rubric_path: Optional[str] = None,
        rubric_text: Optional[str] = None,
        model_dir: Optional[str] = None,
        ort_lib: Optional[str] = None,
        redact: str = "all",
        threads: int = 0,
        max_turns: int = 10000,
    ) -> None: ...
    def score(self, data: Any, source: str = "table") -> Tuple[pa.Table, pa.Table, pa.Table, pa.Table]: ...
    def score_jsonl(self, paths: List[str]) -> Tuple[pa.Table, pa.Table, pa.Table, pa.Table]: ...
    def info(self) -> dict: ...

def output_schemas() -> List[pa.Schema]: ...
