"""The region networks (Long thesis §4.3.1-4.3.4, Table 4.1): pathway grids and mask sizes, the
transpose inside the model against the NumPy definition, the Fig. 4.4 ablation switches, and a
full-width pathway's parameter count."""

import keras
import numpy as np
import pytest

from tests.region.test_region_pairwise import _transpose_reference
from zoo import registry
from zoo.errors import ConfigError
from zoo.models.region.cards import TABLE_4_1, coarse_size
from zoo.models.region.region_net import region_pairwise_vgg16, region_single_conv


def test_table_4_1_mask_sizes():
    # [derived] window / upsampling factor: 14x14 for the two shallow pathways, 18x18 above
    assert [coarse_size(layer) for layer in TABLE_4_1] == [14, 14, 18, 18, 18]
    assert [TABLE_4_1[layer][0] for layer in TABLE_4_1] == [2, 4, 8, 16, 32]
    assert all(stride == factor for stride, _, _, factor in TABLE_4_1.values())


@pytest.fixture(scope="module")
def five_pathways():
    keras.utils.set_random_seed(0)
    return region_pairwise_vgg16(width=32, input_shape=(64, 64, 3))


def test_five_pathways_grids_and_masks(five_pathways):
    model = five_pathways
    assert model.output_names == [f"masks_{p}" for p in TABLE_4_1] + [f"score_{p}" for p in TABLE_4_1]
    outputs = model(np.random.default_rng(0).standard_normal((1, 64, 64, 3)).astype("float32"))
    for layer, masks, scores in zip(TABLE_4_1, outputs[:5], outputs[5:]):
        stride, kernel = TABLE_4_1[layer][:2]
        assert masks.shape == (1, 64 // stride, 64 // stride, coarse_size(layer) ** 2)
        assert scores.shape == (1, 64 // stride, 64 // stride, 1)
        assert model.get_layer(f"region_{layer}").kernel.shape[:2] == (kernel, kernel)


def test_the_transpose_in_the_model_is_the_definition(five_pathways):
    model = five_pathways
    x = np.random.default_rng(1).standard_normal((1, 64, 64, 3)).astype("float32")
    for layer in ("conv3_3", "conv4_3"):
        k = coarse_size(layer)
        probe = keras.Model(model.input, [model.get_layer(f"region_{layer}").output,
                                          model.get_layer(f"transpose_{layer}").output])
        p, pt = (np.asarray(v) for v in probe(x))
        np.testing.assert_allclose(pt[0], _transpose_reference(p[0], k, k // 2), rtol=1e-6)
        # the shared matrix starts as the identity (our choice), so the masks start as the transpose
        np.testing.assert_allclose(np.asarray(model.get_layer(f"matmul_{layer}").kernel), np.eye(k * k))


def test_ablation_switches_and_baseline():
    small = {"width": 16, "pathways": ("conv3_3",), "input_shape": (32, 32, 3)}
    names = lambda m: {layer.name for layer in m.layers}  # noqa: E731
    assert {"transpose_conv3_3", "matmul_conv3_3"} <= names(region_pairwise_vgg16(**small))
    assert "transpose_conv3_3" not in names(region_pairwise_vgg16(transpose=False, **small))
    assert "matmul_conv3_3" not in names(region_pairwise_vgg16(matmul=False, **small))
    baseline = names(region_single_conv(**small))
    assert "region_conv3_3" in baseline and not {"transpose_conv3_3", "matmul_conv3_3"} & baseline
    with pytest.raises(ConfigError, match="Table 4.1"):
        region_pairwise_vgg16(pathways=("conv1_2",))


def test_full_width_conv2_2_pathway_parameters():
    # conv1_1 .. conv2_2 (260,160) + region 5x5x128x196 + 196 + shared 196x196 + 196 + score 129
    model = region_pairwise_vgg16(pathways=("conv2_2",), input_shape=(32, 32, 3))
    assert model.count_params() == 260_160 + 627_396 + 38_612 + 129
    card = registry.card("region_pairwise_vgg16")
    single = registry.card("region_single_conv")
    # the five shared matrices are the only difference between the cards' full-size counts
    assert card.parameters["total"] - single.parameters["total"] == 2 * 38_612 + 3 * 105_300


def test_vgg16_caffemodel_initialises_the_trunk_and_fc6(tmp_path):
    # footnote 4: fine-tuning from classification weights, fc6 as a convolution. A VGG-16 caffemodel
    # (1/16 width, random values) loads into the trunk and fc6 exactly as into FCN-32s (whose fc6
    # transplant tests/convert/test_caffe_oracle.py checks against OpenCV); the pathways keep their init.
    from zoo import weights as weights_mod
    from zoo.convert.caffe_writer import keras_to_caffe, write_caffemodel

    vgg = registry.card("vgg16").builder(width=16, num_classes=5, input_shape=(224, 224, 3))
    rng = np.random.default_rng(0)
    for w in vgg.weights:
        w.assign(rng.normal(0, 0.05, w.shape).astype("float32"))
    path = write_caffemodel(tmp_path / "vgg16.caffemodel", keras_to_caffe(vgg))
    kwargs = {"width": 16, "pathways": ("conv4_3", "fc6"), "input_shape": (64, 64, 3)}
    region = region_pairwise_vgg16(**kwargs)
    report = weights_mod.load_partial(region, path, card=registry.card("region_pairwise_vgg16"), build_kwargs=kwargs)
    assert {"conv1_1", "conv5_3", "fc6"} <= set(report["loaded"]) and {"fc7", "fc8"} <= set(report["ignored"])
    assert {"region_fc6", "matmul_fc6", "score_conv4_3"} <= set(report["initialised"])
    fcn_kwargs = {"width": 16, "num_classes": 5}
    fcn = registry.card("fcn32s").builder(**fcn_kwargs)
    weights_mod.load_partial(fcn, path, card=registry.card("fcn32s"), build_kwargs=fcn_kwargs)
    for name in ("conv1_1", "conv4_3", "fc6"):
        for a, b in zip(region.get_layer(name).weights, fcn.get_layer(name).weights):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
