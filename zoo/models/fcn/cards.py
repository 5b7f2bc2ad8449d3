"""Cards of the fully convolutional networks of Long's thesis ch. 3 (metadata only, no Keras).

Builders: `zoo.models.fcn.fcn` (FCN-32s/16s/8s on VGG16, FCN-8s at once, FCN-32s-fixed) and
`zoo.models.fcn.fcn_variants` (other backbones, NYUDv2 RGB-D, SIFT Flow, PASCAL-Context).
"""

from zoo.registry import CAFFE_BGR_MEAN, InputContract, WeightsSpec, register

_PAPER = (
    "Long, Shelhamer & Darrell, Fully Convolutional Networks for Semantic Segmentation, CVPR 2015 "
    "(Long thesis 2016, ch. 3)"
)
# fc6 sees pool5 through a 7x7 kernel; with conv1_1's pad of 100, pool5 has ceil((H + 198) / 32) >= 7
# positions for every H >= 1, so the nets take any input size (tests/models/test_fcn.py builds 1x1).
_VOC = InputContract(shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN)
NYUD_BGR_MEAN = (116.190, 97.203, 92.318)  # reference nyud_layers.py
_HEAD32 = ("score_fr", "upscore")
_HEAD16 = ("score_fr", "upscore2", "score_pool4", "upscore16")
_HEAD8 = ("score_fr", "upscore2", "score_pool4", "upscore_pool4", "score_pool3", "upscore8")


# The reference release (github.com/shelhamer/fcn.berkeleyvision.org): each model folder's caffemodel-url
# names the file; the README gives the scores and the license, and publishes no size or hash, so these
# downloads are unverified and refused unless allowed (--allow-unverified or ZOO_ALLOW_UNVERIFIED=1).
_RELEASE = "shelhamer/fcn.berkeleyvision.org, {}/caffemodel-url (scores: its README); no hash published: unverified"
_RELEASE_LICENSE = "BSD-2, as Caffe and the Caffe-bundled models: unrestricted use (reference README)"


def _release(folder, file, classes, contract, scores=None, tag="reference"):
    return WeightsSpec(
        tag=tag, url=f"http://dl.caffe.berkeleyvision.org/{file}.caffemodel", file_hash=None, format="caffemodel",
        num_classes=classes, source=_RELEASE.format(folder), license=_RELEASE_LICENSE, preprocessing=contract,
        metrics={"mean IU (released: reference README)": scores} if scores else {},
    )


def _card(name, module, section, *, head, numbers, parameters, contract=_VOC, classes=21, paper=_PAPER,
          task="segmentation", weights=()):
    register(
        name, builder=f"zoo.models.fcn.{module}:{name}", family="fcn", paper=paper, section=section, task=task,
        input_contract=contract, paper_numbers=numbers, head_layers=head, default_num_classes=classes,
        parameters=parameters, weights=weights,
    )


def _four(table, pixel, mean_acc, mean_iu, fw_iu):
    return {f"pixel acc. ({table})": pixel, f"mean acc. ({table})": mean_acc, f"mean IU ({table})": mean_iu,
            f"f.w. IU ({table})": fw_iu}


def _counts(trainable, total):
    # At the default upsampling="thesis": the intermediate 2x deconvolutions are trainable, the final
    # one is fixed (non-trainable); the totals do not depend on the upsampling option.
    return {"total": total, "trainable": trainable}


# ------------------------------------------------------------------ FCN-VGG16 (§3.3, Table 3.2)

_T32 = "VOC2011 val 736-image subset (Table 3.2)"


def _table_3_2(pixel, mean_acc, mean_iu, fw_iu):
    return {f"pixel acc., {_T32}": pixel, f"mean acc., {_T32}": mean_acc, f"mean IU, {_T32}": mean_iu,
            f"f.w. IU, {_T32}": fw_iu}


_card("fcn32s", "fcn", "§3.3.1-3.3.2, Table 3.1 (FCN-VGG16), Table 3.2", head=_HEAD32, numbers={
    **_table_3_2(89.1, 73.3, 59.4, 81.4),
    "mean IU, VOC2011 val, FCN-VGG16 without extra data (Table 3.1)": 56.0,
    "parameters (Table 3.1)": "134M",
    "receptive field size (Table 3.1)": 404,
    "max stride (Table 3.1)": 32,
    "forward time, 500x500, Tesla K40c (Table 3.1)": "210 ms",
}, parameters=_counts(134_346_581, 136_152_917), weights=(
    _release("voc-fcn32s", "fcn32s-heavy-pascal", 21, _VOC, {"seg11valid": 63.6}),
    _release("nyud-fcn32s-color", "nyud-fcn32s-color-heavy", 40, tag="nyud_color",
             contract=InputContract(shape=(None, None, 3), channel_order="BGR", mean=NYUD_BGR_MEAN)),
))
_card("fcn16s", "fcn", "§3.3.2, Fig. 3.3, Table 3.2", head=_HEAD16, numbers=_table_3_2(90.0, 75.7, 62.4, 83.0),
      parameters=_counts(134_364_410, 134_815_994),
      weights=(_release("voc-fcn16s", "fcn16s-heavy-pascal", 21, _VOC, {"seg11valid": 65.0}),))
