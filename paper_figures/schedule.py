"""When jobs run: the throughput of each kind of job (committed results, accelerator manifests), the estimate of a
job's time, and the scheduler that runs the selected jobs in N worker processes before a deadline."""
from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from paper_figures.bundle import write_bundle
from paper_figures.jobs import RESULTS, WORK, commit, job_images, machine, todo
from paper_figures.plan import EVALS, runs

RUN_ALL = Path(__file__).with_name("run_all.py")        # a job's process: `run_all.py --job KIND RUN`

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
        code = _launch([sys.executable, str(RUN_ALL), "--job", kind, run["name"]], self.env(slot), self.cores[slot],
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


