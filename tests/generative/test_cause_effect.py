"""CGAN-C2ST (Oquab thesis §5.4.2): the Tübingen readers on files in the sources' layouts, the
authors' preprocessing and loss against NumPy transcriptions, a CGAN run's determinism, and the
accuracy bookkeeping with random orientation and pair weights."""

import numpy as np
import pytest

from zoo.data.generative import tuebingen
from zoo.data.standins.cause_effect_pairs import KINDS, synthetic_pair
from zoo.errors import ConfigError, CorruptRecordError, DatasetNotFoundError, UnknownNameError
from zoo.experiments import cause_effect as ce


def _write_cdt(folder, pairs, targets):
    (folder / "pairs.csv").write_text("SampleID,A,B\n" + "".join(
        f"{pid},{' '.join(map(str, a))},{' '.join(map(str, b))}\n" for pid, a, b in pairs))
    (folder / "targets.csv").write_text("SampleID,Target\n" + "".join(f"{pid},{t}\n" for pid, t in targets))
    return folder / "pairs.csv", folder / "targets.csv"


def test_cdt_csv_reader(tmp_path):
    files = _write_cdt(tmp_path, [("pair1", [1, 2.5, 3], [4, 5, 6e-3]), ("pair2", [7, 8], [9, 10])],
                       [("pair1", "1.0"), ("pair2", "-1.0")])
    p1, p2 = tuebingen.read_cdt_csv(*files)
    assert p1.pair_id == "pair1" and p1.direction == 1 and p2.direction == -1 and p1.weight == 1.0
    np.testing.assert_array_equal(p1.a, [1, 2.5, 3])
    np.testing.assert_array_equal(p1.b, [4, 5, 6e-3])


@pytest.mark.parametrize("pairs, targets, message", [
    ([("pair1", [1, 2], [3])], [("pair1", "1")], "2 values of A and 1 of B"),
    ([("pair1", [1, "x"], [3, 4])], [("pair1", "1")], "not a number"),
    ([("pair1", [1, 2], [3, 4])], [("pair9", "1")], "no target"),
    ([("pair1", [1, 2], [3, 4])], [("pair1", "0.5")], "no target"),
])
def test_cdt_csv_reader_names_what_is_wrong(tmp_path, pairs, targets, message):
    with pytest.raises(CorruptRecordError, match=message):
        tuebingen.read_cdt_csv(*_write_cdt(tmp_path, pairs, targets))


