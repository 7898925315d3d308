"""Choose the small preset's LARS linear-probe recipe without looking at any pre-trained encoder.

The recipe is picked on the two rows that every representation must beat, raw pixels and a randomly initialised
encoder, fitted on 50 000 training images and scored on the other 10 000 (the test split is not used to choose).
Grid: MAE's LARS (trust coefficient 0.001) at batch 256 / 1024 / 4096 and base lr 0.1 / 1 / 10 (lr = base_lr · batch
/ 256), 10 and 100 epochs (warm-up a tenth of them), plus the recipe used before this sweep (coefficient 1) for the
record. Writes paper_figures/results/probe-recipe.json. Minutes on 2 cores (features are computed once).

    python paper_figures/probe_recipe.py
"""
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_all import machine, write_json  # noqa: E402

from can.data import data_source, load_arrays  # noqa: E402
from can.eval import linear_probe  # noqa: E402
from can.model import build_model  # noqa: E402
from can.presets import get_config  # noqa: E402
from can.pretrain import provenance  # noqa: E402
from can.probe import extract_features  # noqa: E402
from can.train import init_state, make_mesh, make_optimizer  # noqa: E402

GRID = [dict(trust_coefficient=0.001, batch_size=b, base_lr=lr, epochs=e, warmup_epochs=e / 10)
        for b, lr, e in itertools.product((256, 1024, 4096), (0.1, 1.0, 10.0), (10, 100))]
BEFORE = dict(trust_coefficient=1.0, batch_size=256, base_lr=0.1, epochs=10, warmup_epochs=1)


def main():
    t0 = time.time()
    cfg = get_config(seed=0)
    x, y = load_arrays(data_source(cfg.dataset, "train", cfg.data_dir), cfg.image_size)
    model = build_model(cfg)
    params = init_state(cfg, model, make_optimizer(cfg, 1), make_mesh(1)).params
    features = {"pixels": x.reshape(len(x), -1).astype(np.float32) / 255,
                "random-init": np.asarray(extract_features(cfg, model, params, x))}
    rows = []
    for recipe in [BEFORE] + GRID:
        for name, f in features.items():
            t = time.time()
            r = linear_probe(f[:50_000], y[:50_000], f[50_000:], y[50_000:], momentum=0.9, weight_decay=0.0, **recipe)
            rows.append({"features": name, **recipe, "val_acc": r["test_acc"], "train_acc": r["train_acc"],
                         "final_loss": r["final_loss"], "steps": r["steps"], "wall_s": time.time() - t})
            print(rows[-1], flush=True)
    # the chosen recipe: best mean validation accuracy of the two rows among the MAE-LARS grid
    score = lambda rc: np.mean([r["val_acc"] for r in rows if all(r[k] == v for k, v in rc.items())])
    best = max(GRID, key=score)
    write_json(HERE / "results" / "probe-recipe.json",
               {**provenance(cfg), **machine(), "split": "train[:50000] fit, train[50000:] validation",
                "chosen": best, "chosen_mean_val_acc": score(best), "before_mean_val_acc": score(BEFORE),
                "rows": rows, "wall_s": time.time() - t0})
    print("chosen", best, score(best))


if __name__ == "__main__":
    main()
