"""Receptive fields, strides and multiply-accumulates computed from Keras layer configs."""

import keras
import numpy as np
import pytest

import zoo
from zoo.analysis import count_flops, receptive_fields
from zoo.errors import ConfigError


def by_name(model, input_shape=None):
    return {r.name: r for r in receptive_fields(model, input_shape)}


@pytest.fixture(scope="module")
def caffenet():
    return zoo.get("caffenet")


# Long thesis Table 2.1 (S1): rf size and stride of AlexNet (CaffeNet) at 227x227.
TABLE_2_1 = {"conv1": (11, 4), "conv2": (51, 8), "conv3": (99, 16), "conv4": (131, 16), "conv5": (163, 16),
             "pool5": (195, 32)}


@pytest.mark.parametrize("name", ["caffenet", "alexnet"])
def test_alexnet_table_2_1(name, caffenet):
    model = caffenet if name == "caffenet" else zoo.get(name, include_top=False)
    rows = by_name(model)
    assert {n: (rows[n].size, rows[n].stride) for n in TABLE_2_1} == {
        n: ((rf, rf), (s, s)) for n, (rf, s) in TABLE_2_1.items()}
    assert rows["pool5"].output_shape == (6, 6, 256)


def test_fc6_as_a_convolution_sees_355_pixels(caffenet):
    # Long thesis Table 3.1: FCN-AlexNet rf size 355, max stride 32 (fc6 reads the whole 6x6 pool5).
    rows = by_name(caffenet)
    assert (rows["fc6"].size, rows["fc6"].stride) == ((355, 355), (32, 32))
    assert rows["fc8"].size == (355, 355)


def test_keras_applications_vgg16_pool5_and_fc6():
    # Long thesis Table 3.1 / S7 [derived]: VGG16 pool5 rf 212, fc6 (7x7 over pool5) 404, stride 32.
    # keras.applications' VGG16 is an independent model, so this also checks the walk on foreign layers.
    rows = by_name(keras.applications.VGG16(weights=None))
    assert (rows["block5_pool"].size, rows["block5_pool"].stride) == ((212, 212), (32, 32))
    assert rows["fc1"].size == (404, 404)


def test_googlenet_rf_907_stride_32():
    # Long thesis Table 3.1: FCN-GoogLeNet rf size 907, max stride 32 (with the 7x7 average pool).
    rows = by_name(zoo.get("googlenet"))
    assert (rows["pool5_7x7_s1"].size, rows["pool5_7x7_s1"].stride) == ((907, 907), (32, 32))
    # Branches merge by the largest field: the output of 3a is at least its 5x5 branch's.
    assert rows["inception_3a_output"].size == rows["inception_3a_5x5"].size


def test_overfeat_accurate_stride_36_and_fast_stride_32():
    # Oquab thesis §4.2: "36 pixels for the OverFeat network"; the fast model is 4*2*2*2 = 32.
    assert by_name(zoo.get("overfeat_accurate"))["pool6"].stride == (36, 36)
    assert by_name(zoo.get("overfeat_fast"))["pool5"].stride == (32, 32)


def test_dilation_padding_1d_and_other_input_size():
    inputs = keras.Input((None, 4))
    x = keras.layers.ZeroPadding1D(3, name="pad")(inputs)
    x = keras.layers.Conv1D(2, 3, dilation_rate=2, name="dilated")(x)  # effective kernel 5
    x = keras.layers.MaxPooling1D(2, name="pool")(x)
    x = keras.layers.Conv1D(2, 3, strides=2, padding="same", name="strided")(x)
    model = keras.Model(inputs, x)
    rows = by_name(model, input_shape=(40, 4))
    assert [(rows[n].size, rows[n].stride) for n in ("pad", "dilated", "pool", "strided")] == [
        ((1,), (1,)), ((5,), (1,)), ((6,), (2,)), ((10,), (4,))]
    assert rows["strided"].output_shape == (11, 2)  # 40 + 6 - 4 = 42 -> 21 -> ceil(21 / 2)


def test_nested_models_are_walked_into():
    inner_in = keras.Input((None, None, 3))
    inner = keras.Model(inner_in, keras.layers.Conv2D(4, 3, strides=2, name="inner_conv")(inner_in), name="inner")
    outer_in = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, name="outer_conv")(inner(outer_in))
    rows = by_name(keras.Model(outer_in, x))
    assert rows["inner_conv"].size == (3, 3) and rows["outer_conv"].size == (7, 7)
    assert count_flops(keras.Model(outer_in, x), by_layer=True) == {
        "inner_conv": 15 * 15 * 4 * 9 * 3, "outer_conv": 7 * 7 * 4 * 9 * 4}


