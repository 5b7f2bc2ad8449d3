"""VGG configurations A-E (Simonyan & Zisserman 2015, Table 1) against the stated numbers.

Sources: the configuration table and the VGG-16 per-layer table of the Laptev CNN slides
(laptev_cnn_slides_and_grid_lstm_talks.md §A.6), the parameter counts of the Caffe/keras
releases (1000 classes, biases included), and keras.applications' VGG16/VGG19 as an
independent implementation of the conv trunk.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import ConfigError
from zoo.layers.lrn import LocalResponseNormalization
from zoo.models.vgg import vgg as builders
from zoo.registry import card

SMALL = {"width": 16, "num_classes": 5}
BUILDERS = {"A": builders.vgg11, "A-LRN": builders.vgg_a_lrn, "B": builders.vgg13, "C": builders.vgg_c,
            "D": builders.vgg16, "E": builders.vgg19}


def count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


@pytest.fixture(scope="module")
def vgg16():
    return zoo.get("vgg16")


@pytest.mark.parametrize(
    "name,params",
    [
        # The released ILSVRC models (Caffe model zoo, keras.applications), 1000 classes.
        ("vgg11", 132_863_336),
        ("vgg13", 133_047_848),
        ("vgg16", 138_357_544),
        ("vgg19", 143_667_240),
        # Derived: B plus three 1x1 convs, 256->256, 512->512, 512->512, with biases.
        ("vgg_c", 133_047_848 + (256 * 256 + 256) + 2 * (512 * 512 + 512)),
        ("vgg_a_lrn", 132_863_336),  # LRN has no weights
    ],
)
def test_parameter_counts(name, params):
    model = zoo.get(name)
    assert count(model.weights) == count(model.trainable_weights) == params


# The slide's VGG-16 table: output shape and weights (biases excluded) of each layer at 224x224.
VGG16_TABLE = [
    ("conv1_1", (224, 224, 64), 1_728), ("conv1_2", (224, 224, 64), 36_864), ("pool1", (112, 112, 64), 0),
    ("conv2_1", (112, 112, 128), 73_728), ("conv2_2", (112, 112, 128), 147_456), ("pool2", (56, 56, 128), 0),
    ("conv3_1", (56, 56, 256), 294_912), ("conv3_2", (56, 56, 256), 589_824), ("conv3_3", (56, 56, 256), 589_824),
    ("pool3", (28, 28, 256), 0),
    ("conv4_1", (28, 28, 512), 1_179_648), ("conv4_2", (28, 28, 512), 2_359_296),
    ("conv4_3", (28, 28, 512), 2_359_296), ("pool4", (14, 14, 512), 0),
    ("conv5_1", (14, 14, 512), 2_359_296), ("conv5_2", (14, 14, 512), 2_359_296),
    ("conv5_3", (14, 14, 512), 2_359_296), ("pool5", (7, 7, 512), 0),
    ("fc6", (4096,), 102_760_448), ("fc7", (4096,), 16_777_216), ("fc8", (1000,), 4_096_000),
]


def test_vgg16_matches_the_per_layer_table(vgg16):
    for name, shape, weights in VGG16_TABLE:
        layer = vgg16.get_layer(name)
        assert tuple(layer.output.shape[1:]) == shape, name
        assert (count(layer.weights[:1]) if layer.weights else 0) == weights, name
    learned = [layer.name for layer in vgg16.layers if layer.weights]
    assert learned == [name for name, _, w in VGG16_TABLE if w]  # nothing else has weights
    # "TOTAL params: 138M parameters" (slide); the table's weights sum to 138,344,128 without biases.
    assert sum(w for _, _, w in VGG16_TABLE) == 138_344_128
    assert round(count(vgg16.weights) / 1e6) == 138


@pytest.mark.parametrize("config,layers", [("A", 11), ("A-LRN", 11), ("B", 13), ("C", 16), ("D", 16), ("E", 19)])
def test_weight_layers_per_configuration(config, layers):
    """Table 1's header: 11 / 11 / 13 / 16 / 16 / 19 weight layers."""
    model = BUILDERS[config](**SMALL)
    assert sum(isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) for layer in model.layers) == layers
    assert model.get_layer("fc8").units == 5
    assert model.get_layer("conv1_1").filters == 64 // 16 and model.get_layer("fc6").units == 4096 // 16


def test_configuration_c_closes_blocks_3_to_5_with_1x1_convs_and_d_with_3x3():
    c, d = builders.vgg_c(**SMALL), builders.vgg16(**SMALL)
    for name in ("conv3_3", "conv4_3", "conv5_3"):
        assert c.get_layer(name).kernel_size == (1, 1) and d.get_layer(name).kernel_size == (3, 3)
    e = builders.vgg19(**SMALL)
    assert [layer.name for layer in e.layers if layer.name.startswith("conv5")] == [f"conv5_{i}" for i in range(1, 5)]


