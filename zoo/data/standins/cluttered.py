"""Cluttered translated digits (after Mnih et al. 2014 §4.1, "Recurrent Models of Visual Attention"), the
classification task of DRAW's read attention (Gregor et al. 2015 §4.1):

- `cluttered_mnist`: each MNIST digit (28x28, TFDS mnist through the zoo's `mnist`) placed at a uniformly
  random position of a 100x100 black canvas, with 8 pieces of clutter, each an 8x8 crop at a random place of
  another random digit of the same split, pasted at a random position (pixel-wise maximum);
- `cluttered_digits`: the offline stand-in, scikit-learn's 8x8 digits scaled x3 (24x24) on a 60x60 canvas with
  4 pieces of 6x6 clutter (numbers never MNIST's).

The canvas and clutter sizes are the ones Mnih et al. describe as we recall them (not checked against the paper), so
they are options. Example i of a split is a function of (seed, split, i). Examples: image uint8 (canvas,
canvas, 1), label int64, and box float32 (4,) the digit's x0, y0, x1, y1 (exclusive) for checking attention.
"""

from __future__ import annotations

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError

SPLITS = {"train": 0, "validation": 1, "test": 2}


def cluttered(rng, digit, others, canvas: int, pieces: int, piece: int):
    """(image (canvas, canvas) uint8, box (x0, y0, x1, y1)) with `digit` (h, w) at a random place and
    `pieces` random `piece` x `piece` crops of random `others` (n, h, w) pasted by pixel-wise maximum."""
    h, w = digit.shape
    if h > canvas or w > canvas or piece > min(others.shape[1:]):
        raise ConfigError(f"a {h}x{w} digit and {piece}x{piece} clutter must fit a {canvas}x{canvas} canvas "
                          f"and the digits")
    image = np.zeros((canvas, canvas), np.uint8)
    for _ in range(pieces):
        source = others[rng.integers(len(others))]
        sy, sx = rng.integers(0, source.shape[0] - piece + 1), rng.integers(0, source.shape[1] - piece + 1)
        y, x = rng.integers(0, canvas - piece + 1), rng.integers(0, canvas - piece + 1)
        np.maximum(image[y:y + piece, x:x + piece], source[sy:sy + piece, sx:sx + piece],
                   out=image[y:y + piece, x:x + piece])
    y, x = rng.integers(0, canvas - h + 1), rng.integers(0, canvas - w + 1)
    np.maximum(image[y:y + h, x:x + w], digit, out=image[y:y + h, x:x + w])
    return image, np.array([x, y, x + w, y + h], np.float32)


def _dataset(images, labels, split, seed, canvas, pieces, piece, num_examples):
    import tensorflow as tf

    n = len(images) if num_examples is None else int(num_examples)
    if n < 1:
        raise ConfigError(f"num_examples must be >= 1, got {num_examples}")

    def examples():
        for i in range(n):
            rng = np.random.default_rng([int(seed), SPLITS[split], i, 5])
            k = i % len(images)
            image, box = cluttered(rng, images[k], images, canvas, pieces, piece)
            yield {"image": image[..., None], "label": np.int64(labels[k]), "box": box}

    spec = {"image": tf.TensorSpec((canvas, canvas, 1), tf.uint8), "label": tf.TensorSpec((), tf.int64),
            "box": tf.TensorSpec((4,), tf.float32)}
    return tf.data.Dataset.from_generator(examples, output_signature=spec).cache()


def load_digits_standin(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None,
                        canvas=60, pieces=4, piece=6, num_examples=None):
    from zoo.data.standins.digits import arrays

    if split not in ("train", "test"):
        raise ConfigError(f"cluttered_digits has the digits' splits 'train' and 'test', not {split!r}")
    part = arrays()[split]
    images = np.kron(part["image"][..., 0], np.ones((3, 3), np.uint8))  # 8x8 -> 24x24, nearest
    return _dataset(images, part["label"], split, seed, int(canvas), int(pieces), int(piece), num_examples)


def load_mnist(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None,
               canvas=100, pieces=8, piece=8, num_examples=None):
    from zoo.data import registry

    if split not in ("train", "test"):
        raise ConfigError(f"cluttered_mnist has MNIST's splits 'train' and 'test', not {split!r}")
    mnist = registry.load("mnist", split, data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt,
                          counter=counter)
    images, labels = zip(*((ex["image"][..., 0], ex["label"]) for ex in mnist.as_numpy_iterator()))
    return _dataset(np.stack(images), np.array(labels), split, seed, int(canvas), int(pieces), int(piece),
                    num_examples)


FEATURES = {"image": "uint8 (canvas, canvas, 1) grey", "label": "int64 () the digit",
            "box": "float32 (4,) the digit's x0, y0, x1, y1 (exclusive)"}

register_dataset("cluttered_mnist", DatasetInfo(
    name="cluttered_mnist", task="classification",
    summary="MNIST digits at random places of a 100x100 canvas with 8 pieces of 8x8 digit clutter (after Mnih et al.)",
    num_classes=10, class_names=tuple("0123456789"), splits={"train": 60000, "test": 10000}, features=FEATURES,
    source="generated from TFDS mnist (downloads)", options={"canvas": 100, "pieces": 8, "piece": 8,
                                                            "num_examples": None},
    citation="Mnih, Heess, Graves, Kavukcuoglu, Recurrent Models of Visual Attention, NIPS 2014",
    instructions="TFDS downloads mnist on first use (python -m zoo.data prepare mnist); the clutter is generated.",
), load_mnist)

register_dataset("cluttered_digits", DatasetInfo(
    name="cluttered_digits", task="classification",
    summary="scikit-learn's digits x3 at random places of a 60x60 canvas with 4 pieces of 6x6 clutter",
    num_classes=10, class_names=tuple("0123456789"), splits={"train": 1437, "test": 360}, features=FEATURES,
    is_standin=True, stands_in_for="cluttered_mnist",
    options={"canvas": 60, "pieces": 4, "piece": 6, "num_examples": None},
), load_digits_standin)
