"""Make an executed renderer notebook a function of its inputs: drop what papermill and Jupyter record about the run
itself (start and end times, durations, the Python patch version), so that `make figures` on any machine leaves
`git status` clean when the committed results have not changed.

    python paper_figures/normalise.py paper_figures/*.ipynb
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

RUN_KEYS = ("start_time", "end_time", "duration")


def normalise(nb: dict) -> dict:
    "The notebook without its run's times (notebook and cells), its random cell id and the kernel's Python version."
    nb["metadata"].get("papermill", {}).update({k: None for k in RUN_KEYS})
    nb["metadata"].get("language_info", {}).pop("version", None)
    for c in nb["cells"]:
        c["metadata"].pop("execution", None)
        if "injected-parameters" in c["metadata"].get("tags", []):
            c["id"] = "injected-parameters"            # papermill draws a new random id at every run
        if "papermill" in c["metadata"]:
            c["metadata"]["papermill"].update({k: None for k in RUN_KEYS})
    return nb


if __name__ == "__main__":
    for f in sys.argv[1:]:
        p = Path(f)
        p.write_text(json.dumps(normalise(json.loads(p.read_text())), indent=1, ensure_ascii=False) + "\n")
