"""Run every pre-training and evaluation the paper's artefacts need, skipping finished work, then render.

    python paper_figures/run_all.py                  # everything in plan.py, then `make figures`
    python paper_figures/run_all.py --group curve    # one group
    python paper_figures/run_all.py --max-hours 2    # start no new job after 2 h (a chunk; run again to go on)
    python paper_figures/run_all.py --runs 'main/*-seed2' --only pretrain   # some runs, one kind of job
    python paper_figures/run_all.py --group sweep --max-hours 2 --commit    # commit each job's results as it ends
    python paper_figures/run_all.py --list           # what would run, and its estimated time on this machine
    # an accelerator host (scripts/accel_reproduce.sh): 4 jobs at once, nothing started that cannot end in 8 minutes,
    # every result made in the call in one archive; then, here, the results checked against the plan and placed:
    python paper_figures/run_all.py --workers 4 --deadline 480 --bundle $OUT/bundle.tar.gz --no-render
    python paper_figures/run_all.py --import bundle.tar.gz --commit

Each job (a pre-training, or one evaluation of it) runs in its own process, resumes from its checkpoint if it was
interrupted, and writes its small outputs atomically into `paper_figures/results/<run>/` when it finishes: commit
them then. A result that exists, parses and was made with the planned config is not redone. Checkpoints stay in
`runs/paper/<run>/` (git-ignored). On a CPU runs go one at a time on all cores (results/benchmark/README.md: on the
2-core machine two pinned processes are not faster end to end); on an accelerator `--workers N` runs N runs' jobs at
once, each process with 1/N of the accelerator's memory and of the host's cores, sharing one compilation cache (a
small step is launch-bound: one process leaves the GPU mostly idle).
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from paper_figures import plan  # noqa: E402
from paper_figures.plan import EVALS, FLOORS, PRESET, REBASED, code_unverified, result, runs  # noqa: E402

RESULTS = Path(plan.RESULTS)
WORK = Path(plan.WORK)
TRAIN_IMAGES, TEST_IMAGES = 60_000, 10_000       # Fashion-MNIST: what a job's images are counted in (the estimates)
# The code a job runs is the code its process imported at its start: its git commit and code fingerprint are read
# then (the repository may move on during a run of an hour) and stamped on every result the job writes; the fingerprint
# is read again when the result is written, and a job whose code changed meanwhile is marked (plan.result refuses it).
CODE = {}


def write_json(path: Path, obj) -> None:
    "Atomically: a kill leaves the old file or the new one, never half of one."
    from can.checkpoint import atomic_write
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


# ---- the driver ----------------------------------------------------------------------------------------------------

def _checkpointed(run: dict) -> bool:
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
    if jobs and not jobs[0] == "pretrain" and run["method"] not in FLOORS and (fresh or not _checkpointed(run)):
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


def select(args) -> list[tuple[dict, list[str]]]:
    "The selected runs with their jobs still to do; an error naming what exists when the selection matches nothing."
    groups = sorted({r["group"] for r in runs()})
    if args.group is not None and args.group not in groups:
        raise SystemExit(f"--group {args.group!r} matches no run; allowed: {groups}")
    chosen = [r for r in runs(args.group) if any(fnmatch.fnmatch(r["name"], g) for g in args.runs.split(","))]
    if not chosen:
        raise SystemExit(f"--runs {args.runs!r} matches no run of {args.group or 'the plan'}; e.g. "
                         f"{[r['name'] for r in runs(args.group)][:6]}")
    kinds = ["pretrain", "regenerate", *EVALS, "quick-every-epoch"]
    if args.only is not None and args.only not in kinds:
        raise SystemExit(f"--only {args.only!r} is not a kind of job; allowed: {kinds}")
    out = []
    for run in chosen:
        jobs = todo(run)
        if args.reverify:           # after every missing job: the results whose code cannot be checked, made again
            again = [e for e in unverified(run) if e not in jobs]
            if again and not jobs and run["method"] not in FLOORS and not _checkpointed(run):
                jobs = ["regenerate"]
            jobs += again
        if args.only is not None:
            if args.only not in jobs:
                continue
            if args.only not in ("pretrain", "regenerate") and {"pretrain", "regenerate"} & set(jobs):
                print(f"{run['name']}: {args.only} skipped: not pre-trained yet")
                continue
            jobs = [args.only]
        if jobs:
            out.append((run, jobs))
    return out


def rate_keys(run: dict, kind: str) -> list:
    """What a job's seconds per image are looked up under, the most specific first. A pre-training's rate depends on
    its config (MAE's encoder sees a quarter of the patches: ≈ 3× CAN's images per second), an evaluation's does not
    (every one trains or reads the same ViT)."""
    if kind in ("pretrain", "regenerate"):
        return [(kind, run["key"]), (kind, run["method"]), kind]
    return [kind]


def rate(per: dict, run: dict, kind: str):
    "The most specific of `per`'s seconds per image for this job (`rate_keys`); None where it has none."
    return next((per[k] for k in rate_keys(run, kind) if k in per), None)


def _medians(samples) -> dict:
    """{key: median} of (run, kind, seconds per image) samples, under every one of each job's `rate_keys`. The median
    of an even count is the mean of the middle two: the upper one put a CAN regenerate at 75 min from {27, 75}."""
    per = {}
    for run, kind, v in samples:
        for k in rate_keys(run, kind):
            per.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in per.items()}


def committed_seconds(avx512: bool | None = None) -> dict:
    """Median wall seconds per image of each kind of job (`rate_keys`) among the committed results made on this
    machine's kind of CPU (for `--list`, the README's missing block and `--deadline`). An accelerator's results are left
    out: a main pre-training took 70 s on the H200 and 89 min here, and a median over both said 2 min. A kind of job
    with no result on this CPU kind (AVX-512 or not, ≈ 2.3× apart end to end) is estimated from the other CPU kind's."""
    avx512 = machine().get("avx512") if avx512 is None else avx512       # this machine's kind, or the one asked for
    plan = {r["name"]: r for r in runs()}
    samples = {True: [], False: []}
    for p in RESULTS.glob("*/*/*.json"):
        kind = "pretrain" if p.stem == "pretrain" else p.stem.removeprefix("eval-")
        kind = "regenerate" if kind.startswith("regenerated") else kind
        run = plan.get(f"{p.parent.parent.name}/{p.parent.name}")
        if run is None or (kind not in EVALS and kind not in ("pretrain", "regenerate", "quick-every-epoch")):
            continue
        try:
            d = json.loads(p.read_text())
            if not d.get("device", "cpu").startswith("cpu"):
                continue
            samples[d.get("avx512") == avx512].append((run, kind, d["wall_s"] / job_images(run, kind)))
        except (ValueError, KeyError, AttributeError):
            continue
    return {**_medians(samples[False]), **_medians(samples[True])}


