"""Mid-level transfer (Oquab thesis ch. 3): the networks' sizes and freezing, and the pure patch
functions against hand-worked or NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.ops import patches as P

CONVS = 34_944 + 307_456 + 885_120 + 663_936 + 442_624  # C1-C5 (grouped as released): 2,334,080


def _dense(i, o):
    return i * o + o


def test_source_networks_4096_and_6144_parameter_counts():
    from zoo.models.alexnet.midlevel import oquab_alexnet

    m = oquab_alexnet()
    assert m.count_params() == CONVS + _dense(9216, 4096) + _dense(4096, 4096) + _dense(4096, 1000) == 60_965_224
    assert m.get_layer("pool5").output.shape[1:] == (6, 6, 256)  # App. B.6.2: 6x6x256 -> 9216
    with pytest.raises(ConfigError, match="4096 or 6144"):
        oquab_alexnet(fc_units=5000)


@pytest.mark.slow
def test_source_network_of_pre_1512_has_6144_wide_fc6_fc7():
    from zoo.models.alexnet.midlevel import oquab_alexnet

    big = oquab_alexnet(num_classes=1512, fc_units=6144)  # PRE-1512's source (§3.3)
    assert big.count_params() == CONVS + _dense(9216, 6144) + _dense(6144, 6144) + _dense(6144, 1512) == 106_009_448


_FULL = pytest.mark.slow  # full-size builds of 65-110 M parameters take seconds each


@pytest.mark.parametrize("freeze, depth, fc, trainable_layers", [
    ("fc7", 2, 4096, ["fca", "fcb"]),  # PRE-1000C / PRE-1000R / PRE-1512: only the adaptation layers
    ("conv5", 2, 6144, ["fc6", "fc7", "fca", "fcb"]),  # PRE-1512U
    pytest.param("none", 2, 4096, ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fca", "fcb"],
                 marks=_FULL),  # NO PRETRAIN
    pytest.param("fc7", 1, 6144, ["fcb"], marks=_FULL),  # §3.3's adaptation depths
    pytest.param("fc7", 3, 6144, ["fca", "fca2", "fcb"], marks=_FULL),
])
def test_midlevel_alexnet_freezing_and_sizes(freeze, depth, fc, trainable_layers):
    from zoo.models.alexnet.midlevel import midlevel_alexnet

    small = midlevel_alexnet(num_classes=5, adaptation_depth=depth, freeze=freeze, width=16, input_shape=(67, 67, 3))
    assert sorted({w.path.split("/")[0] for w in small.trainable_weights}) == sorted(trainable_layers)
    m = midlevel_alexnet(num_classes=21, fc_units=fc, adaptation_depth=depth, freeze=freeze)
    trained = sorted({w.path.split("/")[0] for w in m.trainable_weights})
    assert trained == sorted(trainable_layers)
    adapt = {1: _dense(fc, 21), 2: _dense(fc, 2048) + _dense(2048, 21),
             3: _dense(fc, 2048) + _dense(2048, 2048) + _dense(2048, 21)}[depth]
    assert m.count_params() == CONVS + _dense(9216, fc) + _dense(fc, fc) + adapt
    assert m.output.shape[1:] == (21,)  # FCb: 20 VOC classes + background


def test_patch_grid_scales_squares_overlap_and_count():
    grid = P.patch_grid(375, 500)
    sides = grid[:, 2] - grid[:, 0]
    np.testing.assert_allclose(sides, grid[:, 3] - grid[:, 1])  # square
    assert grid[:, :2].min() >= 0 and grid[:, 2].max() <= 500 + 1e-9 and grid[:, 3].max() <= 375 + 1e-9
    np.testing.assert_allclose(np.unique(np.round(sides, 6)), sorted({round(375 / s, 6) for s in P.SCALES}))
    assert 400 <= len(grid) <= 600  # "around 500 square patches"
    for side in np.unique(np.round(sides, 6)):  # neighbours in a row overlap by at least half a side
        row = grid[(np.abs(sides - side) < 1e-6) & (grid[:, 1] == 0)]
        if len(row) > 1:
            assert np.max(np.diff(row[:, 0])) <= 0.5 * side + 1e-9
    # exactly-50% spacing, counted by hand per λ for 500x375: (x positions) x (y positions)
    half = P.patch_grid(375, 500, min_overlap=0.5)
    assert len(half) == 2 * 1 + 3 * 2 + 4 * 3 + 5 * 3 + 6 * 4 + 7 * 5 + 8 * 6 + 9 * 7 + 10 * 7 == 275
    with pytest.raises(ConfigError, match="at least 50%"):
        P.patch_grid(375, 500, min_overlap=0.4)


def test_labelling_rule_by_hand():
    patch = [[0, 0, 10, 10]]  # |P| = 100
    cases = [
        ([[2, 2, 8, 8]], [3], 3),  # inside: 36 >= 20 and 36 >= 0.6 * 36 -> class 3
        ([[0, 0, 100, 100]], [3], 0),  # 100 >= 20 but 100 < 0.6 * 10000: too little of the box -> background
        ([[5, 5, 15, 15]], [3], 0),  # 25 >= 20 but 25 < 60 -> background
        ([[0, 0, 10, 2]], [4], 4),  # 20 = 0.2 |P| exactly, all of the box -> class 4 (>= bounds)
        ([[0, 0, 10, 1.9]], [4], 0),  # 19 < 20 -> background
        ([[0, 0, 5, 5], [5, 5, 10, 10]], [1, 2], -1),  # two objects (25 >= 20, 25 >= 15 each) -> excluded
        ([[1, 1, 4, 4], [5, 5, 8, 8]], [1, 2], 0),  # two boxes of 9 < 0.2 |P| -> background
        ([[0, 0, 5, 5], [0, 0, 100, 100]], [1, 2], 1),  # the big box does not count as covering
        (np.zeros((0, 4)), [], 0),
    ]
    for boxes, classes, want in cases:
        assert P.label_patches(patch, boxes, classes).tolist() == [want], (boxes, want)
    with pytest.raises(ConfigError):
        P.label_patches(patch, [[0, 0, 1, 1]], [0])


def test_keep_for_training_keeps_objects_and_a_tenth_of_background():
    labels = np.array([0] * 200 + [3] * 7 + [-1] * 5 + [1] * 2)
    kept = P.keep_for_training(labels, np.random.default_rng(0))
    assert np.sum(labels[kept] == 0) == 20 and np.sum(labels[kept] > 0) == 9 and not np.any(labels[kept] < 0)
    assert len(set(kept)) == len(kept)


def test_power_mean_against_a_loop():
    scores = np.random.default_rng(0).dirichlet(np.ones(21), size=37)
    want = [sum(scores[i, c] ** 5 for i in range(37)) / 37 for c in range(21)]
    np.testing.assert_allclose(P.power_mean(scores), want)
    np.testing.assert_allclose(P.power_mean(scores, k=1), scores.mean(axis=0))
    # k = 5 favours one confident patch over many lukewarm ones, which the plain mean does not
    peaked, flat = np.array([[0.9], [0.0], [0.0]]), np.array([[0.35], [0.35], [0.35]])
    assert P.power_mean(peaked) > P.power_mean(flat) and peaked.mean() < flat.mean()


def _mirror(i, n):
    """Index of pixel i (possibly outside [0, n)) after symmetric mirroring (edge pixel repeated)."""
    return -i - 1 if i < 0 else (2 * n - i - 1 if i >= n else i)


def test_person_patch_centres_a_square_and_mirrors_outside_pixels():
    image = np.arange(6 * 8).reshape(6, 8)  # 6 rows, 8 columns
    box = (-1, 1, 3, 3)  # 4 wide, 2 high, centre (1, 2): square of side 4 at x -1..3, y 0..4
    got = P.person_patch(image, box)
    want = np.array([[image[_mirror(y, 6), _mirror(x, 8)] for x in range(-1, 3)] for y in range(0, 4)])
    np.testing.assert_array_equal(got, want)
    assert got[0, 0] == image[0, 0]  # column -1 mirrors column 0
    box = (5, 3, 8, 6)  # 3x3 at the bottom-right corner, inside: no padding
    np.testing.assert_array_equal(P.person_patch(image, box), image[3:6, 5:8])
    rgb = np.stack([image] * 3, -1)
    assert P.person_patch(rgb, (6, 4, 10, 8)).shape == (4, 4, 3)  # beyond the corner: mirrored


@pytest.mark.slow
def test_midlevel_recipe_trains_only_the_adaptation_layers_from_a_source_run(tmp_path):
    """PRE-1000C's chain on the offline shapes stand-in, small: a source run, then the target recipe initialised from
    it (weights_partial, fc8 left out); after training, C1-FC7 equal the source's and FCa / FCb moved."""
    from zoo.training import recipes, runner

    small = {"width": 16, "input_shape": [67, 67, 3]}
    data = {"name": "shapes_classification", "global_batch_size": 4, "shuffle_buffer": 8,
            "options": {"image_size": 67, "resize_size": 70, "num_examples": 16}}
    source = recipes.load("source_1000c_imagenet", [
        "model.options.num_classes=3", "model.options.width=16", "model.options.input_shape=[67, 67, 3]",
        "data.name='shapes_classification'", "data.global_batch_size=4", "data.shuffle_buffer=8",
        "data.options={image_size = 67, resize_size = 70, num_examples = 16}", "train.steps=2", "train.eval_every=2", "data.eval_split='validation'",
        "train.checkpoint_every=2", "train.log_every=1"])
    src = runner.train(source, tmp_path / "source")
    target = recipes.from_dict({
        "recipe": {"name": "pre1000c_small"},
        "model": {"name": "midlevel_alexnet", "options": {"num_classes": 3, **small},
                  "weights": str(tmp_path / "source" / "final.weights.h5"), "weights_partial": True},
        "data": data, "optimizer": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9},
        "train": {"steps": 3, "seed": 0, "checkpoint_every": 3}})
    res = runner.train(target, tmp_path / "target")
    for name in ("conv1", "conv5", "fc6", "fc7"):
        for a, b in zip(res.model.get_layer(name).get_weights(), src.model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert not np.allclose(res.model.get_layer("fcb").get_weights()[1], 0.0)  # the zero-initialised bias moved