_card("fcn8s", "fcn", "§3.3.2, Fig. 3.3, Tables 3.2 and 3.4", head=_HEAD8, numbers={
    **_table_3_2(90.3, 75.9, 62.7, 83.2),
    "mean IU, VOC2011 test (Table 3.4)": 62.7,
    "mean IU, VOC2012 test (Table 3.4)": 62.2,
    "inference time (Table 3.4)": "~175 ms",
}, parameters=_counts(134_376_863, 134_489_759),
    weights=(_release("voc-fcn8s", "fcn8s-heavy-pascal", 21, _VOC, {"seg11valid": 65.5, "seg12test": 67.2}),))
_card("fcn8s_atonce", "fcn", "reference code voc-fcn8s-atonce/net.py (not in the thesis)", head=_HEAD8, numbers={},
      paper="Shelhamer, Long & Darrell, Fully Convolutional Networks for Semantic Segmentation, PAMI 2016",
      parameters=_counts(134_376_863, 134_490_527),
      weights=(_release("voc-fcn8s-atonce", "fcn8s-atonce-pascal", 21, _VOC, {"seg11valid": 65.4}),))
_card("fcn32s_fixed", "fcn", "§3.3.6, Table 3.2", head=_HEAD32, numbers=_table_3_2(83.0, 59.7, 45.4, 72.0),
      parameters=_counts(86_037, 136_152_917))

# ------------------------------------------------------------------ Table 3.1: other backbones

_T31 = "PASCAL VOC 2011 val, Table 3.1"
# The smallest input every pooling layer of GoogLeNet can read without an extra pad: pool4's
# input (pool3's output) needs 2 positions; conv1 31 -> 16 -> pool1 8 -> 4 -> 2 -> pool4 1.
GOOGLENET_MIN_SIZE = 31

_card("fcn_alexnet", "fcn_variants", "§3.3.1, Table 3.1 (FCN-AlexNet); reference voc-fcn-alexnet/net.py",
      head=("score_fr", "upscore"), numbers={
          f"mean IU, {_T31}": 39.8,
          "mean IU, VOC2011 val 736-image subset, with extra data (§3.3.1)": 48.0,
          "forward time, 500x500, Tesla K40c (Table 3.1)": "50 ms",
          "conv. layers (Table 3.1)": 8,
          "parameters (Table 3.1)": "57M",
          "receptive field size (Table 3.1)": 355,
          "max stride (Table 3.1)": 32,
      }, parameters=_counts(56_954_261, 58_704_590),
      weights=(_release("voc-fcn-alexnet", "fcn-alexnet-pascal", 21, _VOC, {"seg11valid": 48.0}),))
_card("fcn_googlenet", "fcn_variants", "§3.3.1, Table 3.1 (FCN-GoogLeNet, footnote 5)",
      contract=InputContract(shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN,
                             min_size=GOOGLENET_MIN_SIZE),
      head=("score_fr", "upscore"), numbers={
          f"mean IU, {_T31}": 42.5,
          "forward time, 500x500, Tesla K40c (Table 3.1)": "59 ms",
          "conv. layers (Table 3.1)": 22,
          "parameters (Table 3.1)": "6M",
          "receptive field size (Table 3.1)": 907,
          "max stride (Table 3.1)": 32,
          "their GoogLeNet reimplementation, ILSVRC top-1 / top-5 accuracy % (footnote 5)": "68.5 / 88.4",
      }, parameters=_counts(5_995_077, 7_745_406))

# ------------------------------------------------------------------ Table 3.5: NYUDv2 RGB-D

# nyud_layers.py: color is BGR minus NYUD_BGR_MEAN (above); depth is log(depth PNG) minus 7.844; HHA is
# the PNG's channels as stored (no reversal) minus its mean.
NYUD_LOG_DEPTH_MEAN = 7.844
NYUD_HHA_MEAN = (132.431, 94.076, 118.477)
_T35 = "NYUDv2 test, Table 3.5"
_RGBHHA = InputContract(
    shape=(None, None, 3), channel_order="BGR", mean=NYUD_BGR_MEAN,
    note="two inputs, means of the reference nyud_layers.py",
    streams=(
        InputContract(shape=(None, None, 3), channel_order="BGR", mean=NYUD_BGR_MEAN, name="color"),
        InputContract(shape=(None, None, 3), channel_order="RGB", mean=NYUD_HHA_MEAN, name="hha", sources=("hha",),
                      note="HHA PNG channels as stored"),
    ),
)

