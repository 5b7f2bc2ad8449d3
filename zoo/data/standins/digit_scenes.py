"""`digit_scenes`: the `digits` glyphs as centred single objects or cluttered multi-object scenes, in two
appearance domains (offline stand-in for the transfer experiments of Donahue thesis ch. 2 and Oquab
thesis ch. 3; never reported as ImageNet, Caltech-101, Office or PASCAL VOC).

The 8x8 glyphs of scikit-learn's digits (`zoo.data.standins.digits`: its train split for the source
scenes, its test split for the target scenes, so no glyph is shared) are upscaled bilinearly and drawn
as an alpha mask of their ink:

- `centred` (the source task, ImageNet's role): one digit in the middle of the picture, jittered by a
  few pixels, on the "clean" domain;
- `cluttered` (the target tasks, Caltech / VOC's role): 1 to `max_objects` digits at random positions
  (overlapping at most a little) among clutter strokes (random line segments the colour of the digits);
- domains: "clean" (light ink on a dark, noisy background) and "shifted" (dark coloured ink on a bright
  colour gradient with a stripe texture, the image blurred): the second domain of the adaptation
  protocol (Office's amazon -> webcam role).

Examples (`render_example`): image uint8 (S, S, 3) RGB; label int64 (the first digit's class, the only
one for single-object pictures: index mod 10, so every split is class-balanced); labels float32 (10,)
multi-hot; boxes float32 (M, 4) (x0, y0, x1, y1) in pixels with x1 / y1 exclusive (zoo.ops.patches'
convention); box_labels int32 (M,) 0-9. Each example is a pure function of (seed, split, index, options). Superclasses for the t-SNE plots: SUPERCLASSES.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

CLASS_NAMES = tuple(str(d) for d in range(10))
# Superclasses by stroke shape (the stand-in's analogue of DeCAF Fig. 2.1's indoor / outdoor ...): digits
# with closed loops, straight strokes only, open curves.
SUPERCLASSES = {"loops": (0, 6, 8, 9), "straight": (1, 4, 7), "curves": (2, 3, 5)}
SUPERCLASS_OF = np.array([next(i for i, v in enumerate(SUPERCLASSES.values()) if d in v) for d in range(10)])
DOMAINS = ("clean", "shifted")
LAYOUTS = ("centred", "cluttered")
SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 1000, "validation": 200, "test": 200}


@functools.lru_cache(maxsize=2)
def _glyphs(source: bool):
    from zoo.data.standins import digits

    split = digits.arrays()["train" if source else "test"]
    return split["image"][..., 0].astype(np.float32) / 255.0, split["label"].astype(np.int64)


def _background(rng, size, domain):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if domain == "clean":
        base = rng.uniform(10, 50, 3) + rng.normal(0, 8, (size, size, 3))
        return base
    a, b = rng.uniform(150, 240, 3), rng.uniform(150, 240, 3)
    t = (np.cos(rng.uniform(0, np.pi)) * xx + np.sin(rng.uniform(0, np.pi)) * yy)[..., None]
    stripes = 20 * np.sin(2 * np.pi * (xx * rng.uniform(3, 8) + yy * rng.uniform(3, 8)))[..., None]
    return a + (b - a) * t + stripes + rng.normal(0, 6, (size, size, 3))


def _ink(rng, domain):
    if domain == "clean":
        return rng.uniform(200, 255, 3)
    colour = rng.uniform(0, 90, 3)
    colour[rng.integers(3)] = rng.uniform(90, 140)  # a dark, tinted ink
    return colour


def _glyph_alpha(glyph, side):
    alpha = ndimage.zoom(glyph, side / glyph.shape[0], order=1)[:side, :side]
    return np.clip(alpha, 0.0, 1.0)


def _stroke(rng, size, width):
    """An alpha mask of a random line segment (clutter)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    p, q = rng.uniform(0, size, 2), rng.uniform(0, size, 2)
    d = q - p
    t = np.clip(((xx - p[0]) * d[0] + (yy - p[1]) * d[1]) / max(float(d @ d), 1e-6), 0, 1)
    dist = np.hypot(xx - p[0] - t * d[0], yy - p[1] - t * d[1])
    return np.clip(width - dist, 0, 1)


def _place(rng, size, side, taken, tries=50):
    """(x0, y0) of a side x side box that overlaps the boxes in `taken` by at most 10% of its area."""
    for _ in range(tries):
        x0, y0 = rng.integers(0, size - side + 1, 2)
        box = np.array([x0, y0, x0 + side, y0 + side], np.float32)
        if all(_overlap(box, t) <= 0.1 * side * side for t in taken):
            return box
    return None


