"""The context-prediction tower initialises Fast R-CNN: folded convs reproduce the tower's conv5."""

import keras
import numpy as np
import pytest

from zoo.errors import WeightsMismatchError
from zoo.export.transfer import load_tower
from zoo.models.context_prediction.detection import fast_rcnn_context
from zoo.models.context_prediction.pair import context_prediction_alexnet
from zoo.models.rcnn.fast_rcnn import fast_rcnn_caffenet


def trained_like_pair():
    keras.utils.set_random_seed(0)
    pair = context_prediction_alexnet(patch_size=64, width=0.0625, fc=16)
    rng = np.random.default_rng(0)
    for layer in pair.get_layer("tower").layers:
        if isinstance(layer, keras.layers.BatchNormalization):  # non-trivial inference statistics
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(size=n), rng.normal(size=n) * 0.1,
                               rng.uniform(0.5, 2, n)])
    return pair


def test_the_detector_conv5_equals_the_tower_conv5():
    pair = trained_like_pair()
    det = fast_rcnn_context(width=0.0625, fc_divisor=64)
    report = load_tower(pair, det)
    assert report["loaded"] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert {"fc6", "fc7", "cls_score", "bbox_pred"} <= set(report["initialised"])
    tower = pair.get_layer("tower")
    patch = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    want = keras.Model(tower.input, tower.get_layer("conv5_relu").output)(patch, training=False)
    got = keras.Model(det.inputs[0], det.get_layer("conv5").output)(patch)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4)
    boxes = np.array([[[0, 0, 63, 63], [8, 8, 40, 40]]] * 2, "float32")
    scores, deltas = det([patch, boxes])
    assert scores.shape == (2, 2, 21) and deltas.shape == (2, 2, 84)


def test_caffenet_shapes_do_not_take_the_tower():
    with pytest.raises(WeightsMismatchError, match="conv2"):
        load_tower(trained_like_pair(), fast_rcnn_caffenet(width=16))


def test_write_detector_init_gives_the_recipe_a_file_with_the_folded_tower(tmp_path):
    from zoo.errors import ConfigError
    from zoo.export.transfer import write_detector_init

    pair = trained_like_pair()
    pair_file = tmp_path / "pair.weights.h5"
    pair.save_weights(pair_file)
    out = tmp_path / "det.weights.h5"
    report = write_detector_init(pair_file, out, width=0.0625, fc_divisor=64, pair_options={"patch_size": 64, "fc": 16})
    assert report["loaded"] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    det = fast_rcnn_context(width=0.0625, fc_divisor=64)
    det.load_weights(out)
    tower = pair.get_layer("tower")
    patch = np.random.default_rng(2).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    want = keras.Model(tower.input, tower.get_layer("conv5_relu").output)(patch, training=False)
    got = keras.Model(det.inputs[0], det.get_layer("conv5").output)(patch)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigError, match="exists"):
        write_detector_init(pair_file, out, width=0.0625, fc_divisor=64, pair_options={"patch_size": 64, "fc": 16})
