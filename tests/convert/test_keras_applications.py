"""keras.applications as the oracle for `.h5` weights loading, and the registered weights' metadata.

Each oracle test builds keras.applications' own VGG16 / VGG19 / ResNet50 (weights=None), draws
every variable at random (seeded; biases and BatchNormalization statistics too, so that a
dropped bias or a misplaced statistic changes the output), writes its weights with Keras' own
writers, loads the file with `zoo.get(name, weights=path)` and requires the same output for the
same input. keras.applications' preprocessing ('caffe' mode) is checked against the zoo's
preprocessor of the registered weights the same way. Small inputs (32x32 VGG, 64x64 ResNet,
10 classes) keep the default tier fast; the released sizes are in the slow tier.

The fetch tests serve a file through a file:// URL (keras.utils.get_file reads those with
urllib), so the download, the hash check and the cache are exercised offline.
"""

import hashlib
import inspect
import logging
import re
import shutil

import h5py
import keras
import numpy as np
import pytest

import zoo
from zoo import registry
from zoo import weights as weights_mod
from zoo.convert import keras_applications as ka
from zoo.errors import WeightsFormatError, WeightsMismatchError
from zoo.models.vgg.vgg import vgg_trunk
from zoo.registry import WeightsSpec

pytestmark = pytest.mark.oracle


def randomize(model, seed):
    """Every variable of `model` drawn at random: He-scaled kernels, biases and BN statistics away from their init."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = layer.get_weights()
        if not values:
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = values
            new = [rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape), rng.normal(0, 0.1, mean.shape),
                   rng.uniform(0.5, 1.5, var.shape)]
        else:
            kernel, *rest = values
            new = [rng.normal(0, np.sqrt(2.0 / np.prod(kernel.shape[:-1])), kernel.shape)]
            new += [rng.normal(0, 0.1, b.shape) for b in rest]
        layer.set_weights([v.astype("float32") for v in new])
    return model


def save_keras2(model, path):
    """The layout of the files keras.applications downloads, written by Keras' own legacy HDF5 writer."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def save_keras3(model, path):
    """What Keras 3 `save_weights` writes (it insists on a .weights.h5 name; renamed to .h5 for the .h5 reader)."""
    tmp = path.with_name(path.stem + ".weights.h5")
    model.save_weights(tmp)
    shutil.move(tmp, path)
    return path


def images(n, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype("uint8")


def assert_same(got, want, rtol):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = np.abs(want).max()
    assert scale > 0
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


def check_preprocessing(model_name, keras_module, pictures):
    """zoo.preprocessor of the registered ImageNet weights == keras.applications preprocess_input (caffe mode)."""
    want = keras_module.preprocess_input(pictures.astype("float32"))
    got = zoo.preprocessor(model_name, weights="imagenet")(pictures)
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-4)
    return want


@pytest.mark.parametrize("arch,keras_app,writer", [
    ("vgg16", keras.applications.vgg16, save_keras2),
    ("vgg19", keras.applications.vgg19, lambda m, p: m.save(p) or p),  # whole-model .h5: the same under model_weights
])
def test_vgg_matches_keras_applications(tmp_path, arch, keras_app, writer):
    builder = keras_app.VGG16 if arch == "vgg16" else keras_app.VGG19
    oracle = randomize(builder(weights=None, input_shape=(32, 32, 3), classes=10, classifier_activation=None), 1)
    path = writer(oracle, tmp_path / f"{arch}_weights_tf_dim_ordering_tf_kernels.h5")
    x = check_preprocessing(arch, keras_app, images(2, 32))
    model = zoo.get(arch, weights=str(path), input_shape=(32, 32, 3), num_classes=10)
    # block1_conv1 -> conv1_1, fc1/fc2/predictions -> fc6/fc7/fc8; the same arithmetic in the same order
    assert_same(model.predict(x, verbose=0), oracle.predict(x, verbose=0), 1e-5)
    np.testing.assert_array_equal(model.get_layer("fc6").get_weights()[0], oracle.get_layer("fc1").get_weights()[0])


