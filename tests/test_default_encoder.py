"""The pretrained encoder shipped in `can/weights/` loads in a fresh clone, without training, and is what its sidecar says."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).parents[1]
WEIGHTS = ROOT / "can" / "weights" / "default-can.safetensors"

CLONE_SNIPPET = """
import sys, numpy as np, can
from can.encoder import load_encoder
encode = load_encoder("default")
x = np.load(sys.argv[1])
np.save(sys.argv[2], encode(x))
print(can.__file__)
"""


def test_default_encoder_loads_in_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    x = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 1), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "PYTHONPATH": str(clone), "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    out = subprocess.run([sys.executable, "-c", CLONE_SNIPPET, str(tmp_path / "x.npy"), str(tmp_path / "f.npy")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith(str(clone)), out.stdout            # the clone's package, not this checkout's
    from can.encoder import load_encoder
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), load_encoder(WEIGHTS, batch_size=1000)(x))


def test_default_encoder_sidecar_names_its_run():
    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    prov = meta["provenance"]
    assert meta["config"]["method"] == "can" and len(prov["git_commit"]) == 40
    origin = prov["exported_from"]
    # the run it was exported from (runs/paper/<group>/<name>) has its committed record: same config, its last step
    run = pathlib.Path(origin["run"]).relative_to("runs/paper")
    record = json.loads((ROOT / "paper_figures" / "results" / run / "pretrain.json").read_text())
    assert record["config"] == meta["config"] and origin["step"] == record["steps"] == record["total_steps"]
