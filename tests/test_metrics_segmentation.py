"""Segmentation metrics (Long thesis §3.4.1, reference score.py) against references written here.

Oracles: a NumPy transcription of the thesis' formulas and of score.py's histogram (bincount of
n * gt + pred over gt in [0, n), nanmean over classes), a hand-computed example,
sklearn's confusion_matrix, and keras.metrics.MeanIoU for the mean IU.
"""

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from zoo.metrics.segmentation import (
    ConfusionMatrix,
    SegmentationMetrics,
    confusion_matrix,
    frequency_weighted_iu,
    mean_accuracy,
    mean_iu,
    metrics_from_confusion,
    pixel_accuracy,
)

C = 6
REPO = Path(__file__).resolve().parents[1]


def reference_hist(gt, pred, n):
    gt, pred = np.asarray(gt).ravel(), np.asarray(pred).ravel()
    k = (gt >= 0) & (gt < n)
    return np.bincount(n * gt[k].astype(int) + pred[k], minlength=n**2).reshape(n, n)


def reference_scores(hist):
    """n_ij = hist[i, j]; t_i = sum_j n_ij; classes with an undefined ratio are skipped (nanmean)."""
    hist = hist.astype(np.float64)
    n_ii, t, col = np.diag(hist), hist.sum(1), hist.sum(0)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        iu = n_ii / (t + col - n_ii)
        return {
            "pixel_accuracy": n_ii.sum() / t.sum(),
            "mean_accuracy": np.nanmean(n_ii / t),
            "mean_iu": np.nanmean(iu),
            "frequency_weighted_iu": (t[t > 0] * iu[t > 0]).sum() / t.sum(),
        }


def random_batch(rng, shape=(3, 17, 23), n=C, ignore_fraction=0.2, absent=(4,)):
    """Labels with 255, -1 and out-of-range values mixed in, and some classes absent; logits."""
    gt = rng.integers(0, n, shape)
    for cls in absent:
        gt[gt == cls] = 0
    ignore = rng.random(shape) < ignore_fraction
    gt[ignore] = rng.choice([255, -1, n, n + 3], size=int(ignore.sum()))
    logits = rng.normal(size=(*shape, n)).astype("float32")
    logits[..., 0] += 1.0  # correlate predictions with something
    return gt, logits


def test_hand_computed_example():
    # n = [[3, 1], [2, 4]]: t = (4, 6), column sums (5, 5).
    hist = np.array([[3, 1], [2, 4]])
    assert pixel_accuracy(hist) == pytest.approx(7 / 10)
    assert mean_accuracy(hist) == pytest.approx((3 / 4 + 4 / 6) / 2)
    assert mean_iu(hist) == pytest.approx((3 / (4 + 5 - 3) + 4 / (6 + 5 - 4)) / 2)
    assert frequency_weighted_iu(hist) == pytest.approx((4 * 3 / 6 + 6 * 4 / 7) / 10)


def test_confusion_matrix_matches_score_py_and_sklearn():
    rng = np.random.default_rng(0)
    gt, logits = random_batch(rng)
    pred = logits.argmax(-1)
    want = reference_hist(gt, pred, C)
    np.testing.assert_array_equal(confusion_matrix(gt, logits, C), want)  # scores: argmax taken
    np.testing.assert_array_equal(confusion_matrix(gt[..., None], pred, C), want)  # (N, H, W, 1) labels
    keep = (gt >= 0) & (gt < C)
    np.testing.assert_array_equal(want, sk_confusion_matrix(gt[keep], pred[keep], labels=range(C)))
    assert want.sum() == keep.sum() < gt.size  # the ignored pixels really were ignored


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_the_formulas_on_random_data(seed):
    rng = np.random.default_rng(seed)
    hist = rng.integers(0, 1000, (C, C))
    hist[2, :] = 0  # class 2 never in the labels: no accuracy, IU 0 if predicted
    hist[:, 3] = hist[3, :] = 0  # class 3 absent everywhere: skipped by the means
    got, want = metrics_from_confusion(hist), reference_scores(hist)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-6), key


