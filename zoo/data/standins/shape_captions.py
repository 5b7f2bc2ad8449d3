"""`shape_captions`: generated scenes of 1-3 coloured shapes with templated captions (offline
stand-in for COCO captions).

A stand-in for the image-description data of LRCN (Donahue thesis §4.4, COCO 2014), which cannot
be downloaded here; it is never reported as COCO. A scene holds 1, 2 or 3 shapes (circle, square,
triangle) in one of five colours, laid out in a row (left to right) or a column (top to bottom)
on a noisy grey background; no two shapes of a scene have both the same colour and the same kind.
Its captions name the shapes in order along the layout, with the relation between neighbours:

    1 shape    "a red circle"
    2 shapes   "a red circle above a blue square"          "a blue square below a red circle"
    3 shapes   "a red circle left of a blue square left of a green triangle"
               "a green triangle right of a blue square right of a red circle"

Every scene has one or two such captions (`references`): the order read forwards and backwards
(the 5 captions per image of COCO become the 1-2 true paraphrases here). An example's `caption` is
one of them, drawn at random. The vocabulary has 14 words.

Each example is a pure function of (seed, split, index, options): `render_example` seeds a NumPy
Generator with (seed, split id, index). The loader renders examples on demand.

Loaded examples (unbatched):
    image     uint8 (S, S, 3) RGB
    caption   string () one true caption of the scene
    image_id  int64 () the example's index in its split

Options: image_size (S, default 64), num_examples (default per split: train 3000, validation 300,
test 300).
"""

from __future__ import annotations

import functools

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

COLOURS = {  # RGB prototypes; every pixel of a shape is its prototype plus small noise
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (50, 80, 230),
    "yellow": (235, 215, 40),
    "white": (245, 245, 245),
}
KINDS = ("circle", "square", "triangle")
# (forward relation, backward relation) between neighbours along a row or a column
RELATIONS = {"row": ("left of", "right of"), "column": ("above", "below")}
MAX_SHAPES = 3
SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 3000, "validation": 300, "test": 300}
RADIUS = (0.1, 0.14)  # shape size, fraction of the image size (shapes never touch: see _scene)
JITTER = 0.06  # across the layout axis, fraction of the image size (less than a shape: the order stays clear)
BACKGROUND = (60.0, 150.0)  # grey level range of the background
NOISE = 8.0


@functools.lru_cache(maxsize=8)
def _grid(size):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    return xx, yy


def _mask(kind, cx, cy, r, size):
    xx, yy = _grid(size)
    if kind == "circle":
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    if kind == "square":
        return (np.abs(xx - cx) <= 0.85 * r) & (np.abs(yy - cy) <= 0.85 * r)
    # triangle pointing up, base at cy + 0.8 r, apex at cy - r
    height = 1.8 * r
    t = (yy - (cy - r)) / height  # 0 at the apex, 1 at the base
    return (t >= 0) & (t <= 1) & (np.abs(xx - cx) <= t * r)


def describe(shapes, layout) -> list[str]:
    """The true captions of `shapes` [(colour, kind), ...] in layout order ("row": left to right,
    "column": top to bottom): forwards, then backwards when there is more than one shape."""
    forward, backward = RELATIONS[layout]

    def sentence(items, relation):
        return f" {relation} ".join(f"a {colour} {kind}" for colour, kind in items)

    captions = [sentence(shapes, forward)]
    if len(shapes) > 1:
        captions.append(sentence(shapes[::-1], backward))
    return captions


def vocabulary_words() -> list[str]:
    """Every word a caption can use (14)."""
    words = ["a", *COLOURS, *KINDS]
    for relations in RELATIONS.values():
        for relation in relations:
            words += [w for w in relation.split() if w not in words]
    return words


def _scene(rng, size):
    """(shapes in layout order, layout, centres (x, y) and radii)."""
    count = int(rng.integers(1, MAX_SHAPES + 1))
    layout = "row" if rng.random() < 0.5 else "column"
    pairs = [(c, k) for c in COLOURS for k in KINDS]
    shapes = [pairs[i] for i in rng.choice(len(pairs), size=count, replace=False)]
    # Positions along the layout axis: one of `count` equal slots each, jittered by up to a twentieth
    # of a slot, so neighbours are at least 0.9 slot (0.3 of the image with three shapes) apart: more
    # than two radii (at most 0.28), so shapes never touch.
    slot = size / count
    along = (np.arange(count) + 0.5) * slot + rng.uniform(-0.05, 0.05, count) * slot
    across = size / 2 + rng.uniform(-JITTER, JITTER, count) * size
    radii = rng.uniform(*RADIUS, count) * size
    xs, ys = (along, across) if layout == "row" else (across, along)
    return shapes, layout, list(zip(xs, ys)), radii


