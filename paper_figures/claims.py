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

# Table 2 (both versions): IN-1K pre-training, top-1 of fine-tuning / linear probe. The matched comparison is ViT-L,
# 800 epochs, where SimCLR† and MAE† are the authors' own implementations (same code and schedule as CAN).
TABLE2 = {"source": f"Table 2, {REVISION} (ViT-L, 800 epochs; SimCLR† and MAE† are the authors' implementations)",
          "rows": {"can": {"finetune": 84.7, "linear": 76.2}, "simclr": {"finetune": 83.4, "linear": 73.9},
                   "mae": {"finetune": 83.7, "linear": 71.4},
                   # the reference row: supervised ViT-B from scratch on IN-1K, 100 epochs (its own recipe)
                   "random": {"finetune": 79.1}}}
# Table 3 (both versions): training losses at the end of pre-training, every method at 50% masking.
TABLE3 = {"source": f"Table 3, {REVISION} (ViT-B, ImageNet-1K, 100 epochs, 50% masking: Section 5's ablation setting)",
          "rows": {"simclr": {"infonce": 9.157}, "mae": {"rec": 0.1658}, "can": {"infonce": 9.143, "rec": 0.1633}}}

# Claims between two of our quantities, each a list of per-seed values: a = (group, measure), b likewise; the verdict
# is verdict.verdict(a, b, ">"). The paper's values are those of a and b in the paper.
_T2 = TABLE2["rows"]


def as_linear(*paper):
    "The paper's linear-probe numbers beside one of our other probes: labelled, so they are not read as that probe's."
    return tuple(f"{v} (linear probe)" if isinstance(v, (int, float)) else v for v in paper)


CLAIMS += [
    dict(id="t2-linear-can-over-mae", artefact="table2", statement="CAN linear probe > MAE linear probe",
         a=("can", "linear"), b=("mae", "linear"), paper=(_T2["can"]["linear"], _T2["mae"]["linear"])),
    dict(id="t2-linear-can-over-simclr", artefact="table2", statement="CAN linear probe > SimCLR linear probe",
         a=("can", "linear"), b=("simclr", "linear"), paper=(_T2["can"]["linear"], _T2["simclr"]["linear"])),
    dict(id="t2-quick-can-over-mae", artefact="table2", statement="CAN quick probe > MAE quick probe",
         a=("can", "quick"), b=("mae", "quick"), paper=as_linear(_T2["can"]["linear"], _T2["mae"]["linear"])),
    dict(id="t2-quick-can-over-simclr", artefact="table2", statement="CAN quick probe > SimCLR quick probe",
         a=("can", "quick"), b=("simclr", "quick"), paper=as_linear(_T2["can"]["linear"], _T2["simclr"]["linear"])),
    # the second linear protocol: the same probes on the last 4 blocks' pooled outputs (paper_figures/README.md)
    *[dict(id=f"t2-{m}-can-over-{b}", artefact="table2", statement=f"CAN {m} probe > {n} {m} probe (4-block features)",
           a=("can", m), b=(b, m), paper=as_linear(_T2["can"]["linear"], _T2[b]["linear"]))
      for m in ("linear4", "quick4") for b, n in (("mae", "MAE"), ("simclr", "SimCLR"))],
    dict(id="t2-finetune-can-over-mae", artefact="table2", statement="CAN fine-tune > MAE fine-tune",
         a=("can", "finetune"), b=("mae", "finetune"), paper=(_T2["can"]["finetune"], _T2["mae"]["finetune"])),
    dict(id="t2-finetune-can-over-simclr", artefact="table2", statement="CAN fine-tune > SimCLR fine-tune",
         a=("can", "finetune"), b=("simclr", "finetune"), paper=(_T2["can"]["finetune"], _T2["simclr"]["finetune"])),
    # pre-training is worth something: each encoder fine-tuned beats the same ViT trained from scratch with the same
    # recipe and epochs (our from-scratch row is the random-init floor fine-tuned; the paper's is ViT-B, 100 epochs)
    *[dict(id=f"t2-finetune-{m}-over-scratch", artefact="table2", statement=f"{n} fine-tune > from scratch",
           a=(m, "finetune"), b=("random", "finetune"),
           paper=(_T2[m]["finetune"], f"{_T2['random']['finetune']} (ViT-B, 100 epochs)"))
      for m, n in (("can", "CAN"), ("mae", "MAE"), ("simclr", "SimCLR"))],
    # checks of the recipe, not claims of the paper (shown, judged by the same rule, not counted in claims.md): a
    # fine-tune that does not beat its own encoder's linear probe and the raw pixels' has not learnt the task
    *[dict(id=f"t2-check-finetune-{m}-over-{b}", artefact="table2", check=True,
           statement=f"check: {n} fine-tune > {'its own LARS linear probe' if b == m else 'raw pixels, LARS linear probe'}",
           a=(m, "finetune"), b=(b, "linear"), paper=(_T2[m]["finetune"], _T2[m]["linear"] if b == m else "—"))
      for m, n in (("can", "CAN"), ("mae", "MAE"), ("simclr", "SimCLR")) for b in (m, "pixels")],
    # losses are lower-is-better: "CAN's loss < baseline's" is written as baseline > CAN
    dict(id="t3-infonce-simclr-over-can", artefact="table3", statement="CAN's final InfoNCE < SimCLR's (50% masking; "
         "2-epoch ablation runs)", a=("abl-simclr-mask50", "infonce"), b=("abl-full", "infonce"), paper=(9.157, 9.143)),
    dict(id="t3-rec-mae-over-can", artefact="table3", statement="CAN's final reconstruction loss < MAE's (50% masking)",
         a=("mae-mask50", "rec"), b=("can", "rec"), paper=(0.1658, 0.1633)),
]
# The project's floor (paper_figures/README.md): a comparison between encoders counts only when both are above the
# raw-pixel row under the same probe; otherwise its verdict is "not resolved" whatever the ordering (report.judge).

