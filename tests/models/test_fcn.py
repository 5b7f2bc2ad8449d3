"""FCN-32s/16s/8s (Long thesis 2016, ch. 3) against the reference Caffe nets (fcn.berkeleyvision.org).

Oracles: the weight counts of the reference Caffe nets, and Caffe's coordinate-map arithmetic
(caffe.coord_map, which the reference net.py used to find its crop offsets) recomputed from the
layers' own geometry. Forward passes against OpenCV running the reference prototxt are in
tests/convert/test_caffe_oracle.py.
"""

import inspect
import math

import keras
import numpy as np
import pytest

import zoo
from zoo.layers.crop import CaffeCrop
from zoo.layers.pooling import CaffeMaxPooling2D
from zoo.layers.upsampling import Deconvolution2D, bilinear_kernel
from zoo.models.fcn import ChannelScale, fcn8s, fcn8s_atonce, fcn16s, fcn32s, fcn32s_fixed
from zoo.registry import card

SMALL = {"width": 16, "num_classes": 5}
RNG = np.random.default_rng(0)
VGG16_LAYERS = [f"conv{b}_{i}" for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for i in range(1, n + 1)] + ["fc6", "fc7"]
# Learned layers of the reference voc-fcn*/net.py.
REFERENCE_LAYERS = {
    "fcn32s": VGG16_LAYERS + ["score_fr", "upscore"],
    "fcn16s": VGG16_LAYERS + ["score_fr", "upscore2", "score_pool4", "upscore16"],
    "fcn8s": VGG16_LAYERS + ["score_fr", "upscore2", "score_pool4", "upscore_pool4", "score_pool3", "upscore8"],
}
REFERENCE_LAYERS["fcn32s_fixed"] = REFERENCE_LAYERS["fcn32s"]
REFERENCE_LAYERS["fcn8s_atonce"] = (
    VGG16_LAYERS + ["score_fr", "upscore2", "scale_pool4", "score_pool4", "upscore_pool4", "scale_pool3",
                    "score_pool3", "upscore8"]
)
BUILDERS = {f.__name__: f for f in (fcn32s, fcn16s, fcn8s, fcn8s_atonce, fcn32s_fixed)}


