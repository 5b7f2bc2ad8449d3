"""FCN-AlexNet, FCN-GoogLeNet, the NYUDv2, SIFT Flow and PASCAL-Context FCNs (Long thesis 2016, ch. 3).

Oracles: Table 3.1's architecture numbers (parameters, receptive field, max stride, parameter
layers), weight counts recomputed from the reference Caffe nets' layer shapes
(fcn.berkeleyvision.org net.py files), Caffe's coordinate-map arithmetic recomputed from each
layer's geometry (as tests/models/test_fcn.py does), and the plain FCN-32s/16s builders for the
fused and two-headed nets. Forward passes against OpenCV running the reference prototxts are in
tests/convert/test_caffe_oracle.py.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo.analysis import receptive_fields
from zoo.errors import ConfigError
from zoo.layers.crop import CaffeCrop
from zoo.layers.pooling import CaffeMaxPooling2D
from zoo.layers.upsampling import Deconvolution2D
from zoo.models.fcn.fcn import fcn16s, fcn32s
from zoo.registry import card
from tests.model_test_configs import SMALL

RNG = np.random.default_rng(0)
NEW = ["fcn_alexnet", "fcn_googlenet", "fcn32s_rgbd", "fcn32s_hha", "fcn32s_rgbhha", "fcn16s_rgbhha",
       "fcn16s_siftflow", "fcn32s_context", "fcn16s_context", "fcn8s_context"]
TWO_INPUTS = ("fcn32s_rgbhha", "fcn16s_rgbhha")


def small(name, **overrides):
    return zoo.get(name, **{**SMALL[name].kwargs, **overrides})


def feed(name, model, h, w, batch=1):
    """An input of size h x w for `model` (a dict for the two-stream nets)."""
    if name in TWO_INPUTS:
        return {m: RNG.normal(0, 50, (batch, h, w, 3)).astype("float32") for m in ("color", "hha")}
    return RNG.normal(0, 50, (batch, h, w, model.inputs[0].shape[-1])).astype("float32")


def outputs(model, x):
    y = model(x)
    return [np.asarray(t) for t in (y if isinstance(y, (list, tuple)) else [y])]


def count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def randomize_scores(model, seed=0):
    """Score layers start at zero (every output 0); give them values so that forwards are informative."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.startswith("score_") and layer.weights:
            layer.set_weights([rng.normal(0, 0.05, w.shape) for w in layer.get_weights()])


# ---------------------------------------------------------------------------------- weight counts
# Learned-layer shapes of the reference Caffe nets: conv k x k from cin to cout has k*k*cin*cout + cout
# weights, a bias-free deconvolution k*k*C*C, all of them frozen (lr_mult 0).
def conv(k, cin, cout):
    return k * k * cin * cout + cout


