"""Fully convolutional networks on VGG16: FCN-32s, FCN-16s, FCN-8s (Long thesis 2016, ch. 3 = Long,
Shelhamer & Darrell, CVPR 2015), built as the reference Caffe nets (fcn.berkeleyvision.org,
voc-fcn32s/16s/8s/8s-atonce net.py).

Thesis §3.3.1: decapitate VGG16, convolutionalize fc6 (7x7) and fc7 (1x1), score each coarse
location with a 1x1 conv (zero-initialised, §3.3.5) and upsample with bilinear deconvolution.
§3.3.2: FCN-16s adds class predictions from pool4 (a zero-initialised 1x1 conv) to a 2x
upsampling of the stride-32 scores; FCN-8s adds pool3's in the same way.

From the reference code, not the thesis (shelhamer/fcn.berkeleyvision.org, `voc-fcn*/net.py`): conv1_1's pad of
100 (so any input size, down to 1x1, yields at least one fc6 position), Caffe's ceil-mode
pooling, the crop offsets (19; 5 and 27; 5, 9 and 31) that align each upsampled map with the
next, and deconvolution kernels 2s x 2s (64/32, 4/2, 32/16, 16/8) that all stay fixed
(lr_mult 0). The output is the per-pixel class scores (logits) at the input's size.

The pieces (vgg16_pools, convolutionalized_fc, skip_scores, final_scores) also build the
thesis's other FCNs in fcn_variants.py (AlexNet/GoogLeNet trunks, NYUDv2, SIFT Flow, Context).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError
from zoo.layers.crop import CaffeCrop
from zoo.layers.upsampling import Deconvolution2D
from zoo.models.vgg.vgg import FC_UNITS, channels, vgg_trunk

# How the deconvolutions are set (thesis §3.3.2, §3.3.10): "thesis" learns the intermediate 2x
# upsamplings from a bilinear start and keeps the final one fixed bilinear; "fixed_bilinear" is
# the reference code's choice (every deconvolution lr_mult 0); "learned" learns them all.
UPSAMPLING = ("thesis", "fixed_bilinear", "learned")


@keras.saving.register_keras_serializable(package="zoo")
class ChannelScale(keras.layers.Layer):
    """Caffe `Scale` with one bottom: x * w per channel, w a frozen weight filled with `value`.

    FCN-8s at-once scales pool4 by 0.01 and pool3 by 0.0001 "to better condition
    optimization" (reference README) with lr_mult 0, so the weight never trains.
    """

    def __init__(self, value, **kwargs):
        super().__init__(**kwargs)
        self.value = float(value)

    def build(self, input_shape):
        self.scale = self.add_weight(
            name="scale", shape=(input_shape[-1],), initializer=keras.initializers.Constant(self.value), trainable=False
        )

    def call(self, inputs):
        return inputs * ops.cast(self.scale, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "value": self.value}


def _score(x, num_classes, name):
    # Zero-initialised, as the reference (Caffe's default filler) and thesis §3.3.5 do.
    return keras.layers.Conv2D(num_classes, 1, kernel_initializer="zeros", name=name)(x)


def check_upsampling(upsampling):
    if upsampling not in UPSAMPLING:
        raise ConfigError(f"upsampling must be one of {', '.join(UPSAMPLING)}, got {upsampling!r}")


def upscore(x, *, num_classes, kernel, factor, name, upsampling, final):
    """A Caffe Deconvolution (no bias) upsampling `factor` times, bilinear-initialised.

    Fixed (the separable fast path) when `upsampling` is "fixed_bilinear", or when it is
    "thesis" and this is the `final` upsampling to the image (§3.3.10); learned otherwise.
    """
    fixed = upsampling == "fixed_bilinear" or (upsampling == "thesis" and final)
    return Deconvolution2D(num_classes, kernel, factor, fixed_bilinear=fixed, name=name)(x)


def copy_chain(layers, x, rename=None):
    """Fresh copies (same config, new weights) of a chain of `layers`, applied in turn to `x`.

    The copies are named `rename(name)` (default: the same names); returns {original name:
    output}. Used to put a zoo backbone behind FCN's input pad (CaffeNet) and where the
    reference renames a backbone's layers (NYUDv2: conv1_1_bgrd, per-modality suffixes).
    """
    outputs = {}
    for layer in layers:
        config = {**layer.get_config(), "name": rename(layer.name) if rename else layer.name}
        x = outputs[layer.name] = type(layer).from_config(config)(x)
    return outputs


def vgg16_pools(data, *, width, rename=None):
    """VGG16's conv1_1 .. pool5 on `data`, conv1_1 padded by 100 (reference voc-fcn*/net.py).

    Returns {"pool1": ..., "pool5": ...}. With `rename`, the layers are named `rename(name)`.
    """
    if rename is None:
        return vgg_trunk(data, "D", width=width, first_pad=100)
    template = keras.Input(data.shape[1:])
    chain = keras.Model(template, vgg_trunk(template, "D", width=width, first_pad=100)["pool5"]).layers[1:]
    outputs = copy_chain(chain, data, rename)
    return {f"pool{i}": outputs[f"pool{i}"] for i in range(1, 6)}


def convolutionalized_fc(x, *, width, kernel=7, suffix=""):
    """fc6 as a kernel x kernel convolution over pool5, fc7 as 1x1, each with ReLU and dropout 0.5.

    Thesis §3.3.1: fully connected layers become convolutions covering their input region
    (VGG16: pool5 is 7x7; CaffeNet: 6x6).
    """
    x = keras.layers.Conv2D(channels(FC_UNITS, width), kernel, activation="relu", name=f"fc6{suffix}")(x)
    x = keras.layers.Dropout(0.5, name=f"drop6{suffix}")(x)
    x = keras.layers.Conv2D(channels(FC_UNITS, width), 1, activation="relu", name=f"fc7{suffix}")(x)
    return keras.layers.Dropout(0.5, name=f"drop7{suffix}")(x)


def skip_scores(features, pools, stride, *, num_classes, upsampling, suffix="", skip_scales=None):
    """score_fr on `features`; for stride 16 (8) fused with pool4 (and pool3) scores (thesis §3.3.2).

    Returns the scores at `stride`, before the final upsampling. Layer names are the reference's,
    each followed by `suffix` (crops: score_pool4{suffix}c, as siftflow-fcn16s/net.py names them).
    """

    def skip(pool):  # a pool feature for a skip score layer, scaled first in the at-once net
        if skip_scales is None:
            return pools[pool]
        return ChannelScale(skip_scales[pool], name=f"scale_{pool}{suffix}")(pools[pool])

    scores = _score(features, num_classes, f"score_fr{suffix}")
    if stride == 32:
        return scores
    up = upscore(scores, num_classes=num_classes, kernel=4, factor=2, name=f"upscore2{suffix}", upsampling=upsampling,
                 final=False)
    pool4 = _score(skip("pool4"), num_classes, f"score_pool4{suffix}")
    scores = keras.layers.Add(name=f"fuse_pool4{suffix}")([up, CaffeCrop(5, name=f"score_pool4{suffix}c")([pool4, up])])
    if stride == 16:
        return scores
    up = upscore(scores, num_classes=num_classes, kernel=4, factor=2, name=f"upscore_pool4{suffix}",
                 upsampling=upsampling, final=False)
    pool3 = _score(skip("pool3"), num_classes, f"score_pool3{suffix}")
    return keras.layers.Add(name=f"fuse_pool3{suffix}")([up, CaffeCrop(9, name=f"score_pool3{suffix}c")([pool3, up])])


# The last upsampling of the VGG16 nets (pad 100): layer name, kernel and the crop offset that
# aligns the result with the input (reference voc-fcn32s/16s/8s/net.py).
FINAL_UPSCORE = {32: ("upscore", 64, 19), 16: ("upscore16", 32, 27), 8: ("upscore8", 16, 31)}


def final_scores(scores, data, stride, *, num_classes, upsampling, suffix=""):
    """Upsample stride-`stride` VGG16 scores to the input and crop them to its size: `score{suffix}`."""
    name, kernel, offset = FINAL_UPSCORE[stride]
    up = upscore(scores, num_classes=num_classes, kernel=kernel, factor=stride, name=name + suffix,
                 upsampling=upsampling, final=True)
    return CaffeCrop(offset, name=f"score{suffix}")([up, data])


def freeze_trunk(model):
    """Make conv* and fc* layers non-trainable: only the score layers learn (thesis §3.3.6)."""
    for layer in model.layers:
        if layer.name.startswith(("conv", "fc")):
            layer.trainable = False


def _fcn(name, stride, *, num_classes, input_shape, width, upsampling, skip_scales=None, train_trunk=True,
         rename=None):
    check_upsampling(upsampling)
    data = keras.Input(input_shape, name="data")
    pools = vgg16_pools(data, width=width, rename=rename)
    features = convolutionalized_fc(pools["pool5"], width=width)
    scores = skip_scores(features, pools, stride, num_classes=num_classes, upsampling=upsampling,
                         skip_scales=skip_scales)
    model = keras.Model(data, final_scores(scores, data, stride, num_classes=num_classes, upsampling=upsampling),
                        name=name)
    if not train_trunk:
        freeze_trunk(model)
    return model


def fcn32s(num_classes=21, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-32s: VGG16 convolutionalized, stride-32 scores upsampled 32x in one step (thesis §3.3.1-3.3.2).

    Args (the same for every FCN):
        num_classes: score channels (21 for PASCAL VOC: 20 classes and background).
        input_shape: (H, W, 3), BGR minus the mean; any H and W (None: free size).
        width: divides every VGG and fc6/fc7 channel count, for small test or demo nets;
            1 is the paper's net.
        upsampling: "thesis" (§3.3.2, §3.3.10: the intermediate 2x upsamplings are trainable
            (k, k, C, C) kernels initialised bilinear, the final one is fixed bilinear, computed
            as separable matrix products), "fixed_bilinear" (the reference code: every
            deconvolution frozen bilinear, lr_mult 0) or "learned" (all trainable).
            Released files load into "thesis" whatever their 2x kernels hold.
    """
    return _fcn("fcn32s", 32, num_classes=num_classes, input_shape=input_shape, width=width, upsampling=upsampling)


