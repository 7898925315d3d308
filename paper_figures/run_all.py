"""Run every pre-training and evaluation the paper's artefacts need, skipping finished work, then render.

    python paper_figures/run_all.py                  # everything in plan.py, then `make figures`
    python paper_figures/run_all.py --group curve    # one group
    python paper_figures/run_all.py --max-hours 2    # start no new job after 2 h (a chunk; run again to go on)
    python paper_figures/run_all.py --runs 'main/*-seed2' --only pretrain   # some runs, one kind of job
    python paper_figures/run_all.py --group sweep --max-hours 2 --commit    # commit each job's results as it ends

Each job (a pre-training, or one evaluation of it) runs in its own process, resumes from its checkpoint if it was
interrupted, and writes its small outputs atomically into `paper_figures/results/<run>/` when it finishes: commit
them then. A result that exists, parses and was made with the planned config is not redone. Checkpoints stay in
`runs/paper/<run>/` (git-ignored). Runs go one at a time on all cores (results/benchmark/README.md: on the 2-core
machine two pinned processes are not faster end to end).
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from paper_figures.plan import EVALS, FLOORS, PRESET, result, runs  # noqa: E402

RESULTS = Path("paper_figures/results")
WORK = Path("runs/paper")
# The code a job runs is the code its process imported at its start: its git commit is read then, not when it ends
# (the repository may move on during a run of an hour), and stamped on every result the job writes.
CODE = {}


def write_json(path: Path, obj) -> None:
    "Atomically: a kill leaves the old file or the new one, never half of one."
    from can.checkpoint import atomic_write
    if CODE and "git_commit" in obj:
        obj = {**obj, **CODE}
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


# ---- jobs: each runs in a child process (`--job <kind> <run>`) ------------------------------------------------------

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
                images_per_s=sorted(r["images_per_s"] for r in metrics[1:])[len(metrics[1:]) // 2])
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
    from can.checkpoint import load_run
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
    CODE.update({k: provenance()[k] for k in ("git_commit", "git_dirty")})
    CODE["driver_dirty"] = bool(subprocess.run(["git", "status", "--porcelain", "--", "paper_figures/*.py"],
                                               capture_output=True, text=True).stdout.strip())
    run = next(r for r in runs() if r["name"] == name)
    if kind == "pretrain":
        job_pretrain(run)
    elif kind == "regenerate":
        job_regenerate(run)
    elif kind == "quick-every-epoch":
        job_quick_every_epoch(run)
    else:
        job_eval(run, kind)


# ---- the driver ----------------------------------------------------------------------------------------------------

def _checkpointed(run: dict) -> bool:
    "Whether the run's final checkpoint is in its workdir (evaluations restore it)."
    pre = read_result(run, "pretrain.json")
    return pre is not None and (WORK / run["name"] / "checkpoints" / str(pre["steps"])).is_dir()


def todo(run: dict) -> list[str]:
    """The jobs of `run` whose result is missing, pre-training first. An evaluation added to plan.py after the run's
    checkpoints were lost (another machine) needs them back first: 'regenerate' pre-trains the same config again,
    deterministically, into the workdir, and records how closely it matches the committed run (`regenerated.json`),
    without touching the committed pre-training results."""
    jobs = [] if run["method"] in FLOORS or read_result(run, "pretrain.json") else ["pretrain"]
    for e in run["evals"]:
        if not read_result(run, f"{e}.json" if e == "quick-every-epoch" else f"eval-{e}.json"):
            jobs.append(e)
    if jobs and not jobs[0] == "pretrain" and run["method"] not in FLOORS and not _checkpointed(run):
        jobs.insert(0, "regenerate")
    return jobs


def commit(run: dict, kind: str) -> None:
    """Commit the run's results folder alone (`git commit -- <folder>`: whatever else is staged stays staged), so that
    a session that ends or a machine that goes leaves every finished job in git."""
    folder = str(RESULTS / run["name"])
    subprocess.run(["git", "add", "--", folder], check=True)
    if subprocess.run(["git", "diff", "--cached", "--quiet", "--", folder]).returncode:      # something to commit
        subprocess.run(["git", "commit", "-q", "-m", f"results: {run['name']} {kind}", "--", folder], check=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", default=None, help="only this group of plan.py")
    ap.add_argument("--max-hours", type=float, default=None, help="start no new job after this many hours")
    ap.add_argument("--no-render", action="store_true", help="do not run `make figures` at the end")
    ap.add_argument("--only", default=None, help="only jobs of this kind (e.g. pretrain: evaluate later)")
    ap.add_argument("--runs", default="*", help="only runs whose name matches this glob (e.g. 'main/*-seed2')")
    ap.add_argument("--commit", action="store_true", help="git-commit each job's results folder when the job ends")
    ap.add_argument("--job", nargs=2, metavar=("KIND", "RUN"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    if args.job:
        return run_job(*args.job)
    t0 = time.time()
    for run in runs(args.group):
        if not fnmatch.fnmatch(run["name"], args.runs):
            continue
        jobs = todo(run)
        for kind in jobs:
            if args.only not in (None, kind):
                continue
            if kind not in ("pretrain", "regenerate") and {"pretrain", "regenerate"} & set(todo(run)):   # --only
                print(f"{run['name']}: {kind} skipped: not pre-trained yet")
                continue
            if args.max_hours is not None and time.time() - t0 > args.max_hours * 3600:
                print(f"--max-hours {args.max_hours} reached; run the same command again to go on")
                return
            print(f"[{time.strftime('%H:%M:%S')}] {run['name']}: {kind}", flush=True)
            t = time.time()
            subprocess.run([sys.executable, __file__, "--job", kind, run["name"]], check=True)
            if kind in todo(run):       # stopped early (SIGTERM/SIGINT): its progress is saved, the result not written
                print(f"{run['name']}: {kind} stopped before its end; run the same command again to go on")
                return
            print(f"[{time.strftime('%H:%M:%S')}] {run['name']}: {kind} done in {time.time() - t:.0f} s", flush=True)
            if args.commit:
                commit(run, kind)
    if not args.no_render:
        subprocess.run(["make", "figures"], check=True)


if __name__ == "__main__":
    main()
