"""What the fault-injection tests share (`test_resume.py`, `test_faults.py`): the training worker they run and
kill, its helpers, and the uninterrupted reference run each file makes once. Two files so that the two test
processes of `make test` (`pytest -n 2 --dist loadfile`) share them: together they are the longest tests."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

WORKER = r'''
import os, sys, numpy as np, jax
from can.presets import get_config
from can.pretrain import pretrain
workdir, total = sys.argv[1], int(sys.argv[2])
def at_save(n, fault):                      # fault injection: call fault(directory, futures) in the n-th save
    import orbax.checkpoint as ocp
    handler, calls = ocp.StandardCheckpointHandler, []
    real_save = handler.async_save
    async def save(self, directory, *a, **kw):
        futures = await real_save(self, directory, *a, **kw)
        calls.append(str(directory))
        if len(calls) == n:
            fault(directory, futures)
        return futures
    handler.async_save = save
def hang(directory, futures):               # a checkpoint write that does not end
    import pathlib, time
    pathlib.Path(workdir, "SAVING").write_text(str(directory))
    time.sleep(600)
def disk_full(directory, futures):          # where no small filesystem can be mounted: the writes end, then the
    import errno                            # save fails as on a full disk
    for f in futures or []:
        f.result()
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory))
if os.environ.get("SLOW_SAVE_AT"):
    at_save(int(os.environ["SLOW_SAVE_AT"]), hang)
if os.environ.get("ENOSPC_AT"):
    at_save(int(os.environ["ENOSPC_AT"]), disk_full)
cfg = get_config(batch_size=32, epochs=2, warmup_epochs=0, head_hidden=64, decoder_depth=1, seed=3)
import pathlib
ck = pathlib.Path(workdir) / "checkpoints"
done = max([int(p.name) for p in ck.iterdir() if p.name.isdigit()], default=0) if ck.exists() else 0
import time
print("IMPORTED", time.time(), flush=True)     # the imports are done: what follows is the run's own time
state, _, _ = pretrain(cfg, workdir, save_every=1, stop_after=total - done, progress=False, log_every=1)
leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(state.params))[0]
np.savez(f"{workdir}/final.npz", **{jax.tree_util.keystr(k): v for k, v in leaves})
'''
TOTAL = 7
TIMEOUT = 300


def start(workdir, **env):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1", **env}
    return subprocess.Popen([sys.executable, "-c", WORKER, str(workdir), str(TOTAL)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(p):
    out = p.communicate(timeout=TIMEOUT)[0].decode()
    assert p.returncode == 0, out[-3000:]
    return out


def checkpoints(workdir):
    ck = workdir / "checkpoints"
    return sorted(int(d.name) for d in ck.iterdir() if d.name.isdigit()) if ck.exists() else []


def wait_for(cond, p):
    deadline = time.time() + TIMEOUT
    while not cond():
        assert p.poll() is None, p.stdout.read().decode()[-3000:]
        assert time.time() < deadline
        time.sleep(0.02)


def kill_after_checkpoint(workdir, n):
    "Start a run and SIGKILL it as soon as a checkpoint >= n exists (wherever it is then, possibly mid-save)."
    p = start(workdir)
    wait_for(lambda: any(s >= n for s in checkpoints(workdir)), p)
    p.send_signal(signal.SIGKILL)
    p.wait()
    return max(checkpoints(workdir))


# orbax's note that a save waited on the previous one (it appears when the machine is loaded, e.g. under `pytest -n 2`,
# and says nothing about the fault being tested)
TIMING_NOTE = "Waiting for previous save to complete took"


def user_lines(out):
    "What a run said to its user: the allocator hint, orbax's timing note and the worker's IMPORTED marker aside."
    return [l for l in out.splitlines()
            if l.strip() and "libtcmalloc" not in l and TIMING_NOTE not in l and not l.startswith("IMPORTED")]


def assert_same_run(ref, cut):
    a, b = np.load(ref / "final.npz"), np.load(cut / "final.npz")
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # the metrics log of the interrupted run has every step exactly once, with the same losses
    rows = [[json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines()] for d in (ref, cut)]
    assert [r["step"] for r in rows[1]] == list(range(1, TOTAL + 1))
    assert [r["loss"] for r in rows[0]] == [r["loss"] for r in rows[1]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ref = tmp_path_factory.mktemp("ref")
    finish(start(ref))
    return ref
