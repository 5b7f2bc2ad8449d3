"""Classic classifiers: MLP, LeNet-5, AlexNet/CaffeNet, ZFNet, OverFeat, GoogLeNet, ResNet/PlainNet.

Full-size models are only built (parameter counts, shapes); anything that runs them uses the
small configurations (tests/model_test_configs.py). Every expected number cites its source; "derived" means
plain arithmetic on the source's layer table, written out in the test.
"""

import functools

import keras
import numpy as np
import pytest

import zoo
from tests.model_test_configs import SMALL
from zoo import registry
from zoo.errors import ConfigError
from zoo.layers.lrn import LocalResponseNormalization
from zoo.layers.pooling import CaffeMaxPooling2D

MINE = ["mlp", "lenet5", "alexnet", "caffenet", "zfnet", "overfeat_fast", "overfeat_accurate", "googlenet",
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plainnet18", "plainnet34"]


@functools.cache
def full(name, **kwargs):
    """A full-size model, built once per test session (only the ones several tests use)."""
    return zoo.get(name, **kwargs)


def counts(model):
    """(trainable, total) weights."""
    return tuple(sum(int(np.prod(w.shape)) for w in ws) for ws in (model.trainable_weights, model.weights))


def conv(k, cin, cout, groups=1):
    """Weights + biases of a k×k conv (or a dense layer with k=1)."""
    return k * k * cin // groups * cout + cout


def shape(model, layer):
    return tuple(model.get_layer(layer).output.shape[1:])


# --- parameter counts of the full-size nets -------------------------------------------------

ALEXNET_PARAMS = 60_965_224  # BVLC readme (reference/original_reference_code.md §7.1)
# Derived from the layer tables (cited in each builder): sum of k*k*Cin*Cout + Cout.
ZFNET_PARAMS = (conv(7, 3, 96) + conv(5, 96, 256) + conv(3, 256, 384) + conv(3, 384, 384) + conv(3, 384, 256)
                + conv(1, 9216, 4096) + conv(1, 4096, 4096) + conv(1, 4096, 1000))
OVERFEAT_FAST_PARAMS = (conv(11, 3, 96) + conv(5, 96, 256) + conv(3, 256, 512) + conv(3, 512, 1024)
                        + conv(3, 1024, 1024) + conv(1, 6 * 6 * 1024, 3072) + conv(1, 3072, 4096) + conv(1, 4096, 1000))
OVERFEAT_ACCURATE_PARAMS = (conv(7, 3, 96) + conv(7, 96, 256) + conv(3, 256, 512) + conv(3, 512, 512)
                            + conv(3, 512, 1024) + conv(3, 1024, 1024) + conv(1, 5 * 5 * 1024, 4096)
                            + conv(1, 4096, 4096) + conv(1, 4096, 1000))
# LeNet-5: the paper's 60,000 trainable parameters (§II.B), minus S2/S4's 12 + 32 coefficients,
# plus 900 for a fully connected C3 (2,416 instead of 1,516), plus a trainable 84->10 output (850).
LENET_PARAMS = 60_000 - 12 - 32 + (conv(5, 6, 16) - 1_516) + conv(1, 84, 10)
MLP_PARAMS = conv(1, 784, 300) + conv(1, 300, 100) + conv(1, 100, 10)
# torchvision's counts of the same architectures (convs without bias, BN gamma/beta trainable).
RESNET_TRAINABLE = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
                    "resnet101": 44_549_160, "resnet152": 60_192_808}
# A projection shortcut: 1×1 conv (no bias) + BN gamma/beta, at conv3/conv4/conv5 block 1.
PROJECTIONS = sum(cin * cout + 2 * cout for cin, cout in ((64, 128), (128, 256), (256, 512)))


@pytest.mark.parametrize(
    "name,want",
    [("alexnet", ALEXNET_PARAMS), ("caffenet", ALEXNET_PARAMS), ("zfnet", ZFNET_PARAMS),
     ("overfeat_fast", OVERFEAT_FAST_PARAMS), ("overfeat_accurate", OVERFEAT_ACCURATE_PARAMS),
     ("googlenet", 6_998_552), ("lenet5", LENET_PARAMS), ("mlp", MLP_PARAMS)],
)
def test_parameter_count(name, want):
    model = full(name) if name in ("alexnet", "caffenet", "googlenet") else zoo.get(name)
    assert counts(model) == (want, want)


def test_lenet_count_is_the_stated_arithmetic():
    assert LENET_PARAMS == 61_706


