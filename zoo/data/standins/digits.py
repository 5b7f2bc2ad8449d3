"""`digits`: scikit-learn's bundled 8x8 handwritten digits (offline stand-in for MNIST).

The 1,797 8x8 grey images of `sklearn.datasets.load_digits` (the UCI "Optical Recognition of
Handwritten Digits" test set, 16 grey levels 0-16), the only handwritten digits available on this
offline machine. A stand-in for MNIST (28x28, 70,000 images) in the Grid LSTM digit experiment
(Kalchbrenner et al. 2015; Bastings' talk on the paper, the MNIST slide); its numbers are never MNIST's.

Splits are those of `zoo.experiments.grid_lstm digits`: the images in the order of a
permutation drawn by numpy's default_rng(0), the first 360 the test split, the other 1,437 the
train split. Pixels are rescaled from 0-16 to 0-255 (v * 255 / 16, rounded) so that the image is
uint8 as every zoo picture is; a model dividing by 255 (grid_lstm_mnist's contract) sees v / 16
to within 1/510.

Loaded examples (unbatched): image uint8 (8, 8, 1); label int64 () 0-9. No options.
"""

from __future__ import annotations

import functools

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, DatasetNotFoundError, unknown_name

NUM_TEST = 360
SPLITS = {"train": 1797 - NUM_TEST, "test": NUM_TEST}


@functools.lru_cache(maxsize=1)
def arrays() -> dict:
    """{split: {"image": uint8 (N, 8, 8, 1), "label": int64 (N,)}}."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise DatasetNotFoundError(
            "the digits stand-in is scikit-learn's bundled copy: pip install scikit-learn (or zoo[dev])"
        ) from e

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    order = np.random.default_rng(0).permutation(len(images))
    parts = {"test": order[:NUM_TEST], "train": order[NUM_TEST:]}
    return {split: {"image": images[idx], "label": digits.target[idx].astype(np.int64)} for split, idx in parts.items()}


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, size=8, pad=0):
    """The split as a tf.data.Dataset, in a fixed order (data_dir, manual_dir, seed, on_corrupt: unused).
    `size`: the digits resized (bilinear) to size x size; `pad`: black borders added after (LeNet-5 on the stand-in:
    size 20, pad 6, the 20x20 box of MNIST's digits inside a 32x32 input, LeCun et al. 1998 §II.B)."""
    import tensorflow as tf

    if split not in SPLITS:
        raise unknown_name("'digits' split", split, SPLITS)
    if int(size) != size or size < 1 or int(pad) != pad or pad < 0:
        raise ConfigError(f"size must be a positive and pad a non-negative number of pixels, got {size!r}, {pad!r}")
    part = arrays()[split]
    images = part["image"]
    if size != 8:
        images = np.clip(np.rint(tf.image.resize(images.astype(np.float32), (size, size)).numpy()), 0, 255)
        images = images.astype(np.uint8)
    if pad:
        images = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    return tf.data.Dataset.from_tensor_slices({"image": images, "label": part["label"]})


INFO = DatasetInfo(
    name="digits",
    task="classification",
    summary="scikit-learn's 8x8 handwritten digits, 0-9 (offline stand-in for MNIST)",
    num_classes=10,
    class_names=tuple("0123456789"),
    splits=dict(SPLITS),
    features={"image": "uint8 (size + 2 pad, size + 2 pad, 1) grey, 0-255 (the 0-16 levels x 255/16)",
              "label": "int64 () the digit"},
    options={"size": 8, "pad": 0},
    is_standin=True,
    stands_in_for="mnist",
    source="sklearn.datasets.load_digits (UCI Optical Recognition of Handwritten Digits, test part), bundled "
           "with scikit-learn",
    citation="Alpaydin, Kaynak 1998, UCI Machine Learning Repository",
    instructions="Bundled with scikit-learn; nothing to download.",
)

register_dataset("digits", INFO, load)
