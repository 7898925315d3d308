"""Why fine-tuning moves one encoder's GAP features more than another's: the scale of the features a linear head reads,
and of the final LayerNorm's parameters that set it, against the size of one AdamW step (issue 31's SimCLR check).

    python scripts/feature_scale.py runs/paper/curve/simclr-seed0 [more run dirs or .safetensors] \
        -> results/finetune/feature-scale.json

Each source: `default` (the shipped CAN encoder), a pre-training run directory or an exported .safetensors file; a
random-init encoder is always added. Per source, over the GAP features of the first 10 000 training images: each
dimension's sd over images, |mean| / sd, and the final LayerNorm's |scale| and |bias|. AdamW moves every parameter by
about the lr per step whatever its size, so lr / |scale| is the relative change of the features per step at the top.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LR = 2e-3       # the small-data fine-tune recipe's lr at batch 128 (can.eval.RECIPES['finetune']['default'])


def _q(x) -> dict:
    "Quantiles of |x| that say its scale."
    x = np.abs(np.asarray(x, np.float64)).ravel()
    return {"min": float(x.min()), "median": float(np.median(x)), "max": float(x.max())}


def describe(cfg, params, xtr) -> dict:
    from can.model import build_model
    from can.probe import extract_features
    f = np.asarray(extract_features(cfg, build_model(cfg), params, xtr, features="gap"))
    sd = f.std(0)
    norm = params["encoder"]["transformer"]["norm"]
    return {"feature_sd": _q(sd), "feature_mean_over_sd": _q(f.mean(0) / (sd + 1e-12)),
            "final_norm_scale": _q(norm["scale"]), "final_norm_bias": _q(norm["bias"]),
            "lr_over_median_scale": LR / float(np.median(np.abs(norm["scale"])))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="*", default=["default"])
    args = ap.parse_args(argv)
    from can.storage import atomic_write
    from can.data import data_source, load_arrays
    from can.encoder import resolve_source
    from can.model import build_model
    from can.presets import get_config
    from can.provenance import provenance
    from can.train import init_state, make_mesh, make_optimizer
    t0 = time.time()
    cfg = get_config()
    xtr, _ = load_arrays(data_source(cfg.dataset, "train", cfg.data_dir), cfg.image_size)
    xtr = xtr[:10_000]
    rows = {"random init (seed 0)": describe(cfg, init_state(cfg, build_model(cfg), make_optimizer(cfg, 1),
                                                               make_mesh(1)).params, xtr)}
    for s in args.sources:
        c, params, origin = resolve_source(s)
        name = f"{c.method} ({s})"
        rows[name] = {**describe(c, {"encoder": params["encoder"]}, xtr), "origin": origin}
        print(name, json.dumps(rows[name]), flush=True)
    out = ROOT / "results" / "finetune" / "feature-scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps({**provenance(cfg), "images": "first 10 000 Fashion-MNIST training images",
                                  "lr": LR, "encoders": rows, "wall_s": time.time() - t0}, indent=1))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