def vgg16_fcn(w=1, in_channels=3):
    """VGG16 conv1_1 .. fc7 as convolutions, every width divided by w."""
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    cin, total = in_channels, 0
    for c in widths:
        total += conv(3, cin, c // w)
        cin = c // w
    return total + conv(7, 512 // w, 4096 // w) + conv(1, 4096 // w, 4096 // w)


def head(stride, k, w=1):
    """(learned, frozen) weights of an FCN head with k classes: score_fr, pool4/pool3 skips, deconvolutions.

    With the default upsampling="thesis" the 2x (4x4) deconvolutions learn and the final one is fixed.
    """
    learned = conv(1, 4096 // w, k) + (conv(1, 512 // w, k) if stride <= 16 else 0) + (
        conv(1, 256 // w, k) if stride == 8 else 0)
    learned += {32: 0, 16: 1, 8: 2}[stride] * 4 * 4 * k * k
    final = {32: 64, 16: 32, 8: 16}[stride]
    return learned, final * final * k * k


def expected_counts(name, w):
    """(total, trainable) weights of `name` at width divisor w, with the card's default classes."""
    k = card(name).default_num_classes
    if name == "fcn32s_rgbd":
        learned, frozen = head(32, k, w)
        return vgg16_fcn(w, 4) + learned + frozen, vgg16_fcn(w, 4) + learned
    if name in TWO_INPUTS:
        stride = int(name[3:5])
        learned, frozen = head(stride, k, w)
        final = {32: 64, 16: 32}[stride] ** 2 * k * k  # one final upsampling after the fusion
        return 2 * (vgg16_fcn(w) + learned + frozen) - final, 2 * (vgg16_fcn(w) + learned)
    if name == "fcn16s_siftflow":
        (sem, sem_frozen), (geo, geo_frozen) = head(16, k, w), head(16, 3, w)
        return vgg16_fcn(w) + sem + geo + sem_frozen + geo_frozen, vgg16_fcn(w) + sem + geo
    stride = {"fcn32s": 32, "fcn16s": 16, "fcn8s_": 8}[name[:6]]
    learned, frozen = head(stride, k, w)
    return vgg16_fcn(w) + learned + frozen, vgg16_fcn(w) + learned


def test_vgg16_count_formula_matches_the_thesis_derivation():
    # long_thesis_2016.md S7 [derived]: conv 14,714,688 + fc6 102,764,544 + fc7 16,781,312 + score 86,037.
    assert vgg16_fcn() + head(32, 21)[0] == 14_714_688 + 102_764_544 + 16_781_312 + 86_037 == 134_346_581


@pytest.mark.parametrize("name", NEW[2:])
def test_weight_counts_small(name):
    w = SMALL[name].kwargs["width"]
    model = zoo.get(name, width=w)  # the card's default classes: 40, 33 (+3) or 60
    assert (count(model.weights), count(model.trainable_weights)) == expected_counts(name, w)


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW[2:])
def test_weight_counts_full_size(name):
    model = zoo.get(name)
    assert (count(model.weights), count(model.trainable_weights)) == expected_counts(name, 1)


def test_fcn_alexnet_parameters_are_table_3_1s_57m():
    model = zoo.get("fcn_alexnet")
    # CaffeNet conv1-conv5 (groups 2 in conv2/4/5), fc6 as 6x6 over 256 channels, fc7, score_fr (21):
    # long_thesis_2016.md S7 [derived]: 2,334,080 + 37,752,832 + 16,781,312 + 86,037.
    trainable = 2_334_080 + conv(6, 256, 4096) + conv(1, 4096, 4096) + conv(1, 4096, 21)
    assert trainable == 56_954_261
    assert count(model.trainable_weights) == trainable
    assert count(model.non_trainable_weights) == 63 * 63 * 21 * 21  # the frozen 63x63 upscore
    assert round(trainable / 1e6) == 57  # Table 3.1: "57M"


def test_fcn_googlenet_parameters_are_table_3_1s_6m():
    model = zoo.get("fcn_googlenet")
    # BVLC GoogLeNet has 6,998,552 weights (its deploy.prototxt, 1000 classes); FCN-GoogLeNet drops the
    # 1024 x 1000 classifier and adds a 1024 x 21 score layer.
    trainable = 6_998_552 - (1024 * 1000 + 1000) + conv(1, 1024, 21)
    assert count(model.trainable_weights) == trainable == 5_995_077
    assert count(model.non_trainable_weights) == 63 * 63 * 21 * 21
    assert round(trainable / 1e6) == 6  # Table 3.1: "6M"


# --------------------------------------------------------------------------------- layer names
VGG16 = [f"conv{b}_{i}" for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for i in range(1, n + 1)] + ["fc6", "fc7"]
HEAD16 = ["score_fr", "upscore2", "score_pool4", "upscore16"]
REFERENCE_LAYERS = {  # the learned layers of the reference net.py files
    "fcn_alexnet": ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "score_fr", "upscore"],
    "fcn32s_rgbd": ["conv1_1_bgrd"] + VGG16[1:] + ["score_fr", "upscore"],
    "fcn32s_hha": VGG16 + ["score_fr", "upscore"],
    "fcn32s_rgbhha": [n + m for m in ("color", "hha") for n in VGG16 + ["score_fr"]] + ["upscore"],
    "fcn16s_siftflow": VGG16 + [n + s for s in ("_sem", "_geo") for n in HEAD16],
    "fcn32s_context": VGG16 + ["score_fr", "upscore"],
    "fcn16s_context": VGG16 + HEAD16,
    "fcn8s_context": VGG16 + ["score_fr", "upscore2", "score_pool4", "upscore_pool4", "score_pool3", "upscore8"],
}
# Our FCN-16s RGB-HHA (no reference net): both FCN-32s RGB-HHA streams upgraded to FCN-16s.
REFERENCE_LAYERS["fcn16s_rgbhha"] = (
    [n + m for m in ("color", "hha") for n in VGG16 + ["score_fr", "upscore2", "score_pool4"]] + ["upscore16"])


@pytest.mark.parametrize("name", list(REFERENCE_LAYERS))
def test_layer_names_are_the_reference_names(name):
    model = small(name)
    assert model.name == name
    assert sorted(layer.name for layer in model.layers if layer.weights) == sorted(REFERENCE_LAYERS[name])


def test_fcn_googlenet_is_googlenet_without_classifier_and_average_pool():
    model, trunk = small("fcn_googlenet"), zoo.get("googlenet", width=8, num_classes=5)
    names = {layer.name for layer in model.layers if layer.weights}
    assert names == {layer.name for layer in trunk.layers if layer.weights} - {"loss3_classifier"} | {
        "score_fr", "upscore"}
    assert not any(isinstance(layer, keras.layers.GlobalAveragePooling2D) for layer in model.layers)
    assert model.get_layer("score_fr").input is model.get_layer("pool5_drop_7x7_s1").output
    assert model.get_layer("pool5_drop_7x7_s1").rate == 0.4


# --------------------------------------------------------------------------------- geometry
def coordinate_maps(model):
    """{layer: (scale, offset)}: output position c sits at input pixel scale*c + offset (caffe.coord_map).

    From each layer's own configuration: conv/pool with kernel k, stride s, pad p maps c to
    s*c + (k-1)/2 - p; a deconvolution inverts that; a crop at offset o shifts by o. Crops,
    sums, averages and concatenations assert that their inputs are aligned.
    """
    maps = {}

    def parent(tensor):
        return maps[tensor._keras_history[0].name]

    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            maps[layer.name] = (1.0, 0.0)
            continue
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        scale, off = parent(inputs[0])
        if isinstance(layer, keras.layers.ZeroPadding2D):
            maps[layer.name] = (scale, off - layer.padding[0][0] * scale)
        elif isinstance(layer, Deconvolution2D):
            k, s = layer.kernel_size[0], layer.strides[0]
            maps[layer.name] = (scale / s, off - scale * (k - 1) / 2 / s)
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D, CaffeMaxPooling2D)):
            if isinstance(layer, CaffeMaxPooling2D):
                k, p = layer.pool_size[0], layer.padding[0]
            else:
                k = layer.kernel_size[0] if isinstance(layer, keras.layers.Conv2D) else layer.pool_size[0]
                p = (k - 1) // 2 if layer.padding == "same" else 0
            maps[layer.name] = (scale * layer.strides[0], off + scale * ((k - 1) / 2 - p))
        elif isinstance(layer, CaffeCrop):
            maps[layer.name] = (scale, off + scale * layer.offset[0])
            assert maps[layer.name] == parent(inputs[1]), f"{layer.name} is misaligned"
        elif isinstance(layer, (keras.layers.Add, keras.layers.Average, keras.layers.Concatenate)):
            assert all(parent(t) == (scale, off) for t in inputs), f"{layer.name} merges misaligned maps"
            maps[layer.name] = (scale, off)
        else:  # pointwise: dropout, LRN
            maps[layer.name] = (scale, off)
    return maps


