#!/usr/bin/env bash
# Builds the release wheel into target/wheels/ with the default model inside it.
# maturin does not follow the development symlink python/convqa/models/convqa-mini, so the model
# folder is copied in for the build and the symlink put back afterwards.
# Usage: bash python/build-wheel.sh [maturin build options, e.g. --target aarch64-unknown-linux-gnu]
set -euo pipefail
cd "$(dirname "$0")"
link=python/convqa/models/convqa-mini
restore() { rm -rf "$link"; ln -s ../../../../models/convqa-mini "$link"; }
trap restore EXIT
rm -rf "$link"
mkdir "$link"
cp ../models/convqa-mini/{manifest.toml,model.onnx,tokenizer.json,MODEL_CARD.md} "$link/"
maturin build --release --locked --out ../target/wheels "$@"
