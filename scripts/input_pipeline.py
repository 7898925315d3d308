"""How many host cores the read path needs to feed a GPU: images/s per core of `can.data`'s path up to the uint8 batch
(JPEG decode + `to_size` to 224), on an ImageNet-like dataset made offline (scripts/synthetic_jpeg), for each decode
path, single-threaded on one core, with grain threads and with grain worker processes; and the paper's crops
(`can.images.decode_views`: one or two random-resized crops cut from the full decoded image) beside the one-view
centre square, on one core in alternating rounds.

    LD_PRELOAD=... .venv/bin/python scripts/input_pipeline.py          # -> results/benchmark/input-pipeline-cpu.json

Decode paths: `tfds+pil` lets tfds decode the JPEG (its decoder: OpenCV when installed, else PIL), then
`can.data.to_size` resizes with PIL's antialiased bicubic (what `can.data` did before); `pil-draft` asks PIL's JPEG
decoder for the smallest DCT scale still at least the target size first (no gain at 224 from ImageNet sizes: 1/2 of
375 is below 224); `opencv` is `can.data.decode_image` (OpenCV's decode and area resize, what `can.data` does now). Cores per GPU = the rate a GPU consumes (2,209 img/s: ViT-B/16 CAN
on one H200 with cuDNN attention, results/benchmark/nvidia-h200.json's notes) / images/s per core.
"""
import json
import os
import sys
import time
from pathlib import Path

import grain.python as grain
import numpy as np
import tensorflow_datasets as tfds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from can.images import decode_image, decode_views, to_size  # noqa: E402
from PIL import Image  # noqa: E402
from can.provenance import provenance  # noqa: E402
from synthetic_jpeg import SyntheticJpeg  # noqa: E402

GPU_IMAGES_PER_S = 2209
SIZE, BATCH = 224, 64


def read_full(source, ids):
    return np.stack([to_size(np.asarray(source[int(i)]["image"]), SIZE) for i in ids])


def _draft(data):
    import io
    im = Image.open(io.BytesIO(data))
    s = SIZE / min(im.size)
    im.draft("RGB", (max(SIZE, round(im.size[0] * s)), max(SIZE, round(im.size[1] * s))))
    return to_size(np.asarray(im.convert("RGB")), SIZE)


def read_draft(raw, ids):
    return np.stack([_draft(raw[int(i)]["image"]) for i in ids])


def read_opencv(raw, ids):
    return np.stack([decode_image(raw[int(i)]["image"], SIZE) for i in ids])


def read_crops(raw, ids, views: int):
    "The paper's path (`can.images.decode_views`): each image decoded at full size, `views` random-resized crops of it."
    rng = np.random.default_rng(int(ids[0]))
    return np.stack([decode_views(raw[int(i)]["image"], SIZE, 3, rng, views, (0.08, 1.0)) for i in ids])


def read_crops1(raw, ids):
    return read_crops(raw, ids, 1)


def read_crops2(raw, ids):
    return read_crops(raw, ids, 2)


def interleaved(paths, src, rounds: int = 3, n_batches: int = 6) -> dict:
    """Single-core images/s of `paths` measured in alternating rounds (A B C A B C ...), the median of each: on a
    machine that other work shares, a ratio between paths is only fair when each sees the same load."""
    got = {name: [] for name, _ in paths}
    for _ in range(rounds):
        for name, fn in paths:
            got[name].append(rate(fn, src, n_batches))
    return {name: float(np.median(v)) for name, v in got.items()} | {"_rounds": got}


def _has_cv2() -> bool:
    try:
        import cv2  # noqa: F401
        return True
    except ImportError:
        return False


def rate(fn, source, n_batches, threads=0, workers=0) -> float:
    "images/s of reading `n_batches` batches through grain (threads, or worker processes), after one warm-up batch."
    ids = grain.MapDataset.range(len(source)).shuffle(seed=0).repeat().batch(BATCH)
    ds = ids.map(lambda b: fn(source, b)).to_iter_dataset(grain.ReadOptions(num_threads=threads,
                                                                            prefetch_buffer_size=max(2 * threads, 1)))
    if workers:
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
    it = iter(ds)
    next(it)
    t = time.perf_counter()
    for _ in range(n_batches):
        next(it)
    return n_batches * BATCH / (time.perf_counter() - t)