def test_official_release_keeps_the_one_dimensional_pairs_with_their_weights(tmp_path):
    (tmp_path / "pairmeta.txt").write_text("0001 1 1 2 2 0.5\n0002 2 2 1 1 1\n0003 1 2 3 3 0.25\n")
    np.savetxt(tmp_path / "pair0001.txt", [[1, 10], [2, 20], [3, 30]])
    np.savetxt(tmp_path / "pair0002.txt", [[5, 6], [7, 8]])
    np.savetxt(tmp_path / "pair0003.txt", [[1, 2, 3]])  # a 2-D cause: skipped, as tuebingen.lua does
    pairs = tuebingen.load_pairs(tmp_path)
    assert [(p.pair_id, p.direction, p.weight) for p in pairs] == [("pair0001", 1, 0.5), ("pair0002", -1, 1.0)]
    np.testing.assert_array_equal(pairs[1].a, [5, 7])
    (tmp_path / "pair0002.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match="pair0002.txt is missing"):
        tuebingen.load_pairs(tmp_path)


def test_missing_sources_say_how_to_get_the_pairs(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError, match="pairmeta.txt"):
        tuebingen.load_pairs(tmp_path)

    def no_distribution(name):
        raise tuebingen.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(tuebingen.importlib.metadata, "distribution", no_distribution)
    with pytest.raises(DatasetNotFoundError, match="pip install --no-deps cdt"):
        tuebingen.load_pairs("cdt")


def test_registered_loaders_give_one_element_per_pair(tmp_path):
    from zoo.data import registry

    (tmp_path / "pairmeta.txt").write_text("0001 1 1 2 2 1\n")
    np.savetxt(tmp_path / "pair0001.txt", [[1, 10], [2, 20], [3, 30]])
    (ex,) = list(registry.load("tuebingen_pairs", "all", source=str(tmp_path)).as_numpy_iterator())
    assert ex["pair_id"] == b"pair0001" and ex["direction"] == 1 and list(ex["b"]) == [10, 20, 30]
    synthetic = list(registry.load("cause_effect_synthetic", "additive", num_pairs=2, num_points=50))
    assert len(synthetic) == 2 and synthetic[0]["a"].shape == (50,)


def test_synthetic_pairs_are_reproducible_and_their_noise_is_what_the_kind_says():
    for kind in KINDS:
        p, q = synthetic_pair(kind, 3, 200, seed=1), synthetic_pair(kind, 3, 200, seed=1)
        np.testing.assert_array_equal(p.b, q.b)
        assert p.direction == 1 and abs(p.a.mean()) < 1e-9
    assert (synthetic_pair("multiplicative", 0, 200).b > 0).all()
    assert not np.array_equal(synthetic_pair("additive", 0, 200).a, synthetic_pair("additive", 1, 200).a)
    with pytest.raises(UnknownNameError):
        synthetic_pair("linear")


def test_preprocess_is_the_authors_read_pair():
    """A NumPy transcription of tuebingen.lua's remove_outliers (5% farthest from the nearest of 20
    random points) and metal.normalize; with the same anchors it keeps the same points."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(200), rng.standard_normal(200)
    a[:5] += 40  # far outliers
    x, y = ce.preprocess(a, b, seed=3)
    data = np.stack([a, b], 1)
    anchors = data[np.random.default_rng(3).permutation(200)[:20]]
    d = np.array([min(np.linalg.norm(p - q) for q in anchors) for p in data])
    kept = data[np.argsort(d, kind="stable")[:190]]
    expect = (kept - kept.mean(0)) / kept.std(0)
    np.testing.assert_allclose(np.stack([x, y], 1), expect)
    assert len(x) == 190 and np.abs(x).max() < 5  # the five points at +40 are gone
    assert len(ce.preprocess(a, b, max_points=50)[0]) == 50
    with pytest.raises(ConfigError, match="at least 10 finite"):
        ce.preprocess([1.0, np.nan] * 10, [1.0] * 20)


def test_losses_are_eq_5_8_with_smoothed_targets():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((8, 1)), rng.standard_normal((8, 1))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    bce = lambda t, v: -np.mean(t * np.log(sig(v)) + (1 - t) * np.log(1 - sig(v)))  # noqa: E731
    d, g = ce.cgan_losses(tf.constant(real), tf.constant(fake), 0.8, 0.2)
    assert float(d) == pytest.approx(0.5 * (bce(0.8, real) + bce(0.2, fake)), rel=1e-6)
    assert float(g) == pytest.approx(bce(0.8, fake), rel=1e-6)


def test_epoch_batches_visit_every_point_once_per_epoch():
    options = ce.CganOptions(epochs=2, batch_size=4)
    order = np.concatenate([np.random.default_rng(e).permutation(10) for e in range(2)])
    batches = ce._epoch_batches(order, 10, options)
    assert batches.shape == (6, 4)
    for e in range(2):
        seen = batches[3 * e:3 * e + 3].ravel()
        assert sorted(seen[seen >= 0]) == list(range(10)) and (seen < 0).sum() == 2


def test_a_cgan_run_is_reproducible_and_learns_the_mechanism():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, 128)
    y = np.sin(2 * x) + 0.1 * rng.standard_normal(128)
    options = ce.CganOptions(epochs=60, hidden=32)
    g1, g2 = ce.train_cgan(x, y, options, seed=5), ce.train_cgan(x, y, options, seed=5)
    np.testing.assert_array_equal(g1, g2)
    assert g1.shape == (128,)
    untrained = ce.train_cgan(x, y, ce.CganOptions(epochs=1, hidden=32), seed=5)
    # the trained generator tracks sin(2x) much better than a one-epoch one
    assert np.mean((g1 - np.sin(2 * x)) ** 2) < 0.5 * np.mean((untrained - np.sin(2 * x)) ** 2)


def test_accuracy_counts_random_orientations_and_weights(monkeypatch):
    """With a stand-in statistic that always favours the true direction, every pair is right however
    it is presented; with one that always says a -> b, about half are (the flips)."""
    pairs = [tuebingen.CausePair(f"p{i}", np.arange(20.0) + i, np.arange(20.0) ** 2, 1, weight=float(i + 1))
             for i in range(40)]

    def oracle(a, b, **kw):  # the cause here is the one with evenly spread values
        return ([0.0], [1.0]) if np.allclose(np.diff(np.sort(a)), np.diff(np.sort(a))[0]) else ([1.0], [0.0])

    monkeypatch.setattr(ce, "direction_statistics", oracle)
    result = ce.evaluate_pairs(pairs, seed=0)
    assert result["accuracy"] == 1.0 == result["weighted_accuracy"]
    flips = [r["flipped"] for r in result["pairs"]]
    assert 10 < sum(flips) < 30
    monkeypatch.setattr(ce, "direction_statistics", lambda a, b, **kw: ([0.0], [1.0]))
    result = ce.evaluate_pairs(pairs, seed=0)
    right = np.array([not f for f in flips], float)
    assert result["accuracy"] == pytest.approx(right.mean())
    weights = np.arange(1.0, 41.0)
    assert result["weighted_accuracy"] == pytest.approx((right * weights).sum() / weights.sum())


def test_ensemble_compares_the_best_cgan_of_each_direction_and_single_the_first(monkeypatch):
    pairs = [tuebingen.CausePair("p", np.arange(20.0), np.arange(20.0), 1)]
    # the first CGAN of a -> b is poor (0.4 > 0.3) but its second is the best of all (0.1)
    monkeypatch.setattr(ce, "direction_statistics", lambda a, b, **kw: ([0.4, 0.1], [0.3, 0.35]))
    monkeypatch.setattr(ce, "preprocess", lambda a, b, **kw: (a, b))
    result = ce.evaluate_pairs(pairs, reps=2, seed=1)
    record = result["pairs"][0]
    assert record["predicted"] == 1 and record["single_predicted"] == -1
    truth_is_ab = record["truth"] == 1
    assert result["accuracy"] == float(truth_is_ab) and result["single_accuracy"] == float(not truth_is_ab)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="fake_target"):
        ce.CganOptions(real_target=0.2, fake_target=0.8)
    with pytest.raises(UnknownNameError):
        ce.direction_statistics(np.zeros(20), np.zeros(20), test="svm")
    with pytest.raises(SystemExit):
        ce.main(["--source", "synthetic:linear", "--pairs", "1"])
