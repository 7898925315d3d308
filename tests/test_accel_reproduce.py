"""Issue 45's accelerator path, rehearsed on CPU at toy sizes: scripts/accel_reproduce.sh --tiny runs the toy plan with
two workers and a deadline that cuts its long pre-training, leaves the archive; `run_all.py --import` checks and places
its results, keeps what is already there, and refuses a result made with another config."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _run_all(tiny, *args):
    env = dict(os.environ, CAN_PAPER_TINY=str(tiny), FASHION_MNIST_DIR=str(tiny / "idx"))
    return subprocess.run([sys.executable, "paper_figures/run_all.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_two_workers_a_deadline_the_bundle_and_the_import(tmp_path):
    tiny = tmp_path / "tiny"
    p = subprocess.run(["bash", "scripts/accel_reproduce.sh", "--minutes", "4", "--workers", "2", "--tiny", str(tiny)],
                       cwd=ROOT, env=dict(os.environ, OUT=str(tmp_path / "out"), PYTHON=sys.executable),
                       capture_output=True, text=True, timeout=600)
    log = p.stdout + p.stderr
    assert p.returncode == 0, log[-3000:]
    bundle = next((tmp_path / "out").glob("reproduce-*.tar.gz"))
    with tarfile.open(bundle) as tar:
        names = sorted(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["workers"] == 2 and manifest["deadline_s"] == 200
    # the long pre-training ran beside the short runs and was stopped at the deadline, its checkpoint saved
    status = {(j["run"], j["kind"]): j["status"] for j in manifest["jobs"]}
    assert status[("tiny/can-long-seed1", "pretrain")] == "stopped at the deadline", status
    assert "SIGTERM: stopped after step" in log and any((tiny / "runs/tiny/can-long-seed1/checkpoints").iterdir())
    # the archive holds exactly the finished jobs' results (a machine slower than planned finishes fewer)
    files = {"pretrain": ["metrics.jsonl", "pretrain.json"], "quick": ["eval-quick.json"], "knn": ["eval-knn.json"]}
    done = [(r, k) for (r, k), v in status.items() if v == "done"]
    assert set(status.values()) <= {"done", "stopped at the deadline", "not started"}, status
    # which jobs end inside the deadline depends on the machine's speed and load: only the first pre-training (seconds
    # of work, 200 s allowed) is required; the scheduler's deadline logic is tested on a fake clock (test_figures.py)
    assert ("tiny/can-seed0", "pretrain") in done, status
    assert names == sorted(["manifest.json"] + [f"{r}/{f}" for r, k in done for f in files[k]]), (names, status)
    assert set(manifest["sha256"]) == set(names) - {"manifest.json"}
    fp = json.loads((tiny / "results/tiny/can-seed0/pretrain.json").read_text())["weights_fingerprint"]
    if ("tiny/can-seed0", "quick") in done:
        assert json.loads((tiny / "results/tiny/can-seed0/eval-quick.json").read_text())["weights_fingerprint"] == fp
    n = len(names) - 1

    # the import, into an empty results folder: every result checked, then placed
    made = tiny / "made"
    shutil.move(tiny / "results", made)
    p = _run_all(tiny, "--import", str(bundle))
    dirty = manifest["git_dirty"]              # a rehearsal from uncommitted code: refused, as it must be
    if dirty:
        assert p.returncode == 1 and p.stdout.count("(git_dirty)") == n - sum(f.endswith("metrics.jsonl") for f in names), p.stdout
        return
    assert p.returncode == 0 and f"{n} results placed, 0 refused" in p.stdout, p.stdout + p.stderr
    for f in ("pretrain.json", "metrics.jsonl") + (("eval-quick.json",) if ("tiny/can-seed0", "quick") in done else ()):
        assert (tiny / "results/tiny/can-seed0" / f).read_bytes() == (made / "tiny/can-seed0" / f).read_bytes()
    # again: nothing is replaced, and it says so
    p = _run_all(tiny, "--import", str(bundle))
    assert p.returncode == 0 and p.stdout.count("already committed here") == n and "0 results placed" in p.stdout

    # a bundle whose result was made with another config is refused with one line; its evaluations with it
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bundle) as src:                # consistent: the manifest's SHA-256 follows the changed file
        members = {m.name: (m, src.extractfile(m).read()) for m in src.getmembers()}
    d = json.loads(members["tiny/can-seed0/pretrain.json"][1])
    d["config"]["mask_ratio"] = 0.6
    changed = json.dumps(d).encode()
    manifest["sha256"]["tiny/can-seed0/pretrain.json"] = hashlib.sha256(changed).hexdigest()
    members["tiny/can-seed0/pretrain.json"] = (members["tiny/can-seed0/pretrain.json"][0], changed)
    members["manifest.json"] = (members["manifest.json"][0], json.dumps(manifest).encode())
    with tarfile.open(bad, "w:gz") as dst:
        for m, data in members.values():
            m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    shutil.rmtree(tiny / "results/tiny/can-seed0")
    p = _run_all(tiny, "--import", str(bad))
    refused = [l for l in p.stdout.splitlines() if l.startswith("refused")]
    assert p.returncode == 1 and len(refused) == sum(f.startswith("tiny/can-seed0/") for f in names), p.stdout
    assert "refused tiny/can-seed0/pretrain.json: " in p.stdout and "another config than plan.py's" in p.stdout
    assert not (tiny / "results/tiny/can-seed0").exists()


def test_a_selection_that_matches_nothing_is_an_error():
    for args, msg in ((["--group", "nosuch"], "--group 'nosuch' matches no run; allowed: ["),
                      (["--runs", "main/can-seed9"], "--runs 'main/can-seed9' matches no run"),
                      (["--only", "pretraining"], "--only 'pretraining' is not a kind of job; allowed: [")):
        p = subprocess.run([sys.executable, "paper_figures/run_all.py", *args, "--list"], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert p.returncode != 0 and msg in p.stderr, (args, p.stderr[-500:])
