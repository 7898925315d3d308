"""Every committed result names files relative to the repository (never a path of the machine that ran it) and
every paper-figures result carries its provenance: commit, config, seed, device and wall time."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
ABSOLUTE = re.compile(r'"(/(?:work|root|home|tmp|mnt|Users)/[^"]*)"')


def result_files():
    return [p for d in ("results", "paper_figures/results") for p in sorted((ROOT / d).rglob("*.json"))]


def test_no_absolute_paths_in_results():
    bad = {str(p.relative_to(ROOT)): ABSOLUTE.findall(p.read_text())[:2] for p in result_files()
           if ABSOLUTE.search(p.read_text())}
    assert not bad, bad


def test_paper_figures_results_carry_provenance():
    for p in sorted((ROOT / "paper_figures/results").rglob("*.json")):
        res = json.loads(p.read_text())
        missing = [k for k in ("git_commit", "config", "seed", "device", "wall_s") if k not in res]
        assert not missing, f"{p.relative_to(ROOT)} lacks {missing}"
