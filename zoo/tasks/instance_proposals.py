"""Class-agnostic object segments from region networks (Long thesis ch. 4): targets, loss, evaluation.

Target: the image's instance map (H, W) int32, 0 outside every segment and 1..M for the M
segments, made from the dataset's `instance_masks` (M, H, W) (category labels are ignored,
§4.4.3). Model outputs (zoo.models.region): per pathway the coarse mask logits (B, h, w, k*k)
on the stride-s grid, then per pathway a score logit (B, h, w, 1).

Loss (§4.3.6, §4.4.1), per pathway and region (y, x) with centre pixel g = (y s + s/2, x s + s/2):
- the region's ground truth is the segment containing g, if that segment lies entirely inside
  the region's window (the pixel rows [(y - k//2) s, (y + k - k//2) s), likewise columns);
  regions whose g lies in no segment, or whose segment does not fit, are left out of the mask
  loss ("points whose g is in no segment are excluded", following DeepMask);
- the coarse k x k logits are upsampled bilinearly to the window's k s x k s pixels (gradients
  flow through the upsampling) and compared with the full-resolution ground truth: positive
  where the pixel is in g's segment, negative elsewhere in the window (pixels of other segments
  and of no segment, as DeepMask's masks; the thesis names only other segments);
- binary logistic loss, averaged over each window's pixels and over the loss's regions of all
  pathways in the global batch ("averaging loss over all predicted regions", §4.4.4);
- the scoring pathway (§4.4.5, architecture not stated): a logistic loss per region, positive
  when the region has a ground truth as above, averaged over all regions; added with weight 1
  (not stated).

Evaluation: each region's coarse mask thresholded at probability `mask_threshold`, grid NMS
before upsampling (§4.3.5, zoo.ops.grid_nms) ranked by score, then the kept regions upsampled
bilinearly, thresholded and compared with the ground-truth segments: R@0.5, R@0.7, ABO, AR and
AR@N (zoo.metrics.proposals). `nms_threshold = 1.0` keeps every region (Table 4.2's "all
regions").
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.metrics.proposals import ProposalRecall
from zoo.ops.grid_nms import RegionGrid, clip_to_image, grid_nms
from zoo.ops.pairwise import bilinear_matrix, upsample_regions
from zoo.tasks.base import Evaluator, Task, all_reduce_sum, model_input


def instance_map(masks):
    """(H, W) int32: 0 outside every mask, m + 1 inside mask m of (M, H, W) bool masks (a later
    mask wins where masks overlap)."""
    masks = tf.cast(masks, tf.int32)
    ids = tf.range(1, tf.shape(masks)[0] + 1, dtype=tf.int32)[:, None, None]
    background = tf.zeros(tf.concat([[1], tf.shape(masks)[1:]], 0), tf.int32)
    return tf.reduce_max(tf.concat([background, masks * ids], axis=0), axis=0)


def _pathways(outputs, height, strides=None):
    """[(masks, scores, stride, k)] from the model's outputs: masks of each pathway, then scores.
    `strides`: the pathways' strides (from the model's output names); inferred from the static
    height otherwise."""
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if len(outputs) % 2 or not outputs:
        raise ConfigError("a region network returns each pathway's masks, then each pathway's scores")
    n = len(outputs) // 2
    out = []
    for masks, scores in zip(outputs[:n], outputs[n:]):
        k = math.isqrt(int(masks.shape[-1]))
        if k * k != masks.shape[-1] or scores.shape[-1] != 1:
            raise ConfigError(f"a region pathway's masks have k*k channels and its scores 1; "
                              f"got {masks.shape}, {scores.shape}")
        if strides is not None:
            stride = strides[len(out)]
        elif height is None or masks.shape[1] is None:
            raise ConfigError("a region network's pathway strides are unknown for images of free size; "
                              "bind the task to the model")
        else:  # the grid is ceil(H / s) for the power-of-two strides of Table 4.1
            stride = 2 ** max(0, math.ceil(math.log2(height / int(masks.shape[1]) - 1e-9)))
        out.append((masks, scores, stride, k))
    return out


def model_strides(model):
    """The pathways' strides from a region network's output names (`masks_<layer>`, Table 4.1)."""
    from zoo.models.region.cards import TABLE_4_1

    layers = [name[len("masks_"):] for name in model.output_names if name.startswith("masks_")]
    if not layers or any(layer not in TABLE_4_1 for layer in layers):
        return None
    return [TABLE_4_1[layer][0] for layer in layers]


def region_targets(instances, stride, k):
    """For a (B, H, W) instance map and a pathway (stride s, k x k masks): the (B, h, w, (k s)^2)
    window targets (bool, in g's segment), and the (B, h, w) bool of regions with a ground truth."""
    instances = tf.cast(instances, tf.int32)
    shape = tf.shape(instances)
    h, w = -(-shape[1] // stride), -(-shape[2] // stride)
    c, win = k // 2, k * stride
    inst = tf.pad(instances, [[0, 0], [0, h * stride - shape[1]], [0, w * stride - shape[2]]])
    centre = inst[:, stride // 2::stride, stride // 2::stride]
    padded = tf.pad(inst, [[0, 0], [c * stride, (k - c) * stride], [c * stride, (k - c) * stride]])
    patches = tf.image.extract_patches(padded[..., None], [1, win, win, 1], [1, stride, stride, 1], [1, 1, 1, 1],
                                       "VALID")
    patches = patches[:, :h, :w]
    target = tf.equal(patches, centre[..., None])
    # segment areas per image: unsorted segment sum over (image, id)
    n_ids = tf.reduce_max(inst) + 1
    offsets = tf.range(shape[0])[:, None, None] * n_ids
    areas = tf.math.unsorted_segment_sum(tf.ones_like(inst), inst + offsets, shape[0] * n_ids)
    inside = tf.reduce_sum(tf.cast(target, tf.int32), axis=-1)
    fits = tf.equal(inside, tf.gather(areas, centre + offsets))
    return target, (centre > 0) & fits


def region_loss(outputs, instances, strides=None):
    """The mask loss plus the score loss of the module docstring, this replica's share."""
    instances = tf.cast(instances, tf.int32)
    mask_sum, mask_count, score_sum, score_count = 0.0, 0.0, 0.0, 0.0
    for masks, scores, stride, k in _pathways(outputs, instances.shape[1], strides):
        target, valid = region_targets(instances, stride, k)
        up = upsample_regions(tf.cast(masks, tf.float32), k, stride)
        up = tf.reshape(up, tf.concat([tf.shape(up)[:3], [-1]], 0))
        per_region = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.cast(target, tf.float32), up), -1)
        valid_f = tf.cast(valid, tf.float32)
        mask_sum += tf.reduce_sum(per_region * valid_f)
        mask_count += tf.reduce_sum(valid_f)
        ce = tf.nn.sigmoid_cross_entropy_with_logits(valid_f, tf.cast(scores[..., 0], tf.float32))
        score_sum += tf.reduce_sum(ce)
        score_count += tf.cast(tf.size(ce), tf.float32)
    mask_count, score_count = all_reduce_sum(mask_count), all_reduce_sum(score_count)
    return mask_sum / tf.maximum(mask_count, 1.0) + score_sum / tf.maximum(score_count, 1.0)


@dataclasses.dataclass
class ProposalEvalOptions:
    """The [eval] table of region proposals; the thesis states no NMS or mask threshold."""

    nms_threshold: float = 0.5
    mask_threshold: float = 0.5
    max_proposals: int = 1000
    limits: tuple = (10, 100, 1000)
    ar: str = "integral"

    def check(self):
        if not 0.0 < self.mask_threshold < 1.0:
            raise ConfigError(f"eval.mask_threshold is a probability in (0, 1); got {self.mask_threshold}")
        if self.max_proposals < 1:
            raise ConfigError(f"eval.max_proposals must be positive; got {self.max_proposals}")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def decode_regions(pathways, height, width, options):
    """One image: NumPy [(coarse logits (h, w, k*k), score logits (h, w), stride)] -> (masks (N, H, W)
    bool, scores (N,)) of the regions kept by grid NMS, best first."""
    logit = math.log(options.mask_threshold / (1.0 - options.mask_threshold))
    grids = [RegionGrid(m.reshape(*m.shape[:2], int(math.isqrt(m.shape[-1])), -1) > logit, s, stride)
             for m, s, stride in pathways]
    grids = clip_to_image(grids, height, width)
    kept = grid_nms(grids, options.nms_threshold, max_output=options.max_proposals)
    out = np.zeros((len(kept), height, width), bool)
    for n, (p, y, x) in enumerate(kept):
        g, (coarse, _, stride) = grids[p], pathways[p]
        u = bilinear_matrix(g.k, stride)
        full = u @ coarse[y, x].reshape(g.k, g.k) @ u.T > logit
        top, left = g.origin(y, x)
        y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + full.shape[0], height), min(left + full.shape[1], width)
        if y0 < y1 and x0 < x1:
            out[n, y0:y1, x0:x1] = full[y0 - top:y1 - top, x0 - left:x1 - left]
    scores = np.asarray([grids[p].scores[y, x] for p, y, x in kept])
    return out, scores


