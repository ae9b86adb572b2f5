#!/usr/bin/env bash
# make bench-torch: vpbook's VP step and forward pass against PyTorch's, same shapes, threads and machine,
# in one run (never part of make test). Creates a virtual environment in .venv-bench (git-ignored) with
# pinned torch and torchvision from PyPI: about 3 GB (PyPI's torch wheel pulls the CUDA runtime wheels,
# unused here; about 5.4 GB installed). Extra arguments go to both benchmarks (--quick, --repeat N).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-bench
if [[ ! -x $venv/bin/python ]] || ! $venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  echo "bench-torch: creating $venv (torch 2.15.0, torchvision 0.29.2 from PyPI; about 5 GB installed)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch==2.15.0 torchvision==0.29.2
fi
swift build -c release --product vpbench >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
.build/release/vpbench "$@" | tee "$out" >&2
"$venv/bin/python" scripts/bench_torch.py --vpbench "$out" "$@"
