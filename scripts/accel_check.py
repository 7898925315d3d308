"""The first run on an accelerator, in one process and one JSON: speed, memory and correctness of the committed code.

    python scripts/accel_check.py                 # on a GPU/TPU host: ViT-B/16 bf16 step, 200-step default run, checks
    python scripts/accel_check.py --tiny          # the same code at toy sizes (CPU; what the test suite runs)

Writes `results/benchmark/<device>.json` (or `--out`): commit, device, versions and, per part, its numbers and wall
time. Parts:
1. `peak`: the device's measured matmul peak (best of a few jitted `a @ b` in the step's compute dtype), the
   denominator of MFU;
2. `step`: the sharded CAN train step (all devices, the batch split over them) at ViT-B/16 in bf16 on synthetic
   uint8 images: images/s, MFU from the analytic FLOP count (can.flops.mfu: against the spec peak and the measured
   one; XLA's cost analysis is recorded as such, never used: on a GPU it omits cuBLAS/cuDNN calls), peak memory;
3. `default_run`: the default preset pre-trained for 200 steps on Fashion-MNIST (`can.pretrain`), then the quick
   linear probe of the train notebook, trained against random-init encoder;
3b. `attention`: the same step with the other attention kernel (XLA's composition or cuDNN's fused one: `auto`'s choice
   is `step`), images/s, memory and the first step's loss side by side; `memory`: the step's memory with `remat`
   (compiled, not run) and the largest batch that should fit;
4. `equivalence`: two fp32 steps on 1 device against all devices (sharded == unsharded) and, on an accelerator, the
   accelerator against the host CPU, at `highest` matmul precision, with the tolerances of `nbs/04_train.ipynb`;
5. `e2e`: the whole loop at ImageNet size (ViT-B/16, bf16): synthetic JPEGs written here, the loader cutting the
   paper's crops on the host with `data_threads` = host cores, the sharded step, a checkpoint at the end, through
   `can.pretrain`; its images/s against the bare step in the same call (goal ≥ 0.9), host CPU busy, `auto`'s kernel.
A part that fails is recorded with its error and the others still run; the exit status says whether all passed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def peak_matmul(dtype: str, n: int, reps: int = 5) -> float:
    "FLOP/s of the best of `reps` jitted n×n×n matmuls (after one warm-up)."
    a = jnp.ones((n, n), dtype)
    f = jax.jit(lambda a, b: a @ b)
    f(a, a).block_until_ready()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f(a, a).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def _setup(cfg, mesh, crop: bool = True):
    from can.augment import augment_fn
    from can.model import build_model
    from can.train import init_state, make_optimizer, make_train_step
    model, tx = build_model(cfg), make_optimizer(cfg, 1000)
    state = init_state(cfg, model, tx, mesh)
    step = make_train_step(cfg, model, tx, mesh, augment=augment_fn(cfg.augment, cfg.crop_min_scale, crop=crop))
    return state, step


def _images(cfg, mesh, seed=0):
    from can.train import batch_sharding
    x = np.random.default_rng(seed).integers(0, 256, (cfg.batch_size, cfg.image_size, cfg.image_size, cfg.channels))
    return jax.device_put(x.astype(np.uint8), batch_sharding(mesh))


def _memory(compiled) -> dict:
    "XLA's memory analysis of a compiled program: bytes of its arguments, temporaries and outputs (per device)."
    mem = compiled.memory_analysis()
    if mem is None:
        return {}
    return {"argument_bytes": mem.argument_size_in_bytes, "temp_bytes": mem.temp_size_in_bytes,
            "output_bytes": mem.output_size_in_bytes, "alias_bytes": mem.alias_size_in_bytes,
            "program_bytes": mem.argument_size_in_bytes + mem.temp_size_in_bytes + mem.output_size_in_bytes
                             - mem.alias_size_in_bytes}


def step_benchmark(preset: str, batch: int, steps: int, dtype: str, peak: float, attention: str = "auto",
                   remat: bool = False) -> dict:
    "images/s, MFU and memory of the sharded CAN step (every device, the batch split over them)."
    from can.flops import mfu, xla_flops
    from can.model import attention_impl
    from can.presets import get_config
    from can.train import make_mesh
    cfg = get_config(preset, "can", batch_size=batch, compute_dtype=dtype, attention=attention, remat=remat)
    mesh = make_mesh()
    state, step = _setup(cfg, mesh)
    images = _images(cfg, mesh)
    t = time.perf_counter()
    compiled = step.jitted.lower(state, images).compile()       # the step's own program, compiled once
    compile_s = time.perf_counter() - t
    flops = xla_flops(compiled)             # of the program one device runs (SPMD), per step
    state, m = compiled(state, images)      # warm-up: the first step, from the same init and images for every kernel
    first_loss = float(m["loss"])
    t = time.perf_counter()
    for _ in range(steps):
        state, m = compiled(state, images)
    jax.block_until_ready(m)
    dt = (time.perf_counter() - t) / steps
    stats = jax.devices()[0].memory_stats() or {}
    return {"preset": preset, "variant": cfg.variant, "compute_dtype": dtype, "global_batch": batch,
            "attention": attention, "attention_kernel": attention_impl(cfg), "remat": remat, "first_loss": first_loss,
            **_memory(compiled),
            "devices": mesh.size, "steps_timed": steps, "compile_s": compile_s, "step_s": dt,
            "images_per_s": batch / dt,
            # XLA's cost analysis, as reported: complete on a CPU, without cuBLAS/cuDNN calls on a GPU (never an MFU)
            "xla_cost_analysis_flops_per_step_per_device": flops,
            **mfu(cfg, batch / dt / mesh.size, jax.devices()[0].device_kind, peak),     # from the analytic count
            "peak_memory_bytes": stats.get("peak_bytes_in_use"), "loss": float(m["loss"])}


def attention_comparison(step: dict, preset: str, batch: int, steps: int, dtype: str, peak: float) -> dict:
    """The step with the kernel `auto` did not pick, beside `step` (auto's): images/s, memory, and the first step's loss
    from the same init and images (the kernels compute the same function, up to bf16 rounding). Where only one kernel
    can run (a CPU, fp32), says why the other cannot."""
    from can.model import attention_impl
    from can.presets import get_config
    other = "xla" if step["attention_kernel"] == "cudnn" else "cudnn"
    try:
        attention_impl(get_config(preset, "can", compute_dtype=dtype, attention=other))
    except ValueError as e:
        return {"auto_picked": step["attention_kernel"], other: f"not run: {e}"}
    o = step_benchmark(preset, batch, steps, dtype, peak, attention=other)
    by = {step["attention_kernel"]: step, other: o}
    return {"auto_picked": step["attention_kernel"],
            **{k: {f: r.get(f) for f in ("images_per_s", "mfu_spec", "program_bytes", "temp_bytes", "first_loss")}
               for k, r in by.items()},
            "cudnn_over_xla_images_per_s": by["cudnn"]["images_per_s"] / by["xla"]["images_per_s"],
            "first_loss_abs_diff": abs(by["cudnn"]["first_loss"] - by["xla"]["first_loss"])}


def memory_check(step: dict, preset: str, batch: int, dtype: str) -> dict:
    """Memory of the step with `remat` beside `step`'s (compiled, not run), and the largest global batch that should fit
    each device (the temporaries grow linearly with the batch; the arguments, parameters and optimizer state, do not)."""
    from can.presets import get_config
    from can.train import make_mesh
    cfg = get_config(preset, "can", batch_size=batch, compute_dtype=dtype, remat=True)
    mesh = make_mesh()
    state, step_fn = _setup(cfg, mesh)
    remat = _memory(step_fn.jitted.lower(state, _images(cfg, mesh)).compile())
    limit = (jax.devices()[0].memory_stats() or {}).get("bytes_limit")
    fit = lambda r: (None if not (limit and r.get("temp_bytes")) else
                     int((limit - r["argument_bytes"]) / (r["temp_bytes"] / batch) * mesh.size))
    return {"bytes_limit_per_device": limit, "no_remat": {k: step.get(k) for k in ("program_bytes", "temp_bytes")},
            "remat": remat, "largest_batch_estimate": {"no_remat": fit(step), "remat": fit(remat)},
            "attention_kernel": step["attention_kernel"]}


def default_run(workdir: Path, steps: int, probe_train: int, probe_test: int | None) -> dict:
    "The default preset pre-trained for `steps` steps, then the quick probe of the train notebook (trained vs random)."
    from can.data import data_source, load_arrays
    from can.presets import get_config
    from can.pretrain import pretrain
    from can.probe import extract_features, quick_linear_probe
    from can.train import init_state, make_mesh, make_optimizer
    cfg = get_config("default", "can")
    t = time.perf_counter()
    state, model, rows = pretrain(cfg, workdir, stop_after=steps, progress=False)
    pretrain_s = time.perf_counter() - t
    xtr, ytr = load_arrays(data_source(cfg.dataset, "train", cfg.data_dir), cfg.image_size, limit=probe_train)
    xte, yte = load_arrays(data_source(cfg.dataset, "test", cfg.data_dir), cfg.image_size, limit=probe_test)
    init = init_state(cfg, model, make_optimizer(cfg, 1), make_mesh(1)).params
    probe = {}
    for name, params in (("random init", init), ("can pre-trained", state.params)):
        enc = {"encoder": params["encoder"]}
        probe[name] = quick_linear_probe(extract_features(cfg, model, enc, xtr), ytr,
                                         extract_features(cfg, model, enc, xte), yte)["test_acc"]
    ips = sorted(r["images_per_s"] for r in rows[1:]) or [float("nan")]
    return {"steps": int(state.step), "pretrain_s": pretrain_s, "images_per_s_median": ips[len(ips) // 2],
            "final_loss": rows[-1]["loss"], "probe_train_size": len(xtr), "probe_test_size": len(xte),
            "probe_test_acc": probe, "trained_above_random": probe["can pre-trained"] > probe["random init"]}


def e2e(workdir: Path, preset: str, batch: int, steps: int, dtype: str, images: int, size: int | None = None) -> dict:
    """The whole loop at ImageNet size: synthetic ImageNet-size JPEGs (scripts/synthetic_jpeg) written here, read by the
    grain loader with `data_threads` = host cores and cut into the paper's crops on the host (`can.images`), the sharded
    step, metrics and a checkpoint at the end, through `can.pretrain` itself; its images/s against the bare compiled
    step on device-resident views of the same shape in the same call (goal ≥ 0.9), the host's CPU busy share, and the
    attention kernel `auto` picked."""
    from can.model import attention_impl
    from can.presets import get_config
    from can.pretrain import pretrain
    from can.train import make_mesh
    sys.path.insert(0, str(ROOT / "scripts"))
    from synthetic_jpeg import SyntheticJpeg
    t = time.perf_counter()
    builder = SyntheticJpeg(num=images, data_dir=str(workdir / "tfds"), file_format="array_record")
    builder.download_and_prepare()
    write_s = time.perf_counter() - t
    spe = images // batch
    cfg = get_config(preset, "can", dataset="synthetic_jpeg", data_dir=str(workdir / "tfds"), batch_size=batch,
                     compute_dtype=dtype, data_threads=os.cpu_count(), epochs=steps // spe + 2, warmup_epochs=1, channels=3,
                     **({"image_size": size} if size else {}))
    mesh = make_mesh()
    state, step = _setup(cfg, mesh, crop=False)           # the bare step, on device-resident views cut already
    views = jax.device_put(np.random.default_rng(0).integers(0, 256, (batch, cfg.num_views, cfg.image_size,
                                                                      cfg.image_size, cfg.channels), np.uint8))
    compiled = step.jitted.lower(state, views).compile()
    state, m = compiled(state, views)
    jax.block_until_ready(m)
    t = time.perf_counter()
    for _ in range(steps):
        state, m = compiled(state, views)
    jax.block_until_ready(m)
    bare = batch * steps / (time.perf_counter() - t)
    del state, compiled
    cpu0, t = os.times(), time.perf_counter()
    _, _, rows = pretrain(cfg, workdir / "run", stop_after=steps + 5, log_every=5, progress=False)
    wall, cpu1 = time.perf_counter() - t, os.times()
    busy = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall / os.cpu_count()
    loop = float(np.median([r["images_per_s"] for r in rows[1:]])) if len(rows) > 1 else float("nan")
    ckpts = sorted(int(d.name) for d in (workdir / "run" / "checkpoints").iterdir() if d.name.isdigit())
    return {"preset": preset, "variant": cfg.variant, "image_size": cfg.image_size, "compute_dtype": dtype,
            "global_batch": batch, "devices": mesh.size, "jpegs": images, "jpeg_write_s": write_s,
            "data_threads": cfg.data_threads, "views_per_image": cfg.num_views, "crops": "host, from the full image",
            "attention_auto_picked": attention_impl(cfg), "bare_step_images_per_s": bare,
            "loop_images_per_s_median": loop, "loop_over_bare": loop / bare, "goal_loop_over_bare": 0.9,
            "host_cpu_busy": busy, "loop_wall_s": wall, "steps": rows[-1]["step"] if rows else 0,
            "checkpoint_steps": ckpts, "checkpoint_at_end": bool(ckpts) and ckpts[-1] == (rows[-1]["step"] if rows else -1)}


def _two_steps(cfg, mesh):
    state, step = _setup(cfg, mesh)
    losses = []
    for i in range(2):
        state, m = step(state, _images(cfg, mesh, seed=i))
        losses.append(float(m["loss"]))
    return losses, jax.tree.map(np.asarray, state.params)


def _compare(a, b, lr: float) -> dict:
    "The tolerances of nbs/04_train.ipynb: losses to 1e-5; parameters to 1e-6 except rare Adam sign flips (<= 2 lr)."
    (la, pa), (lb, pb) = a, b
    d = np.concatenate([np.abs(x - y).ravel() for x, y in zip(jax.tree.leaves(pa), jax.tree.leaves(pb))])
    loss_diff = max(abs(x - y) for x, y in zip(la, lb))
    out = {"losses": [la, lb], "max_loss_diff": loss_diff, "max_param_diff": float(d.max()),
           "frac_params_above_1e-6": float((d > 1e-6).mean())}
    out["ok"] = bool(loss_diff < 1e-5 and out["frac_params_above_1e-6"] < 1e-3 and d.max() <= 2 * lr + 1e-6)
    return out


def equivalence(batch: int) -> dict:
    "Sharded == unsharded (all devices vs one), and the accelerator vs the host CPU, two fp32 steps each."
    from can.presets import get_config
    from can.train import learning_rate, make_mesh
    cfg = get_config("default", "can", batch_size=batch)
    lr = max(float(learning_rate(cfg, 1000)(s)) for s in range(2))
    out = {"batch": batch, "devices": jax.device_count()}
    with jax.default_matmul_precision("highest"):
        one = _two_steps(cfg, make_mesh(1))
        out["sharded_vs_unsharded"] = (_compare(_two_steps(cfg, make_mesh()), one, lr) if jax.device_count() > 1
                                       else "one device: nothing to shard over")
        if jax.default_backend() != "cpu":
            auto = jax.sharding.AxisType.Auto
            cpu = jax.make_mesh((1, 1), ("data", "fsdp"), axis_types=(auto, auto), devices=jax.devices("cpu")[:1])
            out["accelerator_vs_cpu"] = _compare(one, _two_steps(cfg, cpu), lr)
    out["ok"] = all(v["ok"] for v in out.values() if isinstance(v, dict))
    return out


def device_name() -> str:
    d = jax.devices()[0]
    return re.sub(r"[^a-z0-9]+", "-", (d.device_kind if d.platform != "cpu" else "cpu").lower()).strip("-")


def versions() -> dict:
    import importlib.metadata as md
    out = {"python": platform.python_version()}
    for name in ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "grain", "tensorflow-datasets", "dm-pix",
                 "ml_collections", "numpy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="toy sizes (CPU, the test suite): every part in seconds")
    ap.add_argument("--out", default=None, help="the JSON (default: results/benchmark/<device>.json)")
    ap.add_argument("--also", default=None, help="a folder to copy the JSON into as well (e.g. $OUT of the device tool)")
    ap.add_argument("--workdir", default="/tmp/accel-check-run", help="the default run's workdir (removed first)")
    args = ap.parse_args(argv)
    import shutil
    from can.storage import atomic_write
    from can.provenance import provenance
    t0 = time.time()
    accel = jax.default_backend() != "cpu"
    tiny = args.tiny
    dtype = "float32" if tiny or not accel else "bfloat16"
    out = Path(args.out or ROOT / "results" / "benchmark" / f"{device_name()}.json")
    size, batch = ("default", 16) if tiny else ("vit_b16", 256)
    info = {**provenance(), "device_name": device_name(), "backend": jax.default_backend(),
            "device_count": jax.device_count(), "host": platform.node(), "cpu_count": os.cpu_count(),
            "versions": versions(), "tiny": tiny, "parts": {}}
    parts = {
        "peak": lambda: {"dtype": dtype, "n": 256 if tiny else 8192,
                         "flop_s": peak_matmul(dtype, 256 if tiny else 8192)},
        "step": lambda: step_benchmark(size, batch, 2 if tiny else 20, dtype, info["parts"]["peak"]["flop_s"]),
        "attention": lambda: attention_comparison(info["parts"]["step"], size, batch, 2 if tiny else 10, dtype,
                                                  info["parts"]["peak"]["flop_s"]),
        "memory": lambda: memory_check(info["parts"]["step"], size, batch, dtype),
        "default_run": lambda: default_run(Path(args.workdir), 2 if tiny else 200, 300 if tiny else 10_000,
                                           300 if tiny else None),
        "equivalence": lambda: equivalence(16),
        "e2e": lambda: e2e(Path(args.workdir) / "e2e", "default" if tiny else "vit_b16", 8 if tiny else 256,
                           4 if tiny else 60, dtype, 64 if tiny else 1000, 32 if tiny else None),
    }
    shutil.rmtree(args.workdir, ignore_errors=True)
    ok = True
    for name, fn in parts.items():
        t = time.time()
        try:
            res = fn()
            ok &= res.get("ok", True)
        except Exception as e:       # record and go on: one broken part must not hide the others' numbers
            traceback.print_exc()
            res, ok = {"error": f"{type(e).__name__}: {e}"}, False
        info["parts"][name] = {**res, "wall_s": time.time() - t}
        print(f"[{time.time() - t0:6.0f} s] {name}: {json.dumps(info['parts'][name], default=str)[:400]}", flush=True)
        info["wall_s"], info["ok"] = time.time() - t0, ok
        out.parent.mkdir(parents=True, exist_ok=True)
        for path in [out] + ([Path(args.also) / out.name] if args.also else []):
            atomic_write(path, json.dumps(info, indent=1, default=str))   # after every part: a kill keeps the rest
    print(f"{'all parts passed' if ok else 'FAILED'}: {out} ({time.time() - t0:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
