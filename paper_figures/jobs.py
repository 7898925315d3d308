"""The jobs of the reproduction: what a job is (a pre-training, a regenerate or one evaluation of a run of `plan.py`),
which jobs a run still needs, and how one runs in its own process (`run_all.py --job KIND RUN`), writing its small
outputs atomically into `paper_figures/results/<run>/` with the commit and code fingerprint it ran."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from paper_figures import plan
from paper_figures.plan import EVALS, FLOORS, PRESET, code_unverified, result, runs

RESULTS = Path(plan.RESULTS)
WORK = Path(plan.WORK)
TRAIN_IMAGES, TEST_IMAGES = 60_000, 10_000       # Fashion-MNIST: what a job's images are counted in (the estimates)
# The code a job runs is the code its process imported at its start: its git commit and code fingerprint are read
# then (the repository may move on during a run of an hour) and stamped on every result the job writes; the fingerprint
# is read again when the result is written, and a job whose code changed meanwhile is marked (plan.result refuses it).
CODE = {}


def write_json(path: Path, obj) -> None:
    "Atomically: a kill leaves the old file or the new one, never half of one."
    from can.storage import atomic_write
    from can.provenance import code_fingerprint
    if CODE and "git_commit" in obj:
        obj = {**obj, **CODE}
        end = code_fingerprint()
        if end != CODE["code_fingerprint"]:
            obj.update(code_fingerprint_end=end, code_changed_while_running=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(obj, indent=1, default=str))


def read_result(run: dict, file: str):
    "The result `file` of `run`, or None when missing, unreadable or made with another config or recipe than planned."
    try:
        return result(run, file, str(RESULTS))
    except (OSError, ValueError) as e:          # a JSON cut short is a ValueError too
        print(f"{RESULTS / run['name'] / file}: {e}; treating the work as not done")
        return None


def machine() -> dict:
    "What the numbers were measured on, beyond JAX's device name (CPU model and vector width change the speed)."
    info = {"cpu_count": os.cpu_count()}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu_model"] = next(l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name"))
        info["avx512"] = " avx512f" in cpu
    except (OSError, StopIteration):
        pass
    return info


def _pretrain_wall(metrics: list[dict]) -> float:
    "Wall time of the kept steps: the sum over resumed segments (wall_s restarts at each resume)."
    total, last = 0.0, 0.0
    for r in metrics:
        if r["wall_s"] < last:
            total += last
        last = r["wall_s"]
    return total + last


def job_pretrain(run: dict) -> None:
    from can.flops import compiled_step, xla_flops
    from can.presets import get_config
    from can.pretrain import pretrain
    cfg = get_config(PRESET, run["method"], **run["overrides"])
    gflop = xla_flops(compiled_step(cfg, cfg.batch_size)) / cfg.batch_size / 1e9     # Figure 1's compute axis
    wd = WORK / run["name"]
    pretrain(cfg, wd, max_to_keep=cfg.epochs, progress=False)        # a checkpoint every epoch, all kept
    metrics = [json.loads(l) for l in (wd / "metrics.jsonl").read_text().splitlines()]
    info = json.loads((wd / "run.json").read_text())
    info.update(machine(), wall_s=_pretrain_wall(metrics), workdir=str(wd), final=metrics[-1],
                train_gflop_per_image=gflop, steps_per_epoch=info["total_steps"] // cfg.epochs,
                images_per_s=sorted(ips := [r["images_per_s"] for r in metrics[1:] or metrics])[len(ips) // 2])
    (RESULTS / run["name"]).mkdir(parents=True, exist_ok=True)
    (RESULTS / run["name"] / "metrics.jsonl").write_text((wd / "metrics.jsonl").read_text())
    write_json(RESULTS / run["name"] / "pretrain.json", info)


def job_regenerate(run: dict) -> None:
    "The run's checkpoints again (same config and seed: the same steps), compared with the committed pre-training."
    from can.presets import get_config
    from can.pretrain import pretrain
    cfg = get_config(PRESET, run["method"], **run["overrides"])
    wd = WORK / run["name"]
    pretrain(cfg, wd, max_to_keep=cfg.epochs, progress=False)
    metrics = [json.loads(l) for l in (wd / "metrics.jsonl").read_text().splitlines()]
    committed = [json.loads(l) for l in (RESULTS / run["name"] / "metrics.jsonl").read_text().splitlines()]
    keys = [k for k in ("loss", "infonce", "rec", "denoise") if k in committed[-1]]
    info = json.loads((wd / "run.json").read_text())
    info.update(machine(), wall_s=_pretrain_wall(metrics), final=metrics[-1], committed_final=committed[-1],
                max_abs_diff_final={k: abs(metrics[-1][k] - committed[-1][k]) for k in keys},
                same_steps=metrics[-1]["step"] == committed[-1]["step"])
    out, n = RESULTS / run["name"] / "regenerated.json", 2
    while out.exists():         # an earlier machine's regenerate stays: its hours were spent too (compute.md)
        out, n = out.with_name(f"regenerated-{n}.json"), n + 1
    write_json(out, info)


def job_quick_every_epoch(run: dict) -> None:
    "Figure 1's curve: the quick probe of the encoder at init (epoch 0) and after every epoch."
    import numpy as np
    from can.data import data_source, load_arrays
    from can.encoder import load_run
    from can.model import build_model
    from can.presets import get_config
    from can.provenance import provenance
    from can.probe import extract_features, quick_linear_probe
    from can.train import init_state, make_mesh, make_optimizer
    t0 = time.time()
    cfg = get_config(PRESET, run["method"], **run["overrides"])
    wd = WORK / run["name"]
    train = data_source(cfg.dataset, "train", cfg.data_dir)
    xtr, ytr = load_arrays(train, cfg.image_size, limit=10_000)
    xte, yte = load_arrays(data_source(cfg.dataset, "test", cfg.data_dir), cfg.image_size)
    model = build_model(cfg)
    init = init_state(cfg, model, make_optimizer(cfg, 1), make_mesh(1)).params
    steps_per_epoch = len(train) // cfg.batch_size
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255
    pixels = quick_linear_probe(flat(xtr), ytr, flat(xte), yte)          # the reference row, same probe
    rows = []
    for epoch in range(cfg.epochs + 1):
        params = init if epoch == 0 else load_run(wd, epoch * steps_per_epoch)[2]
        feats = lambda x: np.asarray(extract_features(cfg, model, params, x))
        acc = quick_linear_probe(feats(xtr), ytr, feats(xte), yte)
        rows.append({"epoch": epoch, "step": epoch * steps_per_epoch, **acc})
        print(rows[-1], flush=True)
    write_json(RESULTS / run["name"] / "quick-every-epoch.json",
               {**provenance(cfg), **machine(), "probe": "can.probe.quick_linear_probe, 10 000 train images, l2 1e-4",
                "pixels": pixels, "rows": rows, "wall_s": time.time() - t0})


def job_eval(run: dict, kind: str) -> None:
    from can.evaluate import evaluate
    protocol, overrides = EVALS[kind]
    out = RESULTS / run["name"] / f"eval-{kind}.json"
    tmp = out.with_name(out.name + ".partial")
    if run["method"] in FLOORS:
        evaluate(run["method"], protocol, seed=run["overrides"]["seed"], output=str(tmp), **overrides)
    else:
        evaluate(str(WORK / run["name"]), protocol, output=str(tmp), **overrides)
    res = json.loads(tmp.read_text())
    res.update(machine())
    write_json(out, res)
    tmp.unlink()


def run_job(kind: str, name: str) -> None:
    from can.provenance import provenance
    CODE.update({k: provenance()[k] for k in ("git_commit", "git_dirty", "code_fingerprint")})
    run = next(r for r in runs() if r["name"] == name)
    if kind == "pretrain":
        job_pretrain(run)
    elif kind == "regenerate":
        job_regenerate(run)
    elif kind == "quick-every-epoch":
        job_quick_every_epoch(run)
    else:
        job_eval(run, kind)


def checkpointed(run: dict) -> bool:
    "Whether the run's final checkpoint is in its workdir (evaluations restore it)."
    pre = read_result(run, "pretrain.json")
    return pre is not None and (WORK / run["name"] / "checkpoints" / str(pre["steps"])).is_dir()


def unverified(run: dict) -> list[str]:
    """The evaluations of `run` whose committed result ran code that cannot be checked (`plan.code_unverified`): queued
    by `--reverify` after every missing job, and replaced by a verified result when one is made or imported."""
    out = []
    for e in run["evals"]:
        f = RESULTS / run["name"] / (f"{e}.json" if e == "quick-every-epoch" else f"eval-{e}.json")
        try:
            if f.exists() and code_unverified(json.loads(f.read_text())):
                out.append(e)
        except ValueError:
            continue
    return out


def todo(run: dict, fresh: bool = False) -> list[str]:
    """The jobs of `run` whose result is missing, pre-training first. An evaluation added to plan.py after the run's
    checkpoints were lost (another machine) needs them back first: 'regenerate' pre-trains the same config again,
    deterministically, into the workdir, and records how closely it matches the committed run (`regenerated.json`),
    without touching the committed pre-training results. `fresh`: as on a machine that holds no checkpoint (an
    accelerator host, a clean clone)."""
    jobs = [] if run["method"] in FLOORS or read_result(run, "pretrain.json") else ["pretrain"]
    for e in run["evals"]:
        if not read_result(run, f"{e}.json" if e == "quick-every-epoch" else f"eval-{e}.json"):
            jobs.append(e)
    if jobs and not jobs[0] == "pretrain" and run["method"] not in FLOORS and (fresh or not checkpointed(run)):
        jobs.insert(0, "regenerate")
    return jobs


def job_images(run: dict, kind: str) -> int:
    """About how many images a job passes through its model (a training step counted as 3 forwards): what its time is
    estimated from, with the throughput measured so far (`--deadline`), and what orders the jobs (longest first)."""
    epochs = run["overrides"].get("epochs", 1)
    if kind in ("pretrain", "regenerate"):
        return 3 * epochs * TRAIN_IMAGES
    if kind == "quick-every-epoch":
        return (epochs + 1) * (10_000 + TEST_IMAGES)
    protocol, overrides = EVALS[kind]
    if protocol in ("finetune", "robustness"):
        ft = 3 * overrides.get("epochs", 3) * TRAIN_IMAGES + 2 * TEST_IMAGES * overrides.get("epochs", 3)
        return ft + (40 * TEST_IMAGES if protocol == "robustness" else 0)      # 8 corruptions x 5 severities
    return TRAIN_IMAGES + TEST_IMAGES                                           # one pass for the frozen features


def commit(run: dict, kind: str) -> None:
    """Commit the run's results folder alone (`git commit -- <folder>`: whatever else is staged stays staged), so that
    a session that ends or a machine that goes leaves every finished job in git."""
    folder = str(RESULTS / run["name"])
    subprocess.run(["git", "add", "--", folder], check=True)
    if subprocess.run(["git", "diff", "--cached", "--quiet", "--", folder]).returncode:      # something to commit
        subprocess.run(["git", "commit", "-q", "-m", f"results: {run['name']} {kind}", "--", folder], check=True)