def _overlap(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def render_example(seed, split, index, *, size=96, layout="centred", domain="clean", digit_size=None,
                   max_objects=3, clutter=4) -> dict:
    """Example `index` of `split` (see the module docstring). `digit_size`: the digits' side in pixels
    (default 0.45 size centred, 0.3 size cluttered); `clutter`: clutter strokes in cluttered pictures."""
    if split not in SPLITS:
        raise unknown_name("'digit_scenes' split", split, SPLITS)
    if layout not in LAYOUTS:
        raise unknown_name("layout", layout, LAYOUTS)
    if domain not in DOMAINS:
        raise unknown_name("domain", domain, DOMAINS)
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index), LAYOUTS.index(layout),
                                 DOMAINS.index(domain), 11])
    glyphs, classes = _glyphs(layout == "centred")
    side = int(digit_size or round(size * (0.45 if layout == "centred" else 0.3)))
    if not 8 <= side <= size:
        raise ConfigError(f"digit_size must be in [8, size={size}], got {side}")
    image = _background(rng, size, domain)
    ink = _ink(rng, domain)
    if layout == "cluttered":
        for _ in range(int(clutter)):
            alpha = _stroke(rng, size, rng.uniform(1.0, 2.0))[..., None] * rng.uniform(0.5, 1.0)
            image = image * (1 - alpha) + ink * alpha
    boxes, box_labels = [], []
    count = 1 if layout == "centred" else int(rng.integers(1, max_objects + 1))
    for n in range(count):
        if layout == "centred":
            x0, y0 = (size - side) // 2 + rng.integers(-3, 4, 2)
            box = np.array([x0, y0, x0 + side, y0 + side], np.float32)
        else:
            box = _place(rng, size, side, boxes)
            if box is None:
                break
        # the first digit's class is index mod 10 (balanced splits), the others' random
        g = int(rng.choice(np.flatnonzero(classes == index % 10))) if n == 0 else int(rng.integers(len(glyphs)))
        alpha = np.zeros((size, size, 1), np.float32)
        x0, y0 = int(box[0]), int(box[1])
        alpha[y0:y0 + side, x0:x0 + side, 0] = _glyph_alpha(glyphs[g], side)
        image = image * (1 - alpha) + ink * alpha
        boxes.append(box)
        box_labels.append(int(classes[g]))
    if domain == "shifted":
        image = ndimage.gaussian_filter(image, sigma=(1.0, 1.0, 0))
    labels = np.zeros(len(CLASS_NAMES), np.float32)
    labels[box_labels] = 1.0
    return {"image": np.clip(np.rint(image), 0, 255).astype(np.uint8), "label": np.int64(box_labels[0]),
            "labels": labels, "boxes": np.asarray(boxes, np.float32).reshape(-1, 4),
            "box_labels": np.asarray(box_labels, np.int32)}


@functools.lru_cache(maxsize=16)
def render_split(seed, split, num_examples, **options) -> dict:
    """{"image" (N, S, S, 3), "label" (N,), "labels" (N, 10), "boxes" [N x (M, 4)], "box_labels" [N x (M,)]}."""
    examples = [render_example(seed, split, i, **options) for i in range(int(num_examples))]
    out = {k: np.stack([e[k] for e in examples]) for k in ("image", "label", "labels")}
    out.update({k: [e[k] for e in examples] for k in ("boxes", "box_labels")})
    return out


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, num_examples=None,
         size=96, layout="centred", domain="clean", digit_size=None, max_objects=3, clutter=4):
    """The split as a tf.data.Dataset of {"image", "label"} (data_dir, manual_dir, on_corrupt: unused)."""
    import tensorflow as tf

    n = DEFAULT_NUM_EXAMPLES.get(split, 0) if num_examples is None else int(num_examples)
    data = render_split(int(seed), split, n, size=int(size), layout=layout, domain=domain, digit_size=digit_size,
                        max_objects=int(max_objects), clutter=int(clutter))
    return tf.data.Dataset.from_tensor_slices({"image": data["image"], "label": data["label"]})


register_dataset("digit_scenes", DatasetInfo(
    name="digit_scenes", task="classification",
    summary="scikit-learn digits drawn centred or in cluttered scenes, in a clean or a shifted domain (offline "
            "stand-in)",
    num_classes=len(CLASS_NAMES), class_names=CLASS_NAMES, splits=dict(DEFAULT_NUM_EXAMPLES),
    features={"image": "uint8 (S, S, 3) RGB", "label": "int64 () 0-9, the first digit's class"},
    is_standin=True, stands_in_for=None,
    source="generated by zoo.data.standins.digit_scenes from scikit-learn's bundled digits; example i is a "
           "function of (seed, split, i, options)",
    options={"num_examples": None, "size": 96, "layout": "centred", "domain": "clean", "digit_size": None,
             "max_objects": 3, "clutter": 4},
), load)
