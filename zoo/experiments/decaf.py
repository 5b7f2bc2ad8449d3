"""DeCAF's evaluation protocols on features extracted once (Donahue thesis §2.3): linear classifiers over
random per-class splits, and the supervised domain adaptation of Table 2.1 on Office.

Features come from the staged step's chunks (`zoo.training.steps.staged.read_features`: one recipe per
dataset or Office domain extracts them; `learner`/`C` of that recipe do not matter here) or from any
(N, D) array; everything below is NumPy + scikit-learn and deterministic for a seed.

Office (§2.3.2): "the standard experimental setup first presented in Saenko et al. (2010)", whose numbers
the thesis does not restate. [Not in the thesis; Saenko et al. 2010 §5 / Hoffman et al. 2013: 20 labelled source
images per class from amazon, 8 from dslr or webcam; 3 labelled target images per class; the rest of the
target domain is the test set.] Methods: S (source only), T (target only), ST (both), and Daume III's
feature augmentation (`zoo.ops.features.daume_augment`). The thesis's two other adaptive baselines,
Hoffman et al. 2013 and Gong et al. 2012 (GFK), are not implemented (the thesis does not describe them).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError, unknown_name
from zoo.ops.features import daume_augment, drop_features, dropout_test_scale, mean_class_accuracy, per_class_split

SOURCE_PER_CLASS = {"amazon": 20, "dslr": 8, "webcam": 8}  # Saenko et al. 2010's protocol (not in the thesis)
TARGET_PER_CLASS = 3  # labelled target examples per class (Saenko et al. 2010)
METHODS = ("S", "T", "ST", "daume")
LEARNERS = ("logistic", "linear_svm")


def fit_linear(learner, x, y, *, C=1.0, seed=0):
    """A fitted scikit-learn multinomial logistic regression or one-vs-rest linear (hinge) SVM."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if learner == "logistic":
        return LogisticRegression(C=C, max_iter=5000).fit(x, y)
    if learner == "linear_svm":
        return LinearSVC(C=C, loss="hinge", dual=True, max_iter=20000, random_state=seed).fit(x, y)
    raise unknown_name("learner", learner, LEARNERS)


