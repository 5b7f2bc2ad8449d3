"""Receptive fields with offsets: hand-computed cases, Long thesis Table 2.1, FCN's crop offsets."""

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import ConfigError
from zoo.layers.crop import CaffeCrop
from zoo.layers.upsampling import Deconvolution2D
from zoo.models.fcn.fcn import fcn8s, fcn16s, fcn32s
from zoo.visualize.fields import field, field_table, unit_patch

# Long thesis Table 2.1 (S1): AlexNet (CaffeNet) at 227x227; offsets by hand: conv1 (11-1)/2 = 5,
# pool1 5 + 4*1 = 9, conv2 "same" 5x5 keeps 9, pool2 9 + 8 = 17, conv3-5 keep 17, pool5 17 + 16 = 33,
# fc6 (the 6x6 map read whole) 33 + 32 * 2.5 = 113 = the image centre (227 - 1) / 2.
TABLE_2_1 = {"conv1": (11, 4, 5), "conv2": (51, 8, 9), "conv3": (99, 16, 17), "conv4": (131, 16, 17),
             "conv5": (163, 16, 17), "pool5": (195, 32, 33), "fc6": (355, 32, 113)}


def test_caffenet_table_2_1_with_offsets():
    rows = field_table(zoo.get("caffenet"))
    got = {n: (rows[n].size[0], rows[n].stride[0], rows[n].offset[0]) for n in TABLE_2_1}
    assert got == TABLE_2_1
    # conv5 unit (0, 0) sees pixels 17 - 81 .. 17 + 81: its box starts in the padding
    assert rows["conv5"].box((0, 0)) == ((-64, 99), (-64, 99))
    assert rows["conv5"].box((12, 12))[0] == (17 + 12 * 16 - 81, 17 + 12 * 16 + 82)


def test_hand_computed_same_padding_split_and_explicit_padding():
    x = inputs = keras.Input((10, 9, 1))
    x = keras.layers.ZeroPadding2D(((2, 0), (1, 0)), name="pad")(x)
    x = keras.layers.Conv2D(1, 3, name="c1")(x)  # centre 1 - pad: y -1, x 0
    x = keras.layers.Conv2D(1, 4, strides=2, padding="same", name="c2")(x)
    x = keras.layers.Cropping2D(((1, 0), (0, 0)), name="crop")(x)
    rows = field_table(keras.Model(inputs, x))
    assert rows["pad"].offset == (-2, -1)
    assert rows["c1"].offset == (-1, 0) and rows["c1"].size == (3, 3)
    # c2 input is 10x8: out 5x4, total pad (5-1)*2 + 4 - 10 = 2 -> 1 before (y); (4-1)*2 + 4 - 8 = 2 -> 1 (x)
    assert rows["c2"].offset == (-1 + 0.5, 0 + 0.5) and rows["c2"].stride == (2, 2) and rows["c2"].size == (6, 6)
    assert rows["crop"].offset == (-0.5 + 2, 0.5)


def test_free_input_size_leaves_a_strided_same_offset_unknown():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 4, strides=2, padding="same", name="c")(inputs))
    assert field_table(model)["c"].offset is None
    # 8 -> 4 outputs, total pad (4-1)*2 + 4 - 8 = 2, 1 before: centre (4-1)/2 - 1 = 0.5
    assert field_table(model, (8, 8, 3))["c"].offset == (0.5, 0.5)
    with pytest.raises(ConfigError, match="offset is unknown"):
        field_table(model)["c"].box((0, 0))