def count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def randomize_scores(model, seed=0):
    """Score layers start at zero (so every output is 0); give them values to make forwards informative."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.startswith("score_") and layer.weights:
            layer.set_weights([rng.normal(0, 0.05, w.shape) for w in layer.get_weights()])


# ---------------------------------------------------------------------------------- weight counts
@pytest.mark.parametrize(
    "name,total,trainable",
    [
        # Totals: the reference Caffe nets with 21 classes, deconvolution kernels (21x21xkxk) included.
        # Trainable (default upsampling="thesis"): the same minus the fixed final deconvolution; the
        # 2x ones (4x4x21x21 = 7,056 each) learn (§3.3.2). fcn32s's 134,346,581 is Table 3.1's "134M"
        # parameters of FCN-VGG16 (long_thesis_2016.md S7, derived check).
        ("fcn32s", 136_152_917, 134_346_581),
        ("fcn16s", 134_815_994, 134_346_581 + 10_773 + 7_056),
        ("fcn8s", 134_489_759, 134_346_581 + 10_773 + 5_397 + 2 * 7_056),
        # at-once: fcn8s plus the frozen Caffe Scale blobs of pool4 (512) and pool3 (256).
        ("fcn8s_atonce", 134_489_759 + 512 + 256, 134_346_581 + 10_773 + 5_397 + 2 * 7_056),
        # fixed: only score_fr (4096 x 21 + 21) learns (Table 3.2, §3.3.6).
        ("fcn32s_fixed", 136_152_917, 86_037),
    ],
)
def test_weight_counts_match_the_reference_nets(name, total, trainable):
    model = zoo.get(name)
    assert count(model.weights) == total
    assert count(model.trainable_weights) == trainable
    if name == "fcn32s":
        assert round(trainable / 1e6) == 134  # Table 3.1: FCN-VGG16 "parameters 134M"


@pytest.mark.parametrize("name", list(BUILDERS))
def test_layer_names_are_the_reference_names(name):
    model = BUILDERS[name](**SMALL)
    assert model.name == name
    assert sorted(layer.name for layer in model.layers if layer.weights) == sorted(REFERENCE_LAYERS[name])
    for tap in ("pool3", "pool4", "pool5", "fc6", "fc7"):
        assert model.get_layer(tap) is not None  # features by name (DESIGN.md)
    assert model.get_layer("drop6").rate == model.get_layer("drop7").rate == 0.5


# --------------------------------------------------------------------------------- geometry
def coordinate_maps(model):
    """{layer name: (scale, offset, rf, jump)}: an output position c sits at input pixel scale*c + offset.

    caffe.coord_map's rules, from each layer's own configuration: a conv/pool with kernel k,
    stride s and pad p maps c to s*c + (k-1)/2 - p in its input; a deconvolution inverts that;
    a crop at offset o shifts by o. `rf`/`jump` are the receptive field and its stride.
    Crops and sums assert that their two inputs are aligned, as Caffe's crop() does.
    """
    maps = {}

    def parent(tensor):
        return maps[tensor._keras_history[0].name]

    for layer in model.layers:
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        if isinstance(layer, keras.layers.InputLayer):
            maps[layer.name] = (1.0, 0.0, 1, 1)
            continue
        scale, off, rf, jump = parent(inputs[0])
        if isinstance(layer, keras.layers.ZeroPadding2D):
            p = layer.padding[0][0]
            maps[layer.name] = (scale, off - p * scale, rf, jump)
        elif isinstance(layer, Deconvolution2D):
            k, s = layer.kernel_size[0], layer.strides[0]
            maps[layer.name] = (scale / s, off - scale * (k - 1) / 2 / s, None, None)
        elif isinstance(layer, (keras.layers.Conv2D, CaffeMaxPooling2D)):
            if isinstance(layer, CaffeMaxPooling2D):
                k, p = layer.pool_size[0], layer.padding[0]
            else:
                k = layer.kernel_size[0]
                p = (k - 1) // 2 if layer.padding == "same" else 0
            s = layer.strides[0]
            new_rf = None if rf is None else rf + (k - 1) * jump
            maps[layer.name] = (scale * s, off + scale * ((k - 1) / 2 - p), new_rf, None if jump is None else jump * s)
        elif isinstance(layer, CaffeCrop):
            ref = parent(inputs[1])
            o = layer.offset[0]
            maps[layer.name] = (scale, off + scale * o, None, None)
            assert maps[layer.name][:2] == ref[:2], f"{layer.name} is misaligned: {maps[layer.name][:2]} vs {ref[:2]}"
        elif isinstance(layer, keras.layers.Add):
            assert parent(inputs[1])[:2] == (scale, off), f"{layer.name} sums misaligned maps"
            maps[layer.name] = (scale, off, None, None)
        else:  # dropout, scale: pointwise
            maps[layer.name] = (scale, off, rf, jump)
    return maps


@pytest.mark.parametrize(
    "name,offsets,stride",
    [
        ("fcn32s", {"score": 19}, 32),
        ("fcn16s", {"score_pool4c": 5, "score": 27}, 16),
        ("fcn8s", {"score_pool4c": 5, "score_pool3c": 9, "score": 31}, 8),
        ("fcn8s_atonce", {"score_pool4c": 5, "score_pool3c": 9, "score": 31}, 8),
    ],
)
def test_crop_offsets_align_every_map_with_the_input(name, offsets, stride):
    """The reference offsets (original_reference_code.md §1.1) are exactly the aligning ones."""
    model = BUILDERS[name](**SMALL)
    maps = coordinate_maps(model)  # asserts alignment at every crop and sum
    assert {layer.name: layer.offset[0] for layer in model.layers if isinstance(layer, CaffeCrop)} == offsets
    assert maps["score"][:2] == (1.0, 0.0)  # the output is pixel-aligned with the input
    finest = {32: "score_fr", 16: "fuse_pool4", 8: "fuse_pool3"}[stride]
    assert maps[finest][0] == stride  # output stride 32 / 16 / 8 (thesis §3.3.2)
    # Table 3.1, FCN-VGG16: receptive field 404, max stride 32 (the fc7 / score_fr positions).
    assert maps["fc7"][2:] == (404, 32)


def test_a_wrong_offset_is_caught_by_the_coordinate_map():
    model = fcn32s(**SMALL)
    model.get_layer("score").offset = (18, 18)
    with pytest.raises(AssertionError, match="misaligned"):
        coordinate_maps(model)


@pytest.mark.parametrize("name", ["fcn32s", "fcn16s", "fcn8s"])
def test_any_input_size_gives_an_output_of_that_size(name):
    model = BUILDERS[name](**SMALL)
    randomize_scores(model)
    taps = keras.Model(model.input, [model.get_layer("score_fr").output, model.output])
    for h, w in [(1, 1), (2, 3), (17, 9), (37, 53), (64, 64)]:
        score_fr, out = taps(np.zeros((2, h, w, 3), "float32"))
        assert tuple(out.shape) == (2, h, w, 5)
        # pad 100, then ceil pooling five times, then fc6's 7x7: ceil((H + 198) / 32) - 6 >= 1.
        assert tuple(score_fr.shape[1:3]) == (math.ceil((h + 198) / 32) - 6, math.ceil((w + 198) / 32) - 6)


def test_min_size_is_one_pixel():
    contract = card("fcn8s").input_contract
    assert contract.min_size is None and contract.shape == (None, None, 3)  # 1x1 works (previous test)


# -------------------------------------------------------------------------------- initialisation
@pytest.mark.parametrize("name", ["fcn8s", "fcn8s_atonce"])
@pytest.mark.parametrize("upsampling, learned", [
    ("thesis", {"upscore2", "upscore_pool4"}),  # §3.3.2: 2x learned from bilinear; §3.3.10: final fixed
    ("fixed_bilinear", set()),                  # the reference code: every deconvolution lr_mult 0
    ("learned", {"upscore2", "upscore_pool4", "upscore8"}),
])
def test_score_layers_start_at_zero_and_upsampling_starts_bilinear(name, upsampling, learned):
    model = BUILDERS[name](**SMALL, upsampling=upsampling)
    for layer in model.layers:
        if layer.name.startswith("score_") and layer.weights:
            assert all(not np.any(w) for w in layer.get_weights()), layer.name
        if isinstance(layer, Deconvolution2D):
            k = layer.kernel_size[0]
            np.testing.assert_array_equal(layer.get_weights()[0], bilinear_kernel(k, 5, 5))
            assert not layer.use_bias
            assert layer.fixed_bilinear == (layer.name not in learned), layer.name
            assert bool(layer.trainable_weights) == (layer.name in learned), layer.name
    assert {layer.name: layer.kernel_size[0] for layer in model.layers if isinstance(layer, Deconvolution2D)} == {
        "upscore2": 4, "upscore_pool4": 4, "upscore8": 16}


def test_default_upsampling_is_the_thesis_one():
    assert inspect.signature(fcn8s).parameters["upsampling"].default == "thesis"
    assert inspect.signature(fcn32s).parameters["upsampling"].default == "thesis"


def test_learned_upsampling_is_trainable_and_matches_the_fixed_path():
    fixed = fcn8s(**SMALL)
    learned = fcn8s(**SMALL, upsampling="learned")
    randomize_scores(fixed)
    learned.set_weights(fixed.get_weights())
    assert [w.shape for w in learned.get_layer("upscore8").trainable_weights] == [(16, 16, 5, 5)]
    x = RNG.normal(0, 60, (1, 37, 53, 3)).astype("float32")
    want = np.asarray(fixed(x))
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(np.asarray(learned(x)), want, atol=1e-5 * np.abs(want).max())
    with pytest.raises(zoo.errors.ConfigError, match="upsampling"):
        fcn8s(**SMALL, upsampling="bilinear")


def test_atonce_scales_the_skips_before_their_score_layers():
    """fcn8s_atonce == fcn8s whose score_pool4/score_pool3 kernels are multiplied by 0.01 / 0.0001."""
    atonce, plain = fcn8s_atonce(**SMALL), fcn8s(**SMALL)
    randomize_scores(atonce)
    scales = {"scale_pool4": 0.01, "scale_pool3": 0.0001}
    for name, value in scales.items():
        layer = atonce.get_layer(name)
        assert isinstance(layer, ChannelScale) and not layer.trainable_weights
        np.testing.assert_allclose(layer.get_weights()[0], np.full(layer.get_weights()[0].shape, value, "float32"))
    for layer in plain.layers:
        if layer.weights:
            weights = atonce.get_layer(layer.name).get_weights()
            if layer.name in ("score_pool4", "score_pool3"):
                weights[0] = weights[0] * scales[layer.name.replace("score", "scale")]
            layer.set_weights(weights)
    x = RNG.normal(0, 60, (1, 40, 40, 3)).astype("float32")
    want = np.asarray(plain(x))
    np.testing.assert_allclose(np.asarray(atonce(x)), want, atol=1e-5 * np.abs(want).max())


def test_fixed_variant_trains_only_the_scoring_layer():
    model = fcn32s_fixed(**SMALL)
    assert [w.path for w in model.trainable_weights] == ["score_fr/kernel", "score_fr/bias"]


# ------------------------------------------------------------------- registry: heads, get, info
@pytest.mark.parametrize("name", list(BUILDERS))
def test_head_layers_are_exactly_the_layers_that_depend_on_num_classes(name):
    a = BUILDERS[name](width=16, num_classes=5)
    b = BUILDERS[name](width=16, num_classes=6)
    differ = {la.name for la, lb in zip(a.layers, b.layers)
              if [w.shape for w in la.weights] != [w.shape for w in lb.weights]}
    assert differ == set(card(name).head_layers)


def test_get_reinitialises_the_head_for_another_num_classes(tmp_path):
    donor = fcn8s(width=16)  # 21 classes, the card's default
    path = tmp_path / "fcn8s.weights.h5"
    donor.save_weights(path)
    model = zoo.get("fcn8s", weights=str(path), num_classes=3, width=16)
    assert model.output.shape[-1] == 3
    np.testing.assert_array_equal(model.get_layer("fc7").get_weights()[0], donor.get_layer("fc7").get_weights()[0])


def test_zoo_get_and_info():
    model = zoo.get("fcn8s", **SMALL)
    assert model.name == "fcn8s" and model.output.shape == (None, None, None, 5)
    info = zoo.info("fcn8s", **SMALL)
    assert info.paper_numbers["mean IU, VOC2011 val 736-image subset (Table 3.2)"] == 62.7
    assert info.input_contract.channel_order == "BGR"
    assert "fcn8s" in str(info)
    for name, miou in [("fcn32s", 59.4), ("fcn16s", 62.4), ("fcn32s_fixed", 45.4)]:  # Table 3.2
        assert card(name).paper_numbers["mean IU, VOC2011 val 736-image subset (Table 3.2)"] == miou


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fcn32s", "fcn16s", "fcn8s"])
def test_full_size_500x500_forward(name):
    """The reference deploy size (voc-fcn8s/deploy.prototxt: 1x3x500x500)."""
    model = zoo.get(name)
    randomize_scores(model)
    out = np.asarray(model(RNG.normal(0, 60, (1, 500, 500, 3)).astype("float32")))
    assert out.shape == (1, 500, 500, 21) and np.all(np.isfinite(out)) and np.abs(out).max() > 0
