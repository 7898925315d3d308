"""An accelerator check's JSON as measured, with its MFU recomputed from the analytic FLOP count beside the reported one.

    .venv/bin/python scripts/recompute_mfu.py ../shared/accel/nvidia-h200-83ba960.json results/benchmark/nvidia-h200.json

The check of 83ba960 took its MFU from XLA's cost analysis, which on a GPU leaves out the cuBLAS/cuDNN custom calls
(6.9 GFLOP per image reported for a step of 167): its `mfu` is kept under `parts.step` as reported, and
`parts.step.analytic` adds can.flops.mfu of the same images/s (what scripts/accel_check.py reports today).
"""
import json
import sys
from pathlib import Path

from can.flops import mfu
from can.presets import get_config
from can.provenance import provenance

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
info = json.loads(src.read_text())
step = info["parts"]["step"]
cfg = get_config(step["preset"], "can", batch_size=step["global_batch"], compute_dtype=step["compute_dtype"])
device_kind = info["device"].split(":", 1)[1]
step["mfu_reported_from_xla_gpu_cost_analysis"] = step.pop("mfu")      # named for what it is: wrong on a GPU
step["analytic"] = {**mfu(cfg, step["images_per_s"] / step["devices"], device_kind, info["parts"]["peak"]["flop_s"]),
                    "recomputed_by": {k: provenance()[k] for k in ("git_commit", "git_dirty", "time_utc")},
                    "script": "scripts/recompute_mfu.py"}
info["source"] = f"{src.name}: scripts/accel_check.sh as run on the device (unedited but for the keys above)"
dst.write_text(json.dumps(info, indent=1))
a = step["analytic"]
print(f"{device_kind}: {step['images_per_s']:.0f} img/s x {a['train_gflop_per_image_analytic']:.1f} GFLOP = "
      f"{a['achieved_tflop_s']:.0f} TFLOP/s: MFU {a['mfu_spec']:.1%} of the spec peak, {a['mfu_measured_peak']:.1%} of "
      f"the measured; reported {step['mfu_reported_from_xla_gpu_cost_analysis']:.1%}")
