"""Which runs the paper's artefacts need: one place, read by the driver (`run_all.py`) and by every renderer.

A run is a pre-training config (preset `default` + overrides) and the evaluations made of it. Its small outputs are
committed under `paper_figures/results/<name>/`; its checkpoints stay in `runs/paper/<name>/` (git-ignored).
"""
from __future__ import annotations

PRESET = "default"
SEEDS = (0, 1, 2)
METHODS = ("can", "mae", "simclr")
# Figure 1's curve: seed-0 runs of each method, probed at init and after every epoch (quick L-BFGS probe on 10 000
# training images, with the raw-pixel row under the same probe), from which the main length is chosen. On the 2-core
# AVX2 machine one epoch of the three methods takes ≈ 23 min end to end (CAN 8.5, MAE 2.2, SimCLR 12 min), so the
# curve costs ≈ 1.9 h; the budget of the main comparison (≤ 6 h, 3 seeds × 3 methods, evaluations included) allows
# at most ≈ 4–5 epochs per main run.
CURVE_EPOCHS = 5
# The main comparison (Tables 2-3, Figures 4-5): 3 seeds × 3 methods. The curve's quick probe is flat from epoch 3-4
# (CAN .829 .833 .832, MAE .823 .827 .827 at epochs 3-5), so the main length is the curve's 5 epochs, and the curve
# runs are the main runs of seed 0 (the same config): seeds 1 and 2 cost ≈ 3.8 h more.
MAIN_EPOCHS = CURVE_EPOCHS


def _run(group, method, seed, epochs, evals, **overrides):
    return {"name": f"{group}/{method}-seed{seed}", "group": group, "method": method,
            "overrides": {"seed": seed, "epochs": epochs, **overrides}, "evals": list(evals)}


RUNS = ([_run("curve", m, 0, CURVE_EPOCHS, ["quick-every-epoch", "linear", "knn"]) for m in ("mae", "can", "simclr")] +
        [_run("main", m, s, MAIN_EPOCHS, ["linear", "knn"]) for s in SEEDS[1:] for m in ("mae", "can", "simclr")])


def runs(group: str | None = None) -> list[dict]:
    "The planned runs, of one group or all."
    return [r for r in RUNS if group in (None, r["group"])]


def main_runs(method: str) -> list[dict]:
    "The main comparison's runs of `method`, one per seed (seed 0 is the curve run)."
    assert MAIN_EPOCHS == CURVE_EPOCHS
    return [r for r in RUNS if r["method"] == method and r["group"] in ("curve", "main")]


def expected_config(run: dict) -> dict:
    "The full config a run must have been trained with."
    from can.presets import get_config
    return get_config(PRESET, run["method"], **run["overrides"]).to_dict()
