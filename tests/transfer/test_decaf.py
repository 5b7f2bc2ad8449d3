"""DeCAF (Donahue thesis ch. 2): the frozen CaffeNet feature extractor, feature dropout, the cross-validated
staged learner, mean per-class accuracy and Daume III's augmentation."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from zoo import registry
from zoo.errors import ConfigError
from zoo.ops.features import daume_augment, drop_features, dropout_test_scale, mean_class_accuracy, per_class_split
from zoo.training import recipes, runner


def test_feature_dropout_zeroes_half_without_rescaling_and_the_test_scale_is_a_half():
    x = np.random.default_rng(1).uniform(1, 2, (400, 50))
    dropped = drop_features(x, 0.5, np.random.default_rng(0))
    zero = dropped == 0
    assert abs(zero.mean() - 0.5) < 0.01  # "randomly setting half of the activations ... to 0"
    np.testing.assert_array_equal(dropped[~zero], x[~zero])  # kept ones unchanged (no 1/(1-p) rescaling)
    assert dropout_test_scale(0.5) == 0.5  # "at test time, all activations are multiplied by 0.5"
    np.testing.assert_array_equal(drop_features(x, 0.0, np.random.default_rng(0)), x)
    with pytest.raises(ConfigError):
        drop_features(x, 1.0, np.random.default_rng(0))


def test_per_class_split_takes_exactly_n_of_each_class_and_the_rest():
    y = np.repeat([0, 1, 2], [30, 32, 35])
    first, second = per_class_split(y, 25, np.random.default_rng(0))
    assert [int(np.sum(y[first] == c)) for c in range(3)] == [25, 25, 25]
    assert [int(np.sum(y[second] == c)) for c in range(3)] == [5, 7, 10]
    assert not set(first) & set(second) and len(first) + len(second) == len(y)
    only, none = per_class_split(y, 3, np.random.default_rng(0), rest=False)
    assert len(only) == 9 and len(none) == 0
    with pytest.raises(ConfigError, match="class 0 has 30"):
        per_class_split(y, 31, np.random.default_rng(0))


def test_daume_augmentation_matches_a_hand_worked_example():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(daume_augment(x, "source"), [[1, 2, 1, 2, 0, 0], [3, 4, 3, 4, 0, 0]])
    np.testing.assert_array_equal(daume_augment(x, "target"), [[1, 2, 0, 0, 1, 2], [3, 4, 0, 0, 3, 4]])
    np.testing.assert_array_equal(daume_augment(x, np.array([False, True])), [[1, 2, 1, 2, 0, 0], [3, 4, 0, 0, 3, 4]])
    with pytest.raises(ConfigError):
        daume_augment(x, "webcam")


def test_mean_class_accuracy_by_hand():
    # class 0: 2 of 2 right; class 1: 1 of 4 right -> (1 + 0.25) / 2, while plain accuracy is 3/6
    assert mean_class_accuracy([0, 0, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]) == pytest.approx(0.625)


@pytest.fixture
def blobs():
    from tests.training import staged_fixtures

    with staged_fixtures.registered() as fixtures:
        yield fixtures


def test_staged_logistic_with_feature_dropout_and_cross_validated_C_equals_scikit_learn(tmp_path, blobs):
    """The head is 0.5 x the LogisticRegression fitted on the dropped-out features with the C whose
    25-per-class fit scored best on the held-out examples (the random draws in the step's order)."""
    from sklearn.linear_model import LogisticRegression
    from zoo.training.steps.staged import read_features

    grid = [0.01, 1.0, 100.0]
    options = {"learner": "logistic", "feature_dropout": 0.5, "C_grid": grid, "cv_train_per_class": 25,
               "tol": 1e-10, "max_iter": 10000}
    res = runner.train(recipes.from_dict(blobs.recipe(**options)), tmp_path / "run")
    x, y = read_features(tmp_path / "run" / "features")
    rng = np.random.default_rng(0)
    fit, val = per_class_split(y, 25, rng)
    scores = {}
    for C in grid:
        lr = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(x[fit] * (rng.random(x[fit].shape) >= 0.5), y[fit])
        scores[C] = mean_class_accuracy(lr.predict(x[val] * 0.5), y[val])
    chosen = json.loads((tmp_path / "run" / "cross_validation.json").read_text())
    assert chosen["validation_mean_class_accuracy"] == pytest.approx({str(c): s for c, s in scores.items()})
    best = max(grid, key=lambda c: (scores[c], -c))
    assert chosen["C"] == best
    final = LogisticRegression(C=best, tol=1e-10, max_iter=10000).fit(x * (rng.random(x.shape) >= 0.5), y)
    head = res.model.get_layer("classifier")
    np.testing.assert_allclose(head.kernel.numpy().T, 0.5 * final.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(head.bias.numpy(), final.intercept_, rtol=1e-4, atol=1e-5)
    assert res.metrics["mean_class_accuracy"] > 0.9


def test_cross_validation_options_are_checked():
    from zoo.training.steps.staged import StagedOptions

    with pytest.raises(ConfigError, match="go together"):
        StagedOptions(C_grid=[1.0])
    with pytest.raises(ConfigError, match="feature_dropout"):
        StagedOptions(feature_dropout=1.0)


def test_decaf_taps_the_frozen_caffenet_and_trains_only_its_head():
    from zoo.models.alexnet.alexnet import caffenet
    from zoo.models.alexnet.decaf import decaf

    small = dict(input_shape=(67, 67, 3), width=16)
    reference = caffenet(num_classes=5, **small)
    images = np.random.default_rng(0).normal(0, 50, (2, 67, 67, 3)).astype(np.float32)
    for layer, tap in ((1, "pool1"), (5, "pool5"), (6, "fc6"), (7, "fc7")):
        model = decaf(layer=layer, num_classes=5, **small)
        for l in model.layers:
            if l.weights and l.name != "classifier":
                l.set_weights(reference.get_layer(l.name).get_weights())
                assert not l.trainable
        got = keras.Model(model.inputs, model.get_layer(f"decaf{layer}").output)(images).numpy()
        want = keras.Model(reference.inputs, reference.get_layer(tap).output)(images).numpy()
        np.testing.assert_allclose(got, want.reshape(2, -1), rtol=1e-5, atol=1e-4)
        assert [w.path for w in model.trainable_weights] == ["classifier/kernel", "classifier/bias"]


def test_decaf_full_size_feature_widths_and_parameters_at_224():
    from zoo.models.alexnet.decaf import decaf

    convs = 34_944 + 307_456 + 885_120 + 663_936 + 442_624  # conv1-conv5 of CaffeNet, 2,334,080
    fc6, fc7 = 9216 * 4096 + 4096, 4096 * 4096 + 4096
    model = decaf(layer=5, num_classes=102)
    assert model.get_layer("decaf5").output.shape[1:] == (6 * 6 * 256,)  # 224 -> 54 -> 27 -> 13 -> 6
    assert model.count_params() == convs + 9216 * 102 + 102
    model = decaf(layer=6, num_classes=102)
    assert model.count_params() == convs + fc6 + 4096 * 102 + 102 == registry.card("decaf").parameters["total"]
    assert decaf(layer=1, num_classes=2).get_layer("decaf1").output.shape[1:] == (27 * 27 * 96,)
    del model
    with pytest.raises(ConfigError, match="DeCAF1/5/6/7"):
        decaf(layer=3)
    assert fc7 == 16_781_312  # the thesis's "about 16.8 million" (§3.1.6.2)


def test_decaf_features_from_a_caffenet_caffemodel_match_opencvs_caffe_forward(tmp_path):
    """The released CaffeNet file loads into `decaf` by layer name (fc8, and fc7 for DeCAF6, left out), and
    DeCAF6 / DeCAF7 equal OpenCV's forward pass of the Caffe net (an independent oracle)."""
    lstm_tests = pytest.importorskip("tests.convert.test_caffe_lstm")
    if not lstm_tests.HAS_CAFFE_IMPORTER:
        pytest.skip("OpenCV without its Caffe importer (5.x)")
    import zoo
    from zoo.weights import load_partial

    path = tmp_path / "caffenet.caffemodel"
    lstm_tests.random_caffemodel(path, zoo.get("caffenet", num_classes=1000, width=16, input_shape=(67, 67, 3)))
    images = np.random.default_rng(0).normal(0, 50, (2, 67, 67, 3)).astype(np.float32)
    for layer in (6, 7):
        options = dict(layer=layer, num_classes=5, width=16, input_shape=(67, 67, 3))
        model = registry.card("decaf").builder(**options)
        report = load_partial(model, path, card=registry.card("decaf"), build_kwargs=options)  # weights_partial
        assert report["initialised"] == ["classifier"] and "fc6" in report["loaded"]
        got = keras.Model(model.inputs, model.get_layer(f"decaf{layer}").output)(images).numpy()
        want = lstm_tests.opencv_forward(tmp_path, lstm_tests.caffenet(2, 67, 16).layers, path, images, f"fc{layer}")
        lstm_tests.assert_close(got, np.maximum(want, 0))  # OpenCV hands back the blob before the in-place ReLU


@pytest.mark.slow
def test_decaf_recipe_extracts_once_and_fits_svm_and_logreg_on_the_same_features(tmp_path):
    """The Caltech-101 recipes, small and on the offline shapes stand-in: the SVM + dropout run extracts DeCAF6
    into the shared features_dir, the LogReg run reuses it (no new chunk), and both evaluate by mean per-class
    accuracy."""
    from zoo.training.steps import staged

    small = ["model.options.num_classes=3", "model.options.width=16", "model.options.input_shape=[67, 67, 3]",
             "model.weights=''", "model.weights_partial=false", "data.name='shapes_classification'",
             "data.global_batch_size=8", "data.eval_split='validation'",
             "data.options={image_size = 67, resize_size = 70, num_examples = 24, augment = false}",
             f"step.features_dir='{tmp_path / 'features'}'", "step.C_grid=[0.1, 1.0]", "step.cv_train_per_class=3"]
    svm = runner.train(recipes.load("caltech101_decaf6_svm_dropout", small), tmp_path / "svm")
    parts = sorted(p.name for p in (tmp_path / "features").glob("part-*.npz"))
    written = []
    real = staged.write_part
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(staged, "write_part", lambda path, *a: (written.append(path), real(path, *a)))
        logreg = runner.train(recipes.load("caltech101_decaf6_logreg", small), tmp_path / "logreg")
    assert parts and written == []  # extracted once
    for res in (svm, logreg):
        assert 0.0 <= res.metrics["mean_class_accuracy"] <= 1.0 and (tmp_path / "svm" / "cross_validation.json").exists()
    x, _ = staged.read_features(tmp_path / "features")
    assert x.shape == (24, 4096 // 16)  # DeCAF6 of the small net
