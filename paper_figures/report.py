"""What every renderer does with its claims: check that its results are in, judge each claim from per-seed values
(gated by the raw-pixel row under the same probe), and write the verdicts as JSON and as a markdown table."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from paper_figures.plan import FEWSHOT, missing, sources, values
from paper_figures.verdict import MIN_SEEDS, difference, gated_verdict, p_value

PROBES = ("linear", "knn", "quick")         # the probes with a raw-pixel row (plan.py's floor runs), and few-shot
# The same linear probes on the 4-block features (the pixel row: the pixels' linear / quick). Shown beside PROBES in
# every artefact and judged, but not required: a renderer is strict about PROBES, and a 4-block cell reads "not run"
# until its evaluation is committed.
PROBES4 = ("linear4", "quick4")
ABLATION_PROBES = (*PROBES, "quick4")       # the ablation and sweep rows: the quick probe alone on 4-block features


def has_floor(measure: str) -> bool:
    "Whether the raw-pixel row exists under the probe of `measure` (a probe of representations, not a loss)."
    return measure in PROBES + PROBES4 or measure.split("/")[0] in FEWSHOT


def require(keys, files, results: str, partial: bool, group: str | None = None) -> list[str]:
    "The missing results of `keys`; an error naming them and the command that makes them, unless `partial`."
    todo = missing(keys, files, results)
    if todo and not partial:
        raise FileNotFoundError(f"{len(todo)} results missing ({', '.join(todo[:4])}, ...); run "
                                f"`python paper_figures/run_all.py{f' --group {group}' if group else ''}`")
    return todo


def cell(xs, scale: float = 100, digits: int = 1) -> str:
    "'mean ± std (n=k)' of per-seed values, 'not run' without any."
    if not xs:
        return "not run"
    std = f" ± {scale * np.std(xs, ddof=1):.{digits}f}" if len(xs) > 1 else ""
    return f"{scale * np.mean(xs):.{digits}f}{std} (n={len(xs)})"


def ablation_table(rows: dict, paper: dict, results: str, partial: bool):
    """Tables 4–5: one row per configuration (`rows`: key -> label) and the raw-pixel floor, the paper's value beside
    ours under every ablation probe ('mean ± std (n=k)', %); an error naming the missing results unless `partial`."""
    import pandas as pd
    from paper_figures.plan import values
    require([*rows, "pixels"], [f"eval-{p}.json" for p in PROBES], results, partial, "ablation")
    table = pd.DataFrame([{"row": name, "paper (IN-1K linear, %)": paper.get(k),
                           **{f"ours {p} (%)": cell(values(k, p, results)) for p in ABLATION_PROBES}}
                          for k, name in {**rows, "pixels": "raw pixels (the floor)"}.items()]).astype(object)
    return table.where(table.notna(), None)


def sweep_table(sweeps: dict, results: str, partial: bool):
    """Figures 6–7: one row per (panel, line, x, probe) of `sweeps` ({panel: {line: {x: run key}}}) with its seeds,
    mean and std under every ablation probe; an error naming the missing results unless `partial`."""
    import pandas as pd
    from paper_figures.plan import values
    keys = {k for lines in sweeps.values() for pts in lines.values() for k in pts.values()}
    require([*sorted(keys), "pixels"], [f"eval-{p}.json" for p in PROBES], results, partial, "sweep")
    return pd.DataFrame([{"panel": panel, "line": line, "x": x, "key": key, "probe": p, "seeds": len(xs),
                          "mean": np.mean(xs) if xs else np.nan, "std": np.std(xs, ddof=1) if len(xs) > 1 else np.nan}
                         for panel, lines in sweeps.items() for line, pts in lines.items() for x, key in pts.items()
                         for p in ABLATION_PROBES for xs in [values(key, p, results)]])


def draw_sweeps(table, sweeps: dict, results: str, marks: dict, path) -> None:
    """One panel per swept parameter (columns) and probe (rows): each line's means ± std with their seed counts, the
    raw-pixel row, and the paper's value where `marks` gives one ({panel: (x, label)}); saved to `path`."""
    import matplotlib.pyplot as plt
    from paper_figures.plan import values
    fig, axes = plt.subplots(len(ABLATION_PROBES), len(sweeps), figsize=(4.6 * len(sweeps), 3.4 * len(ABLATION_PROBES)),
                             squeeze=False)
    for i, p in enumerate(ABLATION_PROBES):
        pixels = values("pixels", p, results)
        for j, panel in enumerate(sweeps):
            ax = axes[i][j]
            for line in sweeps[panel]:
                t = table[(table.panel == panel) & (table.line == line) & (table.probe == p)].dropna(subset=["mean"])
                ax.errorbar(t.x, t["mean"], yerr=t["std"].fillna(0), marker="o", capsize=3, label=line)
                for _, r in t.iterrows():
                    ax.annotate(f"n={r.seeds}", (r.x, r["mean"]), fontsize=7, xytext=(3, -10), textcoords="offset points")
            if pixels:
                ax.axhline(np.mean(pixels), color="grey", ls="--", lw=1, label="raw pixels")
            if panel in marks:
                ax.axvline(marks[panel][0], color="C3", ls=":", lw=1, label=marks[panel][1])
            ax.set_xlabel(panel); ax.set_ylim(*(0.70, 0.90))
            ax.set_ylabel(f"{p} probe, test accuracy" if j == 0 else "")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def sweep_markdown(table) -> str:
    """A sweep's points (rows of panel, line, x, probe, seeds, mean, std) as markdown: one row per point, one column
    per probe, 'mean ± std (n=k)' in %; then where each line peaks under each probe (the point of highest mean)."""
    import pandas as pd
    fmt = lambda r: ("not run" if not r.seeds else f"{100 * r['mean']:.1f}" +
                     (f" ± {100 * r['std']:.1f}" if r.seeds > 1 else "") + f" (n={r.seeds})")
    t = table.assign(cell=table.apply(fmt, axis=1))
    points = pd.MultiIndex.from_frame(t[["panel", "line", "x"]].drop_duplicates())      # the sweep's own order
    wide = t.pivot_table(index=["panel", "line", "x"], columns="probe", values="cell", aggfunc="first").reindex(points)
    wide = wide[list(dict.fromkeys(t.probe))]
    peaks = [f"- {panel}, {line}, {probe}: peaks at {g.loc[g['mean'].idxmax(), 'x']:g} "
             f"({100 * g['mean'].max():.1f}, n={int(g.loc[g['mean'].idxmax(), 'seeds'])}; "
             f"{len(g)} of {len(t[(t.panel == panel) & (t.line == line) & (t.probe == probe)])} points run)"
             for (panel, line, probe), g in t.dropna(subset=["mean"]).groupby(["panel", "line", "probe"], sort=False)]
    return wide.reset_index().to_markdown(index=False) + "\n\nWhere each curve peaks (highest mean over the points run):\n\n" + "\n".join(peaks)


