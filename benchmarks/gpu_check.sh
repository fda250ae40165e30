#!/usr/bin/env bash
# One-GPU check (bf16 throughput + MFU on a Qwen2.5-1.5B-shaped model, QLoRA, FSDP on one device, packing
# with varlen attention, the benchmark callback); writes one results file. About 8 minutes on an H100/H200.
#   bash benchmarks/gpu_check.sh [--output gpu_check.json] [--only qlora fsdp ...]
# Without a CUDA GPU it validates its configs, prints "no CUDA GPU: skipped" and exits 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec "$python" "$here/gpu_check.py" "$@"