@pytest.mark.parametrize("builder,chain", [
    (fcn32s, [("score_fr", "upscore", "score")]),
    (fcn16s, [("score_fr", "upscore2", "score_pool4c", "score_pool4"), ("fuse_pool4", "upscore16", "score")]),
    (fcn8s, [("score_fr", "upscore2", "score_pool4c", "score_pool4"),
             ("fuse_pool4", "upscore_pool4", "score_pool3c", "score_pool3"), ("fuse_pool3", "upscore8", "score")]),
])
def test_fcn_crop_offsets_follow_from_the_field_offsets(builder, chain):
    """The FCN crops (19; 5, 27; 5, 9, 31: reference net.py) are the shifts that align maps: a skip
    cropped to the up-sampled map, offset(skip) + crop * stride = offset(up-sampled), and the last
    up-sampled map cropped to the input, offset(up-sampled) + crop * stride = 0."""
    model = builder(width=16, num_classes=5)
    offsets = {}
    for coarse, deconv, crop, *skip in chain:
        if coarse in offsets:
            offset, stride = offsets[coarse]
        else:
            row = field(keras.Model(model.inputs, model.get_layer(coarse).output), coarse, (500, 500, 3))
            offset, stride = row.offset[0], row.stride[0]
        up = model.get_layer(deconv)
        assert isinstance(up, Deconvolution2D)
        k, s = up.kernel_size[0], up.strides[0]
        offset, stride = offset - stride * (k - 1) / 2 / s, stride / s  # a deconvolution inverts a conv's map
        crop_layer = model.get_layer(crop)
        assert isinstance(crop_layer, CaffeCrop)
        if skip:
            srow = field(keras.Model(model.inputs, model.get_layer(skip[0]).output), skip[0], (500, 500, 3))
            assert srow.stride[0] == stride
            assert crop_layer.offset[0] == (offset - srow.offset[0]) / stride
            offsets["fuse_" + skip[0].split("_")[1]] = (offset, stride)
        else:
            assert crop_layer.offset[0] == -offset / stride  # the output is pixel-aligned with the input


def test_unit_patch_pads_outside_the_image():
    inputs = keras.Input((6, 6, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same", name="c")(inputs))
    rf = field(model, "c")
    image = np.arange(36, dtype="float32").reshape(6, 6, 1)
    patch = unit_patch(image, rf, (0, 0), fill=-1)
    assert patch[..., 0].tolist() == [[-1, -1, -1], [-1, 0, 1], [-1, 6, 7]]
    np.testing.assert_array_equal(unit_patch(image, rf, (2, 3))[..., 0], image[1:4, 2:5, 0])
    with pytest.raises(ConfigError, match="no layer 'nope'"):
        field(model, "nope")


@pytest.mark.parametrize("size", [(23, 19), (32, 32)])
def test_boxes_equal_the_support_of_each_units_input_gradient(size):
    """An independent oracle: with positive weights and no ReLU, unit (y, x) depends on exactly the
    input pixels of its field that lie inside the image (its input gradient's support)."""
    import tensorflow as tf

    init = keras.initializers.RandomUniform(0.1, 1.0, seed=1)
    x = inputs = keras.Input((*size, 1))
    x = keras.layers.ZeroPadding2D(((1, 2), (0, 1)))(x)
    x = keras.layers.Conv2D(2, 3, strides=2, padding="same", kernel_initializer=init, name="c1")(x)
    x = keras.layers.AveragePooling2D(3, strides=2, padding="same", name="p1")(x)
    x = keras.layers.Conv2D(2, (2, 3), dilation_rate=(1, 2), kernel_initializer=init, name="c2")(x)
    model = keras.Model(inputs, x)
    rf = field(model, "c2")
    out_h, out_w = model.output.shape[1:3]
    image = tf.ones((1, *size, 1))
    for y, x_ in [(0, 0), (out_h - 1, out_w - 1), (out_h // 2, 0)]:
        with tf.GradientTape() as tape:
            tape.watch(image)
            unit = model(image)[0, y, x_, 0]
        support = np.argwhere(tape.gradient(unit, image).numpy()[0, ..., 0] > 0)
        (y0, y1), (x0, x1) = rf.box((y, x_))
        assert support[:, 0].min() == max(y0, 0) and support[:, 0].max() == min(y1, size[0]) - 1
        assert support[:, 1].min() == max(x0, 0) and support[:, 1].max() == min(x1, size[1]) - 1
