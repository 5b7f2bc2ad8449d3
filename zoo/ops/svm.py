"""A linear SVM with hard-negative mining (R-CNN, Donahue thesis §3.1.4; Long thesis §2.4's keypoint
detectors), shared by the staged training step and the keypoint predictors."""

from __future__ import annotations

import numpy as np


def mined_linear_svm(x, positive, rng, *, C=1.0, rounds=0, margin=1.0, initial_negatives=1000, class_weight=None,
                     tol=1e-4, max_iter=10000, intercept_scaling=1.0, seed=0):
    """(weights, bias, active example indices) of one binary hinge-loss SVM.

    With `rounds` > 0 the first fit takes the positives and `initial_negatives` negatives drawn with
    `rng`; after each fit, negatives scoring above -`margin` join the active set and the SVM is
    refitted, at most `rounds` times (stopping early when no new hard negative appears).
    """
    from sklearn.svm import LinearSVC

    positive = np.asarray(positive, bool)
    active = np.arange(len(x))
    if rounds:
        negatives = np.flatnonzero(~positive)
        start = rng.choice(negatives, min(initial_negatives, len(negatives)), replace=False)
        active = np.union1d(np.flatnonzero(positive), start)
    for round_ in range(rounds + 1):
        svm = LinearSVC(C=C, loss="hinge", dual=True, class_weight=class_weight, tol=tol, max_iter=max_iter,
                        intercept_scaling=intercept_scaling, random_state=seed).fit(x[active], positive[active])
        if round_ == rounds:
            break
        hard = np.flatnonzero(~positive & (svm.decision_function(x) > -margin))
        new = np.setdiff1d(hard, active)
        if not new.size:
            break
        active = np.union1d(active, new)
    return svm.coef_[0], svm.intercept_[0], active
