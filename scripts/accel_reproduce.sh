#!/usr/bin/env bash
# The reproduction's accelerator path: on a host with an accelerator and no registry, for at most about
# 10 minutes a call, run as much of paper_figures/run_all.py's plan as fits, several jobs at once, and leave every
# result made in one archive; back here, `python paper_figures/run_all.py --import <archive> --commit` checks each
# against the plan and commits it. Installs from .accel/ as accel_check.sh does (`make accel-bundle` first).
#     bash scripts/accel_reproduce.sh [--minutes M] [--workers W] [--tiny DIR] [run_all.py options, e.g. --group sweep]
# --minutes: the call's budget; no job starts that cannot end (at the throughput measured so far) before it, the
# jobs still running then are stopped (a pre-training saves its checkpoint), and the archive is written after every
# job. The archive: $OUT/reproduce-<commit>.tar.gz (or runs/ without $OUT). --tiny DIR: the rehearsal (a toy plan on
# a few hundred images, on CPU in the test suite).
set -euo pipefail
source "$(dirname "$0")/accel_env.sh"
minutes=$ACCEL_MINUTES workers=$ACCEL_WORKERS extra=()   # defaults: accel_env.sh
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
out=${OUT:-runs}/reproduce-$(git rev-parse --short HEAD 2>/dev/null || echo nogit).tar.gz
deadline=$("$PY" -c "print(max(10, int(float('$minutes') * 60) - $ACCEL_MARGIN_S))")
"$PY" -c "import jax; print('devices:', jax.devices())"
status=0
timeout $(( deadline + ACCEL_GRACE_S )) "$PY" paper_figures/run_all.py --workers "$workers" --deadline "$deadline" \
  --bundle "$out" --no-render --reverify "${extra[@]}" || status=$?
ls -l "$out" 2>/dev/null || echo "no result finished: no archive"
exit $status
