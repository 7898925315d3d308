#!/usr/bin/env bash
# Every protocol on the default pre-training runs (runs/default-<method>-seed0, made by `make train` and
# `papermill nbs/train.ipynb ... -p method mae|simclr`) and on a random-init encoder. One executed notebook and
# one result JSON per (encoder, protocol) under results/eval/<encoder>/. The fine-tuning accuracy is the "clean"
# row of eval-robustness.json (robustness = fine-tune, then the corrupted test sets), so it is not run twice.
# Run it from a clean checkout of a commit (e.g. `git worktree add /tmp/eval HEAD`, then
# `PYTHONPATH=/tmp/eval PYTHON=$PWD/.venv/bin/python RUNS=$PWD/runs /tmp/eval/results/eval/run.sh`) so that the
# commit recorded in every JSON is the code that ran, however long the runs take.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
RUNS=${RUNS:-runs}
PROTOCOLS=${PROTOCOLS:-"knn linear fewshot robustness"}
ENCODERS=${ENCODERS:-"random can mae simclr"}
for proto in $PROTOCOLS; do
  for enc in $ENCODERS; do
    ck=$([ "$enc" = random ] && echo random || echo "$RUNS/default-$enc-seed0")
    out=results/eval/$enc
    mkdir -p "$out"
    start=$(date +%s)
    "$PYTHON" -m papermill nbs/eval.ipynb "$out/eval-$proto.ipynb" -p checkpoint "$ck" -p protocol "$proto" \
      -p output "$out/eval-$proto.json"
    echo "$enc $proto $(( $(date +%s) - start )) s" | tee -a results/eval/times.txt
  done
done
