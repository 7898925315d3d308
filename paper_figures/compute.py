"""The compute every committed result cost: `compute.md`, summed from the results' own `wall_s` and `device` fields
(`make figures` runs this), so the compute table cannot drift from the results it describes.

    python paper_figures/compute.py            # from paper_figures/: results/ -> compute.md

Two numbers per issue: *job hours*, the sum of the jobs' wall times (a job that shared the 2 cores with another counts
in full), and *machine hours*, the wall time the issue's budget is about: while k jobs ran together, each is charged
1/k of that time, so the machine hours of all groups add up to the union of the jobs' intervals. A job's interval
comes from its `time_utc` (an evaluation stamps it at its end, a pre-training or a regenerate at the start of its last segment); what cannot be placed (a resumed pre-training's earlier segments, the two-stage probe-recipe grid)
counts in full, so machine hours are an upper bound.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

# Which issue's budget a job is charged to, and that budget in hours of wall time. By group of runs (`plan.py`), except
# the sweep runs made under issue 29 (from its start) and the 4-block evaluations of issue 32 (with the regenerated
# checkpoints they need and the choice of features) and the fine-tunes of issue 31 (its pilots and the robustness
# jobs), which cut across groups. A regenerated checkpoint serves both 32 and 31 and is charged to 32 until issue 32
# ended (blocked on its budget, at the stop of 2026-12-02 12:45 UTC); from then on the regenerates and the 4-block
# evaluations that come with them are run for issue 31's fine-tunes and are charged to 31.
GROUPS = ("curve", "main", "floor", "table3", "probe-recipe", "ablation", "sweep", "last4-choice")
ISSUES = {"Paper figures I (issue 12)": 6.0, "Paper figures II (issue 13)": 7.0, "Sweeps (issue 29)": 3.0,
          "Verdicts (issue 32)": 4.0, "Fine-tuning (issue 31)": 5.0, "Reproduction (issue 45)": 15.0,
          "Evidence (issue 54)": 4.05}
# Issue 54 granted 1.5 machine hours on the AVX-512 kind, × 2.7 on the AVX2-only kind its session ran on: 4.05 h.
ISSUE_54_START = datetime(2026, 12, 6, 7, 57).timestamp()
# Issue 45 granted 15 machine hours of CPU (its accelerator minutes are counted apart, never against a CPU budget):
# every job that ended after its session began is charged to it.
ISSUE_45_START = datetime(2026, 12, 4, 17, 49).timestamp()
ACCELERATORS = ("gpu", "tpu")
ISSUE_29_START = datetime(2026, 12, 1).timestamp()
ISSUE_32_END = datetime(2026, 12, 2, 12, 45).timestamp()
ISSUE_32_KINDS = ("eval-linear4", "eval-quick4", "regenerated")
ISSUE_31_KINDS = ("eval-robustness", "eval-finetune-pilot5", "eval-robustness-lpft", "eval-finetune-lpft-lr",
                  "eval-robustness-lpft-std", "eval-finetune-std")


def issue(r: dict) -> str:
    "The issue whose budget the job `r` (a row of `jobs`) is charged to."
    if (r["end"] or 0) >= ISSUE_54_START:
        return "Evidence (issue 54)"
    if (r["end"] or 0) >= ISSUE_45_START:
        return "Reproduction (issue 45)"
    if r["kind"] in ISSUE_31_KINDS:
        return "Fine-tuning (issue 31)"
    if r["kind"] in ISSUE_32_KINDS and (r["end"] or 0) >= ISSUE_32_END:
        return "Fine-tuning (issue 31)"
    if r["kind"] in ISSUE_32_KINDS or r["group"] == "last4-choice":
        return "Verdicts (issue 32)"
    if r["group"] == "sweep" and (r["end"] or 0) >= ISSUE_29_START:
        return "Sweeps (issue 29)"
    return "Paper figures II (issue 13)" if r["group"] in ("ablation", "sweep") else "Paper figures I (issue 12)"


def jobs(results: Path) -> list[dict]:
    "One row per committed job: group, run, kind (pretrain / eval-<protocol> / ...), wall seconds, device."
    rows = []
    for p in sorted(results.rglob("*.json")):
        parts = p.relative_to(results).parts
        group, run = (parts[0], parts[1]) if len(parts) == 3 else (p.stem, p.stem)
        d = json.loads(p.read_text())
        if "wall_s" not in d:
            raise ValueError(f"{p} has no wall_s: every result records its wall time")
        kind = re.sub(r"^regenerated-\d+$", "regenerated", p.stem)     # a checkpoint regenerated again, elsewhere
        rows.append({"group": group, "run": run, "kind": kind, "wall_s": float(d["wall_s"]),
                     "device": f"{d.get('device', '?')} {d.get('cpu_model', '')}".strip(),
                     "images_per_s": d.get("images_per_s"), **interval(p, d)})
    return rows


def _last_segment(metrics: Path) -> float:
    "Wall seconds of a pre-training's last segment: `wall_s` restarts at 0 when a run resumes, so it is the last row's."
    return json.loads(metrics.read_text().splitlines()[-1])["wall_s"]


def interval(p: Path, d: dict) -> dict:
    "The job's placed [start, end] in epoch seconds and the seconds that cannot be placed."
    wall = float(d["wall_s"])
    if "time_utc" not in d or p.stem == "probe-recipe":
        return {"start": None, "end": None, "unplaced_s": wall}
    t = datetime.strptime(d["time_utc"], "%Y-%m-%dT%H:%M:%SZ").timestamp()
    if p.stem == "pretrain":
        seg = min(wall, _last_segment(p.with_name("metrics.jsonl"))) if p.with_name("metrics.jsonl").exists() else wall
        return {"start": t, "end": t + seg, "unplaced_s": wall - seg}
    if p.stem.startswith("regenerated"):     # a pre-training too: stamped at its start (the metrics beside it are the committed run's)
        return {"start": t, "end": t + wall, "unplaced_s": 0.0}
    return {"start": t - wall, "end": t, "unplaced_s": 0.0}


def on_accelerator(r: dict) -> bool:
    return r["device"].split(":")[0] in ACCELERATORS


def machine_s(rows: list[dict]) -> list[float]:
    """Each job's share of the machine's wall time: while k jobs run together, each is charged 1/k of that time (so
    the shares of all jobs add up to the union of their intervals); unplaced seconds are charged in full."""
    edges = sorted({t for r in rows if r["start"] is not None for t in (r["start"], r["end"])})
    share = [r["unplaced_s"] for r in rows]
    for a, b in zip(edges, edges[1:]):
        on = [i for i, r in enumerate(rows) if r["start"] is not None and r["start"] <= a and b <= r["end"]]
        for i in on:
            share[i] += (b - a) / len(on)
    return share


def hours(s: float) -> str:
    return f"{s / 3600:.2f}"


def compute(results: Path) -> str:
    "The page: job time per group (pre-training and evaluations apart), then per issue against its budget."
    rows = jobs(results)
    for kind in (False, True):      # a job on an accelerator host does not share the CPU machine, nor the reverse
        part = [r for r in rows if on_accelerator(r) == kind]
        for r, m in zip(part, machine_s(part)):      # shares taken over all groups: runs of two issues overlapped
            r["machine_s"] = m
    by = defaultdict(list)
    for r in rows:
        by[r["group"]].append(r)
    unknown = sorted(set(by) - set(GROUPS))
    if unknown:
        raise ValueError(f"results of unknown groups {unknown}; allowed: {list(GROUPS)} (compute.GROUPS)")
    lines = ["# Compute used by the committed results", "",
             "Generated by `compute.py` from every result's own `wall_s`, `time_utc` and `device` (`make figures`). "
             "*Job h*: the sum of the jobs' wall times (a resumed pre-training counts its kept segments; a job that "
             "shared the 2 cores with another counts in full). *Machine h*: the wall time a budget is about: while "
             "k jobs ran together each is charged 1/k of that time, so all groups' machine hours add up to the union "
             "of the jobs' intervals; segments that cannot be placed in time count in full, so "
             "it is an upper bound.", "",
             "| group | runs | pre-trainings | pre-training h | img/s (median of runs, per device kind) | evaluation jobs | "
             "evaluation h | job h | machine h | device |", "|---|---|---|---|---|---|---|---|---|---|"]
    for g in GROUPS:
        rs = by.get(g, [])
        if not rs:
            continue
        pre = [r for r in rs if r["kind"] == "pretrain"]
        ev = [r for r in rs if r["kind"] != "pretrain"]
        ips = defaultdict(list)     # per kind of device: a median over an H200 and two CPU cores means neither
        for r in pre:
            if r["images_per_s"]:
                ips[r["device"].split(":")[0]].append(r["images_per_s"])
        med = {k: f"{sorted(v)[len(v) // 2]:.0f}" for k, v in sorted(ips.items())}
        med = " · ".join(f"{k} {v}" for k, v in med.items()) if len(med) > 1 else next(iter(med.values()), "—")
        lines.append(f"| {g} | {len({r['run'] for r in rs})} | {len(pre)} | {hours(sum(r['wall_s'] for r in pre))} "
                     f"| {med} | {len(ev)} | "
                     f"{hours(sum(r['wall_s'] for r in ev))} | {hours(sum(r['wall_s'] for r in rs))} | "
                     f"{hours(sum(r['machine_s'] for r in rs))} | "
                     f"{', '.join(sorted({r['device'] for r in rs}))} |")
    lines += ["", "CPU and accelerator hours apart: a budget is CPU machine hours; an accelerator's are counted, not charged.",
              "", "| issue | groups | job h | CPU machine h (upper bound) | accelerator machine h | budget h (CPU) |",
              "|---|---|---|---|---|---|"]
    for name, budget in ISSUES.items():
        rs = [r for r in rows if issue(r) == name]
        groups = [g for g in GROUPS if any(r["group"] == g for r in rs)]
        cpu, acc = ([r for r in rs if on_accelerator(r) == k] for k in (False, True))
        lines.append(f"| {name} | {', '.join(groups) or '—'} | {hours(sum(r['wall_s'] for r in rs))} | "
                     f"{hours(sum(r['machine_s'] for r in cpu))} | {hours(sum(r['machine_s'] for r in acc))} | {budget:g} |")
    lines += ["", "Each issue's machine hours by group and device (what an issue's report gives):", "",
              "| issue | group | device | jobs | machine h |", "|---|---|---|---|---|"]
    for name in ISSUES:
        part = defaultdict(list)
        for r in rows:
            if issue(r) == name:
                part[r["group"], r["device"]].append(r)
        for (g, dev), rs in sorted(part.items(), key=lambda kv: (list(GROUPS).index(kv[0][0]), kv[0][1])):
            lines.append(f"| {name} | {g} | {dev} | {len(rs)} | {hours(sum(r['machine_s'] for r in rs))} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    root = Path(__file__).parent
    (root / "compute.md").write_text(compute(root / "results"))
    print(f"wrote {root / 'compute.md'}")
