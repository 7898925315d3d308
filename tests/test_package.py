"""The installed package is the exported notebooks."""
import configparser
import json
import pathlib

import can

ROOT = pathlib.Path(__file__).parents[1]


def test_version_matches_settings():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "settings.ini")
    assert can.__version__ == cfg["DEFAULT"]["version"]


def test_every_notebook_module_is_exported():
    for nb in sorted((ROOT / "nbs").glob("[0-9][0-9]_*.ipynb")):
        text = nb.read_text()
        assert "#| default_exp" in text, nb
        mod = text.split("#| default_exp ")[1].split("\\n")[0].split('"')[0].strip()
        assert (ROOT / "can" / f"{mod}.py").exists(), (nb, mod)


def test_every_notebook_is_valid_nbformat_with_unique_cell_ids():
    "Copy-pasted cells keep their id; nbformat then rewrites ids on load, so a saved notebook churns in every diff."
    import nbformat
    notebooks = sorted(ROOT.glob("nbs/*.ipynb")) + sorted(ROOT.glob("paper_figures/*.ipynb"))
    assert len(notebooks) > 20
    for path in notebooks:
        ids = [c.get("id") for c in json.loads(path.read_text())["cells"]]   # as saved: nbformat's reader repairs them
        assert len(ids) == len(set(ids)), (path, sorted({i for i in ids if ids.count(i) > 1}))
        nbformat.validate(nbformat.reads(path.read_text(), as_version=nbformat.NO_CONVERT))


def test_the_wheel_ships_the_default_encoder(tmp_path):
    "load_encoder('default') must work from an installed wheel too, not only from an editable checkout."
    import shutil
    import subprocess
    import sys
    import zipfile
    src = tmp_path / "src"       # a copy: setuptools writes build/ beside the sources
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "runs", ".cache", "_build", "build",
                                                             "*.egg-info", ".accel", "paper_figures", "results"))
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                          str(tmp_path), str(src)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    assert {"can/weights/default-can.safetensors", "can/weights/default-can.json", "can/encoder.py"} <= set(names)
