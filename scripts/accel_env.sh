# Sourced by scripts/accel_check.sh and scripts/accel_reproduce.sh, on a host that may have no package registry:
# installs the wheels that scripts/accel_bundle.sh put in .accel/ (only what the host lacks), and points the project
# at the carried Fashion-MNIST files when the host has none. Sets PY, PYTHONPATH, the data variables and the call's
# settings below: the one place they are set (a device call runs at most 10 minutes).
ACCEL_TIMEOUT_S=${ACCEL_TIMEOUT_S:-480}   # accel_check.sh: the whole check
ACCEL_MINUTES=${ACCEL_MINUTES:-8}         # accel_reproduce.sh: the call's budget (--minutes)
ACCEL_WORKERS=${ACCEL_WORKERS:-6}         # accel_reproduce.sh: jobs at once (--workers)
ACCEL_MARGIN_S=40                         # no job starts that cannot end this long before the budget
ACCEL_GRACE_S=150                         # then the driver is killed this long after its deadline
cd "$(dirname "${BASH_SOURCE[0]}")/.."
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
