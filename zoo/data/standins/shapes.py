"""`shapes`: generated scenes for offline segmentation and detection runs.

A stand-in that is its own dataset (is_standin=True, stands_in_for=None): it is never
reported as any paper's data. Each scene is a textured, noisy background with several
shapes, each of one of five kinds (class ids are the mask values):

    0 background   1 circle   2 rectangle (rotated)   3 triangle
    4 line: a straight bar 1-3 px wide       5 dot: a disc of radius 0.6-1.5 px (at most 3x3 px)

Lines and dots are the fine detail that separates segmenters by output stride: a stride-32
net cannot place a 1 px bar, a stride-8 one can. Big shapes are drawn first, then lines,
then dots, so thin structures are rarely hidden. Every shape gets a random colour that
contrasts with the background under it (mean absolute difference of at least 60 of 255).

Each example is a pure function of (seed, split, index): `render_example` seeds a NumPy
Generator with (seed, split_id, index). A split is rendered once per process (cached) and
served through `tf.data.Dataset.range(n)`, so `load(...).skip(n)` costs n array lookups.

Loaded examples (unbatched):
    image        uint8 (S, S, 3) RGB
    segmentation uint8 (S, S): class ids; 255 = ignore (only with ignore_boundary > 0)
    boxes        float32 (MAX_OBJECTS, 4): normalised [ymin, xmin, ymax, xmax] of each shape's
                 visible pixels (pixel edges: a shape covering rows r0..r1 has ymin=r0/S,
                 ymax=(r1+1)/S); rows past num_objects are zero
    classes      int32 (MAX_OBJECTS,): class id per box; -1 past num_objects
    num_objects  int32 (): shapes with at least one visible pixel (hidden ones are dropped)
Padding to MAX_OBJECTS keeps every example the same shape, so `ds.batch(n)` works as is.

Options: image_size (S, default 64), num_examples (default per split: train 2000,
validation 200, test 200), ignore_boundary (default 0: none; w > 0 marks every pixel within
w px, Chebyshev distance, of a pixel of another class as 255, a band about 2w wide along
each boundary, as VOC's void band; a 1-2 px wide line is then mostly ignore).
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

CLASS_NAMES = ("background", "circle", "rectangle", "triangle", "line", "dot")
BACKGROUND, CIRCLE, RECTANGLE, TRIANGLE, LINE, DOT = range(6)
SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 2000, "validation": 200, "test": 200}
IGNORE_LABEL = 255
MAX_BIG, MAX_LINES, MAX_DOTS = 4, 2, 3  # shapes per scene: 1-4 big, 1-2 lines, 1-3 dots
MAX_OBJECTS = MAX_BIG + MAX_LINES + MAX_DOTS
MIN_CONTRAST = 60.0


@functools.lru_cache(maxsize=8)
def _grid(size):
    # Pixel centres, (row, column) order.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    return yy, xx


def _background(rng, size):
    yy, xx = _grid(size)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    a = rng.uniform(0, 2 * np.pi)
    t = ((np.cos(a) * (xx - size / 2) + np.sin(a) * (yy - size / 2)) / size + 0.5).clip(0, 1)
    image = (c0 + (c1 - c0) * t[..., None]).astype(np.float32)
    # Stripes of random frequency and orientation, then pixel noise: texture the net must ignore.
    b = rng.uniform(0, 2 * np.pi)
    freq = rng.uniform(2, 6) * 2 * np.pi / size
    stripes = rng.uniform(8, 25) * np.sin(freq * (np.cos(b) * xx + np.sin(b) * yy) + rng.uniform(0, 2 * np.pi))
    image += stripes[..., None]
    image += 8 * rng.standard_normal(image.shape, dtype=np.float32)
    return image


def _contrasting_colour(rng, under):
    for _ in range(10):
        colour = rng.uniform(0, 255, 3)
        if np.abs(colour - under).mean() >= MIN_CONTRAST:
            return colour
    return np.where(under < 128, 255.0, 0.0)  # the farthest corner of the colour cube


def _circle(rng, size, yy, xx):
    r = rng.uniform(0.07, 0.18) * size
    cy, cx = rng.uniform(r, size - r, 2)
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, (cy, cx)


def _rectangle(rng, size, yy, xx):
    half_h, half_w = rng.uniform(0.06, 0.2, 2) * size
    cy, cx = rng.uniform(0.2 * size, 0.8 * size, 2)
    a = rng.uniform(0, np.pi)
    u = np.cos(a) * (xx - cx) + np.sin(a) * (yy - cy)
    v = -np.sin(a) * (xx - cx) + np.cos(a) * (yy - cy)
    return (np.abs(u) <= half_w) & (np.abs(v) <= half_h), (cy, cx)


def _triangle(rng, size, yy, xx):
    radius = rng.uniform(0.1, 0.22) * size
    cy, cx = rng.uniform(radius, size - radius, 2)
    angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4]) * np.pi / 3 + rng.uniform(-0.4, 0.4, 3)
    py, px = cy + radius * np.sin(angles), cx + radius * np.cos(angles)
    # Inside = on the same side of all three edges (vertices are counter-clockwise by angle).
    inside = np.ones_like(yy, dtype=bool)
    for i in range(3):
        j = (i + 1) % 3
        cross = (px[j] - px[i]) * (yy - py[i]) - (py[j] - py[i]) * (xx - px[i])
        inside &= cross >= 0
    return inside, (cy, cx)


def _line(rng, size, yy, xx):
    width = float(rng.integers(1, 4))  # 1, 2 or 3 px
    length = rng.uniform(0.3, 0.8) * size
    y0, x0 = rng.uniform(0.1 * size, 0.9 * size, 2)
    a = rng.uniform(0, 2 * np.pi)
    dy, dx = np.sin(a), np.cos(a)
    # A bar with flat ends: position t along the segment in [0, length], signed distance s
    # across it in [-width/2, width/2) (half-open, so an axis-aligned bar is exactly `width` px).
    t = (yy - y0) * dy + (xx - x0) * dx
    s = (xx - x0) * dy - (yy - y0) * dx
    mask = (t >= 0) & (t <= length) & (s >= -width / 2) & (s < width / 2)
    return mask, (y0 + length / 2 * dy, x0 + length / 2 * dx)


def _dot(rng, size, yy, xx):
    r = rng.uniform(0.6, 1.5)  # below 1.5: at most 3 pixel centres across
    cy, cx = rng.uniform(2, size - 2, 2)
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    mask[int(cy), int(cx)] = True  # a radius below 0.71 may miss every pixel centre
    return mask, (cy, cx)


def _touching_rectangles(rng, size, yy, xx):
    """Two axis-aligned rectangles (one class) sharing an edge: side by side or one above the other,
    in consecutive pixel columns (rows), so no background pixel separates them."""
    h1, h2, w1, w2 = rng.uniform(0.12, 0.3, 4) * size
    if rng.uniform() < 0.5:  # side by side: swap the roles of rows and columns afterwards
        yy, xx = xx, yy
        h1, h2, w1, w2 = w1, w2, h1, h2
    y0 = rng.uniform(0, size - h1 - h2)
    x0 = rng.uniform(0, size - max(w1, w2))
    x1 = float(np.clip(x0 + rng.uniform(-0.4, 0.4) * min(w1, w2), 0, size - w2))
    first = (yy >= y0) & (yy < y0 + h1) & (xx >= x0) & (xx < x0 + w1)
    second = (yy >= y0 + h1) & (yy < y0 + h1 + h2) & (xx >= x1) & (xx < x1 + w2)
    return first, second


_DRAW = {CIRCLE: _circle, RECTANGLE: _rectangle, TRIANGLE: _triangle, LINE: _line, DOT: _dot}


def _ignore_band(labels, width):
    """Pixels within `width` px (Chebyshev) of a pixel of another class."""
    padded = np.pad(labels, width, mode="edge")
    size_y, size_x = labels.shape
    band = np.zeros(labels.shape, bool)
    for dy in range(2 * width + 1):
        for dx in range(2 * width + 1):
            band |= padded[dy : dy + size_y, dx : dx + size_x] != labels
    return band


def render_example(seed: int, split: str, index: int, image_size: int = 64, *, ignore_boundary: int = 0,
                   touching_pairs: int = 0) -> dict:
    """Example `index` of `split` for `seed`, as NumPy arrays (see the module docstring).

    `touching_pairs` > 0 draws that many pairs of touching rectangles (two instances of one class
    sharing an edge, each its own colour) after the other shapes: the case pixel labelling cannot
    separate (Long thesis ch. 4). 0 (the default) leaves the scenes exactly as before."""
    if split not in SPLITS:
        raise unknown_name("'shapes' split", split, SPLITS)
    size = int(image_size)
    if size < 16:
        raise ValueError(f"image_size must be at least 16; got {size}")
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index)])
    yy, xx = _grid(size)
    image = _background(rng, size)

    kinds = list(rng.choice([CIRCLE, RECTANGLE, TRIANGLE], size=rng.integers(1, MAX_BIG + 1)))
    kinds += [LINE] * int(rng.integers(1, MAX_LINES + 1)) + [DOT] * int(rng.integers(1, MAX_DOTS + 1))
    instances = np.zeros((size, size), np.int32)  # 0 = background, k = k-th drawn shape
    for k, kind in enumerate(kinds, start=1):
        mask, (cy, cx) = _DRAW[kind](rng, size, yy, xx)
        under = image[int(np.clip(cy, 0, size - 1)), int(np.clip(cx, 0, size - 1))]  # a line's middle may be outside
        image[mask] = _contrasting_colour(rng, under) + rng.normal(0, 4, (int(mask.sum()), 3))
        instances[mask] = k
    for _ in range(int(touching_pairs)):
        for mask in _touching_rectangles(rng, size, yy, xx):
            under = image[mask].mean(0) if mask.any() else image[0, 0]
            image[mask] = _contrasting_colour(rng, under) + rng.normal(0, 4, (int(mask.sum()), 3))
            kinds.append(RECTANGLE)
            instances[mask] = len(kinds)

    class_of = np.array([BACKGROUND] + [int(k) for k in kinds], np.uint8)
    segmentation = class_of[instances]
    boxes = np.zeros((MAX_OBJECTS + 2 * int(touching_pairs), 4), np.float32)
    classes = np.full((len(boxes),), -1, np.int32)
    n = 0
    for k, kind in enumerate(kinds, start=1):
        rows, cols = np.nonzero(instances == k)
        if rows.size == 0:
            continue  # hidden under later shapes
        boxes[n] = (rows.min() / size, cols.min() / size, (rows.max() + 1) / size, (cols.max() + 1) / size)
        classes[n] = kind
        n += 1
    if ignore_boundary > 0:
        segmentation = np.where(_ignore_band(segmentation, int(ignore_boundary)), IGNORE_LABEL, segmentation)
    return {
        "image": np.clip(np.rint(image), 0, 255).astype(np.uint8),
        "segmentation": segmentation.astype(np.uint8),
        "boxes": boxes,
        "classes": classes,
        "num_objects": np.int32(n),
        "instances": instances.astype(np.uint8),  # shape k's visible pixels are k (not loaded; shapes_detection)
    }


_KEYS = ("image", "segmentation", "boxes", "classes", "num_objects")
_cache: dict = {}
_cache_lock = threading.Lock()
_CACHE_SPLITS = 8


def render_split(seed, split, num_examples, image_size=64, ignore_boundary=0) -> dict:
    """All examples of a split as stacked arrays, rendered once per process and cached."""
    key = (int(seed), split, int(num_examples), int(image_size), int(ignore_boundary))
    with _cache_lock:
        if key not in _cache:
            examples = [
                render_example(seed, split, i, image_size, ignore_boundary=ignore_boundary) for i in range(key[2])
            ]
            if len(_cache) >= _CACHE_SPLITS:
                _cache.pop(next(iter(_cache)))
            _cache[key] = {k: np.stack([e[k] for e in examples]) for k in _KEYS}
        return _cache[key]


def load(
    split,
    *,
    data_dir=None,
    manual_dir=None,
    seed=0,
    on_corrupt="raise",
    counter=None,
    image_size=64,
    num_examples=None,
    ignore_boundary=0,
):
    """The `shapes` split as a tf.data.Dataset (data_dir, manual_dir, on_corrupt: unused)."""
    import tensorflow as tf

    if split not in SPLITS:
        raise ConfigError(
            f"shapes takes a plain split name {tuple(SPLITS)}, not {split!r}; use num_examples= or .take()"
        )
    n = DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)
    arrays = render_split(seed, split, n, image_size, ignore_boundary)
    dtypes = [tf.as_dtype(arrays[k].dtype) for k in _KEYS]

    def lookup(i):
        values = tf.numpy_function(lambda j: [arrays[k][j] for k in _KEYS], [i], dtypes, stateful=False)
        example = dict(zip(_KEYS, values))
        for k in _KEYS:
            example[k].set_shape(arrays[k].shape[1:])
        return example

    return tf.data.Dataset.range(n).map(lookup)


INFO = DatasetInfo(
    name="shapes",
    task="segmentation",
    summary="Generated scenes of circles, rectangles, triangles, thin lines and dots (offline stand-in)",
    num_classes=len(CLASS_NAMES),
    class_names=CLASS_NAMES,
    splits=dict(DEFAULT_NUM_EXAMPLES),
    features={
        "image": "uint8 (S, S, 3) RGB",
        "segmentation": "uint8 (S, S) class ids, 255 = ignore (with ignore_boundary > 0)",
        "boxes": f"float32 ({MAX_OBJECTS}, 4) normalised [ymin, xmin, ymax, xmax], zero rows past num_objects",
        "classes": f"int32 ({MAX_OBJECTS},) class id per box, -1 past num_objects",
        "num_objects": "int32 () number of visible shapes",
    },
    ignore_label=IGNORE_LABEL,
    is_standin=True,
    stands_in_for=None,
    source="generated by zoo.data.standins.shapes (this repository); "
           "example i of a split is a function of (seed, split, i)",
    options={"image_size": 64, "num_examples": None, "ignore_boundary": 0},
)

register_dataset("shapes", INFO, load)
