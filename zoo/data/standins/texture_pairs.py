"""`texture_pairs`: patch pairs for context prediction cut from generated pictures (offline stand-in).

A stand-in that is its own dataset (is_standin=True, stands_in_for=None): Doersch et al. trained
on ImageNet photos, which are not available offline; these pictures are generated and results on
them are never reported as the paper's.

Each picture has the spatial regularities a relative-position net can learn: a vertical colour
gradient (lighter at the top, like sky over ground), oriented stripes whose frequency grows from
left to right, and pixel noise. `aberration` > 0 adds a synthetic chromatic aberration (green
shrunk toward the picture centre by that fraction relative to red and blue), the shortcut the talk warns
about; the `colour` option applies the remedies of zoo.data.context_pairs.

Example i of a split is a function of (seed, split, i). Loaded examples (unbatched): patch_a,
patch_b uint8 (patch_size, patch_size, 3) RGB; label int64 () 0-7, B's position around A
(zoo.data.context_pairs.OFFSETS). Options: patch_size 96, gap 48, jitter 7, colour "none" |
"project" | "drop", aberration 0.0, num_examples (train 2000, validation 400, test 400).
"""

from __future__ import annotations

import numpy as np

from zoo.data.context_pairs import COLOUR_MODES, min_image_size, sample_pair
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 2000, "validation": 400, "test": 400}
OPTIONS = {"patch_size": 96, "gap": 48, "jitter": 7, "colour": "none", "aberration": 0.0}
POSITIONS = ("up-left", "up", "up-right", "left", "right", "down-left", "down", "down-right")


def render_picture(rng, size, aberration=0.0) -> np.ndarray:
    """A float32 (size, size, 3) RGB picture in 0-255 with vertical and horizontal regularities."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    top, bottom = rng.uniform(140, 255, 3), rng.uniform(0, 110, 3)
    image = top + (bottom - top) * yy[..., None]
    angle = rng.uniform(0, np.pi)
    freq = rng.uniform(4, 8) * (1.0 + 2.0 * xx)  # a chirp: finer stripes to the right
    phase = 2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 2 * np.pi)
    image += rng.uniform(15, 35) * np.sin(phase)[..., None] * rng.uniform(0.5, 1.0, 3)
    image += 6 * rng.standard_normal(image.shape)
    if aberration:
        image = chromatic_aberration(image, aberration)
    return np.clip(image, 0, 255).astype(np.float32)


def chromatic_aberration(image, amount) -> np.ndarray:
    """`image` (H, W, 3) with its green channel shrunk toward the centre by the fraction `amount`
    relative to red and blue: the lens defect Doersch et al. (ICCV 2015, §3.1) name, which
    tells a patch where it lies in the picture and so its position relative to another patch.
    Its colour fringes lie along the green-magenta axis that colour projection removes."""
    from scipy.ndimage import map_coordinates

    out = np.array(image, np.float32, copy=True)
    c = (np.asarray(out.shape[:2], np.float64) - 1) / 2
    grid = np.mgrid[0:out.shape[0], 0:out.shape[1]].astype(np.float64)
    coords = c[:, None, None] + (grid - c[:, None, None]) * (1.0 + amount)  # sample further out: content shrinks
    out[..., 1] = map_coordinates(out[..., 1], coords, order=1, mode="nearest")
    return out


def render_example(seed, split, index, **options) -> dict:
    """Example `index` of `split`: {"patch_a", "patch_b": uint8, "label": int64}."""
    if split not in SPLITS:
        raise unknown_name("'texture_pairs' split", split, SPLITS)
    o = {**OPTIONS, **options}
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index), 11])
    size = min_image_size(o["patch_size"], o["gap"], o["jitter"]) + 8
    picture = np.rint(render_picture(rng, size, float(o["aberration"]))).astype(np.uint8)
    a, b, label = sample_pair(picture, rng, patch=o["patch_size"], gap=o["gap"], jitter=o["jitter"], colour=o["colour"])
    return {"patch_a": np.rint(a).astype(np.uint8), "patch_b": np.rint(b).astype(np.uint8), "label": np.int64(label)}


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, num_examples=None,
         **options):
    """The split as a tf.data.Dataset (data_dir, manual_dir, on_corrupt: unused)."""
    import tensorflow as tf

    if split not in SPLITS:
        raise ConfigError(f"texture_pairs takes a split in {tuple(SPLITS)}, not {split!r}; use num_examples=")
    o = {**OPTIONS, **options}
    if o["colour"] not in COLOUR_MODES:
        raise ConfigError(f"texture_pairs colour must be one of {COLOUR_MODES}, got {o['colour']!r}")
    n = DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)
    p = int(o["patch_size"])

    def lookup(i):
        a, b, label = tf.numpy_function(lambda j: tuple(render_example(seed, split, int(j), **o).values()), [i],
                                        (tf.uint8, tf.uint8, tf.int64), stateful=False)
        return {"patch_a": tf.ensure_shape(a, (p, p, 3)), "patch_b": tf.ensure_shape(b, (p, p, 3)),
                "label": tf.ensure_shape(label, ())}

    return tf.data.Dataset.range(n).map(lookup, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


INFO = DatasetInfo(
    name="texture_pairs",
    task="classification",
    summary="Context-prediction patch pairs from generated pictures, labelled by B's position around A "
            "(offline stand-in; not ImageNet)",
    num_classes=8,
    class_names=POSITIONS,
    splits=dict(DEFAULT_NUM_EXAMPLES),
    features={"patch_a": "uint8 (patch_size, patch_size, 3) RGB", "patch_b": "uint8 (patch_size, patch_size, 3) RGB",
              "label": "int64 () 0-7, zoo.data.context_pairs.OFFSETS"},
    is_standin=True,
    stands_in_for=None,
    source="generated by zoo.data.standins.texture_pairs (this repository); example i is a function of (seed, split, i)",
    options={**OPTIONS, "num_examples": None},
)

register_dataset("texture_pairs", INFO, load)
