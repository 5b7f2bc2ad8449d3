"""The small configuration of every registered model for the registry-parametrized tests
(tests/test_models_registry.py), keyed by model name; test-only, so it lives here, not on the cards.

`kwargs` go to the builder (reduced widths, fewer classes, smaller inputs: named small, never the
paper's network); `input_shape` is the test input (None: the card's input contract); `slow` moves
the model's export and JAX checks to the slow tier (nets whose layer types and code paths a
sibling in the default tier already covers: caffenet/zfnet beside alexnet, resnet34 beside resnet18,
the flow and two-layer LRCNs beside their RGB and one-layer siblings, the DCGAN halves beside the
composite; and the 224x224 VGGs).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Small:
    kwargs: dict
    input_shape: tuple | None
    slow: bool = False


_ALEXNET = {"num_classes": 10, "width": 16, "input_shape": (67, 67, 3)}
_VGG = {"width": 16, "num_classes": 5}
_FCN = {"width": 16, "num_classes": 5}
_RESNET = {"num_classes": 10, "width": 16, "input_shape": (64, 64, 3)}
_SEQUENCE = {"units": 8, "num_layers": 2, "input_shape": (3,)}
_CLIP = {"num_classes": 5, "width": 16, "input_shape": (4, 67, 67, 3)}
_CAPTIONER = {"vocab_size": 30, "hidden": 16, "embed_dim": 8, "width": 16, "input_shape": (67, 67, 3), "max_words": 5}
_DRAW = {"image_shape": (8, 8, 1), "steps": 3, "units": 16, "z_dim": 4}
_SAT = {"vocab_size": 30, "input_shape": (32, 32, 3), "max_words": 5, "embed_dim": 8, "units": 16, "width": 16}
_SMEM = {"vocab_size": 20, "num_answers": 2, "input_shape": (64, 64, 3), "max_words": 8, "embed_dim": 16, "width": 8}

SMALL = {
    "mlp": Small({"num_classes": 4, "hidden_sizes": (16,), "input_shape": (8, 8, 1)}, (8, 8, 1)),
    "lenet5": Small({"num_classes": 4}, (32, 32, 1)),
    "alexnet": Small(_ALEXNET, (67, 67, 3)),
    "caffenet": Small(_ALEXNET, (67, 67, 3), slow=True),
    "zfnet": Small({**_ALEXNET, "input_shape": (64, 64, 3)}, (64, 64, 3), slow=True),
    "overfeat_fast": Small({**_ALEXNET, "input_shape": (71, 71, 3)}, (71, 71, 3)),
    "overfeat_accurate": Small({**_ALEXNET, "input_shape": (77, 77, 3)}, (77, 77, 3), slow=True),
    "vgg11": Small(_VGG, (224, 224, 3), slow=True),
    "vgg_a_lrn": Small(_VGG, (224, 224, 3), slow=True),
    "vgg13": Small(_VGG, (224, 224, 3), slow=True),
    "vgg_c": Small(_VGG, (224, 224, 3), slow=True),
    "vgg16": Small(_VGG, (224, 224, 3), slow=True),
    "vgg19": Small(_VGG, (224, 224, 3), slow=True),
    "googlenet": Small({"num_classes": 10, "width": 8, "input_shape": (96, 96, 3)}, (96, 96, 3)),
    "resnet18": Small(_RESNET, (64, 64, 3)),
    "resnet34": Small(_RESNET, (64, 64, 3), slow=True),
    "resnet50": Small(_RESNET, (64, 64, 3), slow=True),
    "resnet101": Small(_RESNET, (64, 64, 3), slow=True),
    "resnet152": Small(_RESNET, (64, 64, 3), slow=True),
    "plainnet18": Small(_RESNET, (64, 64, 3)),
    "plainnet34": Small(_RESNET, (64, 64, 3), slow=True),
    # FCN: export and JAX parity in the slow tier, except for the nets with code paths no sibling has
    # (odd 63x63 upsampling, 4-channel input, two outputs)
    "fcn32s": Small(_FCN, (64, 64, 3), slow=True),
    "fcn16s": Small(_FCN, (64, 64, 3), slow=True),
    "fcn8s": Small(_FCN, (64, 64, 3), slow=True),
    "fcn8s_atonce": Small(_FCN, (64, 64, 3), slow=True),
    "fcn32s_fixed": Small(_FCN, (64, 64, 3), slow=True),
    "fcn_alexnet": Small(_FCN, (64, 64, 3)),
    "fcn_googlenet": Small({"width": 8, "num_classes": 5}, (64, 64, 3), slow=True),
    "fcn32s_rgbd": Small(_FCN, (64, 64, 4)),
    "fcn32s_hha": Small(_FCN, (64, 64, 3), slow=True),
    "fcn32s_rgbhha": Small(_FCN, (64, 64, 3), slow=True),
    "fcn16s_rgbhha": Small(_FCN, (64, 64, 3), slow=True),
    "fcn16s_siftflow": Small(_FCN, (64, 64, 3)),
    "fcn32s_context": Small(_FCN, (64, 64, 3), slow=True),
    "fcn16s_context": Small(_FCN, (64, 64, 3), slow=True),
    "fcn8s_context": Small(_FCN, (64, 64, 3), slow=True),
    "grid_lstm_parity": Small({"input_shape": (8,), "units": 8, "num_layers": 3}, (8,)),
    "grid_lstm_addition": Small(_SEQUENCE, (3,)),
    "grid_lstm_memorization": Small(_SEQUENCE, (3,), slow=True),
    "grid_lstm_charlm": Small({**_SEQUENCE, "num_classes": 12}, (3,)),
    "grid_lstm_mnist": Small({"input_shape": (4, 4, 1), "patch_size": 2, "units": 6, "num_layers": 1, "fc_units": 8},
                             (4, 4, 1)),
    "grid_lstm_translation": Small({"num_classes": 12, "input_shape": (4,), "source_length": 2, "units": 6,
                                    "num_layers": 1}, (4,)),
    "lrcn_activity_rgb": Small({**_CLIP, "lstm_units": 8}, (4, 67, 67, 3)),
    "lrcn_activity_flow": Small({**_CLIP, "lstm_units": 8}, (4, 67, 67, 3), slow=True),
    "lrcn_singleframe_rgb": Small(_CLIP, (4, 67, 67, 3)),
    "lrcn_singleframe_flow": Small(_CLIP, (4, 67, 67, 3), slow=True),
    "lrcn1u": Small(_CAPTIONER, (67, 67, 3)),
    "lrcn2u": Small(_CAPTIONER, (67, 67, 3), slow=True),
    "lrcn2f": Small(_CAPTIONER, (67, 67, 3), slow=True),
    "lrcn2f_rnn": Small(_CAPTIONER, (67, 67, 3)),
    "lrcn_video_description": Small({"architecture": "c", "slot_sizes": (3, 4, 5, 2), "vocab_size": 30, "hidden": 16,
                                     "embed_dim": 8, "max_words": 5}, (14,)),
    # generative (Oquab App. C, Donahue ch. 5): reduced widths; the AlexNet encoder keeps its full
    # width, so its export and JAX checks are in the slow tier
    "bigan_mlp": Small({"hidden": 32}, None),
    "gan_discrete_latent_mlp": Small({"hidden": 16, "image_shape": (8, 8, 1)}, None),
    "bigan_alexnet_transfer": Small({"num_classes": 5, "input_shape": (64, 64, 3), "fc_units": 32}, (64, 64, 3)),
    "bigan_alexnet": Small({"gf": 8, "df": 8, "latent_dim": 10}, None, slow=True),
    "bigan_alexnet_release": Small({"size": 4, "latent_dim": 10, "encoder_width": 0.125}, None, slow=True),
    "dcgan_generator": Small({"gf": 8}, None, slow=True),
    "dcgan_discriminator": Small({"df": 8}, None, slow=True),
    "dcgan": Small({"gf": 8, "df": 8}, None),
    "cgan_cause_effect": Small({"hidden": 16}, None),
    "context_prediction_alexnet": Small({"width": 0.0625, "fc": 64}, None),
    "fast_rcnn_context": Small({"num_classes": 5, "width": 0.0625, "fc_divisor": 64}, (64, 64, 3)),
    # detection (Donahue §3.1; Fast R-CNN): reduced widths, 5 classes
    "rcnn_caffenet": Small({**_ALEXNET, "num_classes": 5}, (67, 67, 3)),
    "oquab_alexnet": Small({**_ALEXNET, "input_shape": (67, 67, 3), "fc_units": 4096}, (67, 67, 3), slow=True),
    "midlevel_alexnet": Small({"num_classes": 5, "width": 16, "input_shape": (67, 67, 3)}, (67, 67, 3), slow=True),
    "decaf": Small({"num_classes": 5, "width": 16, "input_shape": (67, 67, 3)}, (67, 67, 3)),
    "rcnn_vgg16": Small({"num_classes": 5, "width": 16, "input_shape": (64, 64, 3)}, (64, 64, 3), slow=True),
    "rcnn_caffenet_svm": Small({**_ALEXNET, "num_classes": 5, "svm_layer": "fc6"}, (67, 67, 3)),
    "rcnn_vgg16_svm": Small({"num_classes": 5, "width": 16, "input_shape": (64, 64, 3)}, (64, 64, 3), slow=True),
    "rcnn_caffenet_bbox": Small({**_ALEXNET, "num_classes": 5}, (67, 67, 3)),
    "rcnn_vgg16_bbox": Small({"num_classes": 5, "width": 16, "input_shape": (64, 64, 3)}, (64, 64, 3), slow=True),
    "fast_rcnn_caffenet": Small({"num_classes": 5, "width": 16}, (64, 64, 3)),
    "fast_rcnn_vgg16": Small({"num_classes": 5, "width": 16}, (64, 64, 3), slow=True),
    # region networks: one pathway (two for the baseline) at 1/16 width, 32x32 input; the
    # five-pathway net's shapes are checked in tests/region/test_region_models.py
    "region_pairwise_vgg16": Small({"width": 16, "pathways": ("conv3_3",), "input_shape": (32, 32, 3)},
                                   (32, 32, 3)),
    "region_single_conv": Small({"width": 16, "pathways": ("conv2_2", "conv4_3"), "input_shape": (32, 32, 3)},
                                (32, 32, 3), slow=True),
    # attention and video (the talks appended to the Grid LSTM seed): reduced sizes; a sibling that shares
    # its code paths with a default-tier card runs its export and JAX checks in the slow tier (the
    # family tests in tests/attention and tests/video export in the default tier)
    "c3d": Small({"width": 16, "input_shape": (4, 32, 32, 3)}, (4, 32, 32, 3)),
    "c3d_fc6_svm": Small({"width": 16, "input_shape": (4, 32, 32, 3), "num_classes": 5}, (4, 32, 32, 3), slow=True),
    "draw": Small({**_DRAW, "read_n": 2, "write_n": 3}, (8, 8, 1)),
    "draw_no_attention": Small(_DRAW, (8, 8, 1), slow=True),
    "draw_classifier": Small({"input_shape": (24, 24, 1), "steps": 2, "units": 8, "read_n": 4}, (24, 24, 1)),
    "show_attend_tell_soft": Small(_SAT, _SAT["input_shape"]),
    "show_attend_tell_hard": Small(_SAT, _SAT["input_shape"], slow=True),
    "smem_vqa_1hop": Small(_SMEM, _SMEM["input_shape"]),
    "smem_vqa_2hop": Small(_SMEM, _SMEM["input_shape"], slow=True),
    # weakly supervised nets (Oquab ch. 4): 1/16 width, a 2x2 score map (the FCN-like free input size)
    "weak_sup_alexnet1512": Small({"num_classes": 4, "width": 16}, (256, 256, 3)),
    "weak_sup_overfeat": Small({"num_classes": 4, "width": 16}, (257, 257, 3), slow=True),
    # the tests' tiny models (tests/tiny_models.py)
    "test/tiny_segmenter": Small({}, (16, 16, 3)),
    "test/tiny_classifier": Small({}, (16, 16, 3)),
}

# Models whose stated parameter counts are checked at full size in the default tier: the ones that
# build in a few seconds on 2 cores (measured: under 7 s each with pytest --durations), one or more
# per kind of counting: dense and conv layers, BatchNormalization's non-trainable statistics
# (resnet18), the Grid LSTM block, the captioning decoder, the tiny models. The slow tier checks every
# card; tests/models/ asserts the classic nets' paper counts at full size in the default tier anyway.
COUNTED_IN_DEFAULT_TIER = {
    "mlp", "lenet5", "resnet18", "grid_lstm_memorization", "grid_lstm_mnist", "grid_lstm_translation",
    "lrcn_video_description", "test/tiny_segmenter", "test/tiny_classifier",
}
