#!/usr/bin/env bash
# Alternates JAX and eager-PyTorch runs of encoder_step.py, each with glibc malloc and with tcmalloc, ROUNDS times;
# JSON lines -> results/benchmark/encoder_vs_torch.jsonl. PyTorch is not a dependency of this project: give its Python as TORCH_PYTHON
# (python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu).
set -euo pipefail
cd "$(dirname "$0")"
JAX_PYTHON=${JAX_PYTHON:-../.venv/bin/python}
TORCH_PYTHON=${TORCH_PYTHON:?set TORCH_PYTHON to a python with torch}
TCMALLOC=$(/sbin/ldconfig -p | awk '/libtcmalloc_minimal\.so\.4 /{print $NF; exit}')
out=../results/benchmark/encoder_vs_torch.jsonl; : > "$out"
for round in $(seq "${ROUNDS:-3}"); do
  for preload in "" "$TCMALLOC"; do
    LD_PRELOAD=$preload "$JAX_PYTHON" encoder_step.py jax 2>/dev/null | tail -1 >> "$out"
    LD_PRELOAD=$preload "$TORCH_PYTHON" encoder_step.py torch 2>/dev/null | tail -1 >> "$out"
  done
done
cat "$out"
