"""Weakly supervised multi-label learning with global max pooling (Oquab thesis ch. 4).

Examples (zoo.data: voc2012_multilabel, coco2014_multilabel, the shapes_multilabel stand-in):
"image" uint8 (H, W, 3) RGB, "labels" (K,) 1 present / 0 absent / -1 difficult only (left out
of the loss and the APs, as the VOC devkit does), "boxes" (M, 4) `[x1, y1, x2, y2]` 0-based
inclusive pixels and "box_labels" (M,) 0..K-1 (used only by MASKED POOL and the location metric).

Protocol (the recipe's [step] table, `WeakSupOptions`, read by the task and by the `weak_sup` step):

- §4.3.2: every image is rescaled so that its largest side is `canvas` (500) and zero-padded
  (bottom and right, after the model's preprocessing, so the padding is the mean colour) to
  canvas x canvas; each minibatch is then resized by s ~ U[`scale_range`] = U[0.7, 1.4] (the step).
- Eq. 4.1: the sum over classes of binary logistic losses on the max-pooled scores.
- `variant` "weak_sup" (J/G), "full_images" (H/F: §4.5.2 "no search for object location during
  training/testing is performed and images are presented to the network at a single scale": the
  canvas is the network's window, a 1x1 score map, s = 1, test at one scale) or "masked_pool"
  (I: the max taken over the score-map cells inside the ground-truth boxes of a present class,
  §4.5.2; absent classes keep the global max). How the "ground truth maps of the same size as the
  output" are made is not stated: here a cell belongs to a box when the centre of its window
  (`window` / 2 + `stride` * j, §4.2.1) lies in the box, and a box containing no such centre takes
  the cell whose centre is nearest its own.

Where a map cell "is" in the image: §4.2.1 defines cell j as the window at stride * j; §4.6.1
rescales the maps to the image "by simple interpolation". On small maps the two differ by up to
(window - stride) / 2 pixels at the borders (a 4x4 map of a 320 input: centres 112..208 against
40..280), so the window centre is the default and `window = 0` gives the interpolation.

Test (§4.3.3, [eval] `WeakSupEvalOptions`): the canvas rescaled by s in {0.5, 0.7, 1, 1.4, 2.0,
2.8}, max over positions at each scale, raw scores averaged over scales (classification AP per
class, mAP); the location prediction AP of §4.6.1 (zoo.metrics.localization) from the maximal
response across scales, and the CENTER PRED. baseline on the same scores.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from zoo.config_tables import build_table
from zoo.errors import ConfigError
from zoo.metrics.localization import TOLERANCE, LocationAP, center_points
from zoo.tasks.base import Evaluator, model_input
from zoo.tasks.classification import MultiLabelClassification, MultiLabelEvaluator

VARIANTS = ("weak_sup", "full_images", "masked_pool")
TEST_SCALES = (0.5, 0.7, 1.0, 1.4, 2.0, 2.8)  # §4.3.3
CANVAS = 500  # §4.3.2
TRAIN_SCALES = (0.7, 1.4)  # §4.3.2


@dataclasses.dataclass
class WeakSupOptions:
    """The [step] table of the weak_sup task and step (see the module docstring)."""

    variant: str = "weak_sup"
    canvas: int = CANVAS
    scale_range: list = dataclasses.field(default_factory=lambda: list(TRAIN_SCALES))
    max_objects: int = 64  # ground-truth boxes per image carried to the loss (padded)
    # MASKED POOL places each map cell at its window's centre (`cell_centres`): the network's window and
    # stride in input pixels (224 / 32 for the AlexNet trunk, 221 / 36 for OverFeat); window 0 places it
    # where interpolation to the input puts it.
    window: int = 224
    stride: int = 32

    def check(self):
        if self.variant not in VARIANTS:
            raise ConfigError(f"step.variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        lo_hi = list(self.scale_range)
        if len(lo_hi) != 2 or not 0 < lo_hi[0] <= lo_hi[1]:
            raise ConfigError(f"step.scale_range is [low, high] with 0 < low <= high, got {self.scale_range}")
        if self.canvas < 1 or self.max_objects < 1:
            raise ConfigError("step.canvas and step.max_objects must be >= 1")


@dataclasses.dataclass
class WeakSupEvalOptions:
    """The [eval] table: test scales (§4.3.3), the location tolerance in pixels (§4.6.1) and the
    confidence ranking the location predictions: "max_response" (the maximal response across scales,
    §4.6.1) or "image_score" (the scale-averaged image score, as CENTER PRED. uses)."""

    scales: list = dataclasses.field(default_factory=lambda: list(TEST_SCALES))
    tolerance: float = float(TOLERANCE)
    confidence: str = "max_response"
    max_objects: int = 64
    window: int = 224  # where a cell's response is: its window's centre (see WeakSupOptions)
    stride: int = 32

    def check(self):
        if not self.scales or min(self.scales) <= 0:
            raise ConfigError(f"eval.scales must be positive scale factors, got {self.scales}")
        if self.confidence not in ("max_response", "image_score"):
            raise ConfigError(f"eval.confidence must be 'max_response' or 'image_score', got {self.confidence!r}")
        if self.tolerance < 0 or self.max_objects < 1:
            raise ConfigError("eval.tolerance must be >= 0 and eval.max_objects >= 1")


def step_options(table) -> WeakSupOptions:
    options = build_table(WeakSupOptions, dict(table or {}), ("step",))
    options.check()
    return options


# ----------------------------------------------------------------------------- pure functions


def canvas_ratio(height, width, canvas=CANVAS):
    """The factor r that makes the largest side `canvas` (§4.3.2): canvas / max(H, W)."""
    return canvas / max(height, width)


def scaled_size(size, scale) -> int:
    """The side of a `size` canvas rescaled by `scale` (rounded to the nearest pixel, at least 1)."""
    return max(1, int(round(size * scale)))


def to_canvas(image, canvas):
    """(H, W, C) network input -> (canvas, canvas, C): bilinear resize so the largest side is `canvas`,
    then zero padding at the bottom and right (§4.3.2). TensorFlow, for tf.data."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    ratio = canvas / tf.reduce_max(shape)
    size = tf.maximum(1, tf.cast(tf.round(shape * ratio), tf.int32))
    size = tf.minimum(size, canvas)
    resized = tf.image.resize(tf.cast(image, tf.float32), size, method="bilinear")
    return tf.image.pad_to_bounding_box(resized, 0, 0, canvas, canvas)