def test_resnet50_matches_keras_applications_with_and_without_conv_bias(tmp_path):
    oracle = randomize(keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10,
                                                   classifier_activation=None), 2)
    path = save_keras3(oracle, tmp_path / "resnet50.h5")
    x = check_preprocessing("resnet50", keras.applications.resnet50, images(2, 64, seed=1))
    want = oracle.predict(x, verbose=0)
    exact = zoo.get("resnet50", weights=str(path), input_shape=(64, 64, 3), num_classes=10, conv_bias=True)
    assert_same(exact.predict(x, verbose=0), want, 1e-5)
    # Without conv biases each bias is folded into the next BN's moving mean: exact up to round-off.
    folded = zoo.get("resnet50", weights=str(path), input_shape=(64, 64, 3), num_classes=10)
    assert_same(folded.predict(x, verbose=0), want, 1e-4)
    conv, bn = oracle.get_layer("conv1_conv"), oracle.get_layer("conv1_bn")
    np.testing.assert_allclose(folded.get_layer("conv1_bn").moving_mean.numpy(),
                               bn.moving_mean.numpy() - conv.bias.numpy(), rtol=1e-6)
    # Training mode subtracts the batch mean, which cancels the bias: the same forward pass there too.
    assert_same(folded(x, training=True), oracle(x, training=True), 1e-4)


