"""Storage faults under real training subprocesses: a kill in the middle of writing a checkpoint, a disk that fills
up, an unwritable or damaged checkpoint. After each, the run says one clear line, and running the same command
again ends bit-identical (CPU) to a run that was never interrupted."""
import signal
import subprocess

import pytest

from faults import (TIMEOUT, TOTAL, assert_same_run, checkpoints, finish, kill_after_checkpoint, reference, start,
                    user_lines, wait_for)


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
    from can.encoder import load_run                  # an evaluation falls back too, and moves nothing
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