def dropout_fit_predict(learner, x_train, y_train, x_test, *, C=1.0, feature_dropout=0.0, rng=None, seed=0):
    """Predicted labels of `x_test` by `learner` fitted on `x_train` with DeCAF's feature dropout (training
    features zeroed with probability `feature_dropout`, test features x (1 - feature_dropout))."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    model = fit_linear(learner, drop_features(x_train, feature_dropout, rng), y_train, C=C, seed=seed)
    return model.predict(x_test * dropout_test_scale(feature_dropout))


def choose_C(learner, x, y, grid, *, cv_train_per_class, feature_dropout=0.0, seed=0):
    """(best C, {C: validation mean per-class accuracy}): each C fitted on `cv_train_per_class` examples per
    class and scored on the others (thesis: 25 / 5 of Caltech-101's 30; 42 / 8 of SUN-397's 50)."""
    rng = np.random.default_rng(seed)
    fit, val = per_class_split(y, cv_train_per_class, rng)
    scores = {float(C): mean_class_accuracy(
        dropout_fit_predict(learner, x[fit], y[fit], x[val], C=C, feature_dropout=feature_dropout, rng=rng,
                            seed=seed), y[val]) for C in grid}
    return max(scores, key=lambda c: (scores[c], -c)), scores


def per_class_protocol(features, labels, *, learner, train_per_class=30, cv_train_per_class=25, C_grid=(1.0,),
                       feature_dropout=0.0, splits=5, seed=0) -> dict:
    """Caltech-101 / SUN-397 protocol (§2.3.1, §2.3.4): per split, `train_per_class` random examples of each
    class train (C chosen on their cv sub-split), the rest test; mean per-class accuracy, mean and std over
    `splits` splits (seeds seed, seed + 1, ...). cv_train_per_class = 0 fixes C to C_grid[0] (Fig. 2.3 right's
    curve over training-set sizes, one-shot included, is "trained with fixed parameters")."""
    x, y = np.asarray(features, np.float64), np.asarray(labels)
    accuracies, chosen = [], []
    for s in range(splits):
        train, test = per_class_split(y, train_per_class, np.random.default_rng(seed + s))
        C = float(C_grid[0])
        if cv_train_per_class:
            C, _ = choose_C(learner, x[train], y[train], C_grid, cv_train_per_class=cv_train_per_class,
                            feature_dropout=feature_dropout, seed=seed + s)
        predicted = dropout_fit_predict(learner, x[train], y[train], x[test], C=C, feature_dropout=feature_dropout,
                                        seed=seed + s)
        accuracies.append(mean_class_accuracy(predicted, y[test]))
        chosen.append(C)
    return {"mean": float(np.mean(accuracies)), "std": float(np.std(accuracies)), "per_split": accuracies,
            "C": chosen}


def office_split(source_labels, target_labels, seed, *, source_per_class, target_per_class=TARGET_PER_CLASS):
    """One split of the supervised protocol: {"source", "target_train", "target_test"} index arrays (random
    `source_per_class` source and `target_per_class` target examples per class; the rest of the target tests)."""
    rng = np.random.default_rng(seed)
    source, _ = per_class_split(source_labels, source_per_class, rng, rest=False)
    target_train, target_test = per_class_split(target_labels, target_per_class, rng)
    return {"source": source, "target_train": target_train, "target_test": target_test}


def office_splits(source_labels, target_labels, source_domain, *, splits=5, seed=0):
    """The protocol's `splits` splits (Table 2.1 averages 5) for a source domain (amazon, dslr, webcam)."""
    if source_domain not in SOURCE_PER_CLASS:
        raise unknown_name("source domain", source_domain, SOURCE_PER_CLASS)
    return [office_split(source_labels, target_labels, seed + s, source_per_class=SOURCE_PER_CLASS[source_domain])
            for s in range(splits)]


def adaptation_sets(method, source, target, split):
    """((x_train, y_train), x_test) of `method` on one split; source and target are (features, labels)."""
    (xs, ys), (xt, yt) = source, target
    s, t, test = split["source"], split["target_train"], split["target_test"]
    if method == "S":
        return (xs[s], ys[s]), xt[test]
    if method == "T":
        return (xt[t], yt[t]), xt[test]
    if method == "ST":
        return (np.concatenate([xs[s], xt[t]]), np.concatenate([ys[s], yt[t]])), xt[test]
    if method == "daume":
        x = np.concatenate([daume_augment(xs[s], "source"), daume_augment(xt[t], "target")])
        return (x, np.concatenate([ys[s], yt[t]])), daume_augment(xt[test], "target")
    raise unknown_name("adaptation method", method, METHODS)


def office_protocol(source, target, source_domain, *, methods=METHODS, learners=LEARNERS, C=1.0, splits=5,
                    seed=0) -> dict:
    """Table 2.1's rows for one shift: {"<learner> (<method>)": {"mean", "std", "per_split"}} of the multi-class
    accuracy on the target test examples (Daume III is reported with each learner)."""
    xs, ys = (np.asarray(a) for a in source)
    xt, yt = (np.asarray(a) for a in target)
    if xs.shape[1] != xt.shape[1]:
        raise ConfigError(f"source and target features differ in width ({xs.shape[1]} vs {xt.shape[1]})")
    results = {}
    for learner in learners:
        for method in methods:
            accs = []
            for split in office_splits(ys, yt, source_domain, splits=splits, seed=seed):
                (x, y), x_test = adaptation_sets(method, (xs, ys), (xt, yt), split)
                predicted = fit_linear(learner, x, y, C=C, seed=seed).predict(x_test)
                accs.append(float(np.mean(predicted == yt[split["target_test"]])))
            results[f"{learner} ({method})"] = {"mean": float(np.mean(accs)), "std": float(np.std(accs)),
                                                "per_split": accs}
    return results