def main():
    from absl import flags
    flags.FLAGS.mark_as_parsed()          # grain's worker processes read absl flags; this is no absl app
    import cv2
    cv2.setNumThreads(1)                  # one image per thread: grain's threads and processes are the parallelism
    t0 = time.time()
    data_dir = ROOT / "runs" / "input-pipeline" / "tfds"
    builder = SyntheticJpeg(data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare()
    decoded = builder.as_data_source()["train"]
    raw = builder.as_data_source(decoders={"image": tfds.decode.SkipDecoding()})["train"]
    sizes = [len(raw[i]["image"]) for i in range(0, len(raw), 50)]
    cores = sorted(os.sched_getaffinity(0))
    rows = []
    for path, fn, src in (("tfds+pil", read_full, decoded), ("pil-draft", read_draft, raw), ("opencv", read_opencv, raw)):
        os.sched_setaffinity(0, cores[:1])           # one core: the per-core rate, no parallelism to share it
        one = rate(fn, src, 8)
        rows.append({"path": path, "mode": "1 thread, 1 core", "cores": 1, "images_per_s": one})
        os.sched_setaffinity(0, cores)
        for mode, kw in ((f"grain {len(cores)} threads", {"threads": len(cores)}),
                         (f"grain {len(cores)} worker processes", {"workers": len(cores)})):
            r = rate(fn, src, 16, **kw)
            rows.append({"path": path, "mode": mode, "cores": len(cores), "images_per_s": r})
        print(rows[-3:], flush=True)
    # the paper's crops (issue 56): one and two views cut from the full image, beside today's one-view centre square,
    # on one core in alternating rounds; images/s counts images (a two-view row makes twice the views)
    os.sched_setaffinity(0, cores[:1])
    crops = interleaved([("opencv", read_opencv), ("opencv crops, 1 view", read_crops1),
                         ("opencv crops, 2 views", read_crops2)], raw)
    os.sched_setaffinity(0, cores)
    for path in ("opencv", "opencv crops, 1 view", "opencv crops, 2 views"):
        rows.append({"path": path, "mode": "1 thread, 1 core, interleaved rounds (median of 3)", "cores": 1,
                     "images_per_s": crops[path], "rounds": crops["_rounds"][path],
                     "views": 2 if path.endswith("2 views") else 1})
    print(rows[-3:], flush=True)
    for r in rows:
        r["images_per_s_per_core"] = r["images_per_s"] / r["cores"]
        r["cores_per_gpu"] = GPU_IMAGES_PER_S / r["images_per_s_per_core"]
    best = max((r for r in rows if "crops" not in r["path"]), key=lambda r: r["images_per_s_per_core"])
    full = max((r for r in rows if r["path"] == "tfds+pil"), key=lambda r: r["images_per_s_per_core"])
    out = ROOT / "results" / "benchmark" / "input-pipeline-cpu.json"
    info = {**provenance(), "cpu_model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                                if l.startswith("model name")), None),
            "avx512": " avx512f" in open("/proc/cpuinfo").read(), "dataset": "scripts/synthetic_jpeg (2,000 JPEGs, "
            "ImageNet-like sizes, quality 90)", "jpeg_kb_mean": float(np.mean(sizes)) / 1024, "target_size": SIZE,
            "batch": BATCH, "gpu_images_per_s": GPU_IMAGES_PER_S, "rows": rows, "opencv_threads": 1,
            "tfds_decoder": "opencv" if _has_cv2() else "pil",
            "best": best, "speedup_best_over_full": best["images_per_s_per_core"] / full["images_per_s_per_core"],
            "two_views_over_centre_square": crops["opencv crops, 2 views"] / crops["opencv"],
            "cores_per_gpu_two_views": GPU_IMAGES_PER_S / crops["opencv crops, 2 views"],
            "wall_s": time.time() - t0}
    out.write_text(json.dumps(info, indent=1))
    for r in rows:
        print(f"{r['path']:9} {r['mode']:28} {r['images_per_s']:7.0f} img/s  {r['images_per_s_per_core']:6.0f} per core  "
              f"-> {r['cores_per_gpu']:5.1f} cores per GPU at {GPU_IMAGES_PER_S} img/s")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