_card("fcn32s_rgbd", "fcn_variants", "§3.4.2, Table 3.5 (FCN-32s RGBD); reference nyud-fcn32s-color-d/net.py",
      contract=InputContract(shape=(None, None, 4), kind="rgbd", sources=("image", "depth"), channel_order="BGR",
                             mean=(*NYUD_BGR_MEAN, NYUD_LOG_DEPTH_MEAN),
                             note="log of depth in millimetres as the 4th channel, reference nyud_layers.py"),
      head=_HEAD32, classes=40, numbers=_four(_T35, 61.5, 42.4, 30.5, 45.5),
      parameters=_counts(134_425_000, 140_978_600))
_HHA = InputContract(shape=(None, None, 3), channel_order="RGB", mean=NYUD_HHA_MEAN, sources=("hha",),
                     note="HHA (horizontal disparity, height above ground, angle with gravity) "
                          "PNG channels as stored, minus the reference nyud_layers.py mean")
_card("fcn32s_hha", "fcn_variants", "§3.4.2, Table 3.5 (FCN-32s HHA); reference nyud-fcn32s-hha/net.py",
      contract=_HHA, head=_HEAD32, classes=40, numbers=_four(_T35, 57.1, 35.2, 24.2, 40.4),
      parameters=_counts(134_424_424, 140_978_024),
      weights=(_release("nyud-fcn32s-hha", "nyud-fcn32s-hha-heavy", 40, _HHA),))
_card("fcn32s_rgbhha", "fcn_variants", "§3.4.2, Table 3.5 (FCN-32s RGB-HHA); reference nyud-fcn32s-color-hha/net.py",
      contract=_RGBHHA, head=("score_frcolor", "score_frhha", "upscore"), classes=40,
      numbers=_four(_T35, 64.3, 44.9, 32.8, 48.0), parameters=_counts(268_848_848, 275_402_448),
      weights=(_release("nyud-fcn32s-color-hha", "nyud-fcn32s-color-hha-heavy", 40, _RGBHHA),))
_card("fcn16s_rgbhha", "fcn_variants", "§3.4.2, Table 3.5 (FCN-16s RGB-HHA; not in the reference code)",
      contract=_RGBHHA,
      head=("score_frcolor", "upscore2color", "score_pool4color", "score_frhha", "upscore2hha", "score_pool4hha",
            "upscore16"),
      classes=40, numbers=_four(_T35, 65.4, 46.1, 34.0, 49.5), parameters=_counts(268_941_088, 270_579_488))

# ------------------------------------------------------------------ Table 3.6: SIFT Flow

SIFTFLOW_BGR_MEAN = (114.578, 115.294, 108.353)  # reference siftflow_layers.py

_SIFTFLOW = InputContract(shape=(None, None, 3), channel_order="BGR", mean=SIFTFLOW_BGR_MEAN,
                          note="outputs [score_sem, score_geo]")
_card("fcn16s_siftflow", "fcn_variants", "§3.4.2, Table 3.6; reference siftflow-fcn16s/net.py", contract=_SIFTFLOW,
      head=("score_fr_sem", "upscore2_sem", "score_pool4_sem", "upscore16_sem"), classes=33,
      # Not "segmentation": the recipe runner's segmentation task would score the second output against
      # the semantic labels as an auxiliary head; a task of its own makes the runner refuse it instead.
      task="multitask_segmentation",
      numbers={
          **_four("SIFT Flow test, semantic classes, Table 3.6", 85.2, 51.7, 39.5, 76.1),
          "geometric pixel accuracy (SIFT Flow test, Table 3.6)": 94.3,
      }, parameters=_counts(134_444_072, 135_568_424),
      weights=(_release("siftflow-fcn16s", "siftflow-fcn16s-heavy", 33, _SIFTFLOW),))

# ------------------------------------------------------------------ Table 3.7: PASCAL-Context

# pascalcontext_layers.py subtracts (104.007, 116.669, 122.679): the ILSVRC mean to 3 decimals.
_CONTEXT = InputContract(shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN,
                         note="59 PASCAL-Context classes plus background (index 0)")
_T37 = "PASCAL-Context val, 59 classes, Table 3.7"


def _context(name, head, numbers, parameters):
    section = f"§3.6, Table 3.7; reference pascalcontext-{name.split('_')[0]}/net.py"
    stride = name.split("_")[0]
    _card(name, "fcn_variants", section, contract=_CONTEXT, head=head, classes=60, numbers=numbers,
          parameters=parameters,
          weights=(_release(f"pascalcontext-{stride}", f"pascalcontext-{stride}-heavy", 60, _CONTEXT),))


_context("fcn32s_context", _HEAD32, _four(_T37, 65.4, 47.2, 35.1, 50.3), _counts(134_506_364, 149_251_964))
_context("fcn16s_context", _HEAD16, _four(_T37, 66.8, 49.6, 37.6, 52.3), _counts(134_594_744, 138_281_144))
_context("fcn8s_context", _HEAD8,
         {**_four(_T37, 67.0, 50.7, 37.8, 52.5), "mean IU, CFM, previous state of the art (Table 3.7)": 31.5},
         _counts(134_667_764, 135_589_364))
