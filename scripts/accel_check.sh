#!/usr/bin/env bash
# The accelerator check (scripts/accel_check.py) on a host that may have no package registry: installs the wheels and
# the Fashion-MNIST files that scripts/accel_bundle.sh put in .accel/ (when present), then runs the check, bounded
# by ACCEL_TIMEOUT_S (accel_env.sh). Arguments go to accel_check.py (e.g. --tiny). `make accel-check` runs it.
set -euo pipefail
source "$(dirname "$0")/accel_env.sh"
exec timeout "$ACCEL_TIMEOUT_S" "$PY" scripts/accel_check.py ${OUT:+--also "$OUT"} "$@"