def test_vgg_notop_file_into_the_trunk_and_a_clear_error_for_the_full_net(tmp_path):
    oracle = randomize(keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3)), 3)
    path = save_keras2(oracle, tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    inputs = keras.Input((32, 32, 3))
    trunk = keras.Model(inputs, vgg_trunk(inputs, "D")["pool5"])
    report = ka.load_keras_applications(trunk, path)
    assert len(report["loaded"]) == 13
    x = keras.applications.vgg16.preprocess_input(images(2, 32).astype("float32"))
    assert_same(trunk.predict(x, verbose=0), oracle.predict(x, verbose=0), 1e-5)
    with pytest.raises(WeightsMismatchError, match=r"_notop' file.*vgg16 has no include_top option"):
        zoo.get("vgg16", weights=str(path), input_shape=(32, 32, 3))


@pytest.mark.slow
def test_resnet_notop_needs_include_top_false(tmp_path):
    oracle = randomize(keras.applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3)), 4)
    path = save_keras2(oracle, tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with pytest.raises(WeightsMismatchError, match="build it with include_top=False"):
        zoo.get("resnet50", weights=str(path), input_shape=(64, 64, 3))
    model = zoo.get("resnet50", weights=str(path), input_shape=(64, 64, 3), include_top=False, conv_bias=True)
    x = keras.applications.resnet50.preprocess_input(images(1, 64).astype("float32"))
    assert_same(model.predict(x, verbose=0), oracle.predict(x, verbose=0), 1e-5)


def test_another_architecture_is_a_mismatch_and_loads_nothing(tmp_path):
    oracle = keras.applications.VGG19(weights=None, input_shape=(32, 32, 3), classes=10)
    path = save_keras2(oracle, tmp_path / "vgg19.h5")
    model = zoo.get("vgg16", input_shape=(32, 32, 3), num_classes=10)
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(WeightsMismatchError, match=r"in the file but not in the model: conv3_4, conv4_4, conv5_4"):
        weights_mod.load_into(model, str(path), card=registry.card("vgg16"),
                              build_kwargs={"input_shape": (32, 32, 3), "num_classes": 10})
    for b, w in zip(before, model.weights):
        np.testing.assert_array_equal(b, w.numpy())


def _tiny_keras2_file(path, layers):
    """A Keras 2 file as 2016-2019 h5py wrote them: byte-string attributes, ':0' weight names."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([name.encode() for name in layers], dtype="S")
        for name, arrays in layers.items():
            g = f.create_group(name)
            names = [f"{name}/{w}:0" for w in ("kernel", "bias", "x", "y")[: len(arrays)]]
            g.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
            for n, a in zip(names, arrays):
                g.create_dataset(n, data=a)


def test_old_style_keras2_attributes_and_a_bias_with_nowhere_to_go(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="fc")(keras.layers.Flatten()(x)))
    rng = np.random.default_rng(5)
    kernel, fc_w, fc_b = rng.normal(size=(3, 3, 3, 4)), rng.normal(size=(144, 2)), rng.normal(size=2)
    _tiny_keras2_file(tmp_path / "ok.h5", {"conv": [kernel], "fc": [fc_w, fc_b]})
    ka.load_keras_applications(model, tmp_path / "ok.h5")
    np.testing.assert_allclose(model.get_layer("fc").get_weights()[1], fc_b, rtol=1e-6)
    # A conv bias in the file, no bias in the model and no BatchNormalization after the conv: an error.
    _tiny_keras2_file(tmp_path / "bias.h5", {"conv": [kernel, rng.normal(size=4)], "fc": [fc_w, fc_b]})
    with pytest.raises(WeightsMismatchError, match="conv has a bias in the file.*conv_bias=True"):
        ka.load_keras_applications(model, tmp_path / "bias.h5")


def test_not_keras_weights(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("data", data=np.zeros(3))
    with pytest.raises(WeightsFormatError, match="not Keras weights"):
        zoo.get("vgg16", weights=str(tmp_path / "other.h5"), input_shape=(32, 32, 3))
    (tmp_path / "trunc.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(WeightsFormatError, match="cannot read"):
        ka.read_h5(tmp_path / "trunc.h5")


# --- the registered weights -------------------------------------------------------------------------------


def test_registered_weights_state_source_license_preprocessing_and_released_numbers():
    specs = {name: registry.card(name).weights[name.split(".")[1]] for name in zoo.list_models(pretrained=True)}
    expected = {"alexnet.bvlc", "caffenet.bvlc", "googlenet.bvlc", "vgg16.keras_imagenet", "vgg16.vgg_caffe",
                "vgg19.keras_imagenet", "vgg19.vgg_caffe", "resnet50.keras_imagenet", "resnet50.keras_imagenet_notop"}
    assert expected <= set(specs)
    for name, spec in specs.items():
        assert spec.source and spec.license and spec.preprocessing is not None, name
        assert all("released" in key for key in spec.metrics), name
        if spec.file_hash is None:
            assert "unverified" in spec.source, f"{name}: say that the release publishes no hash"
    for arch in ("vgg16", "vgg19", "resnet50"):  # keras.applications' name for its weights works as a tag
        assert registry.card(arch).weights["imagenet"].tag == "keras_imagenet"
    listed = zoo.list_models(pretrained=True)
    aliases = [n for n in listed if n.split(".")[1] != registry.card(n.split(".")[0]).weights[n.split(".")[1]].tag]
    assert aliases == [] and "vgg16.imagenet" not in listed  # an alias is not listed beside its tag


def test_keras_applications_urls_and_md5_are_keras_own():
    """The URLs and md5 digests are keras.applications' (read from the installed Keras' source)."""
    from keras.src.applications import resnet, vgg16, vgg19

    for arch, module in (("vgg16", vgg16), ("vgg19", vgg19)):
        spec = registry.card(arch).weights["keras_imagenet"]
        assert spec.url == module.WEIGHTS_PATH
        top_hash = re.findall(r'file_hash="([0-9a-f]{32})"', inspect.getsource(module))[0]
        assert (spec.file_hash, spec.hash_algorithm) == (top_hash, "md5")
    card = registry.card("resnet50")
    for tag, index, suffix in (("keras_imagenet", 0, ""), ("keras_imagenet_notop", 1, "_notop")):
        spec = card.weights[tag]
        assert spec.url == f"{resnet.BASE_WEIGHTS_PATH}resnet50_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
        assert spec.file_hash == resnet.WEIGHTS_HASHES["resnet50"][index]


def test_bvlc_weights_carry_the_readme_sha1():
    # BVLC/caffe models/*/readme.md: caffemodel_url and sha1
    want = {"alexnet": "9116a64c0fbe4459d18f4bb6b56d647b63920377",
            "caffenet": "4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46",
            "googlenet": "405fc5acd08a3bb12de8ee5e23a96bec22f08204"}
    for arch, sha1 in want.items():
        spec = registry.card(arch).weights["bvlc"]
        assert (spec.file_hash, spec.hash_algorithm, spec.format) == (sha1, "sha1", "caffemodel")
        assert spec.url.startswith("http://dl.caffe.berkeleyvision.org/bvlc_")


def test_a_digest_of_the_wrong_length_or_algorithm_is_refused():
    with pytest.raises(ValueError, match="40 lowercase hex"):
        WeightsSpec(tag="t", url="file:///x", file_hash="abc", hash_algorithm="sha1", format="keras")
    with pytest.raises(ValueError, match="hash_algorithm must be one of"):
        WeightsSpec(tag="t", url="file:///x", file_hash=None, hash_algorithm="crc32", format="keras")


# --- fetch: download, hash check, cache --------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A .weights.h5 of test/tiny_classifier served at a file:// URL, the cache in tmp_path."""
    source = zoo.get("test/tiny_classifier")
    path = tmp_path / "served" / "tiny.weights.h5"
    path.parent.mkdir()
    source.save_weights(path)
    monkeypatch.setattr(weights_mod, "CACHE_DIR", str(tmp_path / "cache"))
    card = registry.card("test/tiny_classifier")

    def register(file_hash, algorithm, url=None):
        spec = WeightsSpec(tag="served", url=url or path.as_uri(), file_hash=file_hash, hash_algorithm=algorithm,
                           format="keras", source="test")
        monkeypatch.setitem(card.weights, "served", spec)
        return tmp_path / "cache" / "zoo" / "test_tiny_classifier.served.weights.h5"

    return source, path, register