def judge(claims, results: str) -> list[dict]:
    """The verdict of each claim from the committed results: `verdict.gated_verdict` of its two run sets, with the
    raw-pixel row as the floor when its measure is a probe of representations (`has_floor`; losses have none)."""
    out = []
    for c in claims:
        a, b = values(*c["a"], results), values(*c["b"], results)
        px = values("pixels", c["a"][1], results) if has_floor(c["a"][1]) else None
        floors = ((a, px), (b, px)) if px is not None else (None, None)
        # a deterministic floor (one value: plan.values) is a constant to the rule: a one-sample test against it
        ra, rb = (xs * len(other) if key == "pixels" and len(xs) == 1 and len(other) > 1 else xs
                  for xs, other, key in ((a, b, c["a"][0]), (b, a, c["b"][0])))
        verdict, note = gated_verdict(ra, rb, *floors, c.get("relation", ">"), c.get("tol"))
        d, se = difference(ra, rb) if a and b else (math.nan, math.nan)
        note = "; ".join(x for x in (note, provenance_note(c, results)) if x)
        out.append({"id": c["id"], "artefact": c["artefact"], "claim": c["statement"], "paper": list(c["paper"]),
                    "a": list(c["a"]), "b": list(c["b"]), "relation": c.get("relation", ">"), "tol": c.get("tol"),
                    # unrounded: a table rounds once, when it prints (a value rounded twice can be off by one digit)
                    "ours": [float(np.mean(x)) if x else None for x in (a, b)],
                    "difference": None if math.isnan(d) else float(d), "se": None if math.isnan(se) else float(se),
                    "p": p_value(ra, rb, c.get("relation", ">"), c.get("tol"))
                    if min(len(ra), len(rb)) >= MIN_SEEDS else None,
                    "seeds": [len(a), len(b)], "rule_seeds": [len(ra), len(rb)], "verdict": verdict, "note": note,
                    **({"check": True} if c.get("check") else {})})     # a check of our recipe: shown, not counted
    return out


