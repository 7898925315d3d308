"""The pre-training loop is fast (in-memory batches by indexing, metrics checked one step late) without changing a
bit: it must end where the plain loop it replaced ends — grain's per-record pipeline, a host sync after every step."""
import json

import grain
import jax
import numpy as np

from can.augment import augment_fn
from can.data import data_source, to_size
from can.model import build_model
from can.presets import get_config
from can.pretrain import pretrain
from can.train import batch_sharding, init_state, make_mesh, make_optimizer, make_train_step

STEPS = 6


def plain_loop(cfg, steps):
    "The loop as it was: per-record reads, `to_size` per image, every metric fetched after every step."
    source = data_source(cfg.dataset, "train", cfg.data_dir)
    spe = len(source) // cfg.batch_size
    mesh = make_mesh()
    model, tx = build_model(cfg), make_optimizer(cfg, spe)
    state = init_state(cfg, model, tx, mesh)
    step_fn = make_train_step(cfg, model, tx, mesh, augment=augment_fn(cfg.augment, cfg.crop_min_scale))
    ds = (grain.MapDataset.source(source).shuffle(seed=cfg.seed).repeat()
          .map(lambda r: to_size(np.asarray(r["image"]), cfg.image_size)).batch(cfg.batch_size))
    rows = []
    for s, images in zip(range(steps), iter(ds.to_iter_dataset())):
        state, m = step_fn(state, jax.make_array_from_process_local_data(batch_sharding(mesh), images))
        rows.append({k: float(v) for k, v in m.items()})
    return state, rows


def test_loop_is_bit_identical_to_the_plain_loop(tmp_path):
    cfg = get_config(epochs=2, warmup_epochs=0, head_hidden=64, decoder_depth=1)
    ref_state, ref_rows = plain_loop(cfg, STEPS)
    state, _, rows = pretrain(cfg, tmp_path, log_every=1, stop_after=STEPS, progress=False)
    keys = ref_rows[0].keys()
    assert [{k: r[k] for k in keys} for r in rows] == ref_rows
    for a, b in zip(jax.tree.leaves(jax.device_get(ref_state.params)), jax.tree.leaves(jax.device_get(state.params))):
        np.testing.assert_array_equal(a, b)
    assert [json.loads(l)["step"] for l in (tmp_path / "metrics.jsonl").read_text().splitlines()] == list(range(1, STEPS + 1))
