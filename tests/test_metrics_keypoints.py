"""PCK (Long thesis §2.2, Tables 2.2 / 2.4) and surface-normal angular errors, worked by hand."""

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.metrics.keypoints import angular_errors, normal_metrics, pck, pck_table


def test_pck_by_hand_averages_per_keypoint_type():
    # two instances, boxes 100x50 and 40x80 -> tolerance at alpha 0.1: 10 and 8 pixels
    boxes = np.array([[0, 0, 100, 50], [10, 10, 50, 90]], float)
    truth = np.array([[[0, 0], [50, 50], [20, 20]],
                      [[0, 0], [30, 30], [np.nan, np.nan]]])
    pred = np.array([[[6, 8], [50, 61], [25, 20]],      # distances 10 (ok), 11 (wrong), 5 (ok)
                     [[0, 9], [30, 38], [0, 0]]])       # 9 (wrong, > 8), 8 (ok), type 3 not visible
    mean, per_type = pck(pred, truth, boxes, 0.1)
    np.testing.assert_allclose(per_type, [0.5, 0.5, 1.0])
    assert mean == pytest.approx(2.0 / 3.0)  # per type, then over types; pooled would be 3/5
    # alpha 0.05: tolerances 5 and 4 -> only the (25, 20) prediction at distance 5
    assert pck(pred, truth, boxes, 0.05)[1].tolist() == [0.0, 0.0, 1.0]
    table = pck_table(pred, truth, boxes)
    assert table[0.1] == pytest.approx(200 / 3) and table[0.05] == pytest.approx(100 / 3) and table[0.025] == 0.0


def test_pck_counts_missing_predictions_as_wrong_and_skips_invisible_truth():
    truth = np.array([[[5.0, 5.0], [9.0, 9.0]]])
    pred = np.array([[[np.nan, np.nan], [9.0, 9.0]]])
    mean, per_type = pck(pred, truth, [[20.0, 20.0]], 0.1, visible=[[True, False]])
    assert per_type[0] == 0.0 and np.isnan(per_type[1]) and mean == 0.0
    with pytest.raises(InputError):
        pck(pred, truth, [[0, 0, 20, 20]], visible=[[False, False]])
    with pytest.raises(InputError):
        pck(pred[..., :1], truth[..., :1], [[0, 0, 20, 20]])


def test_normal_metrics_by_hand():
    truth = np.array([[0, 0, 1]] * 4, float)
    angles = np.radians([0.0, 10.0, 20.0, 60.0])
    pred = np.stack([np.sin(angles), np.zeros(4), 2 * np.cos(angles)], -1)  # unnormalised on purpose
    pred[:, 2] /= 2
    pred *= 3
    np.testing.assert_allclose(angular_errors(pred, truth), [0, 10, 20, 60], atol=1e-9)
    m = normal_metrics(pred, truth)
    assert m["mean"] == pytest.approx(22.5) and m["median"] == pytest.approx(15.0)
    assert (m["within_11.25"], m["within_22.5"], m["within_30"]) == (50.0, 75.0, 75.0)
    # zero ground truth (no depth) is not counted
    m2 = normal_metrics(np.vstack([pred, [[1, 0, 0]]]), np.vstack([truth, [[0, 0, 0]]]))
    assert m2 == m
