"""Restructuring changes no behaviour: a short default CAN run of today's code gives bit-identical metrics and final
parameters to the same run of the commit before the code was split into one module per concern (issue 30)."""
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
BEFORE = "a2db1bb"            # the last commit before can.checkpoint / can.provenance / paper_figures as a package

RUN = """
import json, sys
import can, jax, numpy as np
assert can.__file__.startswith(sys.argv[4]), (can.__file__, sys.argv[4])      # the tree under test, not the install
from can.presets import get_config
from can.pretrain import pretrain
state, _, rows = pretrain(get_config(batch_size=64, epochs=1, warmup_epochs=0.1), sys.argv[1], stop_after=6,
                          log_every=1, progress=False)
flat = {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_flatten_with_path(state.params)[0]}
np.savez(sys.argv[2], **flat)
json.dump([{k: v for k, v in r.items() if k not in ("wall_s", "images_per_s")} for r in rows], open(sys.argv[3], "w"))
"""


def run(tree: Path, tmp: Path, name: str):
    env = {**os.environ, "PYTHONPATH": str(tree), "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    res = subprocess.run([sys.executable, "-c", RUN, str(tmp / f"{name}-wd"), str(tmp / f"{name}.npz"),
                          str(tmp / f"{name}.json"), str(tree)], cwd=tree, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads((tmp / f"{name}.json").read_text()), dict(np.load(tmp / f"{name}.npz"))


def test_a_short_default_run_is_bit_identical_to_the_code_before_the_split(tmp_path):
    archive = subprocess.run(["git", "archive", BEFORE, "can"], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {BEFORE} is not in this clone (a shallow clone): {archive.stderr[:200]!r}")
    before = tmp_path / "before"
    tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(before)
    rows_before, params_before = run(before, tmp_path, "before")
    rows_now, params_now = run(ROOT, tmp_path, "now")
    assert len(rows_now) == 6 and rows_now == rows_before                      # every logged loss term, lr, grad norm
    assert params_now.keys() == params_before.keys()
    for k in params_now:
        np.testing.assert_array_equal(params_now[k], params_before[k], err_msg=k)
