"""The registry and the Python API: names, errors, model cards, heads, weights loading."""

import numpy as np
import pytest

import zoo
from zoo import registry
from zoo.errors import ConfigError, DuplicateNameError, UnknownNameError, WeightsFormatError, WeightsMismatchError


def test_list_models_pattern_and_hidden_test_models():
    assert zoo.list_models("test/*") == []
    assert "test/tiny_segmenter" in zoo.list_models("test/*", include_hidden=True)
    for name in zoo.list_models():
        assert not name.startswith("test/")


def test_unknown_model_names_the_closest():
    with pytest.raises(UnknownNameError, match="tiny_segmenter"):
        registry.card("test/tiny_segmentr")
    with pytest.raises(KeyError):  # also catchable as a KeyError
        zoo.get("no_such_model_anywhere")


def test_registering_twice_raises():
    with pytest.raises(DuplicateNameError):
        registry.register("test/tiny_segmenter", builder="tests.tiny_models:tiny_segmenter", family="t",
                          paper="p", section="s", task="segmentation", input_contract=registry.InputContract(shape=(None, None, 3)))


def test_unknown_builder_option_is_named():
    with pytest.raises(ConfigError, match="'widht'"):
        zoo.get("test/tiny_segmenter", widht=3)


def test_info_has_the_card():
    info = zoo.info("test/tiny_segmenter")
    assert info.task == "segmentation" and info.parameters["total"] > 0
    text = str(info)
    assert "parameters" in text and "input" in text


def _save(model, path):
    model.save_weights(path)
    return path


def test_keras_weights_round_trip_and_head_reinitialised(tmp_path):
    src = zoo.get("test/tiny_segmenter", num_classes=3)
    path = _save(src, tmp_path / "a.weights.h5")
    same = zoo.get("test/tiny_segmenter", num_classes=3, weights=str(path))
    for a, b in zip(src.weights, same.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # another head size: the body loads, the head ("score") keeps a fresh initialisation
    other = zoo.get("test/tiny_segmenter", num_classes=7, weights=str(path))
    np.testing.assert_array_equal(other.get_layer("conv2").get_weights()[0], src.get_layer("conv2").get_weights()[0])
    assert other.get_layer("score").get_weights()[0].shape[-1] == 7


def test_weights_of_another_architecture_fail_and_load_nothing(tmp_path):
    path = _save(zoo.get("test/tiny_classifier"), tmp_path / "c.weights.h5")
    model = zoo.get("test/tiny_segmenter")
    before = [np.asarray(w).copy() for w in model.weights]
    from zoo import weights

    with pytest.raises(WeightsMismatchError, match="nothing was loaded"):
        weights.load_into(model, str(path), card=registry.card("test/tiny_segmenter"), build_kwargs={})
    for b, w in zip(before, model.weights):
        np.testing.assert_array_equal(b, np.asarray(w))


def test_assign_named_lists_every_mismatch():
    from zoo.weights import assign_named, model_to_named

    model = zoo.get("test/tiny_segmenter")
    named = model_to_named(model)
    named["extra_layer"] = [np.zeros(3)]
    del named["conv1"]
    named["conv2"] = [np.zeros((3, 3, 8, 9)), np.zeros(9)]
    with pytest.raises(WeightsMismatchError) as e:
        assign_named(model, named)
    msg = str(e.value)
    assert "conv1" in msg and "extra_layer" in msg and "conv2" in msg


def test_partial_stagewise_load(tmp_path):
    from zoo.weights import assign_named, model_to_named

    model = zoo.get("test/tiny_segmenter", dropout=0.0)
    named = model_to_named(zoo.get("test/tiny_segmenter"))
    del named["score"]
    report = assign_named(model, named, partial=True)
    assert report["initialised"] == ["score"] and "conv1" in report["loaded"]


def test_missing_and_unknown_weights_files(tmp_path):
    with pytest.raises(WeightsFormatError, match="does not exist"):
        zoo.get("test/tiny_segmenter", weights=str(tmp_path / "nope.weights.h5"))
    bad = tmp_path / "w.bin"
    bad.write_bytes(b"xx")
    with pytest.raises(WeightsFormatError, match="cannot tell the format"):
        zoo.get("test/tiny_segmenter", weights=str(bad))
    corrupt = tmp_path / "broken.weights.h5"
    corrupt.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(WeightsMismatchError):
        zoo.get("test/tiny_segmenter", weights=str(corrupt))
    with pytest.raises(UnknownNameError, match="weights tag"):
        zoo.get("test/tiny_segmenter", weights="imagenet")