@pytest.mark.parametrize("name", sorted(RESNET_TRAINABLE))
def test_resnet_trainable_parameters(name):
    model = full(name) if name == "resnet50" else zoo.get(name)
    assert counts(model)[0] == RESNET_TRAINABLE[name]


@pytest.mark.parametrize("depth", [18, 34])
def test_plainnet_is_resnet_without_projection_shortcuts(depth):
    # Identity shortcuts are parameter-free (He et al. §3.3), so only option B's projections differ.
    plain = counts(zoo.get(f"plainnet{depth}"))[0]
    assert plain == RESNET_TRAINABLE[f"resnet{depth}"] - PROJECTIONS


@pytest.mark.parametrize("depth,blocks", [(18, 8), (34, 16), (50, 16), (101, 33), (152, 50)])
def test_resnet_has_one_add_per_block_and_plainnet_none(depth, blocks):
    model = full("resnet50") if depth == 50 else zoo.get(f"resnet{depth}", width=16, input_shape=(64, 64, 3))
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == blocks
    if depth in (18, 34):
        plain = zoo.get(f"plainnet{depth}", width=16, input_shape=(64, 64, 3))
        assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)


# --- AlexNet / CaffeNet ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["alexnet", "caffenet"])
def test_bvlc_shapes_at_227(name):
    # Caffe deploy.prototxt at 227 (§7.1): 55 -> 27 -> 13 -> 6; pool5 is 6x6x256 = 9216 and
    # fc6 is a 4096x9216 matrix (Donahue thesis §3.1.6).
    model = full(name)
    assert shape(model, "conv1") == (55, 55, 96)
    assert shape(model, "pool1") == (27, 27, 96)
    assert shape(model, "conv2") == (27, 27, 256)
    assert shape(model, "pool2") == (13, 13, 256)
    assert shape(model, "conv5") == (13, 13, 256)
    assert shape(model, "pool5") == (6, 6, 256)
    assert model.get_layer("fc6").kernel.shape == (9216, 4096)
    assert model.get_layer("fc7").kernel.shape == (4096, 4096)
    # "about 16.8 million" parameters in fc7 (Donahue thesis §3.1.6.2)
    assert model.get_layer("fc7").count_params() == 16_781_312
    assert model.output.shape == (None, 1000)


@pytest.mark.parametrize("name", ["alexnet", "caffenet"])
def test_bvlc_two_groups_on_conv2_conv4_conv5(name):
    # group: 2 (§7.1): each filter sees half of the input channels.
    model = full(name)
    assert model.get_layer("conv1").kernel.shape == (11, 11, 3, 96)
    assert model.get_layer("conv2").kernel.shape == (5, 5, 48, 256)
    assert model.get_layer("conv3").kernel.shape == (3, 3, 256, 384)
    assert model.get_layer("conv4").kernel.shape == (3, 3, 192, 384)
    assert model.get_layer("conv5").kernel.shape == (3, 3, 192, 256)


def _order(model, names):
    layers = [layer.name for layer in model.layers]
    return [n for n in layers if n in names]


def test_alexnet_normalises_before_pooling_and_caffenet_after():
    names = {"conv1", "norm1", "pool1", "conv2", "norm2", "pool2"}
    assert _order(full("alexnet"), names) == ["conv1", "norm1", "pool1", "conv2", "norm2", "pool2"]
    assert _order(full("caffenet"), names) == ["conv1", "pool1", "norm1", "conv2", "pool2", "norm2"]
    norm = full("caffenet").get_layer("norm1")
    assert isinstance(norm, LocalResponseNormalization) and (norm.size, norm.alpha, norm.beta) == (5, 1e-4, 0.75)
    assert isinstance(full("caffenet").get_layer("pool5"), CaffeMaxPooling2D)


def test_alexnet_and_caffenet_compute_different_functions_with_the_same_weights():
    a = zoo.get("alexnet", **SMALL["alexnet"].kwargs)
    c = zoo.get("caffenet", **SMALL["caffenet"].kwargs)
    c.set_weights(a.get_weights())
    x = np.random.default_rng(0).normal(0, 60, (1, 67, 67, 3)).astype("float32")
    assert not np.allclose(a(x), c(x), rtol=1e-3)