def fcn16s(num_classes=21, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-16s: FCN-32s plus pool4 scores fused at stride 16 (thesis §3.3.2).

    Arguments as for `fcn32s`.
    """
    return _fcn("fcn16s", 16, num_classes=num_classes, input_shape=input_shape, width=width, upsampling=upsampling)


def fcn8s(num_classes=21, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-8s: FCN-16s plus pool3 scores fused at stride 8 (thesis §3.3.2).

    Arguments as for `fcn32s`.
    """
    return _fcn("fcn8s", 8, num_classes=num_classes, input_shape=input_shape, width=width, upsampling=upsampling)


def fcn8s_atonce(num_classes=21, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-8s trained in one stage: pool4 scaled by 0.01 and pool3 by 0.0001 before their score layers.

    The fixed scales (reference voc-fcn8s-atonce/net.py, Caffe `Scale` with lr_mult 0) let
    all skips train at once instead of 32s -> 16s -> 8s. The thesis does not report this net;
    the reference README gives 65.4 mean IU on seg11valid for its released weights.
    Arguments as for `fcn32s`.
    """
    return _fcn("fcn8s_atonce", 8, num_classes=num_classes, input_shape=input_shape, width=width,
                upsampling=upsampling, skip_scales={"pool4": 0.01, "pool3": 0.0001})


def fcn32s_fixed(num_classes=21, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-32s-fixed: FCN-32s where only the class scoring layer learns (thesis §3.3.6, Table 3.2).

    Every VGG layer (conv1_1 .. fc7) is trainable=False. Arguments as for `fcn32s`.
    """
    return _fcn("fcn32s_fixed", 32, num_classes=num_classes, input_shape=input_shape, width=width,
                upsampling=upsampling, train_trunk=False)
