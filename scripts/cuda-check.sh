#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and onnxruntime-node's CUDA provider (README "GPU": CUDA 12, cuDNN 9,
# ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node): what only such a machine can prove.
#   1. the parity test of test/onnx/webgpu-parity.test.ts on the CUDA provider: one fused train step of
#      each network and loss against the CPU provider, same weights and batch, same tolerances;
#   2. one timed training epoch on cuda and on cpu, side by side, the same run otherwise.
# Usage: bash scripts/cuda-check.sh [EPOCH_ARGS...]   (default: synthetic:200, 64 px, width 0.25, batch 8)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v nvidia-smi >/dev/null 2>&1 || { echo "cuda-check: no nvidia-smi here: this check needs an NVIDIA GPU and its driver" >&2; exit 1; }
node -e "process.exit(require('onnxruntime-node').listSupportedBackends().some((b) => b.name === 'cuda') ? 0 : 1)" || {
  echo "cuda-check: onnxruntime-node has no CUDA provider; install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node" >&2
  exit 1
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -d dist ] || npm run -s build

echo "== parity: one train step per network and loss, CUDA against the CPU"
MELSEG_PARITY_DEVICE=cuda npx jest test/onnx/webgpu-parity.test.ts --verbose 2>&1 | grep -E '✓|✕|Tests:|>'

EPOCH=("$@")
[ ${#EPOCH[@]} -gt 0 ] || EPOCH=(--model 3 --loss 15 --data synthetic:200 --image-size 64 --width 0.25 --batch-size 8)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== one timed epoch (2 epochs run: the first includes kernel selection and warm-up): ${EPOCH[*]}"
for device in cuda cpu; do
  node bin/run.js train "${EPOCH[@]}" --epochs 2 --device "$device" --out "$out/$device" --quiet >/dev/null
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
    const head = rows[0].split(","), at = (r, k) => r.split(",")[head.indexOf(k)];
    for (const r of rows.slice(1)) console.log(`${process.argv[2]}: epoch ${at(r, "epoch")} ${Number(at(r, "seconds")).toFixed(1)} s, ${Number(at(r, "images_per_s")).toFixed(1)} img/s, valid IoU ${Number(at(r, "metric")).toFixed(3)}`);
  ' "$out/$device/results.csv" "$device"
done