class ProposalEvaluator(Evaluator):
    def __init__(self, options, strides=None):
        self.options, self.strides = options, strides
        self.metric = ProposalRecall(limits=options.limits, ar=options.ar)

    def update(self, outputs, targets):
        targets = np.asarray(targets)
        parts = _pathways([np.asarray(o) for o in outputs], targets.shape[1], self.strides)
        for b in range(targets.shape[0]):
            pathways = [(m[b], _sigmoid(s[b, ..., 0]), stride) for m, s, stride, _ in parts]
            masks, scores = decode_regions(pathways, targets.shape[1], targets.shape[2], self.options)
            ids = [i for i in np.unique(targets[b]) if i > 0]
            self.metric.update(np.asarray([targets[b] == i for i in ids], bool).reshape(-1, *targets.shape[1:3]),
                               masks, scores)

    def result(self):
        return self.metric.result()


class InstanceProposals(Task):
    """Region networks' training and evaluation on instance segments (module docstring)."""

    name = "instance_proposals"
    EvalOptions = ProposalEvalOptions
    metrics = ("R@*", "ABO", "AR", "AR@*", "num_regions")

    strides = None

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), instance_map(ex["instance_masks"]))

    def bind(self, recipe, info, load, model=None):
        if model is None:
            return self
        bound = InstanceProposals()
        bound.strides = model_strides(model)
        return bound

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        return region_loss(outputs, targets, self.strides)

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return ProposalEvaluator(eval_cfg or ProposalEvalOptions(), model_strides(model) if model is not None else None)


TASKS = (InstanceProposals(),)
