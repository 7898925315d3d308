"""Every wrong parameter fails with a ValueError that names it, before anything is compiled."""
import json
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from can.data import data_source
from can.storage import check_workdir
from can.encoder import load_run
from can.eval import eval_arrays, eval_recipe, fewshot_eval, fewshot_indices, knn_eval, linear_probe
from can.evaluate import evaluate
from can.robustness import corrupt
from can.pretrain import pretrain
from can.masking import patchify, random_mask
from can.losses import loss_weights
from can.model import build_model
from can.presets import check_config, get_config
from can.train import make_mesh, make_optimizer, make_train_step

CASES = [  # (parameter named in the message, call)
    ("method", lambda: get_config(method="byol")),
    ("preset", lambda: get_config("vit_q16")),
    ("mask_ratio", lambda: get_config(mask_ratio=0.3)),            # 0.3 * 64 patches is not an integer
    ("mask_ratio", lambda: get_config(mask_ratio=1.0)),
    ("mask_ratio", lambda: random_mask(jax.random.key(0), 2, 196, 0.33)),
    ("image_size", lambda: get_config(image_size=30)),             # patch 4 does not divide 30
    ("image_size", lambda: get_config("vit_b16", image_size=200)), # patch 16 does not divide 200
    ("patch_size", lambda: patchify(jnp.zeros((1, 30, 30, 1)), 4)),
    ("variant", lambda: get_config(variant="B16")),
    ("lambda_infonce", lambda: get_config(lambda_infonce=1.5)),
    ("lambda_infonce", lambda: get_config(method="mae", lambda_infonce=0.5)),  # one view cannot contrast
    ("lambda_infonce", lambda: loss_weights(-0.1, 0.5, True, True)),
    ("lam", lambda: get_config(lam=1.01)),
    ("tau", lambda: get_config(tau=-1.0)),
    ("sigma_max", lambda: get_config(sigma_max=-0.05)),
    ("epochs", lambda: get_config(epochs=0)),
    ("batch_size", lambda: get_config(batch_size=1)),
    ("warmup_epochs", lambda: get_config(epochs=5, warmup_epochs=5)),
    ("channels", lambda: get_config(channels=2)),
    ("base_lr", lambda: get_config(base_lr=0.0)),
    ("sigmamax", lambda: get_config(sigmamax=0.1)),                # misspelt parameter
    ("batch_size", lambda: check_config(get_config(batch_size=36), num_devices=8)),
    ("num_devices", lambda: make_mesh(0)),
    ("fsdp", lambda: make_mesh(8, fsdp=3)),
    ("compute_dtype", lambda: get_config(compute_dtype="float16")),
    ("remat", lambda: get_config(remat="yes")),
    ("steps_per_epoch", lambda: make_optimizer(get_config(), 0)),
    ("augment", lambda: get_config(augment="randaug")),
    ("crop_min_scale", lambda: get_config(crop_min_scale=0.0)),
    ("dataset", lambda: data_source("fashion-mnist", "train")),
    ("split", lambda: data_source("fashion_mnist", "val")),
    ("workdir", lambda: _mismatched_workdir()),
    ("save_every", lambda: pretrain(get_config(), tempfile.mkdtemp(), save_every=0)),
    ("log_every", lambda: pretrain(get_config(), tempfile.mkdtemp(), log_every=2.5)),
    ("stop_after", lambda: pretrain(get_config(), tempfile.mkdtemp(), stop_after=-1)),
    ("protocol", lambda: evaluate("random", "svm")),
    ("train_size=0", lambda: evaluate("random", "knn", train_size=0)),     # was numpy's "need at least one array"
    ("test_size=2.5", lambda: evaluate("random", "knn", test_size=2.5)),
    ("protocol", lambda: eval_recipe("probe")),
    ("scale", lambda: eval_recipe("linear", "huge")),
    ("unknown linear parameter", lambda: eval_recipe("linear", lr=0.1)),
    ("dataset", lambda: evaluate("random", "knn", dataset=["fashion_mnist", "digits"])),
    ("split", lambda: eval_arrays("digits", "val", 32)),
    ("channel", lambda: eval_arrays("digits", "train", 32, channels=3)),
    ("k=0", lambda: knn_eval(np.zeros((4, 2)), np.zeros(4, int), np.zeros((2, 2)), np.zeros(2, int), k=0)),
    ("optimizer", lambda: linear_probe(np.zeros((4, 2)), np.zeros(4, int), np.zeros((2, 2)), np.zeros(2, int), optimizer="adam")),
    ("solver", lambda: fewshot_eval(np.zeros((40, 2)), np.repeat(np.arange(2), 20), np.zeros((2, 2)), np.zeros(2, int), solver="svm")),
    ("shots=50", lambda: fewshot_indices(np.repeat(np.arange(2), 20), 50, 0)),
    ("severity", lambda: corrupt(np.zeros((1, 8, 8, 1), np.uint8), "contrast", 0)),
    ("name", lambda: corrupt(np.zeros((1, 8, 8, 1), np.uint8), "snow", 1)),
]


