#!/usr/bin/env bash
# One-command set-up on a fresh Debian/Ubuntu machine: system libraries for the native `canvas`
# (charts), the test oracles (python3-onnx, python3-torch; python3-torchvision and python3-pil for the
# ISIC pipelines of scripts/torch_train.py), node modules, and the compiled CLI.
# libopenblas0-pthread: without it Debian's PyTorch runs its BLAS-backed ops on the reference BLAS,
# which would make the PyTorch side of npm run bench:vs-torch an unfairly slow yardstick.
# chromium-headless-shell: the headless browser the report test (test/report/page.test.ts) opens report.html in.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev python3-onnx python3-torch python3-torchvision python3-pil python3-numpy libopenblas0-pthread chromium-headless-shell)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: no apt-get here; install cairo, pango, libjpeg, giflib and librsvg development packages for 'canvas' yourself" >&2
fi

# onnxruntime-node's install step fetches the CUDA provider from a feed offline machines cannot
# reach: skip it (the CPU and WebGPU providers ship in the npm package). GPU users: see README "GPU".
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
npm ci --no-audit --no-fund
npm run build
echo "setup: done. Run the tests with: npm test"
