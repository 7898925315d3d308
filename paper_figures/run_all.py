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
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from paper_figures.bundle import BadBundle, import_bundle, tiny_data, write_bundle  # noqa: E402
from paper_figures.jobs import FLOORS, checkpointed, job_images, run_job, todo, unverified  # noqa: E402
from paper_figures.plan import EVALS, runs  # noqa: E402
from paper_figures.schedule import Scheduler, committed_seconds, manifest_seconds, platform, rate  # noqa: E402


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
            if again and not jobs and run["method"] not in FLOORS and not checkpointed(run):
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
