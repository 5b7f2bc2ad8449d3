"""The staged step: a non-gradient learner fitted on frozen features.

R-CNN (Girshick et al. 2014; Donahue thesis §3.1.4) trains per-class linear SVMs with hard-negative
mining on CNN features, and ridge regressors for its boxes; DeCAF fits logistic regression or an
SVM on them. Here the model's head is an ordinary Keras layer (a Dense, `head`) whose input is
the feature, and the step

1. extracts the features of the training split once through the model up to the head's input,
   into `features/part-NNNNN.npz` chunks written atomically: a killed run resumes the extraction,
   and another run (other learner options, `features_dir` naming this one's) reuses them;
2. fits the learner with scikit-learn;
3. writes the learned weights into the head's kernel and bias, so the model evaluates and exports
   like any Keras model.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError, unknown_name
from zoo.ops.features import drop_features, dropout_test_scale, mean_class_accuracy, per_class_split
from zoo.training.steps.base import FitStep

LEARNERS = ("linear_svm", "logistic", "ridge", "box_ridge")


@dataclasses.dataclass
class StagedOptions:
    """The recipe's [step] table for a learner on frozen features."""

    head: str = "classifier"  # the layer the learner replaces; its input is the feature
    # linear_svm (one-vs-rest, hinge loss) | logistic | ridge | box_ridge (R-CNN's class-specific box regressors,
    # zoo.tasks.detection_boxes.fit_box_regressors: whitened targets, closed-form ridge with lambda = alpha)
    learner: str = "linear_svm"
    C: float = 1.0  # linear_svm, logistic: inverse regularisation strength
    alpha: float = 1.0  # ridge, box_ridge: regularisation strength (R-CNN's boxes: 1000)
    class_weight: str = ""  # "" | "balanced" (scikit-learn's)
    # Scale the features to this mean L2 norm over the training split (R-CNN: 20); 0 = as extracted.
    # The scale is folded into the head's kernel.
    feature_norm: float = 0.0
    intercept_scaling: float = 1.0  # linear_svm: the constant feature of the bias (R-CNN's bias_mult: 10)
    # linear_svm: after a fit, negatives scoring above -hard_negative_margin join the active set and the
    # SVM is refitted, per class, at most hard_negative_rounds times (R-CNN); the first fit takes the
    # positives and initial_negatives negatives drawn with the train seed. 0 rounds: every example.
    hard_negative_rounds: int = 0
    hard_negative_margin: float = 1.0
    initial_negatives: int = 1000
    tol: float = 1e-4
    max_iter: int = 10000
    # Feature dropout (DeCAF, Donahue thesis §2.3.1): at fitting, each feature is zeroed with this
    # probability; the head's kernel is multiplied by 1 - rate (the test-time x0.5). 0 = none.
    feature_dropout: float = 0.0
    # Cross-validation of C (thesis §2.3.1: 25 train / 5 validation per Caltech-101 split; §2.3.4: 42 / 8 on
    # SUN-397): with a C_grid, cv_train_per_class examples per class (drawn with the train seed) fit each C,
    # the others score it by mean per-class accuracy, and the best C is refitted on all (cross_validation.json).
    C_grid: list = dataclasses.field(default_factory=list)
    cv_train_per_class: int = 0
    chunk_batches: int = 16  # batches per feature chunk
    features_dir: str = ""  # "" = <workdir>/features

    def __post_init__(self):
        if self.learner not in LEARNERS:
            raise unknown_name("step.learner", self.learner, LEARNERS)
        if self.class_weight not in ("", "balanced"):
            raise ConfigError(f"step.class_weight must be '' or 'balanced', got {self.class_weight!r}")
        if self.hard_negative_rounds and self.learner != "linear_svm":
            raise ConfigError("step.hard_negative_rounds mines negatives for the one-vs-rest linear_svm learner only")
        if not 0.0 <= self.feature_dropout < 1.0:
            raise ConfigError(f"step.feature_dropout must be in [0, 1), got {self.feature_dropout}")
        if bool(self.C_grid) != bool(self.cv_train_per_class) or self.cv_train_per_class < 0:
            raise ConfigError("step.C_grid and step.cv_train_per_class (> 0) go together: the grid of C and the "
                              "examples per class that fit each C (the others validate it)")
        if self.C_grid and self.learner in ("ridge", "box_ridge"):
            raise ConfigError(f"step.C_grid cross-validates C of linear_svm or logistic, not {self.learner}")
        if self.chunk_batches < 1 or self.hard_negative_rounds < 0 or self.initial_negatives < 1:
            raise ConfigError("step.chunk_batches and step.initial_negatives must be >= 1, hard_negative_rounds >= 0")


