"""NumPy operations on extracted feature matrices shared by the transfer protocols (DeCAF, Donahue
thesis ch. 2): per-class splits, feature dropout, Daume III's feature augmentation, mean per-class
accuracy. Pure functions of their arguments (randomness comes in as a NumPy Generator)."""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError


def per_class_split(targets, per_class, rng, *, rest=True):
    """(first, second) example indices: per class, `per_class` examples drawn at random go to `first`
    and the others (all of them, or none with rest=False) to `second`; both sorted.

    The Caltech-101 protocol draws 30 training examples per class and cross-validates on a 25 / 5
    sub-split of them (thesis §2.3.1); SUN-397 on 42 / 8 (§2.3.4). A class with fewer than
    `per_class` examples raises ConfigError (the protocol needs that many of each).
    """
    targets = np.asarray(targets)
    if per_class < 1:
        raise ConfigError(f"per_class must be >= 1, got {per_class}")
    first, second = [], []
    for c in np.unique(targets):
        members = np.flatnonzero(targets == c)
        if len(members) < per_class:
            raise ConfigError(f"class {c} has {len(members)} examples; the split takes {per_class} per class")
        members = rng.permutation(members)
        first.append(members[:per_class])
        if rest:
            second.append(members[per_class:])
    join = lambda parts: np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)  # noqa: E731
    return join(first), join(second)


def drop_features(features, rate, rng):
    """Training-time feature dropout (thesis §2.3.1, after Hinton et al. 2012): each activation is set
    to 0 with probability `rate` ("randomly setting half of the activations ... to 0"), not rescaled;
    at test time every activation is multiplied by 1 - rate (x 0.5), see `dropout_test_scale`."""
    if not 0.0 <= rate < 1.0:
        raise ConfigError(f"feature dropout rate must be in [0, 1), got {rate}")
    features = np.asarray(features)
    if rate == 0.0:
        return features
    return features * (rng.random(features.shape) >= rate)


def dropout_test_scale(rate) -> float:
    """The test-time multiplier of features trained with dropout `rate` (0.5 in the thesis)."""
    return 1.0 - rate


def daume_augment(features, domain):
    """Daume III (2007) "frustratingly easy" feature augmentation: a source example x becomes
    [x, x, 0] and a target example [x, 0, x] (shared, source-only, target-only copies); `domain` is
    "source" or "target" for the whole matrix, or a boolean array (True = target) per row."""
    x = np.asarray(features)
    if isinstance(domain, str):
        if domain not in ("source", "target"):
            raise ConfigError(f"domain must be 'source' or 'target', got {domain!r}")
        is_target = np.full(len(x), domain == "target")
    else:
        is_target = np.asarray(domain, bool)
        if is_target.shape != (len(x),):
            raise ConfigError(f"domain needs one flag per row ({len(x)}), got shape {is_target.shape}")
    zeros = np.zeros_like(x)
    t = is_target[:, None]
    return np.concatenate([x, np.where(t, zeros, x), np.where(t, x, zeros)], axis=1)


def mean_class_accuracy(predicted, targets) -> float:
    """The mean over the classes present in `targets` of each class's accuracy (Caltech-101 and SUN-397's
    "mean accuracy per category", thesis §2.3.1 / §2.3.4)."""
    predicted, targets = np.asarray(predicted), np.asarray(targets)
    classes = np.unique(targets)
    if not len(classes):
        raise ConfigError("mean_class_accuracy needs at least one example")
    return float(np.mean([np.mean(predicted[targets == c] == c) for c in classes]))