def manifest_seconds(manifests) -> dict:
    """Median wall seconds per image of each kind of job (`rate_keys`) that finished in the accelerator calls of
    `manifests` (`--bundle`'s manifest.json): what `--list --rates` estimates the rest of the plan from. Each job's
    seconds were measured with the call's workers sharing the device, so a total from them is divided by as many
    workers."""
    plan = {r["name"]: r for r in runs()}
    samples = []
    for m in manifests:
        for j in json.loads(m.read_text())["jobs"]:
            if j.get("status") == "done":
                run = plan.get(j["run"], {"key": None, "method": None})
                samples.append((run, j["kind"], j["wall_s"] / j["images"]))
    return _medians(samples)


class Scheduler:
    """Runs the selected runs' jobs in `workers` processes at once (each run's jobs in order, in one worker), the
    runs with the most work first when there is a deadline. Keeps the throughput measured so far (images per second
    of each kind of job, and of all), from which it starts no job that cannot end before the deadline; at the
    deadline it stops the jobs still running (SIGTERM: a pre-training saves its checkpoint) and starts nothing more."""

    def __init__(self, args, work, prior=None, platform=None):
        self.args, self.work, self.lock = args, list(work), threading.Lock()
        self.prior = committed_seconds() if prior is None else prior     # seconds per image of each kind, committed
        self.platform = platform            # where the jobs run ('cpu', 'gpu', ...), None when not asked
        self.t0 = time.time()
        self.deadline = self.t0 + args.deadline if args.deadline else None
        self.stop = threading.Event()
        self.done, self.log, self.failed = [], [], []      # (run, kind, images, seconds) of finished jobs; every job's record
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        n = args.workers
        self.cores = [cores[i * len(cores) // n:(i + 1) * len(cores) // n] for i in range(n)] if len(cores) >= n else [None] * n

    def env(self, slot: int) -> dict:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.setdefault("JAX_COMPILATION_CACHE_DIR", str((WORK / ".jax-cache").absolute()))      # one, shared by all
        if self.args.workers > 1:       # each process its share of the accelerator's memory, taken as it needs it
            env.update(XLA_PYTHON_CLIENT_PREALLOCATE="false",
                       XLA_PYTHON_CLIENT_MEM_FRACTION=f"{0.9 / self.args.workers:.3f}")
        return env

    def estimate(self, run: dict, kind: str) -> float:
        """Seconds the job should take here: its images × its seconds per image, under its most specific `rate_keys`
        known, from the jobs of its key that ended in this call, else from the committed CPU rate (`prior`) scaled by
        how fast this call ran the jobs that ended, relative to theirs. One rate over all jobs said an MAE regenerate's,
        ≈ 8× a fine-tune's per image, and started a 38-min fine-tune 29 min before the deadline. On an accelerator
        (> 4× the committed CPU speed) the scaled rate; on a CPU no less than the committed one: its medians vary up to
        3× between sessions, and a job cut at the deadline loses its time where one not started loses none. Before any
        job has ended: on a CPU the committed rate (a 27-min regenerate started 10 min before the deadline wasted them);
        elsewhere there is no speed to scale by: 0, the job starts and the deadline cuts it cleanly."""
        with self.lock:
            done = list(self.done)
        known = [(r, k, i, s) for r, k, i, s in done if rate(self.prior, r, k) is not None]
        speed = (sum(s for *_, s in known) / sum(i * rate(self.prior, r, k) for r, k, i, _ in known) if known
                 else 1.0 if self.platform == "cpu" else None)
        for key in rate_keys(run, kind):
            same = [(i, s) for r, k, i, s in done if key in rate_keys(r, k)]
            if same:
                return job_images(run, kind) * sum(s for _, s in same) / sum(i for i, _ in same)
            if key in self.prior and speed is not None:
                return job_images(run, kind) * self.prior[key] * (speed if speed < 0.25 else max(speed, 1.0))
        return job_images(run, kind) * sum(s for *_, s in done) / sum(i for *_, i, _ in done) if done else 0.0

    def worker(self, slot: int) -> None:
        while not self.stop.is_set():
            with self.lock:
                if not self.work:
                    return
                run, jobs = self.work.pop(0)
            for kind in jobs:
                if not self.start(slot, run, kind):
                    break

    def start(self, slot: int, run: dict, kind: str) -> bool:
        "Run one job; whether the run's next job may follow."
        args, now = self.args, time.time()
        if self.stop.is_set():
            return False
        if args.max_hours is not None and now - self.t0 > args.max_hours * 3600:
            print(f"--max-hours {args.max_hours} reached; run the same command again to go on", flush=True)
            self.stop.set()
            return False
        if self.deadline is not None and now + self.estimate(run, kind) > self.deadline:
            print(f"{run['name']}: {kind} not started: it would end after the deadline "
                  f"(~{self.estimate(run, kind):.0f} s, {self.deadline - now:.0f} s left)", flush=True)
            self.log.append({"run": run["name"], "kind": kind, "status": "not started"})
            return False
        print(f"[{time.strftime('%H:%M:%S')}] {run['name']}: {kind}" + (f" (worker {slot})" if args.workers > 1 else ""),
              flush=True)
        t = time.time()
        code = _launch([sys.executable, __file__, "--job", kind, run["name"]], self.env(slot), self.cores[slot],
                       None if self.deadline is None else self.deadline)
        wall = time.time() - t
        rec = {"run": run["name"], "kind": kind, "start": t, "wall_s": wall, "images": job_images(run, kind)}
        if code != 0 or kind in todo(run):      # failed, or stopped (a signal, the deadline): its result not written
            cut = self.deadline is not None and time.time() >= self.deadline
            rec["status"] = "stopped at the deadline" if cut else "stopped" if code == 0 else f"failed ({code})"
            self.log.append(rec)
            print(f"{run['name']}: {kind} {rec['status']} after {wall:.0f} s; run the same command again to go on",
                  flush=True)
            if code != 0 and not cut:
                self.failed.append(f"{run['name']} {kind}")
            else:
                self.stop.set()     # a job stopped by a signal: the whole call stops, as a single job would
            return False
        rec["status"] = "done"
        with self.lock:
            self.done.append((run, kind, rec["images"], wall))
            self.log.append(rec)
            print(f"[{time.strftime('%H:%M:%S')}] {run['name']}: {kind} done in {wall:.0f} s", flush=True)
            if args.commit:
                commit(run, kind)
            if args.bundle:         # after every job: a call killed from outside still returns what it finished
                write_bundle(Path(args.bundle), self.t0, self.log, args)
        return True

    def run(self) -> None:
        threads = [threading.Thread(target=self.worker, args=(i,), daemon=True) for i in range(self.args.workers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()


def _launch(cmd, env, cores, deadline) -> int:
    "A job's process (on `cores`, when given), stopped by SIGTERM at `deadline`, killed 120 s later; its exit status."
    if cores and shutil.which("taskset"):      # taskset, not a preexec_fn: forking a threaded process to run Python in the child is unsafe
        cmd = ["taskset", "-c", ",".join(map(str, cores)), *cmd]
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait(None if deadline is None else max(0.0, deadline - time.time()))
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)        # a pre-training saves its checkpoint and exits 0
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0


def platform() -> str:
    """The platform the jobs will run on ('cpu', 'gpu', 'tpu'), asked of a child process: JAX in this one would hold
    accelerator memory for the whole call."""
    out = subprocess.run([sys.executable, "-c", "import jax; print(jax.default_backend())"], capture_output=True,
                         text=True, env=dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false"))
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "unknown"


def write_bundle(path: Path, since: float, log: list, args) -> Path:
    """Every result written since `since` into one archive (names relative to the results folder) with a manifest:
    the commit, the device, the workers and the deadline, and every job's record. Written atomically."""
    from can.provenance import provenance
    files = sorted(p for p in RESULTS.rglob("*") if p.is_file() and p.stat().st_mtime >= since
                   and not p.name.endswith(".partial"))
    prov = provenance()
    manifest = {**{k: prov[k] for k in ("git_commit", "git_dirty", "device", "device_count", "host", "cpu_count", "jax")},
                **machine(), "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)),
                "wall_s": time.time() - since, "workers": args.workers, "deadline_s": args.deadline,
                "jobs": log, "files": [str(p.relative_to(RESULTS)) for p in files],
                "sha256": {str(p.relative_to(RESULTS)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        data = json.dumps(manifest, indent=1, default=str).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
        for p in files:
            tar.add(p, arcname=str(p.relative_to(RESULTS)))
    os.replace(tmp, path)
    return path


def _resolves(commit_: str) -> bool:
    "Whether a recorded commit is in HEAD's history (or is a rebased one that plan.REBASED maps onto it)."
    c = REBASED.get(commit_, commit_)
    return bool(c) and subprocess.run(["git", "merge-base", "--is-ancestor", c, "HEAD"], capture_output=True).returncode == 0


_CODE_COMMITS = {}


def commit_of_code(fp: str, depth: int = 300) -> str | None:
    "The newest commit of HEAD's last `depth` whose code has the fingerprint `fp` (can.provenance.code_fingerprint)."
    from can.provenance import code_fingerprint_at
    for c in subprocess.run(["git", "log", f"-n{depth}", "--format=%H"], capture_output=True, text=True).stdout.split():
        if c not in _CODE_COMMITS:
            _CODE_COMMITS[c] = code_fingerprint_at(c)
        if _CODE_COMMITS[c] == fp:
            return c
    return None


def restamp(path: Path) -> None:
    """A result made from a copy of the working tree whose `.git` was not the repository's (an accelerator host that
    is sent the files, not the history) is stamped with that copy's HEAD and 'dirty'. Its commit is the one whose code
    has the result's `code_fingerprint`; the stamp as made is kept under `stamped`."""
    res = json.loads(path.read_text())
    if _resolves(res.get("git_commit", "")) and not res.get("git_dirty") or not res.get("code_fingerprint"):
        return
    commit_ = commit_of_code(res["code_fingerprint"])
    if commit_:
        res["stamped"] = {"git_commit": res.get("git_commit"), "git_dirty": res.get("git_dirty"), "commit_is":
                          f"the commit whose code has the result's code_fingerprint {res['code_fingerprint']}"}
        res.update(git_commit=commit_, git_dirty=False)
        path.write_text(json.dumps(res, indent=1, default=str))


def produces(run: dict) -> set[str]:
    "The file names a run of the plan writes into its results folder (a regenerate's numbered ones match by pattern)."
    return ({"metrics.jsonl", "pretrain.json", "regenerated.json"} if run["method"] not in FLOORS else set()) | {
        "quick-every-epoch.json" if e == "quick-every-epoch" else f"eval-{e}.json" for e in run["evals"]}


def check_import(run: dict, name: str, staging: Path, digest: str | None, expected: str | None) -> str | None:
    "Why the bundled result `name` of `run` (in `staging`, beside the run's committed ones) cannot be placed, or None."
    if name not in produces(run) and not (run["method"] not in FLOORS and fnmatch.fnmatch(name, "regenerated-*.json")):
        return "not a file plan.py's run produces"
    if expected is None:
        return "the manifest lists no SHA-256 for it"
    if digest != expected:
        return "its SHA-256 differs from the manifest's (damaged or altered in transit)"
    if name == "metrics.jsonl":
        return None if (staging / run["name"] / "pretrain.json").exists() else "its pretrain.json is not in"
    try:
        if not json.loads((staging / run["name"] / name).read_text()).get("code_fingerprint"):
            return "it carries no code_fingerprint: the code it ran cannot be checked (rerun it with today's code)"
        restamp(staging / run["name"] / name)
        res = result(run, name, str(staging))
    except (ValueError, KeyError, OSError) as e:
        return str(e).replace(str(staging) + "/", "")
    if res is None:
        return "unreadable"
    if not _resolves(res.get("git_commit", "")):
        return f"made at commit {res.get('git_commit')!r}, which is not in this repository's history (git fetch it)"
    if res.get("git_dirty"):
        return "made from code that differed from its commit (git_dirty)"
    if code_unverified(res):
        return code_unverified(res)
    missing = [k for k in ("config", "seed", "device", "wall_s") if k not in res]
    return f"it lacks {missing}" if missing else None


class BadBundle(Exception):
    "A bundle that cannot be read as one: said in one line, nothing placed."


def read_bundle(path: Path) -> tuple[dict, dict]:
    "(manifest, {member name: bytes}) of a bundle, or BadBundle naming what is wrong with it."
    try:
        tar = tarfile.open(path)
    except (OSError, tarfile.TarError) as e:
        raise BadBundle(f"{path}: not a readable .tar.gz bundle ({e.__class__.__name__}: {str(e).splitlines()[0]})") from None
    with tar:
        members = tar.getmembers()
        bad = [m.name for m in members if not (m.isfile() or m.isdir()) or m.name.startswith(("/", "./"))
               or ".." in Path(m.name).parts]
        if bad:
            raise BadBundle(f"{path}: members that are links, absolute or not plain relative paths: {bad[:3]}; "
                            f"make the bundle with run_all.py --bundle")
        files = {m.name: tar.extractfile(m).read() for m in members if m.isfile()}
    if "manifest.json" not in files:
        raise BadBundle(f"{path}: no manifest.json (a plain file at the top); make the bundle with run_all.py --bundle")
    try:
        manifest = json.loads(files.pop("manifest.json"))
    except ValueError as e:
        raise BadBundle(f"{path}: manifest.json is not JSON ({e})") from None
    return manifest, files


def import_bundle(path: Path, do_commit: bool = False) -> int:
    """Place the results of a bundle (`--bundle`, made on another machine) into the results folder: each checked
    against its manifest (SHA-256), the plan (a file its run produces, config and seed, recipe, features, the weights'
    fingerprint) and its provenance (a code fingerprint that is its commit's, a commit in this history, clean code, a
    device) first, a mismatch refused with one line; a result already here is never replaced. What this proves and
    what it cannot: docs/accelerators.md. Returns the number refused."""
    import shutil
    import tempfile
    manifest, files = read_bundle(path)
    sums = manifest.get("sha256") or {}
    by_run = {}
    for n in files:
        by_run.setdefault(str(Path(n).parent), []).append(Path(n).name)
    with tempfile.TemporaryDirectory() as tmp:
        staging, refused, placed = Path(tmp), 0, []
        plan_runs = {r["name"]: r for r in runs()}
        for name, names in by_run.items():
            run = plan_runs.get(name)
            if run is None:
                print(f"refused {name}/: not a run of plan.py")
                refused += len(names)
                continue
            if (RESULTS / name).is_dir():
                shutil.copytree(RESULTS / name, staging / name)
            (staging / name).mkdir(parents=True, exist_ok=True)
            new = []
            for f in names:
                if (RESULTS / name / f).exists() and not (f.startswith("eval-") and f[5:-5] in unverified(run)):
                    print(f"kept {name}/{f}: already committed here; the bundle's copy is not placed")
                    continue
                (staging / name / f).unlink(missing_ok=True)        # a code-unverified result: a verified one replaces it
                (staging / name / f).write_bytes(files[f"{name}/{f}"])
                new.append(f)
            # the pre-training and the regenerates first: the evaluations' fingerprints are checked against them
            for f in sorted(new, key=lambda f: (not (f == "pretrain.json" or f.startswith("regenerated")), f)):
                data = files[f"{name}/{f}"]
                why = check_import(run, f, staging, hashlib.sha256(data).hexdigest(), sums.get(f"{name}/{f}"))
                if why:
                    print(f"refused {name}/{f}: {why}")
                    (staging / name / f).unlink()
                    refused += 1
                else:
                    placed.append((run, f))
        for run, f in placed:
            (RESULTS / run["name"]).mkdir(parents=True, exist_ok=True)
            shutil.copy2(staging / run["name"] / f, RESULTS / run["name"] / f)
    for name in dict.fromkeys(r["name"] for r, _ in placed):
        print(f"placed {name}: {', '.join(f for r, f in placed if r['name'] == name)}")
        if do_commit:
            commit(plan_runs[name], f"from {manifest.get('device')} (bundle {path.name})")
    print(f"{len(placed)} results placed, {refused} refused, from {path} ({manifest.get('device')}, "
          f"commit {str(manifest.get('git_commit'))[:10]}, {manifest.get('wall_s', 0):.0f} s)")
    return refused


def tiny_data(root: Path, train: int = 512, test: int = 256) -> None:
    "The first `train` / `test` Fashion-MNIST images as IDX files in `root`/idx (the rehearsal's dataset)."
    import gzip
    from can.data import FASHION_MNIST_DIR
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", train), ("t10k", test)):
        for kind, head, size in (("images-idx3", 16, 784), ("labels-idx1", 8, 1)):
            name = f"{split}-{kind}-ubyte.gz"
            with gzip.open(Path(FASHION_MNIST_DIR) / name) as f:
                raw = f.read(head + n * size)
            raw = raw[:4] + n.to_bytes(4, "big") + raw[8:]
            with gzip.open(root / "idx" / name, "wb") as f:
                f.write(raw)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", default=None, help="only this group of plan.py")
    ap.add_argument("--max-hours", type=float, default=None, help="start no new job after this many hours")
    ap.add_argument("--no-render", action="store_true", help="do not run `make figures` at the end")
    ap.add_argument("--only", default=None, help="only jobs of this kind (e.g. pretrain: evaluate later)")
    ap.add_argument("--runs", default="*", help="only runs whose name matches one of these comma-separated globs (e.g. 'main/*-seed2')")
    ap.add_argument("--commit", action="store_true", help="git-commit each job's results folder when the job ends")
    ap.add_argument("--list", action="store_true", help="print the jobs that would run and their estimated time")
    ap.add_argument("--rates", nargs="+", default=None, metavar="MANIFEST",
                    help="with --list: estimate from these accelerator calls' manifests instead of this machine")
    ap.add_argument("--workers", type=int, default=1, help="jobs at once, each in its own process (an accelerator)")
    ap.add_argument("--deadline", type=float, default=None,
                    help="seconds: start no job that cannot end before, stop those still running at it")
    ap.add_argument("--bundle", default=None, help="write every result made in this call into this .tar.gz")
    ap.add_argument("--import", dest="import_", default=None, metavar="BUNDLE",
                    help="check a bundle's results against the plan and place them (never replacing one)")
    ap.add_argument("--reverify", action="store_true",
                    help="after the missing jobs, redo the evaluations whose committed result's code is unverified")
    ap.add_argument("--tiny", default=None, metavar="DIR",
                    help="the rehearsal: a toy plan on a few hundred images, everything in DIR (the test suite)")
    ap.add_argument("--job", nargs=2, metavar=("KIND", "RUN"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    if args.workers < 1:
        ap.error(f"--workers {args.workers} is invalid; allowed: a positive integer")
    if args.deadline is not None and args.deadline <= 0:
        ap.error(f"--deadline {args.deadline} is invalid; allowed: a positive number of seconds")
    if args.tiny and os.environ.get("CAN_PAPER_TINY") != str(Path(args.tiny).absolute()):
        tiny = Path(args.tiny).absolute()           # the plan is read at import: run again with the toy plan
        tiny_data(tiny)
        env = dict(os.environ, CAN_PAPER_TINY=str(tiny), FASHION_MNIST_DIR=str(tiny / "idx"))
        return subprocess.run([sys.executable, __file__, *(argv if argv is not None else sys.argv[1:])], env=env).returncode
    if args.job:
        return run_job(*args.job) or 0
    if args.import_:
        try:
            return 1 if import_bundle(Path(args.import_), args.commit) else 0
        except BadBundle as e:
            raise SystemExit(f"--import: {e}") from None
    work = select(args)
    if args.list:
        per = committed_seconds() if not args.rates else manifest_seconds([Path(m) for m in args.rates])
        total = 0.0
        for run, jobs in work:
            est = [(rate(per, run, k) or 0.0) * job_images(run, k) for k in jobs]
            total += sum(est)
            print(f"{run['name']}: " + ", ".join(f"{k} ~{e / 60:.0f} min" if e else f"{k} ?" for k, e in zip(jobs, est)))
        where = (f"on the accelerator of the {len(args.rates)} manifests given, at their jobs' median time per image"
                 if args.rates else "here at the committed results' median time per image")
        print(f"{sum(len(j) for _, j in work)} jobs of {len(work)} runs, ~{total / 3600:.1f} h {where} ('?': no "
              f"finished job of that kind)" + (f"; ~{total / 60 / args.workers:.0f} min with {args.workers} workers"
                                              if args.rates else ""))
        return 0
    if args.deadline is not None:       # the most work first: what is left at the deadline is the shortest
        work.sort(key=lambda rj: -sum(job_images(rj[0], k) for k in rj[1]))
    if args.reverify:                   # ... and the runs that only re-verify code after every run with missing work
        work.sort(key=lambda rj: not any(k not in unverified(rj[0]) + ["regenerate"] for k in rj[1]))
    sched = Scheduler(args, work, platform=platform() if args.deadline is not None else None)
    sched.run()
    if args.bundle:
        write_bundle(Path(args.bundle), sched.t0, sched.log, args)
    if sched.failed:
        print(f"{len(sched.failed)} jobs failed: {sched.failed}")
        return 1
    if not args.no_render and not sched.stop.is_set():
        subprocess.run(["make", "figures"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
