"""WEAK SUP networks (Oquab thesis §4.2, §4.4): score-map sizes of §4.2.1, global max pooling, the
frozen C1-C7, spatial dropout on the adaptation layers, parameter counts by hand, and the export
(a SavedModel of any size returning score maps and image scores; TFLite at a fixed size)."""

import numpy as np
import pytest

import keras
from zoo import registry
from zoo.models.weak_sup.cards import ALEXNET_STRIDE, ALEXNET_WINDOW, OVERFEAT_STRIDE, OVERFEAT_WINDOW
from zoo.models.weak_sup.weak_sup import weak_sup_alexnet1512, weak_sup_overfeat


@pytest.fixture(scope="module")
def small_alexnet():
    keras.utils.set_random_seed(0)
    return weak_sup_alexnet1512(num_classes=4, width=16)


def _map_size(model, h, w):
    scores, score_map = model.compute_output_shape((1, h, w, 3))
    return tuple(score_map[1:3])


def test_score_map_sizes_of_section_4_2_1(small_alexnet):
    # The geometry does not depend on the widths: the 1/16-wide net has the paper's map sizes.
    assert _map_size(small_alexnet, 224, 224) == (1, 1)  # one 224x224 window
    assert _map_size(small_alexnet, 256, 256) == (2, 2)  # "2x2xK output score map for a 256x256 RGB input"
    assert _map_size(small_alexnet, 1024, 2048) == (26, 58)  # "a 2048x1024 pixel input would lead to a 58x26"
    # "adding 32 pixels to the image width or height increases the width or height of the map by one"
    for extra in range(0, 8):
        size = ALEXNET_WINDOW + ALEXNET_STRIDE * extra
        assert _map_size(small_alexnet, size, size + ALEXNET_STRIDE) == (extra + 1, extra + 2)


def test_overfeat_stride_36():
    model = weak_sup_overfeat(num_classes=3, width=16)
    for extra in range(0, 6):
        size = OVERFEAT_WINDOW + OVERFEAT_STRIDE * extra
        assert _map_size(model, size, size) == (extra + 1, extra + 1)


def test_image_scores_are_the_max_of_the_score_map(small_alexnet):
    x = np.random.default_rng(1).normal(0, 60, (2, 288, 256, 3)).astype("float32")
    scores, score_map = (np.asarray(o) for o in small_alexnet(x, training=False))
    assert score_map.shape == (2, 3, 2, 4)
    np.testing.assert_array_equal(scores, score_map.max(axis=(1, 2)))


def test_trunk_is_frozen_and_adaptation_layers_train(small_alexnet):
    trainable = {layer.name for layer in small_alexnet.layers if layer.trainable_weights}
    assert trainable == {"fca", "fcb"}  # §4.3: C1-C7 fixed
    everything = weak_sup_alexnet1512(num_classes=4, width=16, train_trunk=True)
    assert {"conv1", "conv5", "fc6", "fc7", "fca", "fcb"} <= {l.name for l in everything.layers if l.trainable_weights}


def test_adaptation_dropout_zeros_whole_feature_maps(small_alexnet):
    # §4.4: "we zero whole feature maps with probability 50%" (SpatialDropout) before fca and fcb
    for name in ("drop7", "dropa"):
        layer = small_alexnet.get_layer(name)
        assert isinstance(layer, keras.layers.SpatialDropout2D) and layer.rate == 0.5
    x = np.ones((4, 5, 6, 64), "float32")
    y = np.asarray(small_alexnet.get_layer("dropa")(x, training=True))
    per_map = y.reshape(4, 30, 64)
    assert np.all((per_map == 0).all(axis=1) | (per_map == 2.0).all(axis=1))  # a map is dropped or kept whole
    assert 0.3 < (per_map[:, 0] == 0).mean() < 0.7


def _conv(k, cin, cout, groups=1):
    return k * k * cin // groups * cout + cout


def test_parameter_counts_by_hand():
    trunk = (_conv(11, 3, 96) + _conv(5, 96, 256, 2) + _conv(3, 256, 384) + _conv(3, 384, 384, 2)
             + _conv(3, 384, 256, 2))
    head = _conv(6, 256, 6144) + _conv(1, 6144, 6144)
    adaptation = _conv(1, 6144, 2048) + _conv(1, 2048, 20)
    card = registry.card("weak_sup_alexnet1512")
    assert card.parameters == {"total": trunk + head + adaptation, "trainable": adaptation}
    overfeat = (_conv(7, 3, 96) + _conv(7, 96, 256) + _conv(3, 256, 512) + _conv(3, 512, 512) + _conv(3, 512, 1024)
                + _conv(3, 1024, 1024) + _conv(5, 1024, 4096) + _conv(1, 4096, 4096))
    adaptation = _conv(1, 4096, 2048) + _conv(1, 2048, 80)
    assert registry.card("weak_sup_overfeat").parameters == {"total": overfeat + adaptation, "trainable": adaptation}


@pytest.mark.slow
def test_full_size_counts_match_the_cards():
    for name in ("weak_sup_alexnet1512", "weak_sup_overfeat"):
        card = registry.card(name)
        assert card.parameter_count() == card.parameters
        keras.backend.clear_session()


def test_export_any_size_savedmodel_and_fixed_size_tflite(small_alexnet, tmp_path):
    import tensorflow as tf

    from zoo import export

    card = registry.card("weak_sup_alexnet1512")
    check = np.random.default_rng(2).normal(0, 60, (1, 256, 288, 3)).astype("float32")
    report = export.export_savedmodel(small_alexnet, tmp_path / "sm", input_contract=card.input_contract,
                                      check_inputs=check)
    assert report.max_abs_diff <= report.tolerance and tuple(report.input_shape) == (None, None, 3)
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    for h, w, cells in ((224, 224, (1, 1)), (256, 320, (2, 4)), (352, 256, (5, 2))):
        x = np.random.default_rng(h).normal(0, 60, (1, h, w, 3)).astype("float32")
        out = loaded.signatures["serve"](inputs=tf.constant(x))
        maps = [np.asarray(v) for v in out.values() if np.ndim(v) == 4]
        scores = [np.asarray(v) for v in out.values() if np.ndim(v) == 2]
        assert len(maps) == len(scores) == 1 and maps[0].shape == (1, *cells, 4)
        want_scores, want_map = small_alexnet(x, training=False)
        np.testing.assert_allclose(maps[0], want_map, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(scores[0], want_scores, rtol=1e-4, atol=1e-4)
    pictures = np.random.default_rng(3).integers(0, 256, (1, 260, 300, 3)).astype(np.uint8)
    out = loaded.signatures["serve_images"](images=tf.constant(pictures))
    assert sorted(tuple(np.asarray(v).shape) for v in out.values()) == [(1, 2, 4, 4), (1, 4)]  # 300 px: ceil pooling gives a 4th column
    lite = export.export_tflite(small_alexnet, tmp_path / "m.tflite", input_shape=(256, 288, 3), check_inputs=check,
                                input_contract=card.input_contract)
    assert lite.max_abs_diff <= lite.tolerance and [o["name"] for o in lite.outputs] == list(small_alexnet.output_names)