def test_a_lrn_normalises_after_conv1_1():
    model = builders.vgg_a_lrn(**SMALL)
    names = [layer.name for layer in model.layers]
    assert names[names.index("conv1_1") + 1] == "norm1" and names[names.index("norm1") + 1] == "pool1"
    assert isinstance(model.get_layer("norm1"), LocalResponseNormalization)
    assert "norm1" not in [layer.name for layer in builders.vgg11(**SMALL).layers]


@pytest.mark.parametrize("config,application", [("D", "VGG16"), ("E", "VGG19")])
def test_conv_trunk_matches_keras_applications(config, application):
    """Same weights in keras.applications' layer order -> the same pool5 features (32x32, full width)."""
    ours = BUILDERS[config](input_shape=(32, 32, 3))
    theirs = getattr(keras.applications, application)(weights=None, include_top=False, input_shape=(32, 32, 3))
    rng = np.random.default_rng(0)
    ours_convs = [layer for layer in ours.layers if isinstance(layer, keras.layers.Conv2D)]
    theirs_convs = [layer for layer in theirs.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(ours_convs) == len(theirs_convs)
    for a, b in zip(ours_convs, theirs_convs):
        weights = [rng.normal(0, np.sqrt(2 / np.prod(w.shape[:-1])), w.shape) for w in b.get_weights()]
        b.set_weights(weights)
        a.set_weights(weights)
    x = rng.normal(0, 60, (2, 32, 32, 3)).astype("float32")
    pool5 = keras.Model(ours.input, ours.get_layer("pool5").output)
    want = np.asarray(theirs(x))
    assert np.abs(want).max() > 0
    np.testing.assert_allclose(np.asarray(pool5(x)), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_full_model_weight_shapes_match_keras_applications(vgg16):
    theirs = keras.applications.VGG16(weights=None)
    assert [tuple(w.shape) for w in vgg16.weights] == [tuple(w.shape) for w in theirs.weights]


def test_feature_taps_by_name():
    model = builders.vgg16(**SMALL)
    features = keras.Model(model.input, [model.get_layer(n).output for n in ("pool3", "pool4", "pool5", "fc6", "fc7")])
    shapes = [tuple(t.shape[1:]) for t in features(np.zeros((1, 224, 224, 3), "float32"))]
    assert shapes == [(28, 28, 16), (14, 14, 32), (7, 7, 32), (256,), (256,)]


def test_odd_inputs_pool_with_caffe_ceil_rounding():
    model = builders.vgg16(**SMALL, input_shape=(100, 100, 3))
    # Caffe: 100 -> 50 -> 25 -> 13 -> 7 -> 4 (Keras' floor would give 50, 25, 12, 6, 3).
    assert [model.get_layer(f"pool{i}").output.shape[1] for i in range(1, 6)] == [50, 25, 13, 7, 4]


def test_options_and_errors():
    model = builders.vgg16(**SMALL, classifier_activation="softmax")
    out = np.asarray(model(np.random.default_rng(0).normal(0, 60, (2, 224, 224, 3)).astype("float32")))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert model.layers[-1].name == "prob"
    with pytest.raises(ConfigError, match="fixed size"):
        builders.vgg16(input_shape=(None, None, 3))
    with pytest.raises(ConfigError, match="width"):
        builders.vgg16(width=3)


def test_registry_names_and_aliases():
    """vgg11/13/16/19 are the primary names (what users type); the paper's letters are aliases."""
    for name, alias in [("vgg11", "vgg_a"), ("vgg13", "vgg_b"), ("vgg16", "vgg_d"), ("vgg19", "vgg_e")]:
        assert card(alias).name == name
        assert zoo.get(alias, **SMALL).name == name
    assert set(zoo.list_models("vgg*")) == {"vgg11", "vgg_a_lrn", "vgg13", "vgg_c", "vgg16", "vgg19"}
    assert card("vgg16").head_layers == ("fc8",) and card("vgg16").default_num_classes == 1000
    assert card("vgg16").input_contract.shape == (224, 224, 3) and card("vgg16").input_contract.channel_order == "BGR"


@pytest.mark.slow
def test_full_size_forward_matches_keras_applications(vgg16):
    theirs = keras.applications.VGG16(weights=None, classifier_activation=None)
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, np.sqrt(2 / np.prod(w.shape[:-1])) if len(w.shape) > 1 else 0.1, w.shape)
               for w in theirs.get_weights()]
    theirs.set_weights(weights)
    vgg16.set_weights(weights)
    x = rng.normal(0, 60, (1, 224, 224, 3)).astype("float32")
    want = np.asarray(theirs(x))
    np.testing.assert_allclose(np.asarray(vgg16(x, training=False)), want, atol=1e-4 * np.abs(want).max())
