"""Which runs the paper's artefacts need: one place, read by the driver (`run_all.py`) and by every renderer.

A run is a pre-training config (preset `default` + overrides) and the evaluations made of it. Its small outputs are
committed under `paper_figures/results/<name>/`; its checkpoints stay in `runs/paper/<name>/` (git-ignored).
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRESET = "default"
SEEDS = (0, 1, 2)
# The main comparison (CAN, MAE, SimCLR and the random floor) has 5 seeds: seeds 3 and 4 run every planned evaluation
# right after their pre-training, so that none of them ever needs a regenerate.
MAIN_SEEDS = (0, 1, 2, 3, 4)
METHODS = ("can", "mae", "simclr")
# Figure 1's curve: seed-0 runs of each method, probed at init and after every epoch, from which the main length is
# chosen; the main comparison (Tables 2-3, Figures 4-5) reuses them as its seed 0 at that length (README.md, "The main
# length": where the curve flattens).
CURVE_EPOCHS = 5
MAIN_EPOCHS = CURVE_EPOCHS


# The evaluations a run may list: kind -> (protocol of can.evaluate, recipe overrides); result eval-<kind>.json.
# An override `scale` picks the recipe's scale (can.eval.RECIPES; default: PRESET's), `features` the frozen features.
EVALS = {"linear": ("linear", {}), "knn": ("knn", {}), "quick": ("quick", {}), "finetune": ("finetune", {}),
         "fewshot": ("fewshot", {}), "fewshot-sgd": ("fewshot", {"solver": "sgd"})}
# The 4-block features (can.probe.encoder_features 'last4'; paper_figures/README.md, "Two linear protocols"): the LARS
# probe on them for the main comparison and its floors, the quick probe on them for the ablation and sweep rows.
EVALS["linear4"] = ("linear", {"features": "last4"})
EVALS["quick4"] = ("quick", {"features": "last4"})
FEWSHOT = ["fewshot", "fewshot-sgd"]        # Figure 4: the ViT paper's ridge probe and the appendix's SGD probe
# Fine-tuning (README.md, "Fine-tuning"). Table 2's fine-tune rows and Figure 5 come from one job per encoder:
# 'robustness' fine-tunes with the small-data recipe (can.eval.RECIPES['finetune']['default']), records that result
# (test accuracy after every epoch) and then the fine-tuned classifier on the corrupted test sets. The from-scratch row
# is the same job on the random-init floor: same recipe, same epochs.
EVALS["robustness"] = ("robustness", {})
# The pilots that chose the fine-tuning recipe (docs/changelog.md, "Fine-tuning: a small-data recipe"), on the CAN
# curve run (and on scratch): Table 9's recipe at batch 128 for 4 epochs, then without the ImageNet augmentations for
# 2; then the small-data recipe for 5 epochs, against its 3.
_TABLE9_AT_128 = {"scale": "full", "batch_size": 128, "warmup_epochs": 0.1}
FINETUNE_PILOT_EPOCHS = 4
EVALS["finetune-length"] = ("finetune", {**_TABLE9_AT_128, "epochs": FINETUNE_PILOT_EPOCHS})
EVALS["finetune-light-length"] = ("finetune", {**_TABLE9_AT_128, "epochs": 2, "randaug": (0, 9), "erase_prob": 0.0,
                                               "crop_min_scale": 1.0})
EVALS["finetune-pilot5"] = ("finetune", {"epochs": 5})
# The LP-FT pilots (Kumar et al. 2022; can.finetune, `lp_ft`: the head starts as the quick probe of the frozen
# features), on the SimCLR curve run: checks of the recipe against that encoder's own probe, not comparisons of
# methods; what each showed is in docs/changelog.md ("LP-FT piloted on SimCLR").
EVALS["robustness-lpft"] = ("robustness", {"lp_ft": True})                          # the recipe's lr
EVALS["finetune-lpft-lr"] = ("finetune", {"lp_ft": True, "base_lr": 4e-4})          # LP-FT's own small lr
EVALS["robustness-lpft-std"] = ("robustness", {"lp_ft": True, "standardise": True})  # standardisation kept as a layer
EVALS["finetune-std"] = ("finetune", {"standardise": True})                         # the same layer, without LP-FT


def _run(group, method, seed, epochs, evals, key=None, **overrides):
    "A planned run; `key` names the set of seeds it belongs to (claims compare keys), by default the method."
    key = key or method
    return {"name": f"{group}/{key}-seed{seed}", "group": group, "method": method, "key": key,
            "overrides": {"seed": seed, "epochs": epochs, **overrides}, "evals": list(evals)}


MAIN_EVALS = ["linear", "knn", "quick", *FEWSHOT, "linear4", "quick4", "robustness"]
RUNS = ([_run("curve", m, 0, CURVE_EPOCHS, ["quick-every-epoch", *MAIN_EVALS] +
              (["finetune-length", "finetune-light-length", "finetune-pilot5"] if m == "can" else []) +
              (["robustness-lpft", "finetune-lpft-lr", "robustness-lpft-std", "finetune-std",
                "finetune-pilot5"] if m == "simclr" else []))
         for m in METHODS] +
        [_run("main", m, s, MAIN_EPOCHS, MAIN_EVALS) for s in MAIN_SEEDS[1:] for m in METHODS])

# The floors of Table 2 under the same probes: a random-init encoder (3 init seeds) and the raw pixels (3 probe seeds).
FLOORS = ("random", "pixels")
# The pixels are pixels: their row under the 4-block protocols is their row under linear / quick (`values`).
RUNS += [{"name": f"floor/{f}-seed{s}", "group": "floor", "method": f, "key": f, "overrides": {"seed": s},
          "evals": ["linear", "knn", "quick", *FEWSHOT] + (["linear4", "quick4", "robustness"] if f == "random" else [])
                   + (["finetune-pilot5"] if (f, s) == ("random", 0) else [])}
         for f in FLOORS for s in (MAIN_SEEDS if f == "random" else SEEDS)]

# Table 3 compares final losses with every method at 50% masking (the paper's caption): MAE at 0.5 against CAN's main
# runs (which mask 50%); SimCLR at 0.5 against the ablations' full CAN, at the ablation length (`abl-simclr-mask50`).
RUNS += [_run("table3", "mae", s, MAIN_EPOCHS, ["linear"], key="mae-mask50", mask_ratio=0.5) for s in SEEDS]


# ---- Paper figures II: the ablations and sweeps (Tables 4-5, Figures 6-7) -------------------------------------------
# Length: the shortest at which a CAN encoder is above the raw-pixel row (README.md, "Paper figures II"): at 1 epoch
# it scores what the pixels score, so every verdict would be gated to "not resolved".
ABLATION_EPOCHS = 2
ABLATION_EVALS = ["linear", "knn", "quick", "quick4"]
ABLATIONS = {                               # key -> overrides of CAN; the comment says which rows/points it is
    "abl-full": {},                                                   # T4 Full, T5 CAN, F6 r=0.5, F7 defaults
    "abl-none": dict(sigma_max=0.0, noise_embed=False, denoise_loss=False),   # T4 None = T5 CA = F7 σmax=0
    "abl-noise": dict(noise_embed=False, denoise_loss=False),         # T4 +noise (noise as augmentation only)
    "abl-noise-loss": dict(noise_embed=False),                        # T4 +noise, +loss (no noise-level embedding)
    "abl-clean": dict(denoise_target="clean"),                        # T4 extra row: predict the clean patches
    "abl-an": dict(lambda_infonce=0.0),                               # T5 AN = F7 λ_InfoNCE=0
    "abl-cn": dict(rec_loss=False),                                   # T5 CN (other weights unchanged)
}
SWEEP = {                                   # key -> (method, overrides); seeds: SWEEP_SEEDS below
    # the points a claim of claims.py compares, run first, CAN's before SimCLR's (cheaper: a chunk decides more claims)
    "abl-mask75": ("can", dict(mask_ratio=0.75)),
    "abl-linfonce30": ("can", dict(lambda_infonce=0.3)),
    "abl-sigma025": ("can", dict(sigma_max=0.025)), "abl-sigma10": ("can", dict(sigma_max=0.1)),
    "abl-sigma20": ("can", dict(sigma_max=0.2)),
    "abl-lam03": ("can", dict(lam=0.3)), "abl-lam05": ("can", dict(lam=0.5)), "abl-lam09": ("can", dict(lam=0.9)),
    "abl-simclr": ("simclr", {}), "abl-simclr-mask75": ("simclr", dict(mask_ratio=0.75)),
    # points that only draw the curves' shape (last: the first to go if the budget runs out)
    "abl-mask25": ("can", dict(mask_ratio=0.25)), "abl-simclr-mask25": ("simclr", dict(mask_ratio=0.25)),
    "abl-linfonce01": ("can", dict(lambda_infonce=0.01)), "abl-linfonce10": ("can", dict(lambda_infonce=0.1)),
}
RUNS += [_run("ablation", "can", s, ABLATION_EPOCHS, ABLATION_EVALS, key=k, **o)
         for s in SEEDS for k, o in ABLATIONS.items()]
# SimCLR at 50% masking, 3 seeds: Table 3's InfoNCE claim against abl-full (the same length and masking), and the
# point of Figure 6 that both of its SimCLR claims share.
RUNS += [_run("ablation", "simclr", s, ABLATION_EPOCHS, ABLATION_EVALS, key="abl-simclr-mask50", mask_ratio=0.5)
         for s in SEEDS]
# Every point a claim compares gets 3 seeds (a verdict, not an indication); the points that only draw a curve's shape
# get seed 0.
SHAPE_ONLY = ("abl-mask25", "abl-simclr-mask25", "abl-linfonce01", "abl-linfonce10")
SWEEP_SEEDS = {k: SEEDS for k in SWEEP if k not in SHAPE_ONLY}    # key -> seeds; the shape points: seed 0 only
RUNS += [_run("sweep", m, s, ABLATION_EPOCHS, ABLATION_EVALS, key=k, **o)
         for k, (m, o) in SWEEP.items() for s in SWEEP_SEEDS.get(k, (0,))]

# Where the driver keeps results (committed) and checkpoints (not), relative to the repository.
RESULTS, WORK = "paper_figures/results", "runs/paper"

# The accelerator path's rehearsal (`run_all.py --tiny DIR`, the test suite): a plan of toy runs on a few hundred
# Fashion-MNIST images prepared in DIR, with results and checkpoints there too. One run is long enough for a deadline
# to cut it.
TINY = os.environ.get("CAN_PAPER_TINY")
if TINY:
    _tiny = dict(data_dir=f"{TINY}/tfds", batch_size=32, variant="Mu/8", decoder_depth=1, head_hidden=64)
    RUNS = ([_run("tiny", "can", 0, 1, ["quick", "knn"], **_tiny), _run("tiny", "mae", 0, 1, ["quick"], **_tiny)] +
            [_run("tiny", "can", 1, 1000, ["quick"], key="can-long", **_tiny)])
    RESULTS, WORK = f"{TINY}/results", f"{TINY}/runs"


def runs(group: str | None = None) -> list[dict]:
    "The planned runs, of one group or all."
    return [r for r in RUNS if group in (None, r["group"])]


def members(key: str) -> list[dict]:
    "The runs of one set of seeds: a method's main runs (seed 0 is its curve run), a floor, or e.g. 'mae-mask50'."
    assert MAIN_EPOCHS == CURVE_EPOCHS
    out = [r for r in RUNS if r["key"] == key]
    if not out:
        raise ValueError(f"key={key!r} is unknown; allowed: {sorted({r['key'] for r in RUNS})}")
    return out


# Fine-tuning recipe keys that a committed result may lack, with the value it was made with (its code had no such
# stage: the head started near zero, the standardisation folded into it).
LEGACY_FINETUNE = {"lp_ft": False, "standardise": False}


# Results stamped with a commit of another clone that landed rebased: the stamped commit -> the landed commit it
# became (how each was mapped: docs/changelog.md, 2026-12-02). tests/test_fingerprint_provenance.py checks the rest.
REBASED = {
    "1e8fe70d03626128385f5185f5aa876c8e8a16eb": "ccbf1415c9",     # curve/mae-seed0 regenerated.json
    "7624e625cf0458fe7bdc0787189f99a252988fc6": "18de7d0190",     # curve/mae-seed0 eval-robustness
    "8c0cf92a767088b932883b97271868cefcba5a98": "5a98a32620",     # curve/mae-seed0 eval-linear4
    "c8685c1598fa7b090ea751a3a99497e70fa5b4ad": "9ff2952852",     # curve/mae-seed0 eval-quick4
    "57aef6eeaaf7d95684ea32e7fe2ddab257d31445": "b37e6a270c",     # floor/random-seed1 eval-linear4
    "e8870b00f5482f6dbe274e4e83b05a40a566b9d1": "da0c96d21b",     # floor/random-seed2 eval-linear4
    "9d6207ac35f416299a4583fc5b31d749986447b2": "c44e860f5d",     # floor/random-seed1 eval-quick4
    "f04ed3efff80ef0c3fedd1b1e855d87d0f57c143": "eacaafa53d",     # floor/random-seed2 eval-quick4
    "e61cd0349fe8b6c4978b152f4744886e06dfd847": "c9f0a63c1b",     # curve/simclr-seed0 eval-linear4
    "59e858902875731c30d74f8b5f8e96b8e6263ec4": "83aecdfdc1",     # curve/simclr-seed0 eval-quick4
    "7ae177d4fb5e70d0c6954025f03677de188993ac": "775b9912e8",     # curve/simclr-seed0 eval-robustness
    "a202f66ca1bd751f03056167a326d59fcfddf23b": "3b0388ba16",     # floor/random-seed1 eval-robustness
}


def expected_config(run: dict) -> dict:
    "The full config a run must have been trained with."
    from can.presets import get_config, stored
    if run["method"] in FLOORS:         # what can.evaluate records for checkpoint='random' / 'pixels'
        cfg = get_config(PRESET, **run["overrides"])
        cfg.method = "pixels" if run["method"] == "pixels" else cfg.method
        return stored(cfg)
    return stored(get_config(PRESET, run["method"], **run["overrides"]))


def result(run: dict, file: str, results: str = "results") -> dict | None:
    """The committed result `file` of `run` (e.g. 'eval-linear.json'), None when it is missing (not run yet); an error
    when it was made with another config than planned (a renderer must not draw it)."""
    import json
    from pathlib import Path
    path = Path(results) / run["name"] / file
    if not path.exists():
        return None
    res = json.loads(path.read_text())
    if res.get("run_finished") is False:
        raise ValueError(f"{path} evaluated an unfinished run (step {res.get('checkpoint_step')} of "
                         f"{res.get('run_total_steps')}{', still training' if res.get('run_busy') else ''}): delete it "
                         f"and rerun paper_figures/run_all.py once the pre-training has finished")
    if res.get("code_changed_while_running"):
        raise ValueError(f"{path} was made by a job whose code changed while it ran (code_fingerprint "
                         f"{res.get('code_fingerprint')} at its start, {res.get('code_fingerprint_end')} at its end): "
                         f"delete it and rerun paper_figures/run_all.py")
    if res.get("config") != expected_config(run):
        raise ValueError(f"{path} was made with another config than plan.py's {run['name']}: rerun paper_figures/run_all.py")
    recipe = res.get("recipe")
    if isinstance(recipe, dict) and "layer_decay" in recipe:      # a fine-tune made before the recipe had LP-FT
        recipe = {**recipe, **{k: v for k, v in LEGACY_FINETUNE.items() if k not in recipe}}
    if file.startswith("eval-") and (recipe, res.get("features", "gap")) != (
            expected_recipe(file[5:-5]), expected_features(file[5:-5])):
        raise ValueError(f"{path} was made with another recipe than can.eval's: delete it and rerun paper_figures/run_all.py")
    if file.startswith("eval-") and run["method"] not in FLOORS:
        res["encoder"] = encoder_of(run, res, results)
    return res


def regenerates(run: dict, results: str = "results") -> list[dict]:
    "The run's regenerates (regenerated*.json), oldest first: file, time, fingerprint and final-loss gap to the run."
    import json
    from pathlib import Path
    out = []
    for f in Path(results, run["name"]).glob("regenerated*.json"):
        r = json.loads(f.read_text())
        out.append({"file": f.name, "time_utc": r["time_utc"], "weights_fingerprint": r.get("weights_fingerprint"),
                    "device": r.get("device"), "final_gap": r["max_abs_diff_final"]})
    return sorted(out, key=lambda r: r["time_utc"])


def encoder_of(run: dict, res: dict, results: str = "results") -> dict | None:
    """Which weights the evaluation `res` of `run` measured: None for the run's own, else the regenerate it measured
    (`regenerates`), whose final losses differ from the committed run's by `final_gap`. An error for weights that are
    neither. By the weights' fingerprint (can.provenance.weights_fingerprint) where the result carries one; for the
    results written before fingerprints (2026-12-04), by time: the newest regenerate started before the evaluation
    ended, counted as the run's own weights when its final losses equal the committed run's bit for bit."""
    import json
    from pathlib import Path
    regs = regenerates(run, results)
    fp = res.get("weights_fingerprint")
    if fp is None:
        before = [r for r in regs if r["time_utc"] < res["time_utc"]]
        reg = before[-1] if before else None
        return reg if reg and any(reg["final_gap"].values()) else None
    pre = json.loads(Path(results, run["name"], "pretrain.json").read_text()).get("weights_fingerprint")
    if fp == pre:
        return None
    reg = next((r for r in regs if r["weights_fingerprint"] == fp), None)
    if reg is None:
        raise ValueError(f"{results}/{run['name']}: an evaluation measured weights {fp}, neither the run's ({pre}) nor "
                         f"a regenerate's ({[r['weights_fingerprint'] for r in regs]}); delete it and rerun "
                         f"paper_figures/run_all.py")
    return reg if pre is not None or any(reg["final_gap"].values()) else None


def measure_file(measure: str) -> str | None:
    "The result file a value of `measure` (see `values`) is read from; None for a pre-training loss."
    if measure.startswith("robustness/") or measure == "finetune":
        return "eval-robustness.json"
    if "/" in measure:
        return f"eval-{measure.split('/')[0]}.json"
    if measure in EVALS:
        return f"eval-{measure}.json"
    return None


_CODE_AT = {}


def code_unverified(res: dict) -> str | None:
    """Why the code a result ran cannot be checked against its commit, or None when it can: its `code_fingerprint`
    equals the fingerprint of the code at its `git_commit` (mapped by REBASED). A result without a fingerprint made
    on this machine's kind of history (before fingerprints, 2026-12-04) rests on its clean commit; one whose commit
    the importer asserted (the retired `--code-commit`: an accelerator host that sent no fingerprint) cannot be checked."""
    from can.provenance import code_fingerprint_at
    fp, commit = res.get("code_fingerprint"), REBASED.get(res.get("git_commit"), res.get("git_commit"))
    if fp is None:
        how = (res.get("stamped") or {}).get("commit_is", "")
        return "commit asserted at import, no code fingerprint" if how.startswith("asserted") else None
    if commit not in _CODE_AT:
        _CODE_AT[commit] = code_fingerprint_at(commit, ROOT)
    return None if _CODE_AT[commit] == fp else f"code fingerprint {fp} is not its commit's"


def sources(key: str, measure: str, results: str = "results") -> list[dict]:
    """Where each of `values(key, measure)` comes from, in the same order: run, device and `encoder_of` (a regenerate,
    or None). A claim row says when a side measured a regenerated encoder, or when its sides ran on different devices."""
    if key == "pixels" and measure in ("linear4", "quick4"):
        measure = measure[:-1]
    out = []
    for run in members(key):
        f = measure_file(measure)
        if f is None or (measure == "quick" and result(run, f, results) is None):
            f = "pretrain.json" if f is None else "quick-every-epoch.json"
        res = result(run, f, results)
        if res is not None:
            out.append({"run": run["name"], "file": f, "device": res.get("device"), "encoder": res.get("encoder"),
                        "code": code_unverified(res)})
    return out


def expected_features(kind: str) -> str:
    "The features ('gap' or 'last4') an evaluation of `kind` reads."
    return EVALS[kind][1].get("features", "gap")


def expected_recipe(kind: str) -> dict:
    "The evaluation recipe a result of the evaluation `kind` must have been made with (as its JSON stores it)."
    import json
    from can.eval import eval_recipe
    protocol, overrides = EVALS[kind]
    overrides = dict(overrides)
    overrides.pop("features", None)                  # an argument of evaluate, not a recipe key
    scale = overrides.pop("scale", PRESET)
    return json.loads(json.dumps(eval_recipe("finetune" if protocol == "robustness" else protocol, scale, **overrides)))


def values(key: str, measure: str, results: str = "results") -> list[float]:
    """Per-seed values of `measure` for the runs of `key`, from the committed results (missing runs left out):
    'linear', 'knn', 'quick', 'linear4', 'quick4' (test accuracy of that evaluation; 'quick' falls back on the
    curve's quick probe after the last epoch), 'finetune' (the fine-tuned test accuracy of the 'robustness' job),
    'fewshot/<dataset>/<shots>' or 'fewshot-sgd/...' (few-shot accuracy, mean over the draws), 'robustness/corrupted'
    or 'robustness/relative' (the fine-tuned model's mean accuracy on the corrupted test sets, absolute or divided by
    its clean accuracy) or a loss term of pre-training ('infonce', 'rec',
    'denoise': its mean over the last epoch's logged steps, less noisy than the last batch)."""
    if key == "pixels" and measure in ("linear4", "quick4"):
        measure = measure[:-1]                    # pixels are pixels: no blocks to read
    out = []
    for run in members(key):
        if measure.startswith("robustness/"):  # Figure 5: mean accuracy over the 8 corruptions x 5 severities,
            res = result(run, "eval-robustness.json", results)     # or that mean relative to the clean accuracy
            if res is not None:
                clean = [r["test_acc"] for r in res["rows"] if r["corruption"] == "clean"][0]
                shifted = [r["test_acc"] for r in res["rows"] if r["corruption"] != "clean"]
                mean = sum(shifted) / len(shifted)
                out.append({"robustness/corrupted": mean, "robustness/relative": mean / clean}[measure])
        elif "/" in measure:                      # '<fewshot kind>/<dataset>/<shots>': the mean over the draws
            kind, dataset, shots = measure.split("/")
            res = result(run, f"eval-{kind}.json", results)
            if res is not None:
                accs = [r["test_acc"] for r in res["rows"] if r["dataset"] == dataset and r["shots"] == int(shots)]
                out.append(sum(accs) / len(accs))
        elif measure == "quick" and result(run, "eval-quick.json", results) is None:
            res = result(run, "quick-every-epoch.json", results)     # the curve's last epoch: the same probe
            if res is not None:
                out.append(res["rows"][-1]["test_acc"])
        elif measure == "finetune":                # the fine-tune of the 'robustness' job (its clean test accuracy)
            res = result(run, "eval-robustness.json", results)
            if res is not None:
                out.append(res["finetune"]["test_acc"])
        elif measure in ("linear", "knn", "quick", "linear4", "quick4"):
            res = result(run, f"eval-{measure}.json", results)
            if res is not None:
                out.append(res["rows"][0]["test_acc"])
        else:
            res = result(run, "pretrain.json", results)
            if res is not None:
                import json
                from pathlib import Path
                rows = [json.loads(l) for l in (Path(results) / run["name"] / "metrics.jsonl").read_text().splitlines()]
                last = [r[measure] for r in rows if r["step"] > rows[-1]["step"] - res["steps_per_epoch"]]
                out.append(sum(last) / len(last))
    if key in FLOORS and len(out) > 1 and len(set(out)) == 1:
        return out[:1]          # a deterministic measure of the same pixels (kNN, the quick probe): one value, not n
    return out


def missing(keys, files=None, results: str = "results") -> list[str]:
    """The planned results of the runs of `keys` that are not committed yet: `files` (e.g. ['pretrain.json']), or by
    default every evaluation plan.py lists for each run."""
    from pathlib import Path
    out = []
    for key in keys:
        for run in members(key):
            want = files or [f"eval-{e}.json" for e in run["evals"] if e != "quick-every-epoch"]
            out += [f"{run['name']}/{f}" for f in want if not (Path(results) / run["name"] / f).exists()]
    return out