def test_decaf_taps_fc6_fc7_and_pool5_are_reachable():
    # DeCAF5/6/7 = pool5, fc6, fc7 (Donahue thesis §2.2; DeCAF release, reference §7.2).
    model = zoo.get("caffenet", **SMALL["caffenet"].kwargs)
    taps = keras.Model(model.input, [model.get_layer(n).output for n in ("pool5", "fc6", "fc7")])
    pool5, fc6, fc7 = taps(np.random.default_rng(1).normal(0, 60, (2, 67, 67, 3)).astype("float32"))
    assert pool5.shape == (2, 1, 1, 16) and fc6.shape == (2, 256) and fc7.shape == (2, 256)
    assert np.all(np.asarray(fc6) >= 0), "Caffe's fc6 blob is rectified in place by relu6"


def test_caffenet_without_top_takes_any_size_and_with_top_refuses_free_sizes():
    body = zoo.get("caffenet", include_top=False, input_shape=(None, None, 3), width=16)
    assert body.output.shape == (None, None, None, 16)
    assert body(np.zeros((1, 500, 500, 3), "float32")).shape == (1, 15, 15, 16)
    with pytest.raises(ConfigError, match="fixed size"):
        zoo.get("caffenet", input_shape=(None, None, 3))


def test_classifier_activation_adds_caffe_prob():
    model = zoo.get("caffenet", classifier_activation="softmax", **SMALL["caffenet"].kwargs)
    y = np.asarray(model(np.zeros((2, 67, 67, 3), "float32")))
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)
    assert model.layers[-1].name == "prob"


def test_num_classes_resizes_the_head_only():
    model = zoo.get("alexnet", num_classes=20, width=16, input_shape=(67, 67, 3))
    assert model.get_layer("fc8").kernel.shape == (256, 20)
    assert registry.card("alexnet").head_layers == ("fc8",)


@pytest.mark.parametrize("width", [0, 5, 64])
def test_width_must_divide_every_layer(width):
    with pytest.raises(ConfigError, match="width"):
        zoo.get("alexnet", width=width)


# --- ZFNet, OverFeat ---------------------------------------------------------------------------

def test_zfnet_shapes_of_figure_3():
    # Zeiler & Fergus Fig. 3 (quoted in Laptev slides §A.6): 224 -> 110 (conv1 7x7/2) ->
    # 55 (pool 3/2) -> 26 (conv2 5x5/2) -> 13 -> 13 -> 13 -> 13 -> 6; fc6 input 6*6*256 = 9216.
    model = zoo.get("zfnet")
    assert shape(model, "conv1") == (110, 110, 96)
    assert shape(model, "pool1") == (55, 55, 96)
    assert shape(model, "norm1") == (55, 55, 96)
    assert shape(model, "conv2") == (26, 26, 256)
    assert shape(model, "pool2") == (13, 13, 256)
    assert [shape(model, f"conv{i}") for i in (3, 4, 5)] == [(13, 13, 384), (13, 13, 384), (13, 13, 256)]
    assert shape(model, "pool5") == (6, 6, 256)
    assert shape(model, "flatten") == (9216,)
    assert model.get_layer("conv3").kernel.shape == (3, 3, 256, 384), "ZFNet's convs are dense, not grouped"


def test_overfeat_fast_shapes_of_table_1():
    # OverFeat Table 1: input 231; layer 2's 24x24 is its conv output; 12x12 for layers 3-5; 6x6 into fc6.
    model = zoo.get("overfeat_fast")
    assert shape(model, "conv1") == (56, 56, 96)
    assert shape(model, "pool1") == (28, 28, 96)
    assert shape(model, "conv2") == (24, 24, 256)
    assert [shape(model, f"conv{i}") for i in (3, 4, 5)] == [(12, 12, 512), (12, 12, 1024), (12, 12, 1024)]
    assert shape(model, "pool5") == (6, 6, 1024)
    assert [shape(model, n)[-1] for n in ("fc6", "fc7", "fc8")] == [3072, 4096, 1000]


def test_overfeat_accurate_shapes_of_table_3():
    # OverFeat Table 3: input 221; 36x36 into layer 2; 15x15 for layers 3-6; 5x5 into the classifier.
    model = zoo.get("overfeat_accurate")
    assert shape(model, "pool1") == (36, 36, 96)
    assert shape(model, "conv2") == (30, 30, 256)
    assert [shape(model, f"conv{i}") for i in (3, 4, 5, 6)] == [(15, 15, 512), (15, 15, 512), (15, 15, 1024),
                                                                (15, 15, 1024)]
    assert shape(model, "pool6") == (5, 5, 1024)
    assert [shape(model, n)[-1] for n in ("fc7", "fc8", "fc9")] == [4096, 4096, 1000]
    assert registry.card("overfeat_accurate").head_layers == ("fc9",)


