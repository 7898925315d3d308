"""The paper's numbers and the claims we test, as data. Values are from the paper's text; `source` says where.

A claim compares two quantities of ours, each a list of per-seed values produced by `quantity(...)` from committed
results; `verdict.verdict` decides. Nothing here is a result: a claim without results renders as "no data".
"""
from __future__ import annotations

REVISION, PREPRINT = "arXiv 2210.16870 (revision)", "arXiv 2210.16870 (preprint)"

# Table 1 (revision): JFT-300M pre-training, IN-1K linear probe top-1; epochs are ImageNet-equivalent epochs.
TABLE1 = {"source": f"Table 1, {REVISION}", "columns": ["method", "architecture", "epochs", "in1k_top1"], "rows": [
    ("MoCLR", "R50", 5000, 67.6), ("BYOL", "R50", 5000, 67.9), ("DnC", "R50", 1000, 67.9), ("DnC", "R50", 4500, 70.7),
    ("MoCLR", "R200x2", 5000, 74.2), ("DnC", "R200x2", 3000, 77.3),
    ("MAE", "ViT-L", 1600, 50.5), ("MAE", "ViT-L", 5000, 64.1),
    ("SimCLR", "ViT-B", 800, 65.8), ("SimCLR", "ViT-L", 800, 72.6), ("SimCLR", "ViT-L", 1600, 73.1),
    ("SimCLR", "ViT-L", 5000, 73.4),
    ("CAN", "ViT-B", 800, 67.1), ("CAN", "ViT-L", 800, 72.8), ("CAN", "ViT-L", 1600, 74.3), ("CAN", "ViT-L", 3000, 75.3),
    ("CAN", "ViT-L", 5000, 75.4)]}
# Figure 1 left / Section 3.6 (revision): "SimCLR uses 70% more FLOPs than CAN" for ViT-L.
SIMCLR_OVER_CAN_FLOPS = {"value": 1.70, "source": f"abstract and Section 4.1, {REVISION}"}
IN1K_TRAIN_IMAGES = 1_281_167        # one ImageNet-equivalent epoch (Section 4.1)

# Claims: id, artefact, statement, quantity a, relation, quantity b (see verdict.py), paper's values of a and b.
CLAIMS = [
    dict(id="flops-simclr-over-can", artefact="table1", statement="SimCLR costs ~1.70x CAN's FLOPs per image (ViT-L/16)",
         kind="ratio", paper=1.70),
]
