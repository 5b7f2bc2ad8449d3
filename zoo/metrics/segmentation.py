"""Semantic segmentation metrics: pixel accuracy, mean accuracy, mean IU, frequency-weighted IU.

Long thesis 2016 §3.4.1 (= Long et al. CVPR 2015, Sec. 5), with n_ij the number of pixels of
class i predicted as class j and t_i = sum_j n_ij:

    pixel accuracy          sum_i n_ii / sum_i t_i
    mean accuracy           mean_i  n_ii / t_i
    mean IU                 mean_i  n_ii / (t_i + sum_j n_ji - n_ii)
    frequency weighted IU   (sum_k t_k)^-1  sum_i t_i n_ii / (t_i + sum_j n_ji - n_ii)

As in the reference score.py: one confusion matrix is accumulated over the whole evaluation set
(dataset-level IU, not a per-image average), only ground-truth labels in [0, C) count (VOC's 255
"void" is ignored), and the means skip classes whose ratio is 0/0 (nanmean), i.e. classes
absent from both the labels and the predictions (IU) or from the labels (accuracy).
Values are fractions in [0, 1], like score.py's.

`stride_upper_bounds` is §3.5's upper bound on these metrics for a prediction stride; run it on
a dataset with `python -m zoo.metrics.segmentation --dataset NAME --split SPLIT`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.metrics.confusion import confusion_counts, confusion_matrix  # noqa: F401  (confusion_matrix: part of this API)

METRIC_NAMES = ("pixel_accuracy", "mean_accuracy", "mean_iu", "frequency_weighted_iu")


def _scores(confusion) -> dict:
    """The four metrics of a (C, C) confusion matrix, as backend scalars (NaN where undefined).

    A (C, C + k) matrix is read the same way: its last k columns count predictions outside the C
    classes (e.g. "void"), wrong for every ground-truth class and in no class's prediction.
    """
    n = ops.cast(confusion, "float32")
    diag = ops.diagonal(n)
    t = ops.sum(n, axis=1)  # pixels of each class in the labels
    union = t + ops.sum(n, axis=0)[: n.shape[0]] - diag
    total = ops.sum(t)

    def nanmean(num, den):  # mean over the classes whose ratio is defined
        defined = den > 0
        ratio = ops.where(defined, num / ops.where(defined, den, 1.0), 0.0)
        return ops.sum(ratio) / ops.sum(ops.cast(defined, "float32"))

    iu = ops.where(union > 0, diag / ops.where(union > 0, union, 1.0), 0.0)
    return {
        "pixel_accuracy": ops.sum(diag) / total,
        "mean_accuracy": nanmean(diag, t),
        "mean_iu": nanmean(diag, union),
        "frequency_weighted_iu": ops.sum(t * iu) / total,
    }


def metrics_from_confusion(confusion) -> dict:
    """{"pixel_accuracy", "mean_accuracy", "mean_iu", "frequency_weighted_iu"} as floats.

    `confusion` is (C, C), or (C, C + k) with k columns of predictions outside the classes.
    """
    return {k: float(v) for k, v in _scores(confusion).items()}


def pixel_accuracy(confusion) -> float:
    return metrics_from_confusion(confusion)["pixel_accuracy"]


def mean_accuracy(confusion) -> float:
    return metrics_from_confusion(confusion)["mean_accuracy"]


def mean_iu(confusion) -> float:
    return metrics_from_confusion(confusion)["mean_iu"]


def frequency_weighted_iu(confusion) -> float:
    return metrics_from_confusion(confusion)["frequency_weighted_iu"]


def downsample_upsample(labels, factor: int) -> np.ndarray:
    """A label map as a prediction at stride `factor` sees it at best (Long thesis §3.5).

    The (H, W) map is cut into `factor` x `factor` blocks from its top-left corner (the last row
    and column of blocks may be partial); every pixel of a block takes the label at the block's
    centre pixel (offset factor // 2, clipped to the map): nearest-neighbour downsampling by
    `factor`, then nearest-neighbour upsampling back to (H, W). The thesis does not name its
    resampling; this is the nearest-neighbour reading.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or int(factor) < 1:
        raise ValueError(f"expected an (H, W) label map and a factor >= 1, got shape {labels.shape}, factor {factor}")
    f = int(factor)
    height, width = labels.shape
    rows = np.minimum(np.arange(0, height, f) + f // 2, height - 1)
    cols = np.minimum(np.arange(0, width, f) + f // 2, width - 1)
    coarse = labels[np.ix_(rows, cols)]
    return np.repeat(np.repeat(coarse, f, axis=0), f, axis=1)[:height, :width]


def stride_upper_bounds(label_maps, factors, num_classes: int) -> dict:
    """{factor: the four metrics of `downsample_upsample(labels, factor)` against `labels`} (thesis §3.5).

    One confusion matrix per factor over all of `label_maps` (any iterable of (H, W) maps, of any
    sizes), as the metrics above. Ground-truth pixels outside [0, C) (VOC's 255) are not counted;
    a block whose centre is such a pixel predicts it, and that prediction is wrong for every
    ground-truth pixel of the block (a column outside the classes; see `metrics_from_confusion`).
    """
    factors = [int(f) for f in factors]
    c = int(num_classes)
    counts = {f: np.zeros(c * (c + 1), np.int64) for f in factors}
    for labels in label_maps:
        labels = np.asarray(labels).astype(np.int64)
        keep = (labels >= 0) & (labels < c)
        for f in factors:
            pred = downsample_upsample(labels, f)
            pred = np.where((pred >= 0) & (pred < c), pred, c)  # void or unknown: the extra column
            counts[f] += np.bincount(labels[keep] * (c + 1) + pred[keep], minlength=c * (c + 1))
    return {f: metrics_from_confusion(counts[f].reshape(c, c + 1)) for f in factors}


@keras.saving.register_keras_serializable(package="zoo")
class ConfusionMatrix(keras.metrics.Metric):
    """Streaming (C, C) confusion matrix for segmentation; `result()` is the matrix.

    `update_state(y_true, y_pred, sample_weight=None)`: labels (N, H, W) or (N, H, W, 1), and
    scores (N, H, W, C) or labels. Ignored: labels outside [0, C) (VOC's 255), and pixels whose
    sample_weight is 0 (any other weight counts the pixel once). The counts are a metric
    variable summed over replicas, so the matrix is the global one under tf.distribute.
    """

    def __init__(self, num_classes: int, name="confusion_matrix", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        # Exact counts; JAX without x64 has no int64 (int32 still counts 2**31 pixels per cell).
        dtype = "int32" if keras.backend.backend() == "jax" else "int64"
        self.confusion = self.add_variable(
            shape=(self.num_classes, self.num_classes), initializer="zeros", dtype=dtype, name="confusion"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.num_classes, sample_weight)
        self.confusion.assign_add(ops.cast(counts, self.confusion.dtype))

    def result(self):
        return ops.convert_to_tensor(self.confusion)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="zoo")
class SegmentationMetrics(ConfusionMatrix):
    """The four metrics of §3.4.1 over everything seen since the last reset.

    `result()` is a dict {"pixel_accuracy", "mean_accuracy", "mean_iu", "frequency_weighted_iu"};
    with `model.compile(metrics=[SegmentationMetrics(21)])` these are the log keys.
    """

    def __init__(self, num_classes: int, name="segmentation_metrics", **kwargs):
        super().__init__(num_classes, name=name, **kwargs)

    def result(self):
        return _scores(self.confusion)


def main(argv=None) -> int:
    """`python -m zoo.metrics.segmentation`: §3.5's upper bounds on a registered dataset's label maps."""
    import argparse
    import sys

    from zoo import data as data_mod
    from zoo.errors import ZooError
    from zoo.config_tables import parse_override

    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.segmentation",
        description="Mean IU of the ground truth downsampled by each factor and upsampled back "
                    "(Long thesis §3.5: 50.9 / 73.3 / 86.1 / 92.8 / 96.4 / 98.5 at 128 / 64 / 32 / 16 / 8 / 4 "
                    "on the VOC2011 val subset seg11valid).")
    parser.add_argument("--dataset", default="voc2011_segmentation")
    parser.add_argument("--split", default="seg11valid")
    parser.add_argument("--factors", type=int, nargs="+", default=[128, 64, 32, 16, 8, 4])
    parser.add_argument("--manual_dir", default=None, help="folder holding the downloaded archives")
    parser.add_argument("--data_dir", default=None, help="TFDS data_dir (default ~/tensorflow_datasets)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a dataset option, e.g. image_size=128 for shapes")
    args = parser.parse_args(argv)
    options = {keys[0]: value for keys, value in map(parse_override, args.option)}
    for key in ("manual_dir", "data_dir"):
        if getattr(args, key):
            options[key] = getattr(args, key)
    try:
        info = data_mod.info(args.dataset)
        dataset = data_mod.load(args.dataset, args.split, **options)
        maps = (example["segmentation"] for example in dataset.as_numpy_iterator())
        bounds = stride_upper_bounds(maps, args.factors, info.num_classes)
    except ZooError as e:
        print(f"python -m zoo.metrics.segmentation: {e}", file=sys.stderr)
        return 2
    print(f"{args.dataset} {args.split}: ground truth downsampled and upsampled back (nearest)")
    print(f"{'factor':>6} {'pixel acc.':>10} {'mean acc.':>10} {'mean IU':>8} {'f.w. IU':>8}")
    for f, m in bounds.items():
        print(f"{f:>6} {100 * m['pixel_accuracy']:>10.1f} {100 * m['mean_accuracy']:>10.1f} "
              f"{100 * m['mean_iu']:>8.1f} {100 * m['frequency_weighted_iu']:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
