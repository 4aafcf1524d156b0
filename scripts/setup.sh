#!/usr/bin/env bash
# One-time set-up on Debian 12: the system packages kiln's video pipeline and tests use, then
# the npm dependencies. Safe to rerun; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# ffmpeg: the video engine. python3-torch/-torchvision/-onnx: reference exports, parity
# checks and onnx.checker in the tests. libonnx-testdata: the ONNX backend node tests.
# chromium: headless browser tests of the HTML reports. mate-backgrounds: real photos used to
# render test clips and training data.
PACKAGES=(ffmpeg python3-torch python3-torchvision python3-onnx python3-numpy python3-pil libonnx-testdata chromium mate-backgrounds)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# onnxruntime-node's install script downloads CUDA libraries, which fails offline; the CPU
# (and WebGPU) binaries ship inside the npm package itself.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2
fi