def write_part(path: Path, features, targets):
    """One feature chunk, written atomically (a killed run leaves no half-written part)."""
    tmp = path.with_name(f"tmp{os.getpid()}-{path.name}")
    np.savez(tmp, features=features, targets=targets)
    os.replace(tmp, path)


def read_features(directory):
    """(features float64 (N, D), targets) stored by a staged step in `directory` (its part-*.npz chunks):
    extract once, then fit any number of classifiers on them (the DeCAF protocols of zoo.experiments.decaf)."""
    directory = Path(directory)
    paths = sorted(directory.glob("part-*.npz"))
    if not paths or not (directory / "done.json").exists():
        raise ConfigError(f"{directory} holds no finished feature extraction (part-*.npz and done.json); "
                          "run the staged recipe (zoo train) that writes them first")
    parts = [np.load(p) for p in paths]
    return (np.concatenate([p["features"] for p in parts]).astype(np.float64),
            np.concatenate([p["targets"] for p in parts]))


class StagedStep(FitStep):
    """`fit(model, dataset, workdir, chief)`: features, learner, head weights (see the module)."""

    name = "staged"
    Options = StagedOptions

    def __init__(self, model, recipe, task, *, num_replicas, drops=None, counter=None, options=None):
        self.recipe = recipe
        self.options = options or StagedOptions()
        try:
            self.head = model.get_layer(self.options.head)
        except ValueError as e:
            raise ConfigError(f"step.head: {model.name!r} has no layer {self.options.head!r}") from e
        if getattr(self.head, "kernel", None) is None or getattr(self.head, "bias", None) is None:
            raise ConfigError(f"step.head {self.options.head!r} has no kernel and bias for the learned weights")

    def fit(self, model, dataset, workdir, chief) -> float:
        features, targets = self.features(model, dataset, Path(workdir), chief)
        norms = np.linalg.norm(features, axis=1).mean()
        scale = self.options.feature_norm / norms if self.options.feature_norm else 1.0
        if self.options.learner == "box_ridge":
            return self.fit_boxes(features, targets, scale)
        x = features * scale
        o = self.options
        rng = np.random.default_rng(self.recipe.train.seed)
        C = self.cross_validate(x, targets, Path(workdir), rng) if o.C_grid else o.C
        coef, intercept = self.learn(drop_features(x, o.feature_dropout, rng), targets, Path(workdir), C)
        keep = dropout_test_scale(o.feature_dropout)
        x = x * keep  # the test-time features (x 0.5 after dropout), folded into the kernel
        self.head.kernel.assign((coef * scale * keep).T.astype(np.float32))
        self.head.bias.assign(intercept.astype(np.float32))
        scores = x @ coef.T + intercept
        if self.options.learner == "ridge":
            return float(np.mean((scores - self.targets_for_ridge(targets, coef.shape[0])) ** 2))
        predicted = scores[:, 0] > 0 if coef.shape[0] == 1 else scores.argmax(axis=1)
        return float(np.mean(predicted != targets))  # the training error

    def fit_boxes(self, features, targets, scale) -> float:
        """R-CNN's box regressors into the head (4 outputs per class); returns the mean squared error of the
        regressed boxes' deltas to their objects over the training pairs."""
        from zoo.ops.boxes import encode_deltas
        from zoo.tasks.detection_boxes import (MIN_OVERLAP, fit_box_regressors, has_area, regressed_boxes,
                                              split_regression_targets)

        outputs = int(self.head.kernel.shape[-1])
        if outputs % 4:
            raise ConfigError(f"step.learner = 'box_ridge' needs a head of 4 deltas per class; {self.options.head!r} "
                              f"has {outputs} outputs")
        boxes, objects, overlaps, classes = split_regression_targets(targets)
        kernel, bias = fit_box_regressors(features, boxes, objects, overlaps, classes, outputs // 4,
                                          lam=self.options.alpha, feature_scale=scale)
        self.head.kernel.assign(kernel)
        self.head.bias.assign(bias)
        used = has_area(boxes) & has_area(objects) & (overlaps > MIN_OVERLAP)
        moved = regressed_boxes(features[used] @ kernel + bias, boxes[used], classes[used])
        residual = np.asarray(encode_deltas(moved, objects[used], pixel_offset=0.0))
        return float(np.mean(residual ** 2))

    def features(self, model, dataset, workdir, chief):
        """(features, targets) of the training split: from the chunks, extracting those still missing."""
        o = self.options
        directory = Path(o.features_dir) if o.features_dir else workdir / "features"
        directory.mkdir(parents=True, exist_ok=True)
        self._check_key(directory)
        if not (directory / "done.json").exists():
            first = len(list(directory.glob("part-*.npz")))
            if chief:
                print(f"extracting the {o.head!r} features of {self.recipe.data.train_split} into {directory}"
                      + (f" (from chunk {first})" if first else ""), flush=True)
            extractor = keras.Model(model.inputs, self.head.input)
            forward = tf.function(lambda x: extractor(x, training=False))
            chunk, part = [], first
            for x, y in dataset.skip(first * o.chunk_batches):
                chunk.append((np.asarray(forward(x)), np.asarray(y)))
                if len(chunk) == o.chunk_batches:
                    part = self._write(directory, part, chunk)
                    chunk = []
            if chunk:
                part = self._write(directory, part, chunk)
            (directory / "done.json").write_text(json.dumps({"parts": part}))
        return read_features(directory)

    @staticmethod
    def _write(directory, part, chunk) -> int:
        write_part(directory / f"part-{part:05d}.npz", np.concatenate([f for f, _ in chunk]),
                   np.concatenate([t for _, t in chunk]))
        return part + 1

    def _check_key(self, directory):
        """What the features depend on (model, initial weights, data, head, chunking), stored with them:
        features of anything else are refused, not mixed in."""
        r = self.recipe
        key = {"model": dataclasses.asdict(r.model), "seed": r.train.seed, "head": self.options.head,
               "chunk_batches": self.options.chunk_batches,
               "data": {k: getattr(r.data, k) for k in ("name", "train_split", "options", "data_dir", "manual_dir",
                                                        "global_batch_size", "pad_to", "on_corrupt")}}
        path = directory / "key.json"
        if path.exists() and json.loads(path.read_text()) != json.loads(json.dumps(key)):
            raise ConfigError(f"{directory} holds the features of another model or data (see its key.json); "
                              "set step.features_dir to another directory")
        path.write_text(json.dumps(key, indent=2))

    def cross_validate(self, x, targets, workdir, rng) -> float:
        """The C of `C_grid` with the best mean per-class validation accuracy (see StagedOptions)."""
        o = self.options
        fit_idx, val_idx = per_class_split(targets, o.cv_train_per_class, rng)
        if not len(val_idx):
            raise ConfigError(f"step.cv_train_per_class ({o.cv_train_per_class}) leaves no validation examples")
        scores = {}
        for C in o.C_grid:
            coef, intercept = self.learn(drop_features(x[fit_idx], o.feature_dropout, rng), targets[fit_idx],
                                         workdir, float(C))
            s = (x[val_idx] * dropout_test_scale(o.feature_dropout)) @ coef.T + intercept
            predicted = (s[:, 0] > 0).astype(int) if coef.shape[0] == 1 else s.argmax(axis=1)
            scores[float(C)] = mean_class_accuracy(predicted, targets[val_idx])
        best = max(scores, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
        (workdir / "cross_validation.json").write_text(json.dumps(
            {"validation_mean_class_accuracy": {str(c): v for c, v in scores.items()}, "C": best}, indent=2))
        return best

    def learn(self, x, targets, workdir, C=None):
        """(coef (outputs, features), intercept (outputs,)) of the learner on `x` (C: step.C by default)."""
        from sklearn.linear_model import LogisticRegression, Ridge

        o = self.options
        C = o.C if C is None else C
        outputs = int(self.head.kernel.shape[-1])
        weight = o.class_weight or None
        if o.learner == "ridge":
            model = Ridge(alpha=o.alpha).fit(x, self.targets_for_ridge(targets, outputs))
            return model.coef_.reshape(outputs, -1), np.reshape(model.intercept_, outputs)
        if o.learner == "linear_svm":
            return self.one_vs_rest_svms(x, targets, outputs, workdir, C)
        model = LogisticRegression(C=C, class_weight=weight, tol=o.tol, max_iter=o.max_iter).fit(x, targets)
        expected = [0, 1] if outputs == 1 else list(range(outputs))
        if list(model.classes_) != expected:
            raise ConfigError(f"logistic regression for {outputs} output(s) needs the labels {expected} in the "
                              f"training split; it has {list(model.classes_)}")
        if outputs == 2:  # one weight vector for two classes: the softmax of (0, w.x + b) is the same model
            return np.concatenate([np.zeros_like(model.coef_), model.coef_]), np.array([0.0, model.intercept_[0]])
        return model.coef_, model.intercept_

    @staticmethod
    def targets_for_ridge(targets, outputs):
        """Labels as +-1 one-hot rows (scikit-learn's RidgeClassifier), or the targets themselves
        (box regression)."""
        if np.issubdtype(targets.dtype, np.integer) and targets.ndim == 1:
            return np.where(np.arange(outputs)[None] == targets[:, None], 1.0, -1.0)
        return targets.reshape(len(targets), outputs)

    def one_vs_rest_svms(self, x, targets, outputs, workdir, C):
        """One binary SVM per output (one only for a single-output head: label > 0 positive), each with its
        own hard-negative mining; the active sets are saved to hard_negatives.npz when mined."""
        rng = np.random.default_rng(self.recipe.train.seed)
        classes = [targets > 0] if outputs == 1 else [targets == c for c in range(outputs)]
        fitted = [self.mined_svm(x, positive, rng, C) for positive in classes]
        if self.options.hard_negative_rounds:
            np.savez(workdir / "hard_negatives.npz", **{f"class_{c}": active for c, (_, _, active) in enumerate(fitted)})
        return np.stack([w for w, _, _ in fitted]), np.array([b for _, b, _ in fitted])

    def mined_svm(self, x, positive, rng, C):
        """(weights, bias, active example indices) of one class's SVM (R-CNN's hard-negative mining)."""
        from zoo.ops.svm import mined_linear_svm

        o = self.options
        return mined_linear_svm(x, positive, rng, C=C, rounds=o.hard_negative_rounds, margin=o.hard_negative_margin,
                                initial_negatives=o.initial_negatives, class_weight=o.class_weight or None, tol=o.tol,
                                max_iter=o.max_iter, intercept_scaling=o.intercept_scaling,
                                seed=self.recipe.train.seed)


STEPS = (StagedStep,)
