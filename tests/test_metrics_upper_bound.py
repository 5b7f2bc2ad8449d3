"""Long thesis §3.5: upper bounds on the segmentation metrics from the prediction stride.

Oracles: two label maps worked by hand (one with a partial block and a void pixel), np.kron for
nearest-neighbour resampling where the blocks tile the map, and the thesis' observation that the
bound rises as the factor falls.
"""

import numpy as np
import pytest

from zoo.data.standins import shapes
from zoo.metrics.segmentation import downsample_upsample, main, metrics_from_confusion, stride_upper_bounds


def test_hand_computed_case():
    labels = np.array([[0, 0, 1, 1],
                       [0, 1, 1, 1],
                       [0, 0, 0, 0],
                       [0, 0, 0, 1]])
    # 2x2 blocks take their centre pixels (1, 1), (1, 3), (3, 1), (3, 3): labels 1, 1, 0, 1.
    expected = np.array([[1, 1, 1, 1],
                         [1, 1, 1, 1],
                         [0, 0, 1, 1],
                         [0, 0, 1, 1]])
    np.testing.assert_array_equal(downsample_upsample(labels, 2), expected)
    # Confusion [[4, 6], [0, 6]]: IU 4/10 and 6/12; accuracies 4/10 and 6/6.
    m = stride_upper_bounds([labels], [2], 2)[2]
    assert m == pytest.approx({"pixel_accuracy": 10 / 16, "mean_accuracy": 0.7, "mean_iu": 0.45,
                               "frequency_weighted_iu": (10 * 0.4 + 6 * 0.5) / 16})


def test_a_void_centre_predicts_void_and_is_wrong():
    labels = np.array([[0, 0, 1],
                       [0, 255, 1],
                       [1, 1, 1]])
    # Blocks rows/cols {0, 1} and {2} (partial): centres (1, 1) = void, (1, 2), (2, 1), (2, 2) = 1.
    np.testing.assert_array_equal(downsample_upsample(labels, 2), [[255, 255, 1], [255, 255, 1], [1, 1, 1]])
    # The three class-0 pixels are predicted void: counted, and wrong (dropping them would give mean IU 1).
    m = stride_upper_bounds([labels], [2], 2)[2]
    assert m == pytest.approx({"pixel_accuracy": 5 / 8, "mean_accuracy": 0.5, "mean_iu": 0.5,
                               "frequency_weighted_iu": 5 / 8})
    # The same numbers from the (C, C + 1) confusion: rows ground truth 0, 1; last column "predicted void".
    assert metrics_from_confusion(np.array([[0, 0, 3], [0, 5, 0]])) == pytest.approx(m)


@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_nearest_resampling_matches_kron_where_blocks_tile_the_map(factor):
    labels = np.random.default_rng(factor).integers(0, 5, (16, 24))
    start = factor // 2
    np.testing.assert_array_equal(downsample_upsample(labels, factor),
                                  np.kron(labels[start::factor, start::factor], np.ones((factor, factor), int)))


def test_the_bound_rises_as_the_factor_falls_on_shapes():
    maps = [shapes.render_example(0, "validation", i, 64)["segmentation"] for i in range(8)]
    bounds = stride_upper_bounds(maps, [64, 16, 4, 1], len(shapes.CLASS_NAMES))
    ious = [bounds[f]["mean_iu"] for f in (64, 16, 4, 1)]
    assert ious == sorted(ious) and ious[-1] == 1.0 and ious[0] < 0.5


def test_command_line(capsys):
    assert main(["--dataset", "shapes", "--split", "validation", "--option", "image_size=32",
                 "--option", "num_examples=4", "--factors", "32", "1"]) == 0
    out = capsys.readouterr().out
    assert "shapes validation" in out and out.strip().splitlines()[-1].split() == ["1", "100.0", "100.0", "100.0",
                                                                                     "100.0"]


def test_command_line_says_what_is_missing_in_one_line(tmp_path, capsys):
    assert main(["--manual_dir", str(tmp_path)]) == 2  # VOC2011 seg11valid by default; nothing downloaded
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "voc2011_segmentation" in err