@pytest.mark.parametrize(
    "name,offsets,finest,stride",
    [
        ("fcn_alexnet", {"score": 18}, "score_fr", 32),  # voc-fcn-alexnet/train.prototxt: crop offset 18
        ("fcn_googlenet", {"score": 1}, "score_fr", 32),  # ours: inception_5b sits 30 px in, upscore 63
        ("fcn32s_rgbd", {"score": 19}, "score_fr", 32),
        ("fcn32s_hha", {"score": 19}, "score_fr", 32),
        ("fcn32s_rgbhha", {"score": 19}, "score_fused", 32),
        ("fcn16s_rgbhha", {"score_pool4colorc": 5, "score_pool4hhac": 5, "score": 27}, "score_fused", 16),
        ("fcn16s_siftflow", {"score_pool4_semc": 5, "score_sem": 27, "score_pool4_geoc": 5, "score_geo": 27},
         "fuse_pool4_sem", 16),
        ("fcn32s_context", {"score": 19}, "score_fr", 32),
        ("fcn16s_context", {"score_pool4c": 5, "score": 27}, "fuse_pool4", 16),
        ("fcn8s_context", {"score_pool4c": 5, "score_pool3c": 9, "score": 31}, "fuse_pool3", 8),
    ],
)
def test_crop_offsets_align_every_map_with_the_input(name, offsets, finest, stride):
    model = small(name)
    maps = coordinate_maps(model)  # asserts alignment at every crop and merge
    assert {layer.name: layer.offset[0] for layer in model.layers if isinstance(layer, CaffeCrop)} == offsets
    for output in model.outputs:
        assert maps[output._keras_history[0].name] == (1.0, 0.0)  # pixel-aligned with the input
    assert maps[finest][0] == stride  # the output stride (thesis §3.3.2; Table 3.1's max stride 32)


