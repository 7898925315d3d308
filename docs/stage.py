"""Stage the documentation site's sources into `_build/docs/` for mkdocs (`make docs`).

The site is the repository as a reader meets it: the README as the index, the method notebooks with their committed
outputs (`make notebooks` executes them), the paper-figures notebooks, tables and PNGs, the results' READMEs and
figures, and an API page per module from its docstrings. Nothing is copied by hand: a new notebook or module appears
on the next build. MathJax comes from npm (`mathjax_dir`), because the site must render math offline."""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "_build" / "docs"
COPY = ["README.md", "nbs/*.ipynb", "paper_figures/*.md", "paper_figures/*.ipynb", "paper_figures/**/*.png",
        "paper_figures/tables/*.md", "results/**/*.md", "results/**/*.png", "results/benchmark/*.ipynb",
        "can/weights/README.md", "docs/*.md"]


def stage(mathjax_dir: Path) -> list[str]:
    "Copy the site's sources into DEST; return the API modules."
    shutil.rmtree(DEST, ignore_errors=True)
    for pattern in COPY:
        for f in sorted(ROOT.glob(pattern)):
            out = DEST / f.relative_to(ROOT)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, out)
    # the README is the index; its links are relative to the repository root, as DEST's layout is
    (DEST / "README.md").rename(DEST / "index.md")
    for readme in DEST.glob("*/**/README.md"):                  # mkdocs serves a folder's README.md as its index
        readme.rename(readme.with_name("index.md"))
    (DEST / "gallery.md").write_text(gallery())
    modules = sorted(p.stem for p in (ROOT / "can").glob("*.py") if not p.stem.startswith("_"))
    (DEST / "api").mkdir()
    for m in modules:
        (DEST / "api" / f"{m}.md").write_text(f"# can.{m}\n\n::: can.{m}\n")
    shutil.copytree(mathjax_dir / "es5", DEST / "assets" / "mathjax")
    (DEST / "assets" / "mathjax-config.js").write_text(MATHJAX_CONFIG)
    return modules


def gallery() -> str:
    "Every committed figure, the paper's first, each under the path it is committed at (its provenance is beside it)."
    figures = sorted(ROOT.glob("paper_figures/**/*.png")) + sorted(ROOT.glob("results/**/*.png"))
    out = ["# Figures", "", "Every PNG committed in `paper_figures/` (the paper's figures regenerated) and `results/` "
           "(benchmarks, pre-training runs). Each is written by the notebook or script in its folder, next to the JSON "
           "with its numbers, git commit, config, seed, device and wall time.", ""]
    for f in figures:
        rel = f.relative_to(ROOT).as_posix()
        out += [f"## `{rel}`", "", f"![{rel}]({rel})", ""]
    return "\n".join(out)


# Both delimiters: pymdownx.arithmatex wraps markdown pages' math in \( \) / \[ \]; notebook cells keep $ / $$.
MATHJAX_CONFIG = r"""window.MathJax = {
  tex: {inlineMath: [["\\(", "\\)"], ["$", "$"]], displayMath: [["\\[", "\\]"], ["$$", "$$"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "arithmatex|jp-RenderedMarkdown"}
};
"""

if __name__ == "__main__":
    print(f"staged {DEST} ({len(stage(Path(sys.argv[1])))} API modules)")
