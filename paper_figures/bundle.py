"""How results travel from a machine without this repository's history (an accelerator host): a bundle of every
result a call made, with a manifest of their SHA-256, and its import here, which checks each result before placing it
(`docs/accelerators.md`: what an import proves and what it cannot)."""
from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

from paper_figures.jobs import RESULTS, commit, machine, unverified
from paper_figures.plan import FLOORS, REBASED, code_unverified, result, runs

def write_bundle(path: Path, since: float, log: list, args) -> Path:
    """Every result written since `since` into one archive (names relative to the results folder) with a manifest:
    the commit, the device, the workers and the deadline, and every job's record. Written atomically."""
    from can.provenance import provenance
    files = sorted(p for p in RESULTS.rglob("*") if p.is_file() and p.stat().st_mtime >= since
                   and not p.name.endswith(".partial"))
    prov = provenance()
    manifest = {**{k: prov[k] for k in ("git_commit", "git_dirty", "device", "device_count", "host", "cpu_count", "jax")},
                **machine(), "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)),
                "wall_s": time.time() - since, "workers": args.workers, "deadline_s": args.deadline,
                "jobs": log, "files": [str(p.relative_to(RESULTS)) for p in files],
                "sha256": {str(p.relative_to(RESULTS)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        data = json.dumps(manifest, indent=1, default=str).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
        for p in files:
            tar.add(p, arcname=str(p.relative_to(RESULTS)))
    os.replace(tmp, path)
    return path


def _resolves(commit_: str) -> bool:
    "Whether a recorded commit is in HEAD's history (or is a rebased one that plan.REBASED maps onto it)."
    c = REBASED.get(commit_, commit_)
    return bool(c) and subprocess.run(["git", "merge-base", "--is-ancestor", c, "HEAD"], capture_output=True).returncode == 0


_CODE_COMMITS = {}


def commit_of_code(fp: str, depth: int = 300) -> str | None:
    "The newest commit of HEAD's last `depth` whose code has the fingerprint `fp` (can.provenance.code_fingerprint)."
    from can.provenance import code_fingerprint_at
    for c in subprocess.run(["git", "log", f"-n{depth}", "--format=%H"], capture_output=True, text=True).stdout.split():
        if c not in _CODE_COMMITS:
            _CODE_COMMITS[c] = code_fingerprint_at(c)
        if _CODE_COMMITS[c] == fp:
            return c
    return None


def restamp(path: Path) -> None:
    """A result made from a copy of the working tree whose `.git` was not the repository's (an accelerator host that
    is sent the files, not the history) is stamped with that copy's HEAD and 'dirty'. Its commit is the one whose code
    has the result's `code_fingerprint`; the stamp as made is kept under `stamped`."""
    res = json.loads(path.read_text())
    if _resolves(res.get("git_commit", "")) and not res.get("git_dirty") or not res.get("code_fingerprint"):
        return
    commit_ = commit_of_code(res["code_fingerprint"])
    if commit_:
        res["stamped"] = {"git_commit": res.get("git_commit"), "git_dirty": res.get("git_dirty"), "commit_is":
                          f"the commit whose code has the result's code_fingerprint {res['code_fingerprint']}"}
        res.update(git_commit=commit_, git_dirty=False)
        path.write_text(json.dumps(res, indent=1, default=str))


def produces(run: dict) -> set[str]:
    "The file names a run of the plan writes into its results folder (a regenerate's numbered ones match by pattern)."
    return ({"metrics.jsonl", "pretrain.json", "regenerated.json"} if run["method"] not in FLOORS else set()) | {
        "quick-every-epoch.json" if e == "quick-every-epoch" else f"eval-{e}.json" for e in run["evals"]}


def check_import(run: dict, name: str, staging: Path, digest: str | None, expected: str | None) -> str | None:
    "Why the bundled result `name` of `run` (in `staging`, beside the run's committed ones) cannot be placed, or None."
    if name not in produces(run) and not (run["method"] not in FLOORS and fnmatch.fnmatch(name, "regenerated-*.json")):
        return "not a file plan.py's run produces"
    if expected is None:
        return "the manifest lists no SHA-256 for it"
    if digest != expected:
        return "its SHA-256 differs from the manifest's (damaged or altered in transit)"
    if name == "metrics.jsonl":
        return None if (staging / run["name"] / "pretrain.json").exists() else "its pretrain.json is not in"
    try:
        if not json.loads((staging / run["name"] / name).read_text()).get("code_fingerprint"):
            return "it carries no code_fingerprint: the code it ran cannot be checked (rerun it with today's code)"
        restamp(staging / run["name"] / name)
        res = result(run, name, str(staging))
    except (ValueError, KeyError, OSError) as e:
        return str(e).replace(str(staging) + "/", "")
    if res is None:
        return "unreadable"
    if not _resolves(res.get("git_commit", "")):
        return f"made at commit {res.get('git_commit')!r}, which is not in this repository's history (git fetch it)"
    if res.get("git_dirty"):
        return "made from code that differed from its commit (git_dirty)"
    if code_unverified(res):
        return code_unverified(res)
    missing = [k for k in ("config", "seed", "device", "wall_s") if k not in res]
    return f"it lacks {missing}" if missing else None


class BadBundle(Exception):
    "A bundle that cannot be read as one: said in one line, nothing placed."


def read_bundle(path: Path) -> tuple[dict, dict]:
    "(manifest, {member name: bytes}) of a bundle, or BadBundle naming what is wrong with it."
    try:
        tar = tarfile.open(path)
    except (OSError, tarfile.TarError) as e:
        raise BadBundle(f"{path}: not a readable .tar.gz bundle ({e.__class__.__name__}: {str(e).splitlines()[0]})") from None
    with tar:
        members = tar.getmembers()
        bad = [m.name for m in members if not (m.isfile() or m.isdir()) or m.name.startswith(("/", "./"))
               or ".." in Path(m.name).parts]
        if bad:
            raise BadBundle(f"{path}: members that are links, absolute or not plain relative paths: {bad[:3]}; "
                            f"make the bundle with run_all.py --bundle")
        files = {m.name: tar.extractfile(m).read() for m in members if m.isfile()}
    if "manifest.json" not in files:
        raise BadBundle(f"{path}: no manifest.json (a plain file at the top); make the bundle with run_all.py --bundle")
    try:
        manifest = json.loads(files.pop("manifest.json"))
    except ValueError as e:
        raise BadBundle(f"{path}: manifest.json is not JSON ({e})") from None
    return manifest, files


def import_bundle(path: Path, do_commit: bool = False) -> int:
    """Place the results of a bundle (`--bundle`, made on another machine) into the results folder: each checked
    against its manifest (SHA-256), the plan (a file its run produces, config and seed, recipe, features, the weights'
    fingerprint) and its provenance (a code fingerprint that is its commit's, a commit in this history, clean code, a
    device) first, a mismatch refused with one line; a result already here is never replaced. What this proves and
    what it cannot: docs/accelerators.md. Returns the number refused."""
    import shutil
    import tempfile
    manifest, files = read_bundle(path)
    sums = manifest.get("sha256") or {}
    by_run = {}
    for n in files:
        by_run.setdefault(str(Path(n).parent), []).append(Path(n).name)
    with tempfile.TemporaryDirectory() as tmp:
        staging, refused, placed = Path(tmp), 0, []
        plan_runs = {r["name"]: r for r in runs()}
        for name, names in by_run.items():
            run = plan_runs.get(name)
            if run is None:
                print(f"refused {name}/: not a run of plan.py")
                refused += len(names)
                continue
            if (RESULTS / name).is_dir():
                shutil.copytree(RESULTS / name, staging / name)
            (staging / name).mkdir(parents=True, exist_ok=True)
            new = []
            for f in names:
                if (RESULTS / name / f).exists() and not (f.startswith("eval-") and f[5:-5] in unverified(run)):
                    print(f"kept {name}/{f}: already committed here; the bundle's copy is not placed")
                    continue
                (staging / name / f).unlink(missing_ok=True)        # a code-unverified result: a verified one replaces it
                (staging / name / f).write_bytes(files[f"{name}/{f}"])
                new.append(f)
            # the pre-training and the regenerates first: the evaluations' fingerprints are checked against them
            for f in sorted(new, key=lambda f: (not (f == "pretrain.json" or f.startswith("regenerated")), f)):
                data = files[f"{name}/{f}"]
                why = check_import(run, f, staging, hashlib.sha256(data).hexdigest(), sums.get(f"{name}/{f}"))
                if why:
                    print(f"refused {name}/{f}: {why}")
                    (staging / name / f).unlink()
                    refused += 1
                else:
                    placed.append((run, f))
        for run, f in placed:
            (RESULTS / run["name"]).mkdir(parents=True, exist_ok=True)
            shutil.copy2(staging / run["name"] / f, RESULTS / run["name"] / f)
    for name in dict.fromkeys(r["name"] for r, _ in placed):
        print(f"placed {name}: {', '.join(f for r, f in placed if r['name'] == name)}")
        if do_commit:
            commit(plan_runs[name], f"from {manifest.get('device')} (bundle {path.name})")
    print(f"{len(placed)} results placed, {refused} refused, from {path} ({manifest.get('device')}, "
          f"commit {str(manifest.get('git_commit'))[:10]}, {manifest.get('wall_s', 0):.0f} s)")
    return refused


def tiny_data(root: Path, train: int = 512, test: int = 256) -> None:
    """The first `train` / `test` Fashion-MNIST images as IDX files in `root`/idx (the rehearsal's dataset), and the
    empty `root`/tfds it is prepared into (a data_dir must exist: `can.data.data_source`)."""
    import gzip
    from can.data import FASHION_MNIST_DIR
    (root / "idx").mkdir(parents=True, exist_ok=True)
    (root / "tfds").mkdir(exist_ok=True)
    for split, n in (("train", train), ("t10k", test)):
        for kind, head, size in (("images-idx3", 16, 784), ("labels-idx1", 8, 1)):
            name = f"{split}-{kind}-ubyte.gz"
            with gzip.open(Path(FASHION_MNIST_DIR) / name) as f:
                raw = f.read(head + n * size)
            raw = raw[:4] + n.to_bytes(4, "big") + raw[8:]
            with gzip.open(root / "idx" / name, "wb") as f:
                f.write(raw)