def test_a_wrong_offset_is_caught_by_the_coordinate_map():
    model = small("fcn_alexnet")
    model.get_layer("score").offset = (19, 19)  # FCN-VGG16's offset
    with pytest.raises(AssertionError, match="misaligned"):
        coordinate_maps(model)


def parameter_layers(model):
    """The longest chain of learned layers from input to output, the frozen upsampling excluded."""
    depth = {}
    for layer in model.layers:
        inputs = [] if isinstance(layer, keras.layers.InputLayer) else (
            layer.input if isinstance(layer.input, list) else [layer.input])
        learned = bool(layer.trainable_weights) and not isinstance(layer, Deconvolution2D)
        depth[layer.name] = max((depth[t._keras_history[0].name] for t in inputs), default=0) + learned
    return max(depth[t._keras_history[0].name] for t in model.outputs)


def rf_of(model, layer, input_shape):
    rows = receptive_fields(keras.Model(model.inputs, model.get_layer(layer).output), input_shape)
    return rows[-1].size[0], rows[-1].stride[0]


@pytest.mark.parametrize("name,layers,rf", [("fcn_alexnet", 8, 355), ("fcn32s", 16, 404), ("fcn_googlenet", 22, 715)])
def test_table_3_1_parameter_layers_receptive_field_and_stride(name, layers, rf):
    """Table 3.1: conv. layers 8 / 16 / 22, rf size 355 / 404 / 907, max stride 32."""
    model = small(name) if name != "fcn32s" else fcn32s(width=16, num_classes=5)
    assert parameter_layers(model) == layers
    assert rf_of(model, "score_fr", (500, 500, 3)) == (rf, 32)
    assert card(name).paper_numbers.get("conv. layers (Table 3.1)", layers) == layers


def test_table_3_1_googlenet_rf_907_is_that_of_the_discarded_average_pool():
    """Table 3.1 gives FCN-GoogLeNet an rf of 907 = 715 + 6 * 32: BVLC GoogLeNet's 7x7 average pool, which
    §3.3.1 discards; the FCN's own output units see 715 pixels (the thesis used its own reimplementation)."""
    assert card("fcn_googlenet").paper_numbers["receptive field size (Table 3.1)"] == 907
    classifier = zoo.get("googlenet", width=8, num_classes=5, input_shape=(224, 224, 3))
    fields = {row.name: row.size[0] for row in receptive_fields(classifier)}
    assert fields["inception_5b_output"] == 715 and fields["pool5_7x7_s1"] == 907


SIZES = [(1, 1), (2, 3), (17, 9), (37, 53), (64, 64)]


