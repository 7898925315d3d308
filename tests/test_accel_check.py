"""The accelerator check (`scripts/accel_check.sh`) runs green here at toy sizes, so that it works the first time it
meets a GPU or TPU: every part's numbers land in its JSON, and sharded == unsharded holds on the 8 fake devices."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parents[1]


def test_accel_check_tiny(tmp_path):
    out = tmp_path / "cpu.json"
    env = {**os.environ, "PYTHON": sys.executable, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    res = subprocess.run(["bash", str(ROOT / "scripts/accel_check.sh"), "--tiny", "--out", str(out),
                          "--workdir", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    info = json.loads(out.read_text())
    assert info["ok"] and info["git_commit"] and info["device_name"] == "cpu" and info["versions"]["jax"]
    parts = info["parts"]
    assert set(parts) == {"peak", "step", "attention", "memory", "default_run", "equivalence", "e2e"}
    # on a CPU `auto` is XLA's composition, and cuDNN is refused (not run) with the reason
    att = parts["attention"]
    assert att["auto_picked"] == "xla" and att["cudnn"].startswith("not run: attention='cudnn' is invalid here")
    mem = parts["memory"]
    assert mem["remat"]["program_bytes"] > 0 and mem["no_remat"]["program_bytes"] > 0
    assert not any("error" in p for p in parts.values())
    step = parts["step"]
    assert step["devices"] == 8 and step["images_per_s"] > 0 and step["xla_cost_analysis_flops_per_step_per_device"] > 0
    # MFU from the analytic count; on a CPU (no spec peak) both denominators are the peak measured in the same run
    assert 0 < step["mfu_spec"] == step["mfu_measured_peak"] < 1.5 and step["spec_peak_tflop_s"] is None
    from can.flops import analytic_flops
    from can.presets import get_config
    gflop = analytic_flops(get_config("default", "can", batch_size=16))["train_step"] / 1e9
    assert abs(step["achieved_tflop_s"] * 1e3 - gflop * step["images_per_s"] / 8) < 1e-6 * gflop * step["images_per_s"]
    run = parts["default_run"]
    assert run["steps"] == 2 and set(run["probe_test_acc"]) == {"random init", "can pre-trained"}
    eq = parts["equivalence"]["sharded_vs_unsharded"]
    assert eq["ok"] and eq["max_loss_diff"] < 1e-5 and len(eq["losses"][0]) == 2
    # the whole loop (issue 56): JPEGs written here, crops cut on the host, the real pretrain loop, a final checkpoint
    e2e = parts["e2e"]
    assert e2e["views_per_image"] == 2 and e2e["crops"] == "host, from the full image" and e2e["data_threads"] > 0
    assert e2e["attention_auto_picked"] == "xla" and e2e["checkpoint_at_end"] and e2e["steps"] == 9
    assert e2e["loop_images_per_s_median"] > 0 and e2e["bare_step_images_per_s"] > 0 and 0 <= e2e["host_cpu_busy"]
