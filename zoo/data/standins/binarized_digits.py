"""`binarized_digits`: scikit-learn's 8x8 digits, binarized (offline stand-in for binarized MNIST).

The `digits` stand-in's images (zoo.data.standins.digits: same splits, 1,437 train / 360 test)
with pixels above half intensity (grey level > 8 of 16) set to 1 and the others to 0. It stands
in for TFDS binarized_mnist in DRAW's demonstrations; its bounds (nats over 64 pixels) are never
MNIST's (784 pixels).

Loaded examples: image uint8 (8, 8, 1) in {0, 1}; label int64 () the digit.
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.data.standins import digits
from zoo.errors import unknown_name


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None):
    """The split as a tf.data.Dataset in a fixed order (the options are unused)."""
    import tensorflow as tf

    if split not in digits.SPLITS:
        raise unknown_name("'binarized_digits' split", split, digits.SPLITS)
    data = digits.arrays()[split]
    return tf.data.Dataset.from_tensor_slices({"image": (data["image"] > 127).astype("uint8"), "label": data["label"]})


INFO = DatasetInfo(
    name="binarized_digits",
    task="variational_generation",
    summary="scikit-learn's 8x8 digits binarized at half intensity (offline stand-in for binarized MNIST)",
    splits=dict(digits.SPLITS),
    features={"image": "uint8 (8, 8, 1) in {0, 1}", "label": "int64 () the digit"},
    is_standin=True,
    stands_in_for="binarized_mnist",
    source="sklearn.datasets.load_digits, binarized here",
    citation="Alpaydin, Kaynak 1998, UCI Machine Learning Repository",
    instructions="Bundled with scikit-learn; nothing to download.",
)

register_dataset("binarized_digits", INFO, load)