# Figure 1 (middle; revision): IN-1K linear probe after 5000 epochs on JFT-300M, ViT-L (Section 4.1's text): CAN 75.4,
# SimCLR 73.4, MAE 64.1, and the same order at every length. Ours: the quick probe after the curve's last epoch.
FIG1 = {"source": f"Figure 1 and Section 4.1, {REVISION}", "linear": {"can": 75.4, "simclr": 73.4, "mae": 64.1}}
CLAIMS += [dict(id=f"f1-{a}-over-{b}", artefact="fig1", statement=f"{n[a]} quick probe > {n[b]}'s after pre-training",
                a=(a, "quick"), b=(b, "quick"), paper=as_linear(FIG1["linear"][a], FIG1["linear"][b]))
           for n in [{"can": "CAN", "simclr": "SimCLR", "mae": "MAE"}] for a, b in
           (("can", "simclr"), ("can", "mae"), ("simclr", "mae"))]

# Figure 4 (revision; JFT-300M ViT-L, 9 datasets): few-shot linear probes, "CAN > SimCLR > MAE mostly" — read off the
# bars, no numbers in the text. Ours: Fashion-MNIST (the pre-training data) and digits (a transfer set), 10 and 25
# shots, the ridge probe of the ViT paper; the appendix's SGD probe is drawn beside it.
FIG4 = {"source": f"Figure 4, {REVISION} (bars; the text: CAN above SimCLR and MAE on most datasets)"}
CLAIMS += [dict(id=f"f4-{d}-{k}shot-can-over-{b}", artefact="fig4", statement=f"CAN {k}-shot > {n} {k}-shot ({d}, ridge)",
                a=("can", f"fewshot/{d}/{k}"), b=(b, f"fewshot/{d}/{k}"), paper=("higher", "lower"))
           for d in ("fashion_mnist", "digits") for k in (10, 25) for b, n in (("mae", "MAE"), ("simclr", "SimCLR"))]

# Figure 5 (revision, Section 4.5; Figure 6 of the preprint): ViT-L pre-trained on JFT-300M, fine-tuned on IN-1K,
# evaluated on 7 sets: the IN-1K validation set itself and 6 shifted ones (IN-v2, ReaL, A, R, ObjectNet, ...) -- bars, no numbers in the text: "CAN ... beating SimCLR
# and MAE baselines in nearly all cases". Ours would be the fine-tuned encoders on Fashion-MNIST's test set under 8
# corruptions x 5 severities (can.robustness), judged on the mean accuracy and on that mean relative to clean accuracy
# (so that a model is not called robust only for being better on clean data); the models are those of Table 2's
# fine-tune rows (plan.py's 'robustness' job). Figure 10 (appendix) adds that CAN is "considerably more robust" than
# ViT-B trained from scratch: our scratch row under the same corruptions.
FIG5 = {"source": f"Figure 5 and Section 4.5, {REVISION} (bars over 7 sets: the original IN-1K validation set and 6 "
                  "shifted ones; the text: CAN beats SimCLR and MAE in nearly all cases); from scratch: Figure 10 "
                  "(appendix; there CAN also saw JFT-300M)"}
CLAIMS += [dict(id=f"f5-{m}-can-over-{b}", artefact="fig5", statement=f"CAN fine-tuned > {n} fine-tuned on corrupted "
                f"test sets ({'mean accuracy' if m == 'corrupted' else 'mean accuracy / clean accuracy'})",
                a=("can", f"robustness/{m}"), b=(b, f"robustness/{m}"), paper=("higher", "lower"))
           for m in ("corrupted", "relative") for b, n in (("mae", "MAE"), ("simclr", "SimCLR"), ("random", "from-scratch"))]

