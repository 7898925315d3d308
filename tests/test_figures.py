"""The paper-figures renderers: they draw only from committed results, and refuse missing or mismatched ones."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FIGS = ROOT / "paper_figures"


def render(name, tmp_path, **params):
    args = [sys.executable, "-m", "papermill", "--cwd", str(FIGS), str(FIGS / f"{name}.ipynb"), str(tmp_path / "out.ipynb"),
            "-p", "out_dir", str(tmp_path / "out")]
    for k, v in params.items():
        args += ["-p", k, str(v)]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def test_table1_renders_with_a_computed_verdict(tmp_path):
    p = render("table1", tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    verdicts = json.loads((tmp_path / "out" / "table1-verdicts.json").read_text())
    assert verdicts[0]["verdict"] in ("holds", "contradicted") and abs(verdicts[0]["ours"] - 1.716) < 0.01
    assert "| CAN      | ViT-L" in (tmp_path / "out" / "table1.md").read_text()


def test_fig1_fails_without_its_results(tmp_path):
    p = render("fig1", tmp_path, results=tmp_path / "none")
    assert p.returncode != 0 and "run_all.py --group curve" in p.stderr + p.stdout


def test_fig1_fails_on_results_made_with_another_config(tmp_path):
    sys.path.insert(0, str(FIGS))
    from plan import expected_config, runs
    for run in runs("curve"):
        d = tmp_path / "res" / run["name"]
        d.mkdir(parents=True)
        cfg = expected_config(run)
        wrong = {**cfg, "mask_ratio": 0.25}
        (d / "pretrain.json").write_text(json.dumps({"config": wrong}))
        (d / "quick-every-epoch.json").write_text(json.dumps({"config": cfg}))
    p = render("fig1", tmp_path, results=tmp_path / "res")
    assert p.returncode != 0 and "another config" in p.stderr + p.stdout
