"""R-CNN's training windows: warped proposals with their labels (Donahue thesis §3.1.3).

`window_table(examples)` labels every window of a detection split (ground-truth boxes and
proposals, as rcnn_make_window_file.m lists them) by its max-overlap object; `WindowSampler`
draws the fine-tuning minibatches (Caffe's WindowDataLayer); `windows_dataset` serves either

- mode "finetune": an endless stream of minibatches of `batch_size` windows, round(0.25 *
  batch_size) positives (IoU >= 0.5, label = the object's class) then the rest background,
  in that order: train with data.shuffle_buffer = 1 and data.global_batch_size = batch_size so
  each batch is exactly one minibatch (32 + 96 for T-Net's 128);
- mode "svm": one pass over the SVM training windows, ground truth labelled with its class and
  proposals below 0.3 IoU with every object labelled 0 (the others left out; see
  zoo.tasks.detection.svm_window_labels);
- mode "bbox": one pass over the box-regression windows (§3.1.6.5; rcnn_train_bbox_regressor.m):
  the boxes overlapping their max-overlap object by more than 0.6 (ground truth included, as
  the release's cached pool5 features), each with "label" (the object's class) and "regression",
  float32 (10,) = [box x1 y1 x2 y2, object x1 y1 x2 y2, IoU, class] (the staged step's
  `box_ridge` learner and zoo.tasks.detection_boxes read it).

Windows are warped with `zoo.ops.warp` (context p, mean fill) from the RGB image: the "image" of
each window example is float32 RGB (H, W, 3) whose outside pixels are `mean_rgb`, so the model's
preprocessing (BGR minus the mean) makes them 0, as in the release.
"""

from __future__ import annotations

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.data.segmentation.voc import VOC_CLASSES
from zoo.errors import ConfigError
from zoo.registry import CAFFE_BGR_MEAN

FG_THRESHOLD, SVM_NEGATIVE, BBOX_OVERLAP = 0.5, 0.3, 0.6
MODES = ("finetune", "svm", "bbox")


class WindowSampler:
    """R-CNN fine-tuning minibatches (§3.1.3; WindowDataLayer with fg_fraction 0.25): round(fg_fraction *
    batch) foreground windows drawn uniformly from all foreground windows (so over all classes), the
    rest from the background ones, with replacement as the WindowDataLayer (a random index per slot)."""

    def __init__(self, labels, batch_size=128, fg_fraction=0.25, seed=0):
        labels = np.asarray(labels)
        self.fg, self.bg = np.flatnonzero(labels > 0), np.flatnonzero(labels == 0)
        if not self.fg.size or not self.bg.size:
            raise ConfigError(f"R-CNN fine-tuning needs foreground and background windows; got {self.fg.size} "
                              f"foreground and {self.bg.size} background")
        self.n_fg = int(round(fg_fraction * batch_size))
        self.n_bg = batch_size - self.n_fg
        self.rng = np.random.default_rng(seed)

    def __call__(self):
        """Window indices of one minibatch: n_fg foreground then n_bg background."""
        return np.concatenate([self.rng.choice(self.fg, self.n_fg), self.rng.choice(self.bg, self.n_bg)])


def window_table(examples, mode="finetune", with_objects=False):
    """(image index (W,), boxes (W, 4), labels (W,)) of every window of `examples` (detection dicts);
    with_objects: also (each window's max-overlap object box (W, 4), that IoU (W,))."""
    if mode not in MODES:
        raise ConfigError(f"window mode must be one of {MODES}, got {mode!r}")
    index, boxes, labels, objects, overlaps = [], [], [], [], []
    for i, ex in enumerate(examples):
        gt = np.asarray(ex["boxes"], np.float32).reshape(-1, 4)
        cands = np.concatenate([gt, np.asarray(ex["proposals"], np.float32).reshape(-1, 4)])
        is_gt = np.arange(len(cands)) < len(gt)
        if len(gt):
            from zoo.ops.boxes import pairwise_iou  # Keras ops: imported here so listing datasets stays light

            iou = np.asarray(pairwise_iou(cands, gt))
            max_iou, cls, obj = iou.max(1), np.asarray(ex["labels"])[iou.argmax(1)], gt[iou.argmax(1)]
        else:
            max_iou, cls, obj = np.zeros(len(cands)), np.zeros(len(cands), np.int64), np.zeros_like(cands)
        if mode == "finetune":
            lab = np.where(max_iou >= FG_THRESHOLD, cls, 0)
        elif mode == "svm":
            lab = np.where(is_gt, cls, np.where(max_iou < SVM_NEGATIVE, 0, -1))
        else:
            lab = np.where(max_iou > BBOX_OVERLAP, cls, -1)
        keep = lab >= 0
        index.append(np.full(keep.sum(), i)), boxes.append(cands[keep]), labels.append(lab[keep])
        objects.append(obj[keep]), overlaps.append(max_iou[keep])
    table = np.concatenate(index), np.concatenate(boxes), np.concatenate(labels).astype(np.int32)
    if not with_objects:
        return table
    return (*table, np.concatenate(objects).astype(np.float32), np.concatenate(overlaps).astype(np.float32))