@pytest.mark.parametrize("name", NEW)
def test_any_input_size_gives_outputs_of_that_size(name):
    model = small(name)
    sizes = [(31, 31), (31, 45), (37, 53), (64, 97)] if name == "fcn_googlenet" else SIZES
    for h, w in sizes:
        for y in outputs(model, feed(name, model, h, w, batch=2)):
            assert y.shape[:3] == (2, h, w)


def test_fcn_googlenet_min_size():
    assert card("fcn_googlenet").input_contract.min_size == 31
    small("fcn_googlenet", input_shape=(31, 31, 3))
    with pytest.raises(ConfigError, match="at least 31"):
        small("fcn_googlenet", input_shape=(30, 64, 3))


# ------------------------------------------------------------------ fusion and heads vs plain FCNs
def copy_stream(source, target, suffix):
    """Give `target` (a plain FCN) the weights of `source`'s layers named like target's plus `suffix`
    (the upsampling layers are the same fixed bilinear ones in both)."""
    for layer in target.layers:
        if layer.weights and not isinstance(layer, Deconvolution2D):
            layer.set_weights(source.get_layer(layer.name + suffix).get_weights())


@pytest.mark.parametrize("name,plain", [("fcn32s_rgbhha", fcn32s), ("fcn16s_rgbhha", fcn16s)])
def test_late_fusion_is_the_mean_of_two_single_stream_fcns(name, plain):
    """Thesis §3.4.2 (reference coeff 0.5, 0.5): RGB-HHA(color, hha) = (FCN(color) + FCN'(hha)) / 2, since
    the final bilinear upsampling is linear."""
    fused = small(name)
    randomize_scores(fused)
    x = feed(name, fused, 37, 53)
    streams = []
    for modality in ("color", "hha"):
        single = plain(width=16, num_classes=5)
        copy_stream(fused, single, modality)
        streams.append(np.asarray(single(x[modality])))
    want = (streams[0] + streams[1]) / 2
    assert np.abs(want).max() > 1e-3 and np.abs(streams[0] - streams[1]).max() > 1e-3
    np.testing.assert_allclose(np.asarray(fused(x)), want, atol=1e-5 * np.abs(want).max())
    assert [t.name for t in fused.inputs] == ["color", "hha"]


def test_siftflow_heads_are_two_fcn16s_sharing_one_trunk():
    model = small("fcn16s_siftflow", num_classes=5)
    randomize_scores(model)
    x = feed("fcn16s_siftflow", model, 37, 53)
    sem, geo = outputs(model, x)
    assert sem.shape[-1] == 5 and geo.shape[-1] == 3
    assert [o._keras_history[0].name for o in model.outputs] == ["score_sem", "score_geo"]
    for suffix, classes, got in (("_sem", 5, sem), ("_geo", 3, geo)):
        single = fcn16s(width=16, num_classes=classes)
        for layer in single.layers:
            if layer.weights:
                source = layer.name if layer.name.startswith(("conv", "fc")) else layer.name + suffix
                layer.set_weights(model.get_layer(source).get_weights())
        want = np.asarray(single(x))
        assert np.abs(want).max() > 1e-3
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())


