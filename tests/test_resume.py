"""A run killed with SIGKILL and resumed ends bit-identical to an uninterrupted run (CPU)."""
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np

WORKER = r'''
import sys, numpy as np, jax
from can.presets import get_config
from can.pretrain import pretrain
workdir, total = sys.argv[1], int(sys.argv[2])
cfg = get_config(batch_size=32, epochs=2, warmup_epochs=0, head_hidden=64, decoder_depth=1, seed=3)
import orbax.checkpoint as ocp, pathlib
ck = pathlib.Path(workdir) / "checkpoints"
done = max([int(p.name) for p in ck.iterdir() if p.name.isdigit()], default=0) if ck.exists() else 0
state, _, _ = pretrain(cfg, workdir, save_every=1, stop_after=total - done, progress=False, log_every=1)
leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(state.params))[0]
np.savez(f"{workdir}/final.npz", **{jax.tree_util.keystr(k): v for k, v in leaves})
'''
TOTAL = 7


def run(workdir, **kw):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(workdir), str(TOTAL)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    p = run(ref)
    assert p.wait(timeout=300) == 0, p.stdout.read().decode()[-3000:]
    # start the same run, kill it hard once a checkpoint at step >= 3 exists (mid-run, possibly mid-save)
    p = run(cut)
    ck = cut / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and not (ck.exists() and any(d.name.isdigit() and int(d.name) >= 3 for d in ck.iterdir())):
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    killed_at = max(int(d.name) for d in ck.iterdir() if d.name.isdigit())
    assert 3 <= killed_at < TOTAL, killed_at
    p = run(cut)
    assert p.wait(timeout=300) == 0, p.stdout.read().decode()[-3000:]
    a, b = np.load(ref / "final.npz"), np.load(cut / "final.npz")
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # the metrics log of the resumed run has every step exactly once
    steps = [int(l.split('"step": ')[1].split(",")[0]) for l in (cut / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, TOTAL + 1))