# --- GoogLeNet ---------------------------------------------------------------------------------

def test_googlenet_shapes_and_widths_of_table_1():
    model = full("googlenet")
    assert shape(model, "conv1_7x7_s2") == (112, 112, 64)
    # Caffe's ceil-mode pooling: 112 -> 56 (Keras' floor would give 55).
    assert shape(model, "pool1_3x3_s2") == (56, 56, 64)
    assert shape(model, "conv2_3x3") == (56, 56, 192)
    # Table 1 output sizes and depths of each Inception module.
    want = {"3a": (28, 256), "3b": (28, 480), "4a": (14, 512), "4b": (14, 512), "4c": (14, 512),
            "4d": (14, 528), "4e": (14, 832), "5a": (7, 832), "5b": (7, 1024)}
    for name, (size, depth) in want.items():
        assert shape(model, f"inception_{name}_output") == (size, size, depth), name
    # "After last pooling layer, volume is of size [7x7x1024]" (Laptev slides §A.6).
    assert shape(model, "inception_5b_output") == (7, 7, 1024)
    assert model.get_layer("pool5_drop_7x7_s1").rate == 0.4
    assert model.get_layer("loss3_classifier").kernel.shape == (1024, 1000)


def test_googlenet_auxiliary_heads():
    # §5: auxiliary classifiers on 4a and 4d, used in training only; 13,378,280 parameters with
    # them (6,998,552 + 2 heads of 5x5/3 pool, 1x1 conv 128, fc 1024, classifier).
    model = full("googlenet", aux_logits=True)
    assert len(model.outputs) == 3 and all(o.shape == (None, 1000) for o in model.outputs)
    assert counts(model) == (13_378_280, 13_378_280)
    aux = conv(1, 128 * 4 * 4, 1024) + conv(1, 1024, 1000)
    assert 13_378_280 - 6_998_552 == conv(1, 512, 128) + conv(1, 528, 128) + 2 * aux
    for head, source in (("loss1_ave_pool", "inception_4a_output"), ("loss2_ave_pool", "inception_4d_output")):
        assert model.get_layer(head).input is model.get_layer(source).output
    assert shape(model, "loss1_conv") == (4, 4, 128)
    assert model.get_layer("loss1_drop_fc").rate == 0.7
    # Default: no auxiliary heads, one output.
    assert not any(layer.name.startswith("loss1") for layer in full("googlenet").layers)


def test_googlenet_aux_logits_small_forward_returns_three_heads():
    model = zoo.get("googlenet", aux_logits=True, **SMALL["googlenet"].kwargs)
    outs = model(np.zeros((2, 96, 96, 3), "float32"))
    assert [tuple(o.shape) for o in outs] == [(2, 10)] * 3
    with pytest.raises(ConfigError, match="include_top"):
        zoo.get("googlenet", aux_logits=True, include_top=False)


def test_googlenet_body_is_6m_as_in_fcn_table_3_1():
    # Long thesis Table 3.1: FCN-GoogLeNet has 6M parameters (no classifier, no auxiliary heads).
    trainable, _ = counts(zoo.get("googlenet", include_top=False))
    assert trainable == 6_998_552 - conv(1, 1024, 1000)
    assert round(trainable / 1e6) == 6


# --- ResNet --------------------------------------------------------------------------------------

def test_resnet50_stage_shapes_of_table_1():
    # He et al. Table 1 output sizes: conv1 112, conv2_x 56, conv3_x 28, conv4_x 14, conv5_x 7.
    model = full("resnet50")
    assert shape(model, "conv1_relu") == (112, 112, 64)
    assert shape(model, "pool1_pool") == (56, 56, 64)
    for stage, (size, depth) in zip((2, 3, 4, 5), ((56, 256), (28, 512), (14, 1024), (7, 2048))):
        blocks = (3, 4, 6, 3)[stage - 2]
        assert shape(model, f"conv{stage}_block{blocks}_out") == (size, size, depth)
    # Projections (option B) only in the first block of each stage.
    projections = sorted(layer.name for layer in model.layers if layer.name.endswith("_0_conv"))
    assert projections == [f"conv{s}_block1_0_conv" for s in (2, 3, 4, 5)]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert not any(layer.use_bias for layer in convs)