def sample_scale(seed, step, low, high):
    """The scale s ~ U[low, high] of minibatch `step` (§4.3.2): stateless, so a resumed run draws the same."""
    seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
    return tf.random.stateless_uniform([], seed=seed_pair, minval=low, maxval=high, dtype=tf.float32)


def rescale_batch(images, scale):
    """A (N, S, S, C) batch resized to round(S * scale) on each side (bilinear)."""
    side = tf.cast(tf.shape(images)[1:3], tf.float32)
    size = tf.maximum(1, tf.cast(tf.round(side * scale), tf.int32))
    return tf.image.resize(images, size, method="bilinear")


def _centres(n, window, stride, side, xp):
    index = xp.arange(n) if xp is np else tf.range(n, dtype=tf.float32)
    if not window:  # the map rescaled to its input by interpolation
        return (index + 0.5) / n
    side = window + stride * (n - 1) if side is None else side
    return (window / 2 + stride * index) / side


def cell_centres(h, w, window=0, stride=0, size=None):
    """Normalised (u, v) of each cell of an h x w map, as fractions of the network input (size (H, W)):
    with `window` and `stride` the centre of the cell's window, (window / 2 + stride * j) / W (§4.2.1:
    "the different locations of the input 224x224 window with a stride of 32 pixels"; without `size`
    the input is taken as window + stride * (w - 1)); with window 0, where the cell lands once the map
    is rescaled to the input by interpolation, ((j + 0.5) / w, (i + 0.5) / h)."""
    size = (None, None) if size is None else size
    return _centres(w, window, stride, size[1], np), _centres(h, window, stride, size[0], np)


