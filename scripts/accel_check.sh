#!/usr/bin/env bash
# The accelerator check (scripts/accel_check.py) on a host that may have no package registry: installs the wheels and
# the Fashion-MNIST files that scripts/accel_bundle.sh put in .accel/ (when present), then runs the check, bounded
# to 8 minutes. Arguments go to accel_check.py (e.g. --tiny). `make accel-check` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .accel/whl ] && ! "$PY" -c "import ml_collections, dm_pix, grain, tensorflow_datasets" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/accel-site .accel/whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/accel-site"     # only what the host lacks is carried: nothing of its own is shadowed
fi
# the carried Fashion-MNIST where the host has none, prepared for tfds outside the repository
if [ -d .accel/data ] && [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  export FASHION_MNIST_DIR="$PWD/.accel/data" TFDS_DATA_DIR=${TFDS_DATA_DIR:-/tmp/accel-tfds}
fi
export PYTHONUNBUFFERED=1
exec timeout "${ACCEL_TIMEOUT_S:-480}" "$PY" scripts/accel_check.py ${OUT:+--also "$OUT"} "$@"
