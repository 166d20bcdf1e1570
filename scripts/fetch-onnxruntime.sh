#!/usr/bin/env bash
# Places ONNX Runtime's shared library where convqa looks for it: runtime/libonnxruntime.so.1.31.1
#
# The library comes from the `onnxruntime` wheel on the Python package registry (a wheel is a zip;
# no virtualenv or numpy needed), pinned by version and SHA-256. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.31.1
wheel=onnxruntime-$version-cp311-cp311-manylinux_2_28_x86_64.whl
wheel_sha256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
dest=runtime/libonnxruntime.so.$version

if [ -f "$dest" ]; then
  echo "ONNX Runtime $version already at $dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp \
  -d "$tmp" "onnxruntime==$version"
echo "$wheel_sha256  $tmp/$wheel" | sha256sum --check --quiet
mkdir -p runtime
python3 - "$tmp/$wheel" "$dest.part" "$version" <<'PY'
import sys, zipfile
wheel, out, version = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    with open(out, "wb") as f:
        f.write(z.read(f"onnxruntime/capi/libonnxruntime.so.{version}"))
PY
mv "$dest.part" "$dest"
echo "ONNX Runtime $version placed at $dest"
