"""Execute the method notebooks in place, the way `nbdev_test` runs them (cells flagged `slow` or `eval: false` are
skipped), so that they show their outputs on GitHub, in Jupyter and on the docs site. `make notebooks`; then
`nbdev_clean` (the Makefile does it). Outputs are committed: the site renders what a user who runs them would see."""
import os
import re
import sys
import time
from pathlib import Path

from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

SKIP = re.compile(r"^#\|\s*(slow|eval:\s*false)\s*$", re.M)


def skip(cell) -> bool:
    "True for a cell that nbdev_test would not run."
    return cell.cell_type != "code" or "nbdev_export(" in cell.source or bool(SKIP.search(cell.source))


def execute(fn: Path) -> float:
    nb, t = read_nb(fn), time.time()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    cwd = os.getcwd()
    os.chdir(fn.parent)
    try:
        CaptureShell(fn, mpl_format="png").run_all(nb, exc_stop=True, preproc=skip)
    finally:
        os.chdir(cwd)
    write_nb(nb, fn)
    return time.time() - t


if __name__ == "__main__":
    os.environ["IN_TEST"] = "1"
    for fn in [Path(a).absolute() for a in sys.argv[1:]] or sorted(Path("nbs").absolute().glob("[0-9]*.ipynb")):
        print(f"{fn.name}: {execute(fn):.0f} s", flush=True)
