#!/usr/bin/env bash
# What scripts/accel_check.sh needs on an accelerator host without a registry (an H200 with Python 3.12, JAX, flax,
# optax, orbax: README.md, "First run on an accelerator"): the pinned wheels it lacks, for CPython 3.12 on x86-64,
# in .accel/whl, and the Fashion-MNIST IDX files in .accel/data. About 42 MB (the device tool carries 64 MiB).
#     bash scripts/accel_bundle.sh [python-version]     # default 3.12
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
VER=${1:-3.12}
mkdir -p .accel/whl .accel/data
# the packages of requirements.txt the host lacks, and theirs, at the pinned versions
NEED="ml_collections dm_pix grain tensorflow-datasets array_record dm-tree immutabledict simple-parsing
      tensorflow-metadata termcolor toml importlib_resources docstring_parser googleapis-common-protos portpicker"
PLATFORMS=""
for n in 1 2014 2_17 2_24 2_27 2_28 2_31 2_34 2_35; do
  PLATFORMS+=" --platform manylinux${n/#2_/_2_}_x86_64"
done
for name in $NEED; do
  pin=$(grep -i -E "^${name//[-_]/[-_]}==" requirements.txt)
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$VER" --implementation cp $PLATFORMS -d .accel/whl "$pin"
done
# promise (a tensorflow-datasets dependency) is published as a source archive only: build its pure-Python wheel
"$PY" -m pip wheel -q --no-deps -w .accel/whl "$(grep -i '^promise==' requirements.txt)"
cp /usr/share/datasets/fashion-mnist/*.gz .accel/data/ 2>/dev/null || cp "${FASHION_MNIST_DIR:?no Fashion-MNIST files: apt-get install dataset-fashion-mnist}"/*.gz .accel/data/
du -sh .accel
