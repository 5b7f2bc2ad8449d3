"""Cards of Long's pairwise region networks (thesis ch. 4; metadata only, no Keras).

Parameter counts at the default arguments (five pathways, full width), layer by layer:

- VGG-16 conv1_1 .. conv5_3: 14,714,688; fc6 as a 7x7 convolution over pool5: 102,764,544.
- region convolutions (Table 4.1 kernels, k*k outputs): conv2_2 5x5x128x196 + 196 = 627,396;
  conv3_3 5x5x256x196 + 196 = 1,254,596; conv4_3 and conv5_3 9x9x512x324 + 324 = 13,436,604
  each; fc6 9x9x4096x324 + 324 = 107,495,748 (136,252,244 in all).
- shared matrices (k*k x k*k + bias): 196^2 + 196 = 38,612 twice, 324^2 + 324 = 105,300 three
  times (393,124); scores (1x1 to one logit): 129 + 257 + 513 + 513 + 4,097 = 5,509.

The thesis states no parameter count; these are ours, checked against the built model by
tests/test_models_registry.py (slow tier).
"""

from zoo.registry import CAFFE_BGR_MEAN, InputContract, register

_PAPER = ("Long, Understanding and Designing Convolutional Networks for Local Recognition Problems, PhD thesis, "
          "UC Berkeley 2016 (UCB/EECS-2016-97), ch. 4 (pairwise networks; unpublished elsewhere)")

# Table 4.1: feature layer -> (region stride px, kernel size, window size px, upsampling factor)
TABLE_4_1 = {
    "conv2_2": (2, 5, 28, 2),
    "conv3_3": (4, 5, 56, 4),
    "conv4_3": (8, 9, 144, 8),
    "conv5_3": (16, 9, 288, 16),
    "fc6": (32, 9, 576, 32),
}
PATHWAYS = tuple(TABLE_4_1)


def coarse_size(layer: str) -> int:
    """A pathway's coarse mask side k = window / upsampling factor (14 or 18; [derived] from Table 4.1)."""
    _, _, window, factor = TABLE_4_1[layer]
    return window // factor


# Images at natural resolution (§4.3.4: no resizing or cropping), VGG-16's Caffe input.
_IMAGE = InputContract(shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN,
                       note="any size; the pathway grids are ceil(H / s) x ceil(W / s)")

_TABLE_4_1_NUMBERS = {
    **{f"region stride / upsampling factor, {layer} (Table 4.1)": f"{s}px / {f}x"
       for layer, (s, _, _, f) in TABLE_4_1.items()},
    **{f"kernel size, {layer} (Table 4.1)": f"{k}x{k}" for layer, (_, k, _, _) in TABLE_4_1.items()},
    **{f"window size, {layer} (Table 4.1)": f"{w}px x {w}px" for layer, (_, _, w, _) in TABLE_4_1.items()},
}
_HEAD = tuple(f"{kind}_{layer}" for layer in PATHWAYS for kind in ("region", "score"))

register(
    "region_pairwise_vgg16", builder="zoo.models.region.region_net:region_pairwise_vgg16", family="region",
    paper=_PAPER, section="§4.3.2-4.3.6, §4.4.1, Table 4.1, Fig. 4.4, Tables 4.2-4.3", task="instance_proposals",
    input_contract=_IMAGE, head_layers=_HEAD + tuple(f"matmul_{layer}" for layer in PATHWAYS),
    paper_numbers={
        **_TABLE_4_1_NUMBERS,
        "coarse mask size per region ([derived]: window / upsampling)": "14x14, 14x14, 18x18, 18x18, 18x18",
        "R@50 / R@70 / ABO / AR, lowest stride 2, all regions, COCO val subset (Table 4.2)":
            "85.5 / 57.2 / 69.9 / 43.2",
        "inference time, lowest stride 2 (Table 4.2)": "287ms",
        "AR@10 / AR@100 / AR@1000, COCO (Table 4.3)": "16.0 / 25.5 / 32.8",
        "inference time (Table 4.3)": "281ms (Titan X) / 409ms (K40)",
        "full feature pyramid at 640x480 (§4.3.4)": "292 ms",
        "coarsest pathway alone at 640x480 (§4.3.4)": "161 ms",
        "momentum (§4.4.4)": 0.99,
    },
    parameters={"total": 254_130_109, "trainable": 254_130_109}, default_num_classes=None,
)

register(
    "region_single_conv", builder="zoo.models.region.region_net:region_single_conv", family="region",
    paper=_PAPER, section="§4.3.1, Fig. 4.2a (DeepMask-style single convolution), Fig. 4.4 baseline",
    task="instance_proposals", input_contract=_IMAGE, head_layers=_HEAD,
    paper_numbers=_TABLE_4_1_NUMBERS,
    parameters={"total": 253_736_985, "trainable": 253_736_985}, default_num_classes=None,
)
