"""convqa: QA scoring of customer-service conversations (Chinese and English), Arrow in, Arrow out.

The same Rust engine as the ``convqa score`` command line: a table of conversations (the JSONL
input schema as columns) goes in, and the tables ``convqa score`` writes as Parquet come out,
with the same columns and values, plus the rejected rows with their reasons::

    import convqa, pyarrow.json as pj
    engine = convqa.Engine()                      # built-in rubric, bundled model
    result = engine.score(table)                  # pyarrow.Table / RecordBatch / any Arrow stream
    result.conversations, result.turns, result.flags, result.rejects

pandas: ``engine.score(pyarrow.Table.from_pandas(df))``; Polars: ``engine.score(df)`` (Polars
frames are Arrow streams) and ``polars.from_arrow(result.conversations)``.
Spark: :mod:`convqa.spark`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Union

from convqa._convqa import ConvqaError, __version__
from convqa._convqa import Engine as _Engine
from convqa._convqa import output_schemas as _output_schemas

__all__ = ["Engine", "Scored", "ConvqaError", "DEFAULT_MODEL", "ort_library", "output_schemas", "__version__"]

#: The model folder shipped inside the package (``model="default"``).
DEFAULT_MODEL = Path(__file__).parent / "models" / "convqa-mini"

#: The ONNX Runtime release the engine is built against.
ORT_VERSION = "1.31.1"


class Scored(NamedTuple):
    """What one call returns: the three tables of ``convqa score`` and the rejected rows."""

    conversations: "pyarrow.Table"  # noqa: F821
    turns: "pyarrow.Table"  # noqa: F821
    flags: "pyarrow.Table"  # noqa: F821
    #: ``rejects.jsonl``'s fields as columns: file, line, code, field, reason, raw
    rejects: "pyarrow.Table"  # noqa: F821


def ort_library() -> Optional[Path]:
    """ONNX Runtime's shared library: ``$ORT_DYLIB_PATH`` if set, else the one the
    ``onnxruntime`` wheel installed (found without importing it), else None."""
    env = os.environ.get("ORT_DYLIB_PATH")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        lib = Path(folder) / "capi" / f"libonnxruntime.so.{ORT_VERSION}"
        if lib.is_file():
            return lib
    return None


def _rubric_args(rubric: Union[None, str, os.PathLike]) -> tuple:
    """(path, text): a path-like or an existing file is read from disk, other text is TOML."""
    if rubric is None:
        return None, None
    if isinstance(rubric, os.PathLike):
        return os.fspath(rubric), None
    if isinstance(rubric, str):
        if "\n" not in rubric and Path(rubric).is_file():
            return rubric, None
        if "\n" in rubric or "=" in rubric:
            return None, rubric
        raise ConvqaError(f"{rubric}: rubric file not found (give a path to a TOML file or the TOML text)")
    raise TypeError(f"rubric must be a path or TOML text, not {type(rubric).__name__}")


class Engine:
    """The convqa engine, loaded once and reused for many calls (thread-safe).

    :param rubric: a rubric TOML file (path) or its text; None for the built-in rubric.
    :param model: ``"default"`` for the model bundled in the package, a model folder (as in
        ``models/``), or None for phrases and timing only (sentiment and politeness are null).
    :param redact: personal data replaced in every text written out: ``"all"``, ``"none"``, or
        a comma list of email, phone, card, id_number, ip (as ``convqa score --redact``).
    :param threads: scoring threads of the engine's own pool (one model session each); None
        for one per core. In Spark or Ray, where each task has a core, use 1.
    :param max_turns: conversations with more turns are rejected (``--max-turns``).
    :param ort_lib: ONNX Runtime's library; default :func:`ort_library`.
    """

    def __init__(
        self,
        rubric: Union[None, str, os.PathLike] = None,
        model: Union[None, str, os.PathLike] = "default",
        redact: str = "all",
        threads: Optional[int] = None,
        max_turns: int = 10_000,
        ort_lib: Union[None, str, os.PathLike] = None,
    ):
        rubric_path, rubric_text = _rubric_args(rubric)
        model_dir = DEFAULT_MODEL if model == "default" else model
        if model_dir is not None and ort_lib is None:
            ort_lib = ort_library()
            if ort_lib is None:
                raise ConvqaError(
                    f"ONNX Runtime {ORT_VERSION} not found: pip install onnxruntime=={ORT_VERSION}, "
                    "set ORT_DYLIB_PATH to libonnxruntime.so, or use model=None"
                )
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1 (or None for one per core), got {threads}")
        self._engine = _Engine(
            rubric_path=rubric_path,
            rubric_text=rubric_text,
            model_dir=None if model_dir is None else os.fspath(model_dir),
            ort_lib=None if ort_lib is None else os.fspath(ort_lib),
            redact=redact,
            threads=threads or 0,
            max_turns=max_turns,
        )
        self.options = dict(rubric=rubric, model=model, redact=redact, threads=threads, max_turns=max_turns)

    def score(self, data, source: str = "table") -> Scored:
        """Scores the rows of ``data``: a ``pyarrow.Table`` or ``RecordBatch``, a
        ``RecordBatchReader``, or anything with ``__arrow_c_stream__`` (Polars, DuckDB).

        Columns are the JSONL input schema: ``conversation_id``, ``agent_id``, ``channel``,
        ``turns`` (list of struct ``speaker``, ``text``, ``ts``) and the optional
        ``customer_id``, ``started_at``, ``language``, ``resolved``, ``csat``, ``tags``. Times are
        best kept as RFC 3339 strings (their offsets are kept, as in the JSONL); timestamp
        columns are read as UTC. A bad row never raises: it comes back in ``rejects`` with
        ``file`` = ``source``, ``line`` = its row number (from 1) and the reason.
        """
        return Scored(*self._engine.score(data, source))

    def score_jsonl(self, paths: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]]) -> Scored:
        """Scores JSONL files or folders (every ``*.jsonl`` below, also ``.gz`` / ``.zst``) with the
        command line's own reader: rejects name the file and line, as in ``rejects.jsonl``."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        return Scored(*self._engine.score_jsonl([os.fspath(p) for p in paths]))

    def info(self) -> dict:
        """What was loaded: rubric name, version, sha256 and source, model name and version,
        threads, and the rubric rules that run on their phrases only."""
        return self._engine.info()

    def __repr__(self) -> str:
        i = self.info()
        return f"convqa.Engine(rubric={i['rubric_name']!r} {i['rubric_version']}, model={i['model_name']!r}, threads={i['threads']})"


def output_schemas() -> Scored:
    """The pyarrow schemas of the four tables, without loading an engine."""
    return Scored(*_output_schemas())
