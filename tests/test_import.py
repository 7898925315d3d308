"""Issue 53: `run_all.py --import` places only what it can check: a bundle's file must be one its run produces, match
the manifest's SHA-256, carry a code fingerprint that is its commit's, and measure its run's weights; a malformed
bundle fails with one line. Built from a committed result (main/can-seed4's fine-tune under corruption, made on CPU)."""
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
RUN, FILE = "main/can-seed4", "eval-robustness.json"


def bundle(path, files: dict, sums=None, manifest=True, prefix=""):
    "A bundle of `files` ({name: bytes}) with a manifest listing their SHA-256 (or `sums`)."
    sums = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()} if sums is None else sums
    with tarfile.open(path, "w:gz") as tar:
        items = ({"manifest.json": json.dumps({"device": "cpu:test", "sha256": sums}).encode()} if manifest else {})
        for name, data in {**items, **files}.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def here(tmp_path, monkeypatch):
    "A results folder holding main/can-seed4 without its fine-tune; the committed fine-tune's bytes."
    from paper_figures import bundle, jobs
    results = tmp_path / "results"
    shutil.copytree(ROOT / "paper_figures/results" / RUN, results / RUN)
    good = (results / RUN / FILE).read_bytes()
    (results / RUN / FILE).unlink()
    monkeypatch.setattr(bundle, "RESULTS", results)
    monkeypatch.setattr(jobs, "RESULTS", results)
    return bundle, results, good


def _import(run_all, path, capsys):
    refused = run_all.import_bundle(path)
    return refused, capsys.readouterr().out


def test_a_checked_result_is_placed(here, tmp_path, capsys):
    run_all, results, good = here
    refused, out = _import(run_all, bundle(tmp_path / "b.tar.gz", {f"{RUN}/{FILE}": good}), capsys)
    assert refused == 0 and "1 results placed, 0 refused" in out and (results / RUN / FILE).read_bytes() == good


@pytest.mark.parametrize("case, why", [
    ("sha", "its SHA-256 differs from the manifest's"),
    ("unlisted", "the manifest lists no SHA-256 for it"),
    ("name", "not a file plan.py's run produces"),
    ("hidden", "not a file plan.py's run produces"),
    ("weights", "an evaluation measured weights"),
    ("seed", "another config than plan.py's"),
    ("no-code", "it carries no code_fingerprint"),
    ("other-code", "is not its commit's"),
    ("changed", "code changed while it ran"),
])
def test_each_refusal_is_one_line_and_places_nothing(here, tmp_path, capsys, case, why):
    run_all, results, good = here
    res = json.loads(good)
    name, data, sums = f"{RUN}/{FILE}", good, None
    if case == "sha":               # every accuracy set to 0.999 after the manifest was written
        res["rows"] = [{**r, "test_acc": 0.999} for r in res["rows"]]
        data, sums = json.dumps(res).encode(), {name: hashlib.sha256(good).hexdigest()}
    elif case == "unlisted":
        sums = {}
    elif case in ("name", "hidden"):
        name = f"{RUN}/{'run.sh' if case == 'name' else '.hidden-notes.txt'}"
    else:
        if case == "weights":
            res["weights_fingerprint"] = "0123456789abcdef"
        elif case == "seed":        # relabelled as another seed's
            res["config"]["seed"] = 3
        elif case == "no-code":
            res.pop("code_fingerprint")
        elif case == "other-code":
            res["code_fingerprint"] = "0123456789abcdef"
        elif case == "changed":
            res.update(code_fingerprint_end="0123456789abcdef", code_changed_while_running=True)
        data = json.dumps(res).encode()
    refused, out = _import(run_all, bundle(tmp_path / "b.tar.gz", {name: data}, sums), capsys)
    lines = [l for l in out.splitlines() if l.startswith("refused")]
    assert refused == 1 and len(lines) == 1 and why in lines[0], out
    assert sorted(p.name for p in (results / RUN).iterdir()) == sorted(
        p.name for p in (ROOT / "paper_figures/results" / RUN).iterdir() if p.name != FILE)


@pytest.mark.parametrize("case, msg", [("not-tar", "not a readable .tar.gz bundle"), ("no-manifest", "no manifest.json"),
                                       ("dot-slash", "not plain relative paths"), ("link", "links")])
def test_a_malformed_bundle_fails_with_one_line(here, tmp_path, case, msg):
    run_all, results, good = here
    path = tmp_path / "b.tar.gz"
    if case == "not-tar":
        path.write_bytes(b"not a tar")
    elif case == "no-manifest":
        bundle(path, {f"{RUN}/{FILE}": good}, manifest=False)
    elif case == "dot-slash":
        bundle(path, {f"{RUN}/{FILE}": good}, prefix="./")
    else:
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo("manifest.json")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    p = subprocess.run([sys.executable, "paper_figures/run_all.py", "--import", str(path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "Traceback" not in p.stderr and msg in p.stderr, p.stderr[-800:]
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_an_evaluation_of_an_unfinished_run_is_refused(here, tmp_path, capsys):
    "Issue 53: a mid-run number must not read as a final one: the figures (and the import) refuse it."
    run_all, results, good = here
    res = json.loads(good)
    res.update(run_finished=False, run_total_steps=4685, run_busy=True)
    refused, out = _import(run_all, bundle(tmp_path / "b.tar.gz", {f"{RUN}/{FILE}": json.dumps(res).encode()}), capsys)
    assert refused == 1 and "evaluated an unfinished run (step" in out and "still training" in out, out