def _mismatched_workdir():
    d = tempfile.mkdtemp()
    check_workdir(get_config(), d)
    (Path(d) / "checkpoints" / "10").mkdir(parents=True)      # a run: it has a checkpoint
    check_workdir(get_config(sigma_max=0.1), d)


def test_a_config_without_a_checkpoint_is_not_yet_a_run(capsys):
    "Issue 43: a start that stopped before its first save leaves a config only; another config takes the workdir over."
    d = Path(tempfile.mkdtemp())
    check_workdir(get_config(), d)
    check_workdir(get_config(sigma_max=0.1), d)
    assert json.loads((d / "config.json").read_text())["sigma_max"] == 0.1
    assert "held a config but no checkpoint" in capsys.readouterr().out


def test_a_failed_start_writes_nothing():
    "Issue 43: the data and its channels are checked before config.json is written."
    from can.pretrain import pretrain
    d = Path(tempfile.mkdtemp()) / "wd"
    with pytest.raises(FileNotFoundError, match="dataset='cifar10' is not prepared"):
        pretrain(get_config(dataset="cifar10", data_dir=tempfile.mkdtemp()), d, progress=False)
    with pytest.raises(ValueError, match="channels=3 is invalid for dataset='fashion_mnist'; allowed: 1"):
        pretrain(get_config(channels=3), d, progress=False)
    assert not (d / "config.json").exists()


def test_the_encoder_refuses_nan_and_empty_images():
    "Issue 43: NaN compares false with every bound, so the range check let NaN images through to NaN features."
    from can.encoder import load_encoder
    encode = load_encoder("default")
    x = np.zeros((2, 32, 32, 1), np.float32)
    x[1, 3, 4, 0] = np.nan
    with pytest.raises(ValueError, match="hold 1 NaN or infinite values"):
        encode(x)
    with pytest.raises(ValueError, match="hold 1 NaN or infinite values"):
        encode(np.where(np.isnan(x), np.inf, x))
    with pytest.raises(ValueError, match=r"images.shape=\(0, 32, 32, 1\) is invalid; allowed: at least one image"):
        encode(np.zeros((0, 32, 32, 1), np.uint8))


def test_missing_checkpoint_says_what_is_allowed():
    with pytest.raises(FileNotFoundError, match="checkpoint="):
        load_run(tempfile.mkdtemp())
    d = Path(tempfile.mkdtemp())
    check_workdir(get_config(), d)      # a start that stopped before its first save (issue 43)
    with pytest.raises(FileNotFoundError, match="holds a config but no checkpoint yet"):
        load_run(d)


def test_mae_trains_at_batch_size_one():
    "Issue 43: grain could not slice an endless dataset batched by 1 (OverflowError); MAE needs no negatives."
    import os, subprocess, sys
    d = Path(tempfile.mkdtemp())
    code = ("from can.presets import get_config; from can.pretrain import pretrain; "
            f"pretrain(get_config(method='mae', batch_size=1), {str(d)!r}, stop_after=2, progress=False)")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}    # a batch of 1 is on 1 device
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((d / "run.json").read_text())["steps"] == 2


def test_missing_data_says_how_to_install():
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data_source("fashion_mnist", "train", data_dir=tempfile.mkdtemp(), manual_dir="/nonexistent")
    with pytest.raises(FileNotFoundError, match="data_dir='/nonexistent/tfds'"):
        data_source("cifar10", "train", data_dir="/nonexistent/tfds")


@pytest.mark.parametrize("param,call", CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_bad_input_names_parameter(param, call):
    with pytest.raises(ValueError, match=param):
        call()


def test_batch_not_divisible_by_devices_fails_before_compiling():
    assert jax.device_count() == 8
    cfg = get_config(batch_size=36)
    with pytest.raises(ValueError, match="batch_size=36"):
        make_train_step(cfg, build_model(cfg), make_optimizer(cfg, 1), make_mesh(8))
