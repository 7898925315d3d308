"""Faults injected into real training subprocesses: SIGKILL at a random step, SIGTERM (preemption), and a kill in the
middle of writing a checkpoint, a disk that fills up, a damaged checkpoint. After each, running the same command again must end bit-identical (CPU) to a run
that was never interrupted, with every step logged exactly once."""
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


def user_lines(out):
    "What a run said to its user: the allocator hint and the worker's own IMPORTED marker aside."
    return [l for l in out.splitlines() if l.strip() and "libtcmalloc" not in l and not l.startswith("IMPORTED")]


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


def test_sigkill_then_sigterm_then_resume_is_bit_identical(reference, tmp_path):
    # 1. SIGKILL as soon as a checkpoint >= 2 exists (whatever step it is at then, possibly mid-save)
    killed_at = kill_after_checkpoint(tmp_path, 2)
    assert 2 <= killed_at < TOTAL, killed_at
    # 2. resume, and SIGTERM once it has restored the checkpoint (it rewrites metrics.jsonl then; the step is not
    #    compiled yet, so steps are left): it must finish the step it is in, save, say so and exit 0
    log = tmp_path / "metrics.jsonl"
    mtime = log.stat().st_mtime_ns
    p = start(tmp_path)
    wait_for(lambda: log.stat().st_mtime_ns != mtime, p)
    p.send_signal(signal.SIGTERM)
    out = finish(p)
    run = json.loads((tmp_path / "run.json").read_text())
    assert "SIGTERM: stopped after step" in out and run["preempted"], out[-2000:]
    assert max(checkpoints(tmp_path)) == run["steps"] < TOTAL
    print(f"SIGKILL left checkpoint {killed_at}; SIGTERM stopped after step {run['steps']}")
    # 3. the same command again finishes the run
    finish(start(tmp_path))
    assert_same_run(reference, tmp_path)


def test_kill_during_checkpoint_write_keeps_previous_checkpoint(reference, tmp_path):
    p = start(tmp_path, SLOW_SAVE_AT="4")          # hangs half-way through writing checkpoint 4
    wait_for(lambda: (tmp_path / "SAVING").exists(), p)
    p.send_signal(signal.SIGKILL)
    p.wait()
    ck = tmp_path / "checkpoints"
    assert any("tmp" in d.name for d in ck.iterdir()), sorted(d.name for d in ck.iterdir())   # the half-written one
    assert max(checkpoints(tmp_path)) == 3
    finish(start(tmp_path))                          # resumes from 3, ignoring the unfinished write
    assert_same_run(reference, tmp_path)


def test_second_process_on_a_busy_workdir_stops_at_once_and_the_first_is_untouched(reference, tmp_path):
    p1 = start(tmp_path)
    lock = tmp_path / ".lock"
    wait_for(lambda: lock.exists() and "pid" in lock.read_text(), p1)
    t = time.time()
    p2 = start(tmp_path)
    out = p2.communicate(timeout=60)[0].decode()
    t_end = time.time()
    # It stops before loading data or compiling: < 10 s in all, of which importing JAX is most (≈ 5 s on idle cores);
    # the 10 s are held from the end of the imports, which a loaded machine (two test processes, a training run
    # beside them) can stretch to 15 s by themselves.
    imported = float(next(l for l in out.splitlines() if l.startswith("IMPORTED")).split()[1])
    assert p2.returncode != 0 and t_end - imported < 10 and t_end - t < 60, out[-2000:]
    assert f"is in use by pid {p1.pid} on" in out, out[-2000:]
    assert "Traceback" not in out.split("WorkdirBusy")[-1].split("\n", 1)[-1]     # the line is the last thing said
    finish(p1)
    assert_same_run(reference, tmp_path)          # a SIGKILLed holder frees the lock: the first test resumes after one


DATA = r'''
import sys, hashlib, numpy as np
from can.data import data_source
s = data_source("fashion_mnist", "train", data_dir=sys.argv[1])
print(len(s), hashlib.sha1(np.stack([np.asarray(s[i]["image"]) for i in range(0, 60000, 997)]).tobytes()).hexdigest())
'''


