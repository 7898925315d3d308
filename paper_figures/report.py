"""What every renderer does with its claims: check that its results are in, judge each claim from per-seed values
(gated by the raw-pixel row under the same probe), and write the verdicts as JSON and as a markdown table."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from plan import FEWSHOT, missing, values
from verdict import difference, gated_verdict

PROBES = ("linear", "knn", "quick")         # the probes with a raw-pixel row (plan.py's floor runs), and few-shot


def has_floor(measure: str) -> bool:
    "Whether the raw-pixel row exists under the probe of `measure` (a probe of representations, not a loss)."
    return measure in PROBES or measure.split("/")[0] in FEWSHOT


def require(keys, files, results: str, partial: bool, group: str) -> list[str]:
    "The missing results of `keys`; an error naming them and the command that makes them, unless `partial`."
    todo = missing(keys, files, results)
    if todo and not partial:
        raise FileNotFoundError(f"{len(todo)} results missing ({', '.join(todo[:4])}, ...); run "
                                f"`python paper_figures/run_all.py --group {group}`")
    return todo


def cell(xs, scale: float = 100, digits: int = 1) -> str:
    "'mean ± std (n=k)' of per-seed values, 'not run' without any."
    if not xs:
        return "not run"
    std = f" ± {scale * np.std(xs, ddof=1):.{digits}f}" if len(xs) > 1 else ""
    return f"{scale * np.mean(xs):.{digits}f}{std} (n={len(xs)})"


def judge(claims, results: str) -> list[dict]:
    """The verdict of each claim from the committed results: `verdict.gated_verdict` of its two run sets, with the
    raw-pixel row as the floor when its measure is a probe of representations (`has_floor`; losses have none)."""
    out = []
    for c in claims:
        a, b = values(*c["a"], results), values(*c["b"], results)
        px = values("pixels", c["a"][1], results) if has_floor(c["a"][1]) else None
        floors = ((a, px), (b, px)) if px is not None else (None, None)
        verdict, note = gated_verdict(a, b, *floors, c.get("relation", ">"), c.get("tol"))
        d, se = difference(a, b) if a and b else (math.nan, math.nan)
        out.append({"id": c["id"], "artefact": c["artefact"], "claim": c["statement"], "paper": list(c["paper"]),
                    "relation": c.get("relation", ">"), "tol": c.get("tol"),
                    "ours": [round(float(np.mean(x)), 5) if x else None for x in (a, b)],
                    "difference": None if math.isnan(d) else round(d, 5), "se": None if math.isnan(se) else round(se, 5),
                    "seeds": [len(a), len(b)], "verdict": verdict, "note": note})
    return out


def verdict_markdown(verdicts) -> str:
    "The claims as a markdown table: claim, paper, ours (means and seeds), difference ± SE, verdict."
    lines = ["| claim | paper | ours | difference ± SE | verdict |", "|---|---|---|---|---|"]
    for r in verdicts:
        ours = (f"{r['ours'][0]:.4f} vs {r['ours'][1]:.4f} (n={r['seeds'][0]}, {r['seeds'][1]})"
                if None not in r["ours"] else "no data")
        d, se = r.get("difference"), r.get("se")           # Figure 1's verdicts do not carry them
        diff = f"{d:+.4f} ± {se:.4f}" if se is not None else (f"{d:+.4f}" if d is not None else "—")
        lines.append(f"| {r['claim']} | {r['paper'][0]} vs {r['paper'][1]} | {ours} | {diff} | "
                     f"**{r['verdict']}**{' — ' + r['note'] if r['note'] else ''} |")
    return "\n".join(lines)


def write(out_dir: str, name: str, title: str, note: str, table_md: str, verdicts) -> Path:
    "`<name>.md` (note, table, claims) and `<name>-verdicts.json` in `out_dir`."
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    (out / f"{name}.md").write_text(f"# {title}\n\n{note}\n\n{table_md}\n\n{verdict_markdown(verdicts)}\n")
    (out / f"{name}-verdicts.json").write_text(json.dumps(verdicts, indent=1))
    return out / f"{name}.md"
