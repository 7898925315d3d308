"""Tables of results/eval/<encoder>/eval-<protocol>.json -> results/eval/summary.md (run after run.sh)."""
import json
import sys
from pathlib import Path

import pandas as pd

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
rows, meta = [], []
for f in sorted(root.glob("*/eval-*.json")):
    info = json.loads(f.read_text())
    enc = f.parent.name
    meta.append({"encoder": enc, "protocol": info["protocol"], "wall_s": round(info["wall_s"]),
                 "commit": info["git_commit"][:7], "dirty": info["git_dirty"], "device": info["device"],
                 "checkpoint_step": info["checkpoint_step"]})
    for r in info["rows"]:
        rows.append({"encoder": enc, **r})
df = pd.DataFrame(rows)
order = [e for e in ("random", "mae", "simclr", "can") if e in set(df.encoder)]
out = ["# Evaluation of the default pre-training runs (Fashion-MNIST, 1 epoch, Mu/4 encoder)", "",
       "Made by `results/eval/run.sh` then `results/eval/summarize.py`; every number is in the JSON next to its",
       "executed notebook. Test accuracy on the full test split; few-shot: mean ± std over 5 draws.", ""]


def markdown(d):
    d = d.reset_index()
    head = "| " + " | ".join(map(str, d.columns)) + " |"
    return "\n".join([head, "|" + "---|" * len(d.columns)] +
                     ["| " + " | ".join(map(str, r)) + " |" for r in d.itertuples(index=False)])


def table(d, title):
    out.extend([f"## {title}", "", markdown(d), ""])


for proto, title in (("knn", "kNN (k = 20, cosine, weighted votes)"),
                     ("linear", "linear probe (BatchNorm + linear, LARS, 10 epochs on frozen features)")):
    d = df[df.protocol == proto]
    if len(d):
        table(d.pivot_table(index="encoder", values="test_acc").reindex(order).round(4), title)
d = df[df.protocol == "fewshot"]
if len(d):
    g = d.groupby(["encoder", "dataset", "shots"]).test_acc
    s = (g.mean().round(4).astype(str) + " ± " + g.std().round(4).astype(str)).unstack(["dataset", "shots"])
    s.columns = [f"{a} {int(b)}-shot" for a, b in s.columns]
    table(s.reindex(order), "few-shot (ridge regression on ±1 targets, frozen features)")
d = df[df.protocol == "robustness"]
if len(d):
    table(d[d.corruption == "clean"].pivot_table(index="encoder", values="test_acc").reindex(order).round(4),
          "fine-tune (1 epoch, Table 9 recipe; the clean row of the robustness run)")
    c = d[d.corruption != "clean"].assign(severity=lambda x: x.severity.astype(int))
    table(c.pivot_table(index="encoder", columns="severity", values="test_acc").reindex(order).round(4),
          "robustness: mean accuracy over the 8 corruptions, by severity")
    table(c.pivot_table(index="corruption", columns="encoder", values="test_acc").reindex(columns=order).round(4),
          "robustness: mean over severities 1-5, by corruption")
table(pd.DataFrame(meta).set_index(["encoder", "protocol"]).sort_index(), "provenance and wall time (s)")
(root / "summary.md").write_text("\n".join(out))
print("\n".join(out))
