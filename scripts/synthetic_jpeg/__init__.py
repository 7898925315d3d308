"""An ImageNet-like tfds dataset made offline, for the input-pipeline benchmark (scripts/input_pipeline.py): JPEGs at
ImageNet's common sizes (500×375 and its kin), quality 90, smooth content with some texture (files of ≈ 60–120 KB,
like ImageNet's ≈ 110 KB), in a `tfds.features.Image` (jpeg) feature, array_record. Preparing it needs no TensorFlow:
the examples are JPEG bytes already, so tfds stores them as they are (a builder must live in a package, for tfds)."""
import io

import numpy as np
import tensorflow_datasets as tfds

SIZES = ((500, 375), (375, 500), (500, 333), (500, 400), (640, 480))     # (width, height), ImageNet's most common


def synthetic_jpeg(rng, width: int, height: int, quality: int = 90) -> bytes:
    "A smooth random image (a bicubic upsampling of 8×6 random colours) with mild noise, as JPEG bytes."
    from PIL import Image
    base = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((width, height), Image.BICUBIC)
    x = np.asarray(base, np.int16) + rng.normal(0, 12, (height, width, 3)).astype(np.int16)
    buf = io.BytesIO()
    Image.fromarray(np.clip(x, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


class SyntheticJpeg(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    "`train`: 2,000 synthetic JPEGs of ImageNet-like sizes, 10 classes."
    VERSION = tfds.core.Version("1.0.0")
    NUM = 2000

    def __init__(self, *, num: int | None = None, **kwargs):
        "`num`: how many JPEGs to write (default NUM); the accelerator check writes fewer."
        self.num = num or self.NUM
        super().__init__(**kwargs)

    def _info(self):
        return self.dataset_info_from_configs(features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
            "label": tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(self.num)}

    def _generate_examples(self, n):
        rng = np.random.default_rng(0)
        for i in range(n):
            w, h = SIZES[i % len(SIZES)]
            yield i, {"image": io.BytesIO(synthetic_jpeg(rng, w, h)), "label": i % 10}