def provenance_note(claim, results: str) -> str:
    """What a reader must know about where a claim's values came from: a side that measured a regenerated encoder
    (plan.encoder_of; with the largest final-loss gap to the committed run), results whose code is unverified
    (plan.code_unverified), sides that ran on different devices."""
    src = {s: sources(*claim[s], results) for s in ("a", "b")}
    regen = [f"{x['run']} ({x['encoder']['file']}, final loss gap {max(x['encoder']['final_gap'].values()):.4f})"
             for s in "ab" for x in src[s] if x["encoder"]]
    kinds = sorted({x["device"] for s in "ab" for x in src[s] if x["device"]})
    out = [f"regenerated encoder: {', '.join(dict.fromkeys(regen))}"] if regen else []
    unverified = [f"{x['run']}/{x['file']}" for s in "ab" for x in src[s] if x.get("code")]
    if unverified:          # plan.code_unverified: the code these ran is not checked against their commit
        out.append(f"code unverified: {', '.join(dict.fromkeys(unverified))}")
    if len(kinds) > 1:
        out.append(f"sides ran on {' and '.join(kinds)}: reproducible in distribution, not bitwise")
    return "; ".join(out)


def _pq(x) -> str:
    return "—" if x is None else f"{x:.2g}" if x < 0.001 else f"{x:.3f}"


def verdict_markdown(verdicts, fdr: bool = False) -> str:
    """The claims as a markdown table: claim, paper, ours (means and seeds), difference ± SE, p (two-sided Welch, or
    TOST for '~'), verdict; with `fdr`, the Benjamini–Hochberg q over the family (`verdict.in_family`) too."""
    lines = ["| claim | paper | ours | difference ± SE | p " + ("| q (BH) " if fdr else "") + "| verdict |",
             "|---|---|---|---|---|" + ("---|" if fdr else "")]
    for r in verdicts:
        # each side named by its run set (a, then b, as the claim compares them): "a 0.83 vs b 0.82"
        na, nb = (r["a"][0], r["b"][0]) if "a" in r else ("a", "b")
        ours = (f"{na} {r['ours'][0]:.4f} vs {nb} {r['ours'][1]:.4f} (n={r['seeds'][0]}, {r['seeds'][1]})"
                if None not in r["ours"] else "no data")
        d, se = r.get("difference"), r.get("se")           # Figure 1's verdicts do not carry them
        diff = f"{d:+.4f} ± {se:.4f}" if se is not None else (f"{d:+.4f}" if d is not None else "—")
        repeats = f" (repeats `{r['repeats']}`)" if r.get("repeats") else ""
        pq = f"{_pq(r.get('p'))} | " + (f"{_pq(r.get('q'))} | " if fdr else "")
        lines.append(f"| {r['claim']}{repeats} | {na} {r['paper'][0]} vs {nb} {r['paper'][1]} | {ours} | {diff} | "
                     f"{pq}**{r['verdict']}**{' — ' + r['note'] if r['note'] else ''} |")
    return "\n".join(lines)


def comparison(r: dict) -> tuple:
    "What a verdict compares: two claims with the same comparison of the same results are one finding."
    return (tuple(r["a"]), tuple(r["b"]), r.get("relation", ">"), r.get("tol")) if "a" in r else (r["id"],)


def write(out_dir: str, name: str, title: str, note: str, table_md: str, verdicts) -> Path:
    "`<name>.md` (note, table, claims) and `<name>-verdicts.json` in `out_dir`."
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    (out / f"{name}.md").write_text(f"# {title}\n\n{note}\n\n{table_md}\n\n{verdict_markdown(verdicts)}\n")
    (out / f"{name}-verdicts.json").write_text(json.dumps(verdicts, indent=1))
    return out / f"{name}.md"