# ---- Paper figures II: the ablations (ViT-B, 100 epochs on IN-1K, linear probe; revision) ----------------------------
# Ours: plan.ABLATIONS / plan.SWEEP at plan.ABLATION_EPOCHS, linear probe (the paper's metric), kNN and the quick
# probe (10 000 labels; the only probe under which 5-epoch encoders leave the raw-pixel row), each gated by the
# raw-pixel row under the same probe. A claim may set `relation` ("~": within `tol`, fixed here before any result).
TABLE4 = {"source": f"Table 4, {REVISION}", "rows": {"abl-none": 67.9, "abl-noise": 68.6, "abl-noise-loss": 68.4,
                                                     "abl-full": 68.9, "abl-clean": None}}   # clean: "worked poorly"
TABLE5 = {"source": f"Table 5, {REVISION}", "rows": {"abl-an": 42.8, "abl-cn": 68.5, "abl-none": 67.9, "abl-full": 68.9}}
FIG6 = {"source": f"Figure 6 and Section 5, {REVISION} (curves; no numbers in the text)"}
FIG7 = {"source": f"Figure 7 and Section 5, {REVISION} (curves; best λ_InfoNCE 0.03, σmax 0.05, λ insensitive)"}
# "λ makes little difference", said numerically before looking: within half a point of linear-probe accuracy.
LAM_TOL = 0.005


def _abl(id, artefact, statement, a, b, paper, measures=("linear", "knn", "quick", "quick4"), **kw):
    return [dict(id=f"{id}-{m}", artefact=artefact, statement=f"{statement} ({m})", a=(a, m), b=(b, m),
                 paper=paper if m == "linear" else as_linear(*paper), **kw) for m in measures]


_T4, _T5 = TABLE4["rows"], TABLE5["rows"]
CLAIMS += (
    _abl("t4-noise-over-none", "table4", "noise on the input helps: +noise > None", "abl-noise", "abl-none",
         (_T4["abl-noise"], _T4["abl-none"]))
    + _abl("t4-noise-over-noise-loss", "table4", "the denoising loss without the noise level hurts: +noise > "
           "+noise, +loss", "abl-noise", "abl-noise-loss", (_T4["abl-noise"], _T4["abl-noise-loss"]))
    + [c for b in ("abl-none", "abl-noise", "abl-noise-loss") for c in _abl(
        f"t4-full-over-{b[4:]}", "table4", f"the full method is best: Full > {b[4:]}", "abl-full", b,
        (_T4["abl-full"], _T4[b]))]
    + _abl("t4-full-over-clean", "table4", "predicting the noise beats predicting the clean patches", "abl-full",
           "abl-clean", (_T4["abl-full"], "worked poorly"))
    + [c for b, n in (("abl-an", "AN"), ("abl-cn", "CN"), ("abl-none", "CA")) for c in _abl(
        f"t5-full-over-{n.lower()}", "table5", f"every removal hurts: CAN > {n}", "abl-full", b,
        (_T5["abl-full"], _T5[b]))]
    + [c for a, n in (("abl-cn", "CN"), ("abl-none", "CA")) for c in _abl(
        f"t5-{n.lower()}-over-an", "table5", f"removing the contrastive term hurts most: {n} > AN", a, "abl-an",
        (_T5[a], _T5["abl-an"]))]
    + _abl("f6-simclr-over-simclr-mask50", "fig6", "SimCLR gets worse with masking: unmasked > 50%", "abl-simclr",
           "abl-simclr-mask50", ("higher", "lower"))
    + _abl("f6-simclr-mask50-over-mask75", "fig6", "SimCLR gets worse with masking: 50% > 75%", "abl-simclr-mask50",
           "abl-simclr-mask75", ("higher", "lower"))
    + _abl("f6-can-mask50-over-mask75", "fig6", "CAN peaks below MAE's 75%: CAN at 50% > CAN at 75%", "abl-full",
           "abl-mask75", ("higher", "lower"))
    + _abl("f7-linfonce03-over-0", "fig7", "the best λ_InfoNCE is non-zero: 0.03 > 0", "abl-full", "abl-an",
           ("best", "lower"))
    + _abl("f7-linfonce03-over-30", "fig7", "the best λ_InfoNCE is small: 0.03 > 0.3", "abl-full", "abl-linfonce30",
           ("best", "lower"))
    + [c for k, v in (("abl-sigma025", "0.025"), ("abl-sigma10", "0.1"), ("abl-sigma20", "0.2")) for c in _abl(
        f"f7-sigma{k[9:]}-over-0", "fig7", f"a wide range of σmax beats no noise: σmax={v} > 0", k, "abl-none",
        ("higher", "lower"))]
    + [c for k, v in (("abl-lam03", "0.3"), ("abl-lam05", "0.5"), ("abl-lam09", "0.9")) for c in _abl(
        f"f7-lam{k[7:]}-near-07", "fig7", f"λ makes little difference: λ={v} within {LAM_TOL} of λ=0.7", k,
        "abl-full", ("similar", "similar"), relation="~", tol=LAM_TOL)]
)
