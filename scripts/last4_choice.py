"""Which features the second linear protocol reads, chosen on the floor rows only: the quick probe on the raw pixels,
on random-init encoders (3 init seeds) and, shown but not chosen on, the shipped CAN encoder, under the paper's GAP
and the two 4-block variants (`can.probe.FEATURES`), with 10 000 and all 60 000 training images.

    python scripts/last4_choice.py          # -> paper_figures/results/last4-choice.json (≈ 10 min on 2 cores)

The rule, fixed before looking: the 4-block variant whose random-init row is furthest below the raw-pixel row (a
probe that lifts random features above the pixels does not test a representation).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from can.data import data_source, load_arrays
    from can.encoder import load_encoder
    from can.model import build_model
    from can.presets import get_config
    from can.storage import atomic_write
    from can.provenance import provenance
    from can.probe import FEATURES, extract_features, quick_linear_probe
    from can.train import init_state, make_mesh, make_optimizer
    t0 = time.time()
    cfg = get_config()
    xtr, ytr = load_arrays(data_source(cfg.dataset, "train", cfg.data_dir), cfg.image_size)
    xte, yte = load_arrays(data_source(cfg.dataset, "test", cfg.data_dir), cfg.image_size)
    sizes = (10_000, len(xtr))
    rows = []

    def probe(name, seed, features, ftr, fte):
        for n in sizes:
            acc = quick_linear_probe(ftr[:n], ytr[:n], fte, yte)["test_acc"]
            rows.append({"encoder": name, "seed": seed, "features": features, "dims": ftr.shape[1],
                         "train_images": n, "test_acc": acc})
            print(rows[-1], flush=True)

    flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255
    probe("raw pixels", None, "pixels", flat(xtr), flat(xte))
    model = build_model(cfg)
    for seed in (0, 1, 2):
        params = init_state(get_config(seed=seed), model, make_optimizer(cfg, 1), make_mesh(1)).params
        for f in FEATURES:
            feats = lambda x: np.asarray(extract_features(cfg, model, params, x, features=f))
            probe("random init", seed, f, feats(xtr), feats(xte))
    for f in FEATURES:
        encode = load_encoder("default", features=f)
        probe("CAN (can/weights/default-can.safetensors)", 0, f, encode(xtr), encode(xte))
    full = {(r["encoder"], r["features"]): [] for r in rows}
    for r in rows:
        if r["train_images"] == len(xtr):
            full[r["encoder"], r["features"]].append(r["test_acc"])
    pixels = full["raw pixels", "pixels"][0]
    gap_below = {f: pixels - float(np.mean(full["random init", f])) for f in FEATURES if f != "gap"}
    chosen = max(gap_below, key=gap_below.get)
    out = ROOT / "paper_figures" / "results" / "last4-choice.json"
    atomic_write(out, json.dumps({**provenance(cfg), "probe": "can.probe.quick_linear_probe, l2 1e-4, whole test split",
                                  "rule": "the 4-block variant whose random-init row (60 000 images, mean of 3 seeds) "
                                          "is furthest below the raw-pixel row",
                                  "random_init_below_pixels": gap_below, "chosen": chosen, "rows": rows,
                                  "wall_s": time.time() - t0}, indent=1))
    print(f"chosen: {chosen} ({gap_below}); wrote {out}")


if __name__ == "__main__":
    main()
