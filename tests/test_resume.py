"""Interruptions of real training subprocesses: SIGKILL at a random step, SIGTERM (preemption), SIGINT, a second
process on a busy workdir. After each, running the same command again must end bit-identical (CPU) to a run that
was never interrupted, with every step logged exactly once (the faults of storage: `test_faults.py`)."""
import json
import signal
import subprocess
import sys
import time

from faults import TIMEOUT, TOTAL, assert_same_run, checkpoints, finish, kill_after_checkpoint, reference, start, wait_for


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