def test_three_processes_prepare_the_dataset_into_one_empty_directory(tmp_path):
    ps = [subprocess.Popen([sys.executable, "-c", DATA, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
          for _ in range(3)]
    outs = [p.communicate(timeout=TIMEOUT)[0].decode() for p in ps]
    assert all(p.returncode == 0 for p in ps), [o[-1500:] for o in outs]
    last = {o.strip().splitlines()[-1] for o in outs}
    assert len(last) == 1 and next(iter(last)).startswith("60000 "), last


def test_sigint_saves_and_the_same_command_resumes_bit_identical(reference, tmp_path):
    "Ctrl-C (or Jupyter's interrupt) at some step: the step finishes, is saved, the process says so and exits 0."
    p = start(tmp_path)
    wait_for(lambda: any(s >= 2 for s in checkpoints(tmp_path)), p)
    p.send_signal(signal.SIGINT)
    out = finish(p)
    run = json.loads((tmp_path / "run.json").read_text())
    assert "SIGINT: stopped after step" in out and "KeyboardInterrupt" not in out, out[-2000:]
    assert run["preempted"] and max(checkpoints(tmp_path)) == run["steps"] < TOTAL
    finish(start(tmp_path))
    assert_same_run(reference, tmp_path)



def test_disk_full_stops_with_one_line_and_the_same_command_resumes_bit_identical(reference, tmp_path):
    "A 12 MB filesystem holds the tiny run's first checkpoint (10 MB) but not the second: one line, then resume."
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(small)],
                             capture_output=True).returncode == 0           # root only; else ENOSPC injected
    try:
        wd = small / "wd"
        p = start(wd, **({} if mounted else {"ENOSPC_AT": "2"}))
        out = p.communicate(timeout=TIMEOUT)[0].decode()
        said = user_lines(out)
        assert p.returncode == 1 and len(said) == 1, out[-3000:]
        assert said[0].startswith("Storage fault after step ") and "No space left on device" in said[0], said
        assert "the last good checkpoint is step 1" in said[0] and "run the same command again" in said[0], said
        assert checkpoints(wd) == [1] and not [d for d in (wd / "checkpoints").iterdir() if "tmp" in d.name]
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)       # space freed
        finish(start(wd))
        assert_same_run(reference, wd)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(small)])


def damage(checkpoint_dir):
    "Truncate the largest array file of a checkpoint to half its size (as a full disk or a bad copy would)."
    files = [f for f in checkpoint_dir.rglob("*") if f.is_file() and f.parent.name == "d"]
    big = max(files, key=lambda f: f.stat().st_size)
    with open(big, "r+b") as f:
        f.truncate(big.stat().st_size // 2)


def test_damaged_latest_checkpoint_falls_back_and_ends_bit_identical(reference, tmp_path):
    latest = kill_after_checkpoint(tmp_path, 3)
    damage(tmp_path / "checkpoints" / str(latest))
    from can.eval import load_run                  # an evaluation falls back too, and moves nothing
    assert load_run(tmp_path)[3] == latest - 1 and max(checkpoints(tmp_path)) == latest
    out = finish(start(tmp_path))
    warnings = [l for l in out.splitlines() if l.startswith("warning: checkpoint")]
    assert len(warnings) == 1 and f"checkpoint {latest} in" in warnings[0], out[-3000:]
    assert f"using step {latest - 1}" in warnings[0], out[-3000:]
    assert "Traceback" not in out and "Event loop is closed" not in out and "Task exception" not in out, out[-3000:]
    while max(checkpoints(tmp_path)) < TOTAL:      # the worker asked for TOTAL - latest steps: one more call ends it
        finish(start(tmp_path))
    assert_same_run(reference, tmp_path)


def test_no_intact_checkpoint_is_one_clear_error(tmp_path):
    kill_after_checkpoint(tmp_path, 2)
    for s in checkpoints(tmp_path):
        damage(tmp_path / "checkpoints" / str(s))
    p = start(tmp_path)
    out = p.communicate(timeout=TIMEOUT)[0].decode()
    assert p.returncode != 0 and "CheckpointDamaged: no intact checkpoint in" in out, out[-3000:]
    assert "move that directory away" in out, out[-3000:]
    assert "Event loop is closed" not in out and "Task exception" not in out, out[-3000:]


def test_unwritable_checkpoint_directory_stops_with_one_line_and_resumes_bit_identical(reference, tmp_path):
    """A storage fault that is not a full disk: the checkpoint directory turns immutable (`chattr +i`: EPERM even for
    root) while the run saves. orbax's save threads then wait for a step directory that is never created: without
    their release the process printed its line and hung at exit (found by hand, 300 s+)."""
    wd = tmp_path / "wd"
    p = start(wd)
    wait_for(lambda: any(s >= 2 for s in checkpoints(wd)), p)
    if subprocess.run(["chattr", "+i", str(wd / "checkpoints")], capture_output=True).returncode:
        p.kill()
        pytest.skip("chattr +i is not allowed here (root on ext2/3/4 only)")
    try:
        out = p.communicate(timeout=TIMEOUT)[0].decode()
    finally:
        subprocess.run(["chattr", "-i", str(wd / "checkpoints")], check=True)
    said = user_lines(out)
    assert p.returncode == 1 and len(said) == 1, out[-3000:]
    assert said[0].startswith("Storage fault after step ") and "Operation not permitted" in said[0], said
    assert f"the last good checkpoint is step {max(checkpoints(wd))}" in said[0], said
    while max(checkpoints(wd)) < TOTAL:             # the same command again (once more if it asked too few steps)
        finish(start(wd))
    assert_same_run(reference, wd)
