"""DeCAF's protocols on extracted features (zoo.experiments.decaf): the Office splits and S / T / ST /
Daume III, and the per-class-split protocol of Caltech-101 / SUN-397."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import UnknownNameError
from zoo.experiments import decaf


def _domains(classes=5, dim=12, shift=3.0, seed=0):
    """Source blobs, and a target whose every class is moved by its own offset (a domain shift)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, (classes, dim))
    offsets = rng.normal(0, shift, (classes, dim))
    ys, yt = np.repeat(np.arange(classes), 25), np.repeat(np.arange(classes), 20)
    xs = centres[ys] + rng.standard_normal((len(ys), dim))
    xt = centres[yt] + offsets[yt] + rng.standard_normal((len(yt), dim))
    return (xs, ys), (xt, yt)


def test_office_splits_take_the_protocol_counts_and_differ_between_seeds():
    (xs, ys), (xt, yt) = _domains()
    splits = decaf.office_splits(ys, yt, "amazon", splits=5)
    assert len(splits) == 5
    for s in splits:
        assert np.bincount(ys[s["source"]]).tolist() == [20] * 5  # amazon: 20 per class [Saenko et al. 2010]
        assert np.bincount(yt[s["target_train"]]).tolist() == [3] * 5
        assert np.bincount(yt[s["target_test"]]).tolist() == [17] * 5
        assert not set(s["target_train"]) & set(s["target_test"])
    assert not np.array_equal(splits[0]["target_train"], splits[1]["target_train"])
    assert np.bincount(ys[decaf.office_splits(ys, yt, "dslr", splits=1)[0]["source"]]).tolist() == [8] * 5
    with pytest.raises(UnknownNameError):
        decaf.office_splits(ys, yt, "flickr")


def test_adaptation_sets_by_hand():
    xs, ys = np.array([[1.0], [2.0]]), np.array([0, 1])
    xt, yt = np.array([[10.0], [20.0], [30.0]]), np.array([0, 1, 1])
    split = {"source": np.array([1]), "target_train": np.array([0]), "target_test": np.array([1, 2])}
    (x, y), test = decaf.adaptation_sets("ST", (xs, ys), (xt, yt), split)
    assert x.tolist() == [[2.0], [10.0]] and y.tolist() == [1, 0] and test.tolist() == [[20.0], [30.0]]
    (x, y), test = decaf.adaptation_sets("daume", (xs, ys), (xt, yt), split)
    assert x.tolist() == [[2, 2, 0], [10, 0, 10]] and test.tolist() == [[20, 0, 20], [30, 0, 30]]
    (x, y), _ = decaf.adaptation_sets("S", (xs, ys), (xt, yt), split)
    assert x.tolist() == [[2.0]] and y.tolist() == [1]
    with pytest.raises(UnknownNameError):
        decaf.adaptation_sets("gfk", (xs, ys), (xt, yt), split)


def test_office_protocol_on_shifted_blobs_target_data_helps():
    source, target = _domains()
    results = decaf.office_protocol(source, target, "amazon", learners=("logistic",), splits=3)
    acc = {k: v["mean"] for k, v in results.items()}
    assert set(acc) == {"logistic (S)", "logistic (T)", "logistic (ST)", "logistic (daume)"}
    assert acc["logistic (ST)"] > acc["logistic (S)"] + 0.1 and acc["logistic (daume)"] > acc["logistic (S)"] + 0.1
    assert all(len(v["per_split"]) == 3 for v in results.values())


def test_per_class_protocol_equals_scikit_learn_on_the_same_splits():
    from sklearn.linear_model import LogisticRegression

    from zoo.ops.features import mean_class_accuracy, per_class_split

    (x, y), _ = _domains()
    got = decaf.per_class_protocol(x, y, learner="logistic", train_per_class=10, cv_train_per_class=8,
                                   C_grid=(0.1,), splits=2, seed=3)
    for s, acc in enumerate(got["per_split"]):
        train, test = per_class_split(y, 10, np.random.default_rng(3 + s))
        want = LogisticRegression(C=0.1, max_iter=5000).fit(x[train], y[train]).predict(x[test])
        assert acc == pytest.approx(mean_class_accuracy(want, y[test]))
    assert got["C"] == [0.1, 0.1] and got["mean"] == pytest.approx(np.mean(got["per_split"]))


def test_choose_C_scores_each_C_on_the_held_out_examples_and_takes_the_best():
    from sklearn.linear_model import LogisticRegression

    from zoo.ops.features import mean_class_accuracy, per_class_split

    (x, y), _ = _domains(shift=0.0)
    x = x + np.random.default_rng(5).normal(0, 3.0, x.shape)
    grid = (1e-4, 0.01, 1.0)
    best, scores = decaf.choose_C("logistic", x, y, grid, cv_train_per_class=20, seed=2)
    fit, val = per_class_split(y, 20, np.random.default_rng(2))
    for C in grid:
        want = LogisticRegression(C=C, max_iter=5000).fit(x[fit], y[fit]).predict(x[val])
        assert scores[C] == pytest.approx(mean_class_accuracy(want, y[val]))
    assert scores[best] == max(scores.values())


def test_one_shot_protocol_with_fixed_C():
    (x, y), _ = _domains(shift=0.0)
    got = decaf.per_class_protocol(x, y, learner="linear_svm", train_per_class=1, cv_train_per_class=0,
                                   C_grid=(1.0,), splits=2)
    assert got["C"] == [1.0, 1.0] and len(got["per_split"]) == 2 and got["mean"] > 1 / 5  # above chance