def test_resnet18_basic_blocks_and_symmetric_padding():
    model = zoo.get("resnet18")
    assert shape(model, "conv5_block2_out") == (7, 7, 512)
    assert model.get_layer("conv3_block1_1_conv").kernel.shape == (3, 3, 64, 128)
    assert shape(model, "conv3_block1_1_pad") == (58, 58, 64)  # 1 pixel on every side, then a valid 3x3/2
    assert model.get_layer("conv3_block1_0_conv").strides == (2, 2)


def test_resnet50_matches_keras_applications_layer_for_layer():
    """Oracle: keras.applications.ResNet50. With conv_bias=True the layer names and weight shapes
    are identical, and with its weights our network computes the same function."""
    ours = zoo.get("resnet50", conv_bias=True, include_top=False, input_shape=(64, 64, 3))
    ref = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    mine = {layer.name: [tuple(w.shape) for w in layer.weights] for layer in ours.layers if layer.weights}
    theirs = {layer.name: [tuple(w.shape) for w in layer.weights] for layer in ref.layers if layer.weights}
    assert mine == theirs
    rng = np.random.default_rng(0)
    for layer in ref.layers:
        if layer.weights:
            values = [rng.normal(0, 0.05, w.shape).astype("float32") for w in layer.weights]
            if isinstance(layer, keras.layers.BatchNormalization):
                values[3] = np.abs(values[3]) + 0.5  # moving variance
            layer.set_weights(values)
            ours.get_layer(layer.name).set_weights(values)
    x = rng.normal(0, 60, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(ours(x), ref(x), rtol=1e-4, atol=1e-4)


def test_resnet_input_contract_is_keras_caffe_mode():
    contract = registry.card("resnet50").input_contract
    assert contract.channel_order == "BGR" and contract.mean == (103.939, 116.779, 123.68) and contract.std is None
    rgb = np.array([[[[10.0, 20.0, 30.0]]]], "float32")
    want = keras.applications.resnet50.preprocess_input(rgb.copy())
    np.testing.assert_allclose(zoo.preprocessor("resnet50")(rgb), want, rtol=1e-6)


# --- LeNet-5, MLP --------------------------------------------------------------------------------

def test_lenet5_shapes():
    # LeCun et al. 1998 §II.B: C1 6@28x28, S2 6@14x14, C3 16@10x10, S4 16@5x5, C5 120@1x1, F6 84.
    model = zoo.get("lenet5")
    want = {"c1": (28, 28, 6), "s2": (14, 14, 6), "c3": (10, 10, 16), "s4": (5, 5, 16), "c5": (1, 1, 120),
            "f6": (84,), "output": (10,)}
    assert {n: shape(model, n) for n in want} == want
    # §II.B input normalisation: background 0 -> -0.1, ink 255 -> 1.175.
    pre = zoo.preprocessor("lenet5")
    np.testing.assert_allclose(np.asarray(pre(np.array([[[[0.0]], [[255.0]]]]))).ravel(), [-0.1, 1.175], rtol=1e-6)


def test_mlp_options():
    model = zoo.get("mlp", hidden_sizes=(32, 16, 8), activation="relu", num_classes=3, input_shape=(4, 4, 2))
    assert [shape(model, n) for n in ("flatten", "hidden1", "hidden2", "hidden3", "output")] == [
        (32,), (32,), (16,), (8,), (3,)]
    assert model.get_layer("hidden1").activation is keras.activations.relu
    assert zoo.get("mlp").get_layer("hidden1").activation is keras.activations.sigmoid
    assert len(zoo.get("mlp", hidden_sizes=()).layers) == 3  # input, flatten, output: a linear classifier
    with pytest.raises(ConfigError, match="hidden_sizes"):
        zoo.get("mlp", hidden_sizes=(0,))


# --- registry cards ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MINE)
def test_card(name):
    card = registry.card(name)
    assert card.paper and card.section and card.task == "classification"
    assert card.default_num_classes in (10, 1000)
    small = card.builder(**SMALL[name].kwargs)
    assert small.name == name
    assert tuple(small.input.shape[1:]) == tuple(SMALL[name].input_shape)
    head = card.head_layers[0]
    assert small.get_layer(head).units == SMALL[name].kwargs["num_classes"]
    assert card.builder.__doc__ and card.summary


def test_save_and_load_small_googlenet_with_lrn_and_caffe_pooling(tmp_path):
    model = zoo.get("googlenet", aux_logits=True, **SMALL["googlenet"].kwargs)
    path = tmp_path / "g.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    x = np.random.default_rng(3).normal(0, 60, (1, 96, 96, 3)).astype("float32")
    for a, b in zip(again(x), model(x)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
