"""Default locations of training/'s inputs and outputs, all derived from one work directory.

The work directory is, in order: the `--work DIR` argument of a script (`--work-root DIR` for
distill.py, whose `--work` is its own folder), else the environment variable CONVQA_WORK, else
`<repo>/target/training` (repo = the parent of training/). Inside it every script keeps its
folder name:

    convqa-assets/   fetch_assets.py (packages, unpacked)     convqa-vocab/   vocab_trim.py
    convqa-train/    train.py checkpoints                     convqa-export/  export.py
    convqa-emb/      baseline.py embedding cache              onnx/           onnx_smoke.py
    distill/         distill.py (corpus, teacher outputs, students)

so `CONVQA_WORK=/some/scratch` finds files an earlier session left in /some/scratch/convqa-*.

The Stanford Politeness Corpus is read from `--politeness DIR`, else CONVQA_POLITENESS, else
`<repo>/../shared/data/politeness`.
"""
import argparse
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ENV_WORK = "CONVQA_WORK"
ENV_POLITENESS = "CONVQA_POLITENESS"
DEFAULT_WORK = os.path.join(REPO, "target", "training")
DEFAULT_POLITENESS = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "politeness"))

# folder of each kind of output inside the work directory (the names the scripts always used)
SUBDIRS = {
    "assets": "convqa-assets",
    "vocab": "convqa-vocab",
    "train": "convqa-train",
    "export": "convqa-export",
    "emb": "convqa-emb",
    "onnx": "onnx",
    "distill": "distill",
}


def work_dir(work=None):
    """The work directory: `work` if given, else $CONVQA_WORK, else <repo>/target/training."""
    return os.path.abspath(os.path.expanduser(work or os.environ.get(ENV_WORK) or DEFAULT_WORK))


def sub(name, work=None):
    """WORK/<folder of `name`> (see SUBDIRS), e.g. sub("vocab") -> WORK/convqa-vocab."""
    return os.path.join(work_dir(work), SUBDIRS[name])


def politeness_dir(path=None):
    """The Stanford Politeness Corpus folder: `path`, else $CONVQA_POLITENESS, else
    <repo>/../shared/data/politeness."""
    return os.path.abspath(os.path.expanduser(path or os.environ.get(ENV_POLITENESS) or DEFAULT_POLITENESS))


def work_from_argv(argv=None, flag="--work"):
    """The value of `flag` on the command line (None if absent), read before the script's own
    parser is built so that the defaults it shows can depend on it."""
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument(flag, dest="value", default=None)
    ns, _ = p.parse_known_args(argv)
    return ns.value


def add_work_argument(ap, flag="--work"):
    """Declare `flag` on a parser (its value is read by work_from_argv)."""
    ap.add_argument(flag, metavar="DIR", default=None,
                    help=f"work directory every default path is derived from (default: ${ENV_WORK}, "
                         f"else {DEFAULT_WORK}; now {work_dir()})")
