"""The other FCNs of Long's thesis ch. 3: FCN-AlexNet and FCN-GoogLeNet (§3.3.1, Table 3.1), the
NYUDv2 RGB-D nets (§3.4.2, Table 3.5), the two-headed SIFT Flow FCN-16s (Table 3.6) and the
PASCAL-Context nets (§3.6, Table 3.7).

Built as the reference Caffe nets (fcn.berkeleyvision.org: voc-fcn-alexnet, nyud-fcn32s-color-d,
nyud-fcn32s-hha, nyud-fcn32s-color-hha, siftflow-fcn16s, pascalcontext-fcn32s/16s/8s net.py)
with their layer names, so released `.caffemodel` files load by name. The reference has no
FCN-GoogLeNet ("coming soon" in its README) and no NYUDv2 FCN-16s RGB-HHA: those two follow the
thesis text, and the choices it leaves open are documented in their builders.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.crop import CaffeCrop
from zoo.models.alexnet.alexnet import caffenet
from zoo.models.fcn.fcn import (
    _fcn,
    _score,
    check_upsampling,
    convolutionalized_fc,
    copy_chain,
    final_scores,
    skip_scores,
    upscore,
    vgg16_pools,
)
from zoo.models.googlenet.googlenet import googlenet
from zoo.registry import CAFFE_BGR_MEAN, InputContract, register

_PAPER = (
    "Long, Shelhamer & Darrell, Fully Convolutional Networks for Semantic Segmentation, CVPR 2015 "
    "(Long thesis 2016, ch. 3)"
)
_SMALL = {"width": 16, "num_classes": 5}


def _card(name, section, *, contract, numbers, head, classes, test_kwargs=_SMALL, channels=3, slow=True,
          task="segmentation"):
    # slow: export and JAX parity of the small net run in the slow tier only (tests/test_models_registry.py),
    # except for the nets with code paths no sibling has (odd 63x63 upsampling, 4-channel input, two outputs).
    return register(
        name,
        family="fcn",
        paper=_PAPER,
        section=section,
        task=task,
        input_contract=contract,
        paper_numbers=numbers,
        head_layers=head,
        default_num_classes=classes,
        test_kwargs=test_kwargs,
        test_input_shape=(64, 64, channels),
        slow=slow,
    )


def _four(table, pixel, mean_acc, mean_iu, fw_iu):
    return {f"pixel acc. ({table})": pixel, f"mean acc. ({table})": mean_acc, f"mean IU ({table})": mean_iu,
            f"f.w. IU ({table})": fw_iu}


# ------------------------------------------------------------------ Table 3.1: other backbones

_VOC = InputContract(shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN)
_T31 = "PASCAL VOC 2011 val, Table 3.1"


@_card("fcn_alexnet", "§3.3.1, Table 3.1 (FCN-AlexNet); reference voc-fcn-alexnet/net.py", contract=_VOC,
       head=("score_fr", "upscore"), classes=21, slow=False, numbers={
           f"mean IU, {_T31}": 39.8,
           "mean IU, VOC2011 val 736-image subset, with extra data (§3.3.1)": 48.0,
           "forward time, 500x500, Tesla K40c (Table 3.1)": "50 ms",
           "conv. layers (Table 3.1)": 8,
           "parameters (Table 3.1)": "57M",
           "receptive field size (Table 3.1)": 355,
           "max stride (Table 3.1)": 32,
       })
def fcn_alexnet(num_classes=21, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-AlexNet: CaffeNet convolutionalized, scores upsampled 32x in one step (thesis §3.3.1, Table 3.1).

    The trunk is `caffenet`'s conv1 .. pool5 (footnote 4: "the CaffeNet reference model"),
    copied layer by layer behind conv1's pad of 100 (reference voc-fcn-alexnet/net.py); fc6 is
    a 6x6 convolution over pool5, fc7 1x1, then score_fr and `upscore` (kernel 63, stride 32)
    cropped at offset 18. A 64-wide kernel, as in the VGG nets, would leave the scores half a
    pixel off the input: the stride-32 map sits at an integer offset here (crop 18).

    Args:
        num_classes: score channels (21 for PASCAL VOC).
        input_shape: (H, W, 3), BGR minus the ILSVRC mean; any H and W >= 1.
        width: divides every channel count (small test nets); 1 is the paper's net.
        upsampling: as for `fcn32s` (one upsampling, the final: fixed unless "learned").
    """
    check_upsampling(upsampling)
    data = keras.Input(input_shape, name="data")
    trunk = caffenet(include_top=False, input_shape=(None, None, input_shape[-1]), width=width)
    x = keras.layers.ZeroPadding2D(100, name="conv1_pad")(data)
    x = copy_chain(trunk.layers[1:], x)["pool5"]
    x = convolutionalized_fc(x, width=width, kernel=6)
    scores = _score(x, num_classes, "score_fr")
    up = upscore(scores, num_classes=num_classes, kernel=63, factor=32, name="upscore", upsampling=upsampling, final=True)
    return keras.Model(data, CaffeCrop(18, name="score")([up, data]), name="fcn_alexnet")