def max_response(score_maps, window=0, stride=0, sizes=None):
    """The maximal response across scales of each class (§4.6.1): `score_maps` a list of (h_s, w_s, K)
    maps of one image (inputs of `sizes` (H_s, W_s)) -> (values (K,), points (K, 2) normalised (u, v)
    of the best cell, placed by `cell_centres`)."""
    k = score_maps[0].shape[-1]
    values, points = np.full(k, -np.inf), np.zeros((k, 2))
    for i, m in enumerate(score_maps):
        m = np.asarray(m, np.float64)
        h, w = m.shape[:2]
        flat = m.reshape(h * w, k)
        best = flat.argmax(axis=0)
        better = flat[best, np.arange(k)] > values
        us, vs = cell_centres(h, w, window, stride, None if sizes is None else sizes[i])
        values = np.where(better, flat[best, np.arange(k)], values)
        points[better] = np.stack([us[best % w], vs[best // w]], axis=1)[better]
    return values, points


def box_cell_masks(boxes, box_labels, h, w, num_classes, window=0, stride=0):
    """(N, h, w, K) float masks of MASKED POOL: cells whose centre (`cell_centres`, the input taken as
    window + stride * (w - 1)) lies in a box of class k (boxes
    (N, M, 4) `[x1, y1, x2, y2]` as fractions of the canvas, box edges included; box_labels (N, M)
    with -1 for padding), and for a box that contains no cell centre the cell under its centre."""
    boxes = tf.cast(boxes, tf.float32)
    w_f, h_f = tf.cast(w, tf.float32), tf.cast(h, tf.float32)
    u, v = _centres(w_f, window, stride, None, tf), _centres(h_f, window, stride, None, tf)
    x1, y1, x2, y2 = (boxes[..., i, None] for i in range(4))  # (N, M, 1)
    inside_u = (u[None, None] >= x1) & (u[None, None] <= x2)  # (N, M, w)
    inside_v = (v[None, None] >= y1) & (v[None, None] <= y2)  # (N, M, h)
    # the cell whose centre is nearest the box's centre
    cu = tf.argmin(tf.abs(u[None, None] - (x1 + x2) / 2), axis=-1, output_type=tf.int32)[..., None]
    cv = tf.argmin(tf.abs(v[None, None] - (y1 + y2) / 2), axis=-1, output_type=tf.int32)[..., None]
    centre = tf.one_hot(cv[..., 0], h)[..., :, None] * tf.one_hot(cu[..., 0], w)[..., None, :]  # (N, M, h, w)
    cells = tf.cast(inside_v[..., :, None] & inside_u[..., None, :], tf.float32)  # (N, M, h, w)
    empty = tf.reduce_max(cells, axis=[2, 3], keepdims=True) == 0
    cells = tf.where(empty, centre, cells)
    onehot = tf.one_hot(tf.cast(box_labels, tf.int32), num_classes)  # -1 -> zeros
    return tf.reduce_max(cells[..., None] * onehot[:, :, None, None, :], axis=1)


def masked_global_max(score_map, mask):
    """Max over the cells where `mask` (N, h, w, K) is set -> (N, K); a class with an empty mask takes
    the global max. TensorFlow."""
    score_map = tf.cast(score_map, tf.float32)
    lowest = tf.reduce_min(score_map, axis=[1, 2], keepdims=True)
    masked = tf.reduce_max(tf.where(mask > 0, score_map, lowest), axis=[1, 2])
    has = tf.reduce_max(mask, axis=[1, 2]) > 0
    return tf.where(has, masked, tf.reduce_max(score_map, axis=[1, 2]))


def pad_boxes(boxes, box_labels, max_objects):
    """Boxes (M, 4) and labels (M,) padded (zeros, label -1) or cut to `max_objects`."""
    boxes, box_labels = tf.cast(boxes, tf.float32)[:max_objects], tf.cast(box_labels, tf.int32)[:max_objects]
    n = max_objects - tf.shape(box_labels)[0]
    return tf.pad(boxes, [[0, n], [0, 0]]), tf.pad(box_labels, [[0, n]], constant_values=-1)


# ----------------------------------------------------------------------------- the task


class WeakSup(MultiLabelClassification):
    """Oquab thesis ch. 4: multi-label training from image-level labels with the `weak_sup` step."""

    name = "weak_sup"
    step = "weak_sup"
    EvalOptions = WeakSupEvalOptions
    metrics = ("mean_ap", "ap_*", "location_map", "location_ap_*", "center_location_map", "center_location_ap_*")

    def __init__(self, options: WeakSupOptions | None = None, window: int | None = None):
        self.options = options or WeakSupOptions()
        self.window = window

    def bind(self, recipe, info, load, model=None):
        return type(self)(step_options(recipe.step if recipe is not None else {}), self.window)

    def for_recipe(self, recipe):
        return self.bind(recipe, None, None)

    def canvas(self, contract):
        """The canvas side: the network's window (its input contract's min_size) for FULL IMAGES."""
        if self.options.variant != "full_images":
            return int(self.options.canvas)
        if not contract.min_size:
            raise ConfigError("variant 'full_images' presents each image at the network's window size: the "
                              "model's input contract needs min_size")
        return int(contract.min_size)

    def _canvas_xy(self, contract, ex):
        make_input = model_input(contract)
        canvas = self.canvas(contract)
        image = to_canvas(make_input(ex), canvas)
        image = tf.ensure_shape(image, (canvas, canvas, image.shape[-1]))
        shape = tf.cast(tf.shape(ex["image"])[:2], tf.float32)
        return image, shape

    def example_to_xy(self, contract):
        def to_xy(ex):
            image, shape = self._canvas_xy(contract, ex)
            # boxes as fractions of the canvas (invariant to the minibatch rescaling), edges of the pixels
            side = tf.reduce_max(shape)
            b = tf.cast(tf.reshape(ex["boxes"], (-1, 4)), tf.float32)
            frac = tf.stack([b[:, 0], b[:, 1], b[:, 2] + 1, b[:, 3] + 1], axis=1) / side
            boxes, box_labels = pad_boxes(frac, ex["box_labels"], self.options.max_objects)
            return image, {"labels": tf.cast(ex["labels"], tf.float32), "boxes": boxes, "box_labels": box_labels}

        return to_xy

    def eval_example_to_xy(self, contract):
        max_objects = self.options.max_objects

        def to_xy(ex):
            image, shape = self._canvas_xy(contract, ex)
            boxes, box_labels = pad_boxes(tf.reshape(ex["boxes"], (-1, 4)), ex["box_labels"], max_objects)
            return image, {"labels": tf.cast(ex["labels"], tf.float32), "boxes": boxes, "box_labels": box_labels,
                           "image_size": shape, "input": image}

        return to_xy

    def pooled_scores(self, outputs, targets):
        """The image-level scores the loss sees: global max (the model's), or MASKED POOL's."""
        scores, score_map = outputs
        if self.options.variant != "masked_pool":
            return scores
        shape = tf.shape(score_map)
        masks = box_cell_masks(targets["boxes"], targets["box_labels"], shape[1], shape[2], score_map.shape[-1],
                               self.options.window, self.options.stride)
        present = tf.cast(targets["labels"] > 0, tf.float32)[:, None, None, :]
        # absent (and difficult) classes keep the global max: the hardest negative window, as WEAK SUP
        masks = masks * present + (1.0 - present)
        return masked_global_max(score_map, masks)

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        pooled = self.pooled_scores(outputs, targets)
        return super().replica_loss(pooled, targets["labels"], loss_cfg=loss_cfg,
                                    global_batch_size=global_batch_size)

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        # FULL IMAGES presents images "at a single scale" in training and test (§4.5.2): whatever eval.scales
        # says, its evaluator tests at s = 1 (the runner passes the recipe's task, `for_recipe`)
        options = eval_cfg or WeakSupEvalOptions()
        scales = (1.0,) if self.options.variant == "full_images" else options.scales
        return WeakSupEvaluator(model, scales, options)


class WeakSupEvaluator(Evaluator):
    """Multi-scale test (§4.3.3), classification AP, location AP (§4.6.1) and CENTER PRED. (§4.6.1).

    The runner's forward pass gives the scale-1 outputs; the other scales run the model on the
    canvas (`targets["input"]`) resized by s.
    """

    def __init__(self, model, scales, options: WeakSupEvalOptions):
        self.model, self.scales, self.options = model, tuple(float(s) for s in scales), options
        k = int(model.outputs[0].shape[-1])
        self.classification = MultiLabelEvaluator()
        self.location = LocationAP(k, options.tolerance)
        self.center = LocationAP(k, options.tolerance)
        self._forward = tf.function(lambda x: self.model(x, training=False)[1], reduce_retracing=True)

    def score_maps(self, outputs, canvas):
        """[(N, h_s, w_s, K) per scale], the scale-1 maps taken from `outputs`."""
        maps = []
        for s in self.scales:
            if s == 1.0:
                maps.append(np.asarray(outputs[1], np.float64))
            else:
                maps.append(np.asarray(self._forward(rescale_batch(tf.convert_to_tensor(canvas), s)), np.float64))
        return maps

    def update(self, outputs, targets):
        maps = self.score_maps(outputs, targets["input"])
        # §4.3.3: max over positions at each scale, raw scores averaged over scales
        scores = np.mean([m.max(axis=(1, 2)) for m in maps], axis=0)
        labels = np.asarray(targets["labels"])
        self.classification.update(scores, labels)
        sizes = np.asarray(targets["image_size"], np.float64)
        side = np.shape(targets["input"])[1]
        sizes_in = [(scaled_size(side, s), scaled_size(side, s)) for s in self.scales]
        centres = center_points(sizes)
        for b in range(len(labels)):
            values, uv = max_response([m[b] for m in maps], self.options.window, self.options.stride, sizes_in)
            points = uv * sizes[b].max()  # fractions of the canvas -> original pixels (canvas = r * max(H, W))
            confidence = values if self.options.confidence == "max_response" else scores[b]
            boxes, box_labels = np.asarray(targets["boxes"][b]), np.asarray(targets["box_labels"][b])
            self.location.add_image(confidence, points, labels[b], boxes, box_labels)
            k = len(labels[b])
            self.center.add_image(scores[b], np.repeat(centres[b:b + 1], k, 0), labels[b], boxes, box_labels)

    def result(self) -> dict:
        out = self.classification.result()
        for name, metric in (("location", self.location), ("center_location", self.center)):
            aps = metric.class_aps()
            defined = aps[~np.isnan(aps)]
            out[f"{name}_map"] = float(defined.mean()) if defined.size else float("nan")
            out.update({f"{name}_ap_{c}": float(ap) for c, ap in enumerate(aps)})
        return out


TASKS = (WeakSup(),)
