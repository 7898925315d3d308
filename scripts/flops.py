"""FLOPs per image at the paper's sizes from XLA's cost analysis (abstract inputs, 1 CPU device) and the analytic
count: `.venv/bin/python scripts/flops.py` -> results/flops/flops.json (+ .csv)."""
import json
import time
from pathlib import Path

import pandas as pd

from can.flops import flops_table
from can.provenance import provenance

t0 = time.time()
out = Path(__file__).resolve().parent.parent / "results" / "flops"
fwd = flops_table(("vit_s16", "vit_b16", "vit_l16", "vit_h14"), compile_step=False)
step = flops_table(("vit_b16", "vit_l16"), compile_step=True)
table = fwd.merge(step[["preset", "method", "train_step_xla"]], on=["preset", "method"], how="left")
ratios = {}
for preset, g in table.groupby("preset"):
    g = g.set_index("method")
    ratios[preset] = {c: g.loc["simclr", c] / g.loc["can", c] for c in
                      ("forward_xla", "forward_analytic", "train_step_xla", "train_step_analytic")
                      if c in g and pd.notna(g.loc["can", c])}
table.to_csv(out / "flops.csv", index=False)
(out / "flops.json").write_text(json.dumps({**provenance(), "batch_compiled": 8, "rows": table.to_dict("records"),
                                            "simclr_over_can": ratios, "paper_simclr_over_can_vit_l16": 1.70,
                                            "wall_s": time.time() - t0}, indent=1))
print(table.round(2).to_string())
print(json.dumps(ratios, indent=1))