# The smallest input every pooling layer of GoogLeNet can read without an extra pad: pool4's
# input (pool3's output) needs 2 positions; conv1 31 -> 16 -> pool1 8 -> 4 -> 2 -> pool4 1.
GOOGLENET_MIN_SIZE = 31


@_card("fcn_googlenet", "§3.3.1, Table 3.1 (FCN-GoogLeNet, footnote 5)",
       contract=InputContract(shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN,
                              min_size=GOOGLENET_MIN_SIZE),
       head=("score_fr", "upscore"), classes=21, test_kwargs={"width": 8, "num_classes": 5}, numbers={
           f"mean IU, {_T31}": 42.5,
           "forward time, 500x500, Tesla K40c (Table 3.1)": "59 ms",
           "conv. layers (Table 3.1)": 22,
           "parameters (Table 3.1)": "6M",
           "receptive field size (Table 3.1)": 907,
           "max stride (Table 3.1)": 32,
           "their GoogLeNet reimplementation, ILSVRC top-1 / top-5 accuracy % (footnote 5)": "68.5 / 88.4",
       })
def fcn_googlenet(num_classes=21, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-GoogLeNet: GoogLeNet without its average pool, scored by a 1x1 conv, upsampled 32x (§3.3.1).

    The thesis: "we use only the final loss layer" (no auxiliary heads) and "improve performance
    by discarding the final average pooling layer"; the classifier is replaced by a 1x1 score
    conv and a bilinear upsampling. The thesis used its own GoogLeNet reimplementation (footnote
    5); this is BVLC GoogLeNet (`googlenet`, include_top=False), and the reference repository
    has no FCN-GoogLeNet, so these choices are ours:
    - dropout 0.4 (the classifier's, "dropout was included where used in the original
      classifier nets", §3.3.5) stays before score_fr, under its release name;
    - no input pad: there are no fully connected layers to feed, so any input of at least
      31x31 (`GOOGLENET_MIN_SIZE`) works;
    - `upscore` has kernel 63 and stride 32, cropped at offset 1: inception_5b's positions
      sit 30 pixels into the input, and a 64-wide kernel would misalign them by half a pixel
      (as for FCN-AlexNet).
    The receptive field of score_fr is 715 pixels; Table 3.1's 907 = 715 + 6 * 32 is that of
    GoogLeNet's 7x7 average pool, the layer the FCN discards (tests/models/test_fcn_variants.py).

    Arguments as for `fcn_alexnet`, except width must divide every Inception width (e.g. 8) and
    input sizes must be at least 31.
    """
    check_upsampling(upsampling)
    for size in input_shape[:2]:
        if size is not None and size < GOOGLENET_MIN_SIZE:
            raise ConfigError(f"fcn_googlenet needs inputs of at least {GOOGLENET_MIN_SIZE}x{GOOGLENET_MIN_SIZE}, "
                              f"got input_shape {tuple(input_shape)}")
    trunk = googlenet(include_top=False, input_shape=input_shape, width=width)
    # The release's name for the classifier's dropout, whose input was the discarded pool5.
    x = keras.layers.Dropout(0.4, name="pool5_drop_7x7_s1")(trunk.output)
    scores = _score(x, num_classes, "score_fr")
    up = upscore(scores, num_classes=num_classes, kernel=63, factor=32, name="upscore", upsampling=upsampling, final=True)
    return keras.Model(trunk.input, CaffeCrop(1, name="score")([up, trunk.input]), name="fcn_googlenet")


# ------------------------------------------------------------------ Table 3.5: NYUDv2 RGB-D

# nyud_layers.py: color is BGR minus this mean; depth is log(depth PNG) minus 7.844; HHA is the
# PNG's channels as stored (no reversal) minus its mean.
NYUD_BGR_MEAN = (116.190, 97.203, 92.318)
NYUD_LOG_DEPTH_MEAN = 7.844
NYUD_HHA_MEAN = (132.431, 94.076, 118.477)
_T35 = "NYUDv2 test, Table 3.5"
_NYUD = "NYUDv2 40-class task of Gupta et al."
_HEAD32 = ("score_fr", "upscore")


@_card("fcn32s_rgbd", "§3.4.2, Table 3.5 (FCN-32s RGBD); reference nyud-fcn32s-color-d/net.py",
       contract=InputContract(shape=(None, None, 4), kind="rgbd", sources=("image", "depth"), channel_order="BGR",
                              mean=(*NYUD_BGR_MEAN, NYUD_LOG_DEPTH_MEAN),
                              note="log of depth in millimetres as the 4th channel, reference nyud_layers.py"),
       head=_HEAD32, classes=40, channels=4, slow=False, numbers=_four(_T35, 61.5, 42.4, 30.5, 45.5))
def fcn32s_rgbd(num_classes=40, input_shape=(None, None, 4), width=1, upsampling="thesis"):
    """FCN-32s RGBD: "early fusion", FCN-32s on a 4-channel RGB-D input (thesis §3.4.2, Table 3.5).

    The reference (nyud-fcn32s-color-d/net.py) concatenates color and depth into one `data`
    blob, so the model has one 4-channel input: BGR minus the NYUDv2 mean, then log depth
    minus 7.844. Its first conv is renamed `conv1_1_bgrd` (so the 3-channel ILSVRC conv1_1 is
    not transplanted into it); every other layer is FCN-32s's. The thesis does not say how
    the 4-channel filters were initialised.

    Arguments as for `fcn32s` (zoo.models.fcn.fcn); `num_classes` defaults to NYUDv2's 40.
    """
    if input_shape[-1] != 4:
        raise ConfigError(f"fcn32s_rgbd takes 4 channels (BGR and log depth), got input_shape {tuple(input_shape)}")
    return _fcn("fcn32s_rgbd", 32, num_classes=num_classes, input_shape=input_shape, width=width,
                upsampling=upsampling, rename=lambda name: "conv1_1_bgrd" if name == "conv1_1" else name)


@_card("fcn32s_hha", "§3.4.2, Table 3.5 (FCN-32s HHA); reference nyud-fcn32s-hha/net.py",
       contract=InputContract(shape=(None, None, 3), channel_order="RGB", mean=NYUD_HHA_MEAN, sources=("hha",),
                              note="HHA (horizontal disparity, height above ground, angle with gravity) "
                                   "PNG channels as stored, minus the reference nyud_layers.py mean"),
       head=_HEAD32, classes=40, numbers=_four(_T35, 57.1, 35.2, 24.2, 40.4))
def fcn32s_hha(num_classes=40, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-32s HHA: FCN-32s trained on the HHA encoding of depth alone (thesis §3.4.2, Table 3.5).

    The same layers as `fcn32s`; the input is the 3-channel HHA image of Gupta et al. minus
    its mean. Arguments as for `fcn32s`; `num_classes` defaults to NYUDv2's 40.
    """
    return _fcn("fcn32s_hha", 32, num_classes=num_classes, input_shape=input_shape, width=width,
                upsampling=upsampling)


def _late_fusion(name, stride, *, num_classes, input_shape, width, upsampling):
    check_upsampling(upsampling)
    inputs = {modality: keras.Input(input_shape, name=modality) for modality in ("color", "hha")}
    streams = []
    for modality, data in inputs.items():
        # Each stream is a whole FCN with the modality appended to every layer name (reference:
        # n['conv1_1' + modality], ...), so FCN-32s color and HHA weights transplant by name.
        pools = vgg16_pools(data, width=width, rename=lambda layer, m=modality: layer + m)
        features = convolutionalized_fc(pools["pool5"], width=width, suffix=modality)
        streams.append(skip_scores(features, pools, stride, num_classes=num_classes, upsampling=upsampling,
                                   suffix=modality))
    # The reference's Eltwise SUM has coeff 0.5, 0.5: the fused scores are the streams' mean.
    fused = keras.layers.Average(name="score_fused")(streams)
    scores = final_scores(fused, inputs["color"], stride, num_classes=num_classes, upsampling=upsampling)
    return keras.Model(inputs, scores, name=name)


_RGBHHA = InputContract(
    shape=(None, None, 3), channel_order="BGR", mean=NYUD_BGR_MEAN,
    note="two inputs, means of the reference nyud_layers.py",
    streams=(
        InputContract(shape=(None, None, 3), channel_order="BGR", mean=NYUD_BGR_MEAN, name="color"),
        InputContract(shape=(None, None, 3), channel_order="RGB", mean=NYUD_HHA_MEAN, name="hha", sources=("hha",),
                      note="HHA PNG channels as stored"),
    ),
)


@_card("fcn32s_rgbhha", "§3.4.2, Table 3.5 (FCN-32s RGB-HHA); reference nyud-fcn32s-color-hha/net.py",
       contract=_RGBHHA, head=("score_frcolor", "score_frhha", "upscore"), classes=40,
       numbers=_four(_T35, 64.3, 44.9, 32.8, 48.0))
def fcn32s_rgbhha(num_classes=40, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-32s RGB-HHA: "late fusion" of an RGB and an HHA FCN-32s, learned jointly (§3.4.2, Table 3.5).

    Two VGG16 streams, on the inputs `color` and `hha` (a dict of two (N, H, W, 3) arrays),
    each up to its score_fr; the two score maps are averaged (`score_fused`: the reference's
    Eltwise SUM with coefficients 0.5 and 0.5, "summed at the final layer" in the thesis),
    then upsampled 32x. Layers are named with the modality appended (`conv1_1color`,
    `score_frhha`), as in the reference, which initialises each stream from the trained
    single-modality FCN-32s (its solve.py: surgery.transplant with suffix).

    Arguments as for `fcn32s`; `input_shape` is each input's; `num_classes` defaults to 40.
    """
    return _late_fusion("fcn32s_rgbhha", 32, num_classes=num_classes, input_shape=input_shape, width=width,
                        upsampling=upsampling)


@_card("fcn16s_rgbhha", "§3.4.2, Table 3.5 (FCN-16s RGB-HHA; not in the reference code)", contract=_RGBHHA,
       head=("score_frcolor", "upscore2color", "score_pool4color", "score_frhha", "upscore2hha", "score_pool4hha",
             "upscore16"),
       classes=40, numbers=_four(_T35, 65.4, 46.1, 34.0, 49.5))
def fcn16s_rgbhha(num_classes=40, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-16s RGB-HHA: the late-fusion net "upgraded to a 16-stride version" (thesis §3.4.2, Table 3.5).

    The reference code has no such net; our reading: each stream is upgraded as FCN-32s is to
    FCN-16s (upscore2{m} of score_fr{m} plus the zero-initialised score_pool4{m}, giving
    fuse_pool4{m}), the two stride-16 maps are averaged as in `fcn32s_rgbhha`, and upscore16
    (kernel 32, crop 27) brings them to the input. Fusing at stride 32 and then adding both
    pool4 scores would be the same function class (the 2x upsampling is linear and the skip
    scores are learned from zero). Initialise from `fcn32s_rgbhha`: every layer it has keeps
    its name here. Arguments as for `fcn32s_rgbhha`.
    """
    return _late_fusion("fcn16s_rgbhha", 16, num_classes=num_classes, input_shape=input_shape, width=width,
                        upsampling=upsampling)


# ------------------------------------------------------------------ Table 3.6: SIFT Flow

SIFTFLOW_BGR_MEAN = (114.578, 115.294, 108.353)  # reference siftflow_layers.py


@_card("fcn16s_siftflow", "§3.4.2, Table 3.6; reference siftflow-fcn16s/net.py",
       contract=InputContract(shape=(None, None, 3), channel_order="BGR", mean=SIFTFLOW_BGR_MEAN,
                              note="outputs [score_sem, score_geo]"),
       head=("score_fr_sem", "upscore2_sem", "score_pool4_sem", "upscore16_sem"), classes=33, slow=False,
       # Not "segmentation": the recipe runner's segmentation task would score the second output against
       # the semantic labels as an auxiliary head; a task of its own makes the runner refuse it instead.
       task="multitask_segmentation",
       numbers={
           **_four("SIFT Flow test, semantic classes, Table 3.6", 85.2, 51.7, 39.5, 76.1),
           "geometric pixel accuracy (SIFT Flow test, Table 3.6)": 94.3,
       })
def fcn16s_siftflow(num_classes=33, geometric_classes=3, input_shape=(None, None, 3), width=1,
                    upsampling="thesis"):
    """FCN-16s with two heads, semantic and geometric, on one trunk (thesis §3.4.2, Table 3.6).

    One VGG16 trunk up to drop7; two FCN-16s heads, each with its own score_fr, pool4 skip and
    upsampling, named with `_sem` / `_geo` as in the reference (score_fr_sem, upscore2_sem,
    score_pool4_sem, fuse_pool4_sem, upscore16_sem, score_sem; the same with _geo). The model
    returns [score_sem, score_geo]; training sums the two per-pixel losses (the reference's
    `loss` and `loss_geo`, both with ignore label 255).

    Args:
        num_classes: semantic classes (33 in SIFT Flow); `head_layers` are this head's.
        geometric_classes: geometric classes (3: horizontal, vertical, sky).
        input_shape, width, upsampling: as for `fcn32s`.
    """
    check_upsampling(upsampling)
    data = keras.Input(input_shape, name="data")
    pools = vgg16_pools(data, width=width)
    features = convolutionalized_fc(pools["pool5"], width=width)
    outputs = []
    for suffix, classes in (("_sem", num_classes), ("_geo", geometric_classes)):
        scores = skip_scores(features, pools, 16, num_classes=classes, upsampling=upsampling, suffix=suffix)
        outputs.append(final_scores(scores, data, 16, num_classes=classes, upsampling=upsampling, suffix=suffix))
    return keras.Model(data, outputs, name="fcn16s_siftflow")


# ------------------------------------------------------------------ Table 3.7: PASCAL-Context

# pascalcontext_layers.py subtracts (104.007, 116.669, 122.679): the ILSVRC mean to 3 decimals.
_CONTEXT = InputContract(shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN,
                         note="59 PASCAL-Context classes plus background (index 0)")
_T37 = "PASCAL-Context val, 59 classes, Table 3.7"


def _context(name, head, numbers):
    section = f"§3.6, Table 3.7; reference pascalcontext-{name.split('_')[0]}/net.py"
    return _card(name, section, contract=_CONTEXT, head=head, classes=60, numbers=numbers)


@_context("fcn32s_context", ("score_fr", "upscore"), _four(_T37, 65.4, 47.2, 35.1, 50.3))
def fcn32s_context(num_classes=60, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-32s on PASCAL-Context's 59-class task (thesis §3.6, Table 3.7).

    The layers of `fcn32s`; 60 outputs (the reference pascalcontext nets: 59 classes and
    background, label 0, which the thesis does not state). Arguments as for `fcn32s`.
    """
    return _fcn("fcn32s_context", 32, num_classes=num_classes, input_shape=input_shape, width=width,
                upsampling=upsampling)


@_context("fcn16s_context", ("score_fr", "upscore2", "score_pool4", "upscore16"),
          _four(_T37, 66.8, 49.6, 37.6, 52.3))
def fcn16s_context(num_classes=60, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-16s on PASCAL-Context's 59-class task (thesis §3.6, Table 3.7); 60 outputs as `fcn32s_context`."""
    return _fcn("fcn16s_context", 16, num_classes=num_classes, input_shape=input_shape, width=width,
                upsampling=upsampling)


@_context("fcn8s_context",
          ("score_fr", "upscore2", "score_pool4", "upscore_pool4", "score_pool3", "upscore8"),
          {**_four(_T37, 67.0, 50.7, 37.8, 52.5), "mean IU, CFM, previous state of the art (Table 3.7)": 31.5})
def fcn8s_context(num_classes=60, input_shape=(None, None, 3), width=1, upsampling="thesis"):
    """FCN-8s on PASCAL-Context's 59-class task (thesis §3.6, Table 3.7); 60 outputs as `fcn32s_context`."""
    return _fcn("fcn8s_context", 8, num_classes=num_classes, input_shape=input_shape, width=width,
                upsampling=upsampling)