def windows_dataset(examples, mode="finetune", *, crop_size=227, padding=16, warp_mode="warp", batch_size=128,
                    fg_fraction=0.25, seed=0, mean_rgb=CAFFE_BGR_MEAN[::-1]):
    """tf.data of window examples {"image": float32 (S, S, 3) RGB, "label": int32} (see the module)."""
    import tensorflow as tf

    from zoo.ops.warp import warp_regions  # Keras ops: imported here so listing datasets stays light

    examples = list(examples)
    image_of, boxes, labels, objects, overlaps = window_table(examples, mode, with_objects=True)
    mean = np.asarray(mean_rgb, np.float32)

    def warp(indices):
        out = np.empty((len(indices), crop_size, crop_size, 3), np.float32)
        for i in np.unique(image_of[indices]):
            rows = np.flatnonzero(image_of[indices] == i)
            image = np.asarray(examples[i]["image"], np.float32) - mean
            out[rows] = np.asarray(warp_regions(image, boxes[indices[rows]], crop_size, padding, warp_mode)) + mean
        return out

    regression = np.concatenate([boxes, objects, overlaps[:, None], labels[:, None]], axis=1).astype(np.float32)

    def generate():
        if mode != "finetune":  # one pass, in order
            for start in range(0, len(labels), batch_size):
                chunk = np.arange(start, min(start + batch_size, len(labels)))
                yield from zip(warp(chunk), labels[chunk], regression[chunk])
            return
        sampler = WindowSampler(labels, batch_size, fg_fraction, seed)
        while True:
            chunk = sampler()
            yield from zip(warp(chunk), labels[chunk], regression[chunk])

    signature = (tf.TensorSpec((crop_size, crop_size, 3), tf.float32), tf.TensorSpec((), tf.int32),
                 tf.TensorSpec((10,), tf.float32))
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return ds.map(lambda x, y, r: {"image": x, "label": y, "regression": r})


def _load_shapes_windows(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None,
                         mode="finetune", num_examples=None, image_size=64, max_proposals=200, crop_size=64,
                         padding=4, warp_mode="warp", batch_size=128, fg_fraction=0.25):
    from zoo.data.standins.shapes_detection import load

    source = load(split, seed=seed, num_examples=num_examples, image_size=image_size, max_proposals=max_proposals)
    return windows_dataset(source.as_numpy_iterator(), mode, crop_size=crop_size, padding=padding,
                           warp_mode=warp_mode, batch_size=batch_size, fg_fraction=fg_fraction, seed=seed)


register_dataset("shapes_detection_windows", DatasetInfo(
    name="shapes_detection_windows", task="classification",
    summary="R-CNN training windows (warped proposals, labels) of the shapes_detection stand-in",
    num_classes=6, class_names=("background", "circle", "rectangle", "triangle", "line", "dot"),
    splits={"train": None, "validation": None, "test": None},
    features={"image": "float32 (S, S, 3) RGB window, mean outside the image", "label": "int32 0..5",
              "regression": "float32 (10,) box, its object, IoU, class (mode bbox)"},
    is_standin=True, stands_in_for=None,
    options={"mode": "finetune", "num_examples": None, "image_size": 64, "max_proposals": 200, "crop_size": 64,
             "padding": 4, "warp_mode": "warp", "batch_size": 128, "fg_fraction": 0.25},
), _load_shapes_windows)


def _load_voc_windows(year):
    def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, mode="finetune",
             proposals_file="", max_proposals=2000, crop_size=227, padding=16, warp_mode="warp", batch_size=128,
             fg_fraction=0.25):
        """The windows of voc<year>_detection's split, whose examples are read into memory once (R-CNN
        fine-tunes on VOC 2007 trainval: 5,011 images, ~10M windows listed, warped on demand)."""
        from zoo.data import load as load_dataset

        kwargs = {k: v for k, v in (("data_dir", data_dir), ("manual_dir", manual_dir)) if v}
        source = load_dataset(f"voc{year}_detection", split, proposals_file=proposals_file,
                              max_proposals=max_proposals, on_corrupt=on_corrupt, **kwargs)
        return windows_dataset(source.as_numpy_iterator(), mode, crop_size=crop_size, padding=padding,
                               warp_mode=warp_mode, batch_size=batch_size, fg_fraction=fg_fraction, seed=seed)

    return load


for _year in ("2007", "2012"):
    register_dataset(f"voc{_year}_detection_windows", DatasetInfo(
        name=f"voc{_year}_detection_windows", task="classification",
        summary=f"R-CNN training windows of PASCAL VOC {_year} (warped proposals with labels)",
        num_classes=21, class_names=VOC_CLASSES, splits={"train": None, "validation": None, "test": None},
        features={"image": "float32 (227, 227, 3) RGB window, mean outside the image", "label": "int32 0..20",
                  "regression": "float32 (10,) box, its object, IoU, class (mode bbox)"},
        options={"mode": "finetune", "proposals_file": "", "max_proposals": 2000, "crop_size": 227, "padding": 16,
                 "warp_mode": "warp", "batch_size": 128, "fg_fraction": 0.25},
        instructions=f"as voc{_year}_detection (TFDS voc/{_year}; R-CNN's selective-search .mat for proposals_file)",
    ), _load_voc_windows(_year))