def test_streaming_metric_is_the_dataset_level_histogram():
    rng = np.random.default_rng(1)
    batches = [random_batch(rng, shape=(2, 9 + i, 13)) for i in range(4)]
    metric = SegmentationMetrics(C)
    for gt, logits in batches:
        metric.update_state(gt, logits)
    total = sum(reference_hist(gt, logits.argmax(-1), C) for gt, logits in batches)
    got = {k: float(v) for k, v in metric.result().items()}
    for key, value in reference_scores(total).items():
        assert got[key] == pytest.approx(value, rel=1e-6), key
    # ... which is not the average of per-batch scores (score.py accumulates, §3.4.1)
    per_batch = np.mean([reference_scores(reference_hist(gt, lg.argmax(-1), C))["mean_iu"] for gt, lg in batches])
    assert abs(per_batch - got["mean_iu"]) > 1e-4
    metric.reset_state()
    assert not np.any(np.asarray(metric.confusion))


def test_mean_iu_matches_keras_mean_iou():
    rng = np.random.default_rng(2)
    gt, logits = random_batch(rng, ignore_fraction=0.0)
    gt[rng.random(gt.shape) < 0.1] = 255
    keras_miou = keras.metrics.MeanIoU(num_classes=C, ignore_class=255, sparse_y_pred=False)
    keras_miou.update_state(gt, logits)
    ours = SegmentationMetrics(C)
    ours.update_state(gt, logits)
    assert float(ours.result()["mean_iu"]) == pytest.approx(float(keras_miou.result()), rel=1e-6)


def test_sample_weight_zero_ignores_pixels_or_images():
    rng = np.random.default_rng(3)
    gt, logits = random_batch(rng, ignore_fraction=0.0)
    pixel_mask = rng.random(gt.shape) < 0.5
    metric = ConfusionMatrix(C)
    metric.update_state(gt, logits, sample_weight=pixel_mask.astype("float32"))
    masked = np.where(pixel_mask, gt, 255)
    np.testing.assert_array_equal(np.asarray(metric.result()), reference_hist(masked, logits.argmax(-1), C))
    metric.reset_state()
    metric.update_state(gt, logits, sample_weight=np.array([1.0, 0.0, 1.0]))  # one weight per image
    np.testing.assert_array_equal(np.asarray(metric.result()), reference_hist(gt[[0, 2]], logits[[0, 2]].argmax(-1), C))


def test_compiled_evaluate_logs_the_four_metrics_and_config_round_trips():
    rng = np.random.default_rng(4)
    gt, _ = random_batch(rng, shape=(4, 8, 8), ignore_fraction=0.1)
    gt[(gt < 0) | (gt >= C)] = 255  # the loss accepts only 255 as "ignore"
    x = rng.normal(size=(4, 8, 8, 3)).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(C, 1)])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
                  metrics=[SegmentationMetrics(C)])
    logs = model.evaluate(x, gt, batch_size=1, return_dict=True, verbose=0)
    want = reference_scores(reference_hist(gt, model.predict(x, verbose=0).argmax(-1), C))
    for key, value in want.items():
        assert logs[key] == pytest.approx(value, rel=1e-5), key
    again = SegmentationMetrics.from_config(SegmentationMetrics(C).get_config())
    assert again.num_classes == C and again.name == "segmentation_metrics"


MIRRORED = """
import os, sys
import numpy as np
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from zoo.metrics.segmentation import ConfusionMatrix

rng = np.random.default_rng(0)
gt = rng.integers(0, 5, (8, 6, 7)); gt[rng.random(gt.shape) < 0.2] = 255
logits = rng.normal(size=(8, 6, 7, 5)).astype("float32")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
with strategy.scope():
    metric = ConfusionMatrix(5)
data = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((gt, logits)).batch(4))

@tf.function
def step(batch):
    strategy.run(metric.update_state, args=batch)

for batch in data:
    step(batch)
single = ConfusionMatrix(5)
single.update_state(gt, logits)
np.testing.assert_array_equal(np.asarray(metric.result()), np.asarray(single.result()))
print("ok", int(np.asarray(metric.result()).sum()))
"""


def test_confusion_is_summed_over_replicas_under_mirrored_strategy(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(textwrap.dedent(MIRRORED))
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "PATH": "/usr/bin:/bin"}
    p = subprocess.run([sys.executable, str(script), str(REPO)], check=False, capture_output=True, text=True,
                       timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.startswith("ok ")