def render_example(seed: int, split: str, index: int, image_size: int = 64) -> dict:
    """Example `index` of `split`: {"image", "caption", "image_id"} plus "references" (all true captions)."""
    if split not in SPLITS:
        raise unknown_name("'shape_captions' split", split, SPLITS)
    size = int(image_size)
    if size < 32:
        raise ConfigError(f"image_size must be at least 32 (three shapes side by side); got {image_size}")
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index)])
    shapes, layout, centres, radii = _scene(rng, size)
    xx, yy = _grid(size)
    grey = rng.uniform(*BACKGROUND)
    tilt = rng.uniform(-20, 20) * ((xx if rng.random() < 0.5 else yy) / size - 0.5)
    image = (grey + tilt)[..., None] + NOISE * rng.standard_normal((size, size, 3))
    for (colour, kind), (cx, cy), r in zip(shapes, centres, radii):
        mask = _mask(kind, cx, cy, r, size)
        image[mask] = np.asarray(COLOURS[colour], np.float64) + rng.normal(0, 6, (int(mask.sum()), 3))
    references = describe(shapes, layout)
    return {
        "image": np.clip(np.rint(image), 0, 255).astype(np.uint8),
        "caption": references[int(rng.integers(len(references)))],
        "image_id": np.int64(index),
        "references": references,
    }


def render_split(seed: int, split: str, num_examples: int, image_size: int = 64) -> dict:
    """Examples 0 .. num_examples - 1 as {"image": (N, S, S, 3), "caption": [str], "image_id": (N,),
    "references": [[str]]} (for notebooks and tests)."""
    examples = [render_example(seed, split, i, image_size) for i in range(int(num_examples))]
    return {
        "image": np.stack([e["image"] for e in examples]),
        "caption": [e["caption"] for e in examples],
        "image_id": np.array([e["image_id"] for e in examples], np.int64),
        "references": [e["references"] for e in examples],
    }


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, image_size=64,
         num_examples=None):
    """The split as a tf.data.Dataset, rendered on demand (data_dir, manual_dir, on_corrupt: unused)."""
    import tensorflow as tf

    if split not in SPLITS:
        raise ConfigError(
            f"shape_captions takes a plain split name {tuple(SPLITS)}, not {split!r}; use num_examples= or .take()"
        )
    size = int(image_size)
    render_example(seed, split, 0, size)  # option errors now, not inside tf.data
    n = DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)

    def render(j):
        example = render_example(seed, split, int(j), size)
        return example["image"], example["caption"], example["image_id"]

    def lookup(i):
        image, caption, image_id = tf.numpy_function(render, [i], (tf.uint8, tf.string, tf.int64), stateful=False)
        return {"image": tf.ensure_shape(image, (size, size, 3)), "caption": tf.ensure_shape(caption, ()),
                "image_id": tf.ensure_shape(image_id, ())}

    return tf.data.Dataset.range(n).map(lookup, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


INFO = DatasetInfo(
    name="shape_captions",
    task="captioning",
    summary="Generated scenes of 1-3 coloured shapes in a row or column with templated captions "
            "(offline stand-in for COCO captions)",
    splits=dict(DEFAULT_NUM_EXAMPLES),
    features={
        "image": "uint8 (S, S, 3) RGB",
        "caption": "string () e.g. 'a red circle above a blue square'; "
                   "zoo.data.standins.shape_captions.render_example(...)['references'] lists all true captions",
        "image_id": "int64 () index of the example in its split",
    },
    is_standin=True,
    stands_in_for="coco_captions",
    source="generated by zoo.data.standins.shape_captions (this repository); "
           "example i is a function of (seed, split, i)",
    options={"image_size": 64, "num_examples": None},
)

register_dataset("shape_captions", INFO, load)