def test_rgbd_first_conv_reads_four_channels():
    model = small("fcn32s_rgbd")
    assert model.get_layer("conv1_1_bgrd").get_weights()[0].shape == (3, 3, 4, 64 // 16)
    with pytest.raises(ConfigError, match="4 channels"):
        small("fcn32s_rgbd", input_shape=(None, None, 3))


@pytest.mark.parametrize("name,plain", [("fcn32s_context", "fcn32s"), ("fcn8s_context", "fcn8s"),
                                        ("fcn32s_hha", "fcn32s")])
def test_dataset_variants_are_the_voc_nets_with_other_class_counts(name, plain):
    a, b = small(name), zoo.get(plain, **SMALL[name].kwargs)
    assert [(w.path, w.shape) for w in a.weights] == [(w.path, w.shape) for w in b.weights]
    assert zoo.get(name, width=16).output.shape[-1] == card(name).default_num_classes


# ------------------------------------------------------------------- registry: heads, get, cards
@pytest.mark.parametrize("name", NEW)
def test_head_layers_are_exactly_the_layers_that_depend_on_num_classes(name):
    a, b = small(name, num_classes=5), small(name, num_classes=6)
    differ = {la.name for la, lb in zip(a.layers, b.layers)
              if [w.shape for w in la.weights] != [w.shape for w in lb.weights]}
    assert differ == set(card(name).head_layers)


def test_siftflow_get_with_other_classes_keeps_the_geometric_head(tmp_path):
    donor = zoo.get("fcn16s_siftflow", width=16)  # 33 semantic classes, the card's default
    randomize_scores(donor)
    path = tmp_path / "siftflow.weights.h5"
    donor.save_weights(path)
    model = zoo.get("fcn16s_siftflow", weights=str(path), num_classes=4, width=16)
    assert model.outputs[0].shape[-1] == 4
    for layer in ("fc7", "score_fr_geo", "score_pool4_geo"):
        np.testing.assert_array_equal(model.get_layer(layer).get_weights()[0], donor.get_layer(layer).get_weights()[0])
    assert not np.any(model.get_layer("score_fr_sem").get_weights()[0])  # re-initialised (zeros)


@pytest.mark.parametrize(
    "name,key,value",
    [
        ("fcn_alexnet", "mean IU, PASCAL VOC 2011 val, Table 3.1", 39.8),
        ("fcn_googlenet", "mean IU, PASCAL VOC 2011 val, Table 3.1", 42.5),
        ("fcn32s_rgbd", "mean IU (NYUDv2 test, Table 3.5)", 30.5),
        ("fcn32s_hha", "mean IU (NYUDv2 test, Table 3.5)", 24.2),
        ("fcn32s_rgbhha", "mean IU (NYUDv2 test, Table 3.5)", 32.8),
        ("fcn16s_rgbhha", "mean IU (NYUDv2 test, Table 3.5)", 34.0),
        ("fcn16s_siftflow", "geometric pixel accuracy (SIFT Flow test, Table 3.6)", 94.3),
        ("fcn16s_siftflow", "mean IU (SIFT Flow test, semantic classes, Table 3.6)", 39.5),
        ("fcn32s_context", "mean IU (PASCAL-Context val, 59 classes, Table 3.7)", 35.1),
        ("fcn16s_context", "mean IU (PASCAL-Context val, 59 classes, Table 3.7)", 37.6),
        ("fcn8s_context", "mean IU (PASCAL-Context val, 59 classes, Table 3.7)", 37.8),
    ],
)
def test_cards_carry_the_papers_numbers(name, key, value):
    assert card(name).paper_numbers[key] == value


def test_default_classes_and_input_contracts():
    assert {n: card(n).default_num_classes for n in NEW} == {
        "fcn_alexnet": 21, "fcn_googlenet": 21, "fcn32s_rgbd": 40, "fcn32s_hha": 40, "fcn32s_rgbhha": 40,
        "fcn16s_rgbhha": 40, "fcn16s_siftflow": 33, "fcn32s_context": 60, "fcn16s_context": 60, "fcn8s_context": 60}
    # Means of the reference data layers (nyud_layers.py, siftflow_layers.py).
    assert card("fcn32s_rgbd").input_contract.mean == (116.190, 97.203, 92.318, 7.844)
    assert card("fcn32s_hha").input_contract.mean == (132.431, 94.076, 118.477)
    assert card("fcn32s_hha").input_contract.channel_order == "RGB"  # HHA PNG channels as stored
    assert card("fcn16s_siftflow").input_contract.mean == (114.578, 115.294, 108.353)
    assert card("fcn16s_siftflow").task == "multitask_segmentation"  # the runner's single-output task refuses it
    info = str(zoo.info("fcn_alexnet", width=16))
    assert "Table 3.1" in info and "57M" in info


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fcn_alexnet", "fcn_googlenet", "fcn16s_siftflow"])
def test_full_size_500x500_forward(name):
    model = zoo.get(name)
    randomize_scores(model)
    for y in outputs(model, RNG.normal(0, 60, (1, 500, 500, 3)).astype("float32")):
        assert y.shape[:3] == (1, 500, 500) and np.all(np.isfinite(y)) and np.abs(y).max() > 0