def test_unknown_geometry_is_an_error_not_a_guess():
    inputs = keras.Input((8, 8, 3))
    up = keras.Model(inputs, keras.layers.UpSampling2D(2, name="up")(inputs))
    with pytest.raises(ConfigError, match="up"):
        receptive_fields(up)
    deconv = keras.Model(inputs, keras.layers.Conv2DTranspose(2, 4, strides=2, name="deconv")(inputs))
    with pytest.raises(ConfigError, match="transposed"):
        receptive_fields(deconv)
    free = keras.Input((None, None, 3))
    gap = keras.Model(free, keras.layers.GlobalAveragePooling2D(name="gap")(free))
    with pytest.raises(ConfigError, match="input_shape"):
        receptive_fields(gap)
    assert by_name(gap, (9, 9, 3))["gap"].size == (9, 9)


# --- multiply-accumulates -------------------------------------------------------------------------

def test_caffenet_macs_by_hand(caffenet):
    # Each layer: output positions x output channels x kernel area x input channels per group.
    want = {
        "conv1": 55 * 55 * 96 * 11 * 11 * 3,
        "conv2": 27 * 27 * 256 * 5 * 5 * 48,
        "conv3": 13 * 13 * 384 * 3 * 3 * 256,
        "conv4": 13 * 13 * 384 * 3 * 3 * 192,
        "conv5": 13 * 13 * 256 * 3 * 3 * 192,
        "fc6": 9216 * 4096, "fc7": 4096 * 4096, "fc8": 4096 * 1000,
    }
    assert count_flops(caffenet, by_layer=True) == want
    assert count_flops(caffenet) == sum(want.values()) == 724_406_816


def test_vgg16_macs_from_the_slide_table():
    # Laptev slides §A.6, VGG-16 table: weights per layer (no biases) times output positions.
    convs = [(1_728, 224), (36_864, 224), (73_728, 112), (147_456, 112), (294_912, 56), (589_824, 56),
             (589_824, 56), (1_179_648, 28), (2_359_296, 28), (2_359_296, 28)] + [(2_359_296, 14)] * 3
    want = sum(w * s * s for w, s in convs) + 102_760_448 + 16_777_216 + 4_096_000
    assert count_flops(keras.applications.VGG16(weights=None)) == want == 15_470_264_320


@pytest.mark.parametrize("name,gflops", [("resnet18", 1.8), ("resnet34", 3.6), ("resnet50", 3.8),
                                         ("resnet101", 7.6), ("resnet152", 11.3)])
def test_resnet_flops_of_table_1(name, gflops):
    # He et al. 2016 Table 1, last row ("FLOPs", counted as multiply-adds), given to 2 digits.
    assert count_flops(zoo.get(name)) / 1e9 == pytest.approx(gflops, rel=0.02)


def test_flops_at_another_input_size():
    # Convolutions scale with the number of output positions (4x at 448); the classifier does not.
    model = zoo.get("resnet50", input_shape=(None, None, 3))
    fc = 2048 * 1000
    at_224, at_448 = count_flops(model, (224, 224, 3)), count_flops(model, (448, 448, 3))
    assert at_448 - fc == 4 * (at_224 - fc)
    with pytest.raises(ConfigError, match="input_shape"):
        count_flops(model)


def test_depthwise_and_transposed_convolutions():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw")(inputs)
    x = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same", name="up")(x)
    got = count_flops(keras.Model(inputs, x), by_layer=True)
    assert got == {"dw": 8 * 8 * 8 * 9, "up": 8 * 8 * 8 * 16 * 3}


def test_analysis_does_not_touch_the_model(caffenet):
    # The walk is symbolic: no new nodes, so taps like model.get_layer("fc6").output keep working.
    receptive_fields(caffenet)
    count_flops(caffenet)
    assert caffenet.get_layer("fc6").output.shape == (None, 4096)
    assert len(caffenet.get_layer("conv1")._inbound_nodes) == 1
    x = np.zeros((1, 227, 227, 3), "float32")
    assert caffenet(x).shape == (1, 1000)
