"""The papermill notebooks `eval.ipynb` and `benchmark.ipynb` work as typed, and eval refuses bad input."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]


# Every papermill call here waits up to 300 s for its kernel: papermill's 60 s ran out once on this 2-core machine
# with the other test worker compiling.
def papermill(tmp_path, *params):
    out = tmp_path / "out.ipynb"
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    cmd = [sys.executable, "-m", "papermill", "--start-timeout", "300", str(ROOT / "nbs/eval.ipynb"), str(out), "--cwd", str(tmp_path),
           "-p", "checkpoint", "random", "-p", "train_size", "500", "-p", "test_size", "200",
           "-p", "output", str(tmp_path / "result.json"), *params]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600), out


def test_eval_notebook_knn(tmp_path):
    res, out = papermill(tmp_path, "-p", "protocol", "knn")
    assert res.returncode == 0, res.stderr[-3000:]
    info = json.loads((tmp_path / "result.json").read_text())
    assert info["protocol"] == "knn" and info["checkpoint"] == "random" and info["recipe"]["k"] == 20
    assert 0.3 < info["rows"][0]["test_acc"] <= 1.0 and info["train_size"] == 500
    assert "knn on random" in out.read_text()


BAD = [  # (parameters, the line that must be printed): issue 43's library errors now name the parameter
    (["-p", "protocol", "svm"], "protocol='svm' is unknown"),
    (["-p", "train_size", "0"], "train_size=0 is invalid; allowed: None (the whole split) or a positive integer"),
    (["-p", "test_size", "-5"], "test_size=-5 is invalid"),
    (["-p", "train_size", "many"], "train_size='many' is invalid; allowed: an integer"),
    (["-p", "checkpoint", "CONFIG_ONLY"], "holds a config but no checkpoint yet"),   # a start that never saved
]


@pytest.mark.parametrize("params,message", BAD, ids=[b[1].split("=")[0].split()[0] for b in BAD])
def test_eval_notebook_bad_input_fails_naming_it(tmp_path, params, message):
    if "CONFIG_ONLY" in params:
        from can.storage import check_workdir
        from can.presets import get_config
        check_workdir(get_config(), tmp_path / "wd")
        params = [str(tmp_path / "wd") if p == "CONFIG_ONLY" else p for p in params]
    res, _ = papermill(tmp_path, *params)
    assert res.returncode != 0 and message in res.stderr + res.stdout, (res.stderr + res.stdout)[-3000:]
    assert not (tmp_path / "result.json").exists()


def test_benchmark_notebook_runs(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    cmd = [sys.executable, "-m", "papermill", "--start-timeout", "300", str(ROOT / "nbs/benchmark.ipynb"), str(tmp_path / "b.ipynb"),
           "--cwd", str(ROOT), "-p", "methods", "mae", "-p", "steps", "2", "-p", "loader_batches", "2",
           # the end-to-end loop's shortest measurable run (two 20-step log windows, the first one compiling), once
           "-p", "e2e_steps", "41", "-p", "e2e_rounds", "1", "-p", "output", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    info = json.loads(out.read_text())
    row = info["rows"][0]
    assert row["compilations"] == 1 and 0 < row["mfu_measured_peak"] == row["mfu_spec"] < 1.5   # a CPU: no spec peak
    assert abs(row["train_gflop_per_image_analytic"] / row["gflop_per_image_xla"] - 1) < 0.03   # MAE, default preset
    assert info["peak_gflop_s"] > 0 and out.with_suffix(".png").exists() and info["git_commit"]
    assert row["e2e_images_per_s"] > 0 and len(row["e2e_rounds"]) == 1
    if len(os.sched_getaffinity(0)) >= 2:             # the two pinned copies ran and were summed
        pair = info["pinned_pair"][0]
        assert pair["pair_e2e_images_per_s"] == sum(pair["e2e_images_per_s_per_core"]) > 0, pair
