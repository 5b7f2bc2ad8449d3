"""R-CNN segmentation (Donahue thesis §3.2; zoo.tasks.rcnn_segmentation): full / fg / full+fg region
windows and features, region qualities, per-class SVRs against scikit-learn's own fit, pasting, VOC's
mean IoU against a NumPy transcription, the CPMC .mat reader and the (named) offline region generator."""

import numpy as np
import pytest
import scipy.io

from zoo.errors import ConfigError
from zoo.tasks.rcnn_segmentation import (fit_region_svrs, offline_regions, paste_regions, read_cpmc_masks,
                                         region_features, region_qualities, region_windows, segmentation_accuracy)


def _scene():
    label = np.zeros((40, 50), np.int64)
    label[5:25, 5:20] = 1
    label[20:35, 30:45] = 2
    label[0, 0] = 255
    masks = np.zeros((3, 40, 50), bool)
    masks[0, 5:25, 5:20] = True  # exactly class 1
    masks[1, 20:35, 30:45] = True  # exactly class 2
    masks[2, 5:35, 5:45] = True  # a big box over both
    return label, masks


def test_fg_windows_are_full_windows_with_the_background_at_the_mean():
    rng = np.random.default_rng(0)
    image = rng.normal(0, 50, (40, 50, 3)).astype(np.float32)
    _, masks = _scene()
    tri = np.tril(np.ones((40, 50), bool))  # a non-rectangular region
    full, fg = region_windows(image, np.stack([masks[0], tri]), crop_size=32, padding=4)
    assert full.shape == fg.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(fg[0][6:26, 6:26], full[0][6:26, 6:26])  # a box-shaped mask keeps its inside
    assert np.all(fg[0][:2] == 0) and np.any(full[0][:2] != 0)  # the context is masked out
    outside = (fg[1] == 0).all(-1)
    assert outside[6, 20] and not outside[20, 6]  # right of the diagonal (x > y): masked; left: kept
    feats = region_features(lambda w: w.reshape(len(w), -1)[:, :5], image, masks[:2], "full+fg", 32, 4)
    full, fg = region_windows(image, masks[:2], crop_size=32, padding=4)
    np.testing.assert_allclose(feats, np.concatenate([full.reshape(2, -1)[:, :5], fg.reshape(2, -1)[:, :5]], 1),
                               rtol=1e-6)
    with pytest.raises(ConfigError):
        region_features(lambda w: w, image, masks[:1], "bg")


def test_qualities_svrs_pasting_and_accuracy():
    label, masks = _scene()
    q = region_qualities(masks, label, 3)
    assert q[0, 1] == 1.0 and q[1, 2] == 1.0 and q[0, 2] == 0.0
    assert q[2, 1] == pytest.approx(300 / 1200)  # the box holds all 300 class-1 pixels; union = the box
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 6))
    y = np.stack([x @ rng.normal(size=6) * 0.1 for _ in range(3)], 1)
    kernel, bias = fit_region_svrs(x, y, C=10.0, epsilon=0.01)
    from sklearn.svm import SVR

    oracle = SVR(kernel="linear", C=10.0, epsilon=0.01).fit(x, y[:, 2])
    np.testing.assert_allclose(x @ kernel[:, 2] + bias[2], oracle.predict(x), rtol=1e-6, atol=1e-8)
    assert np.corrcoef(x @ kernel[:, 0] + bias[0], y[:, 0])[0, 1] > 0.99
    pred = paste_regions(masks, q, threshold=0.5)
    np.testing.assert_array_equal(pred[label != 255], label[label != 255])  # the exact regions win over the box
    # VOC's accuracy: mean over classes of IoU, against NumPy
    noisy = pred.copy()
    noisy[5:10, 5:20] = 2
    keep = label != 255
    ious = [np.sum((noisy == c) & (label == c) & keep) / np.sum(((noisy == c) | (label == c)) & keep) for c in range(3)]
    assert segmentation_accuracy([label], [noisy], num_classes=3) == pytest.approx(np.mean(ious))


def test_cpmc_reader_and_offline_regions(tmp_path):
    _, masks = _scene()
    scipy.io.savemat(tmp_path / "cpmc.mat", {"masks": np.moveaxis(masks, 0, -1)})
    np.testing.assert_array_equal(read_cpmc_masks(tmp_path / "cpmc.mat"), masks)
    image = np.zeros((40, 50, 3), np.uint8)
    image[10:30, 10:30] = 200
    regions = offline_regions(image, max_regions=10)
    assert regions.dtype == bool and regions.shape[1:] == (40, 50) and 1 <= len(regions) <= 10
    square = image[..., 0] == 200
    assert any((r & square).sum() / (r | square).sum() > 0.75 for r in regions)  # a union of two superpixels
