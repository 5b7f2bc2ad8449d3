"""1-nearest-neighbour classification accuracy in a feature space (Donahue thesis Table 5.1: BiGAN
and the D / LR / JLR / autoencoder baselines compared by the 1-NN accuracy of the MNIST test set
in each model's learned features, the training set as the labelled reference)."""

from __future__ import annotations

import numpy as np

from zoo.errors import InputError


def one_nn_accuracy(train_features, train_labels, test_features, test_labels, *, metric: str = "euclidean",
                    chunk: int = 1024) -> float:
    """Percentage of test points whose nearest training point (`metric`, scipy's cdist names) has
    their label; ties go to the first training point."""
    from scipy.spatial.distance import cdist

    train = np.asarray(train_features, np.float64).reshape(len(train_features), -1)
    test = np.asarray(test_features, np.float64).reshape(len(test_features), -1)
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    if train.shape[1] != test.shape[1]:
        raise InputError(f"train and test features differ in dimension: {train.shape[1]} vs {test.shape[1]}")
    if len(train) != len(train_labels) or len(test) != len(test_labels) or not len(train) or not len(test):
        raise InputError("features and labels must be non-empty and of equal length")
    nearest = np.concatenate([cdist(test[i:i + chunk], train, metric=metric).argmin(axis=1)
                              for i in range(0, len(test), chunk)])
    return float(100.0 * np.mean(train_labels[nearest] == test_labels))