@pytest.mark.parametrize("algorithm", ["sha256", "md5", "sha1"])
def test_fetch_checks_the_published_hash(served, algorithm):
    source, path, register = served
    cached = register(hashlib.new(algorithm, path.read_bytes()).hexdigest(), algorithm)
    model = zoo.get("test/tiny_classifier.served")
    for a, b in zip(model.weights, source.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert cached.exists()

    cached.unlink()
    register("0" * len(hashlib.new(algorithm).hexdigest()), algorithm)
    with pytest.raises(WeightsFormatError, match=f"hash mismatch.*the {algorithm} of the file"):
        zoo.get("test/tiny_classifier.served")
    assert not cached.exists()  # a file that failed its check is not kept


def test_a_corrupt_cached_copy_is_downloaded_again(served):
    source, path, register = served
    cached = register(hashlib.sha1(path.read_bytes()).hexdigest(), "sha1")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(path.read_bytes()[:100])  # an interrupted earlier download
    zoo.get("test/tiny_classifier.served")
    assert cached.read_bytes() == path.read_bytes()


def test_a_file_without_published_hash_loads_with_a_warning(served, caplog, monkeypatch):
    _, _, register = served
    register(None, "sha256")
    with pytest.raises(WeightsFormatError, match="published no hash.*ZOO_ALLOW_UNVERIFIED=1"):
        zoo.get("test/tiny_classifier.served")  # not downloaded unless the user allows it
    monkeypatch.setenv("ZOO_ALLOW_UNVERIFIED", "1")
    with caplog.at_level(logging.WARNING, logger="zoo.weights"):
        zoo.get("test/tiny_classifier.served")
    assert "unverified" in caplog.text


def test_an_unreachable_url_says_how_to_load_by_hand(served, tmp_path, monkeypatch):
    _, _, register = served
    monkeypatch.setenv("ZOO_ALLOW_UNVERIFIED", "1")  # a file without a published hash is fetched only when allowed
    register(None, "sha256", url=(tmp_path / "missing.weights.h5").as_uri())
    with pytest.raises(WeightsFormatError, match="could not download.*weights=PATH"):
        zoo.get("test/tiny_classifier.served")


# --- the released sizes ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_full_size_vgg_matches_keras_applications(tmp_path, arch):
    builder = keras.applications.VGG16 if arch == "vgg16" else keras.applications.VGG19
    oracle = randomize(builder(weights=None, classifier_activation=None), 6)
    path = save_keras2(oracle, tmp_path / f"{arch}_weights_tf_dim_ordering_tf_kernels.h5")
    x = keras.applications.vgg16.preprocess_input(images(1, 224).astype("float32"))
    assert_same(zoo.get(arch, weights=str(path)).predict(x, verbose=0), oracle.predict(x, verbose=0), 1e-5)


@pytest.mark.slow
def test_full_size_resnet50_matches_keras_applications(tmp_path):
    oracle = randomize(keras.applications.ResNet50(weights=None, classifier_activation=None), 7)
    path = save_keras2(oracle, tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels.h5")
    x = keras.applications.resnet50.preprocess_input(images(1, 224).astype("float32"))
    want = oracle.predict(x, verbose=0)
    exact = zoo.get("resnet50", weights=str(path), conv_bias=True)
    assert_same(exact.predict(x, verbose=0), want, 1e-5)
    assert_same(zoo.get("resnet50", weights=str(path)).predict(x, verbose=0), want, 1e-4)
