"""CGAN-C2ST and Ensemble-CGAN-C2ST: cause-effect discovery with conditional GANs judged by
classifier two-sample tests (Oquab thesis §5.4.2, Table 5.1; Lopez-Paz & Oquab 2017, §5).

For a pair (a, b), train a conditional GAN g_b(a, z) from a to b and one g_a(b, z) from b to a
(Eq. 5.7-5.8, the `cgan_cause_effect` card), then test the real sample {(a_i, b_i)} against each
synthetic one, {(a_i, g_b(a_i, z_i))} and {(g_a(b_i, z_i), b_i)}, with a C2ST (zoo.metrics.two_sample).
The direction whose synthetic sample is harder to tell from the real one wins ("Occam's razor").
The statistic is |accuracy - 1/2| for the KNN and NN tests and the linear-time MMD estimate for
MMD, as in the authors' code. The ensemble trains `reps` CGANs per direction and compares the
best (smallest) statistic of each direction (the thesis used 100).

Defaults are those of the authors' public code (classifier_tests, gan_tuebingen/tuebingen.lua),
which the thesis does not state: per pair, drop the 5% of points farthest from 20 random anchor
points (distance to the nearest anchor), subsample to at most 5,000 points, standardise each
variable; Adam 1e-3 (beta1 0.5), batches of 16, 100 epochs, discriminator and generator updated
on alternate minibatches; BCE against smoothed targets 0.8 (real) and 0.2 (fake); the C2ST on a
random half-split. The generator's sample is drawn with dropout off.

Accuracy over pairs: each pair is presented in a random orientation (the cdt copy of the Tübingen
pairs is all a -> b, so an unflipped run would reward always answering a -> b), and the
accuracy is unweighted; with the official release's weights, the weighted accuracy too.

Command line (the full Tübingen run is hours on a CPU: 2 x reps CGANs per pair):
    python -m zoo.experiments.cause_effect --source cdt --test knn --reps 1 --out cgan_c2st.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math

import numpy as np

from zoo.errors import ConfigError, ZooError, unknown_name

TESTS = ("knn", "nn", "mmd")


@dataclasses.dataclass(frozen=True)
class CganOptions:
    """One CGAN's training (defaults: the authors' tuebingen.lua)."""

    noise_dim: int = 10
    hidden: int = 128
    dropout: float = 0.25
    epochs: int = 100
    batch_size: int = 16
    learning_rate: float = 1e-3
    beta_1: float = 0.5
    beta_2: float = 0.999
    real_target: float = 0.8
    fake_target: float = 0.2

    def __post_init__(self):
        for key in ("noise_dim", "hidden", "epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not (self.learning_rate > 0 and 0 <= self.beta_1 < 1 and 0 <= self.beta_2 < 1):
            raise ConfigError("learning_rate must be > 0 and beta_1, beta_2 in [0, 1)")
        if not (0 <= self.fake_target < self.real_target <= 1):
            raise ConfigError(f"need 0 <= fake_target < real_target <= 1, got {self.fake_target}, {self.real_target}")


def preprocess(a, b, *, outlier_fraction=0.05, anchors=20, max_points=5000, seed=0):
    """(a, b) standardised after dropping the `outlier_fraction` of points farthest from `anchors`
    random points and subsampling to `max_points` (the authors' read_pair)."""
    data = np.stack([np.asarray(a, np.float64), np.asarray(b, np.float64)], axis=1)
    if data.ndim != 2 or len(data) < 10 or not np.all(np.isfinite(data)):
        raise ConfigError(f"a cause-effect pair needs at least 10 finite (a, b) points, got {len(data)}")
    rng = np.random.default_rng(seed)
    if outlier_fraction > 0:
        anchor = data[rng.permutation(len(data))[:min(anchors, len(data))]]
        nearest = np.min(np.linalg.norm(data[:, None] - anchor[None], axis=2), axis=1)
        data = data[np.argsort(nearest, kind="stable")[:len(data) - math.floor(len(data) * outlier_fraction)]]
    if max_points and len(data) > max_points:
        data = data[rng.permutation(len(data))[:max_points]]
    data = (data - data.mean(0)) / np.where(data.std(0) > 0, data.std(0), 1.0)
    return data[:, 0], data[:, 1]


def cgan_losses(real_logits, fake_logits, real_target, fake_target):
    """(discriminator, generator) BCE losses of Eq. 5.8 with smoothed targets: D wants real -> real_target
    and fake -> fake_target; G wants its fakes called real_target (the non-saturating form the code uses)."""
    import tensorflow as tf

    def bce(target, logits):
        labels = tf.fill(tf.shape(logits), tf.cast(target, logits.dtype))
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))

    d = 0.5 * (bce(real_target, real_logits) + bce(fake_target, fake_logits))
    return d, bce(real_target, fake_logits)


def train_cgan(cause, effect, options: CganOptions = CganOptions(), seed: int = 0):
    """Train one CGAN from `cause` to `effect` (1-D arrays) and return g(cause_i, z_i), dropout off."""
    import keras
    import tensorflow as tf

    from zoo.models.cgan.mlp import cgan_mlp

    keras.utils.set_random_seed(seed)
    model = cgan_mlp(1, 1, options.noise_dim, options.hidden, options.dropout)
    generator, discriminator = model.get_layer("generator"), model.get_layer("discriminator")
    x = tf.constant(np.asarray(cause, np.float32)[:, None])
    y = tf.constant(np.asarray(effect, np.float32)[:, None])
    n = len(cause)
    # each epoch visits the points in a fresh random order, in minibatches (the last one short)
    order = np.concatenate([np.random.default_rng([seed, e]).permutation(n) for e in range(options.epochs)])
    order = tf.constant(_epoch_batches(order, n, options), tf.int32)
    adam = dict(learning_rate=options.learning_rate, beta_1=options.beta_1, beta_2=options.beta_2)
    d_opt, g_opt = keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam)
    d_opt.build(discriminator.trainable_variables)
    g_opt.build(generator.trainable_variables)
    real_t, fake_t = options.real_target, options.fake_target

    def update(net, opt, bx, by, z, which):
        with tf.GradientTape() as tape:
            fake = generator(tf.concat([bx, z], 1), training=True)
            real_logits = discriminator(tf.concat([bx, by], 1), training=True)
            fake_logits = discriminator(tf.concat([bx, fake], 1), training=True)
            loss = cgan_losses(real_logits, fake_logits, real_t, fake_t)[which]
        opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))

    @tf.function
    def run():
        for step in tf.range(tf.shape(order)[0]):
            idx = tf.boolean_mask(order[step], order[step] >= 0)
            bx, by = tf.gather(x, idx), tf.gather(y, idx)
            z = tf.random.stateless_normal([tf.shape(idx)[0], options.noise_dim], [seed, step])
            if step % 2 == 0:  # alternate minibatches: discriminator, then generator (tuebingen.lua)
                update(discriminator, d_opt, bx, by, z, 0)
            else:
                update(generator, g_opt, bx, by, z, 1)

    run()
    z = tf.random.stateless_normal([n, options.noise_dim], [seed, -1])
    return generator(tf.concat([x, z], 1), training=False).numpy()[:, 0].astype(np.float64)


def _epoch_batches(order, n, options):
    """(epochs * batches, batch_size) indices, each epoch's last batch padded with -1."""
    batches = math.ceil(n / options.batch_size)
    out = -np.ones((options.epochs * batches, options.batch_size), int)
    for e in range(options.epochs):
        for k in range(batches):
            chunk = order[e * n + k * options.batch_size:min(e * n + (k + 1) * options.batch_size, (e + 1) * n)]
            out[e * batches + k, :len(chunk)] = chunk
    return out


def two_sample_statistic(real, fake, test: str, seed: int) -> float:
    """|C2ST accuracy - 1/2| (knn, nn) or the linear-time MMD estimate (mmd) between two (n, 2) samples."""
    from zoo.metrics import two_sample

    if test == "mmd":
        return float(two_sample.linear_mmd(real, fake).statistic)
    return abs(two_sample.c2st(real, fake, test, seed=seed).statistic - 0.5)


def direction_statistics(a, b, *, test="knn", reps=1, options=CganOptions(), seed=0):
    """([statistic of a -> b per CGAN], [statistic of b -> a per CGAN]) over `reps` CGANs per direction;
    the ensemble compares the smallest of each list, a single CGAN-C2ST the first of each."""
    if test not in TESTS:
        raise unknown_name("test", test, TESTS)
    if reps < 1:
        raise ConfigError(f"reps must be at least 1, got {reps}")
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    real = np.stack([a, b], 1)
    forward, backward = [], []
    for r in range(reps):
        fake_b = train_cgan(a, b, options, seed=2 * (seed * reps + r))
        fake_a = train_cgan(b, a, options, seed=2 * (seed * reps + r) + 1)
        forward.append(two_sample_statistic(real, np.stack([a, fake_b], 1), test, seed + r))
        backward.append(two_sample_statistic(real, np.stack([fake_a, b], 1), test, seed + r))
    return forward, backward


def _accuracy(hits, weights):
    hits, weights = np.array(hits, float), np.array(weights, float)
    return float(hits.mean()), float((hits * weights).sum() / weights.sum())


def evaluate_pairs(pairs, *, test="knn", reps=1, options=CganOptions(), max_points=5000, seed=0, log=None):
    """Predict each pair's direction, presented in a random orientation; accuracy over pairs.

    Returns {"pairs": [per-pair record], "accuracy" / "weighted_accuracy": of the ensemble (the smallest
    statistic of `reps` CGANs per direction), "single_accuracy" / "single_weighted_accuracy": of the first
    CGAN of each direction alone (CGAN-C2ST), "test", "reps"}."""
    rng = np.random.default_rng(seed)
    records, hits, single_hits, weights = [], [], [], []
    for i, pair in enumerate(pairs):
        flip = bool(rng.integers(2))
        a, b = (pair.b, pair.a) if flip else (pair.a, pair.b)
        truth = -pair.direction if flip else pair.direction
        a, b = preprocess(a, b, max_points=max_points, seed=seed + i)
        forward, backward = direction_statistics(a, b, test=test, reps=reps, options=options, seed=seed + i)
        predicted = 1 if min(forward) < min(backward) else -1
        records.append({"pair_id": pair.pair_id, "flipped": flip, "truth": truth, "predicted": predicted,
                        "single_predicted": 1 if forward[0] < backward[0] else -1,
                        "statistics_a_to_b": forward, "statistics_b_to_a": backward, "weight": pair.weight})
        hits.append(predicted == truth)
        single_hits.append(records[-1]["single_predicted"] == truth)
        weights.append(pair.weight)
        if log:
            log(f"{pair.pair_id}: truth {truth:+d} predicted {predicted:+d} ({min(forward):.4f} vs "
                f"{min(backward):.4f}); accuracy so far {np.mean(hits):.3f}")
    if not records:
        raise ConfigError("no pairs to evaluate")
    accuracy, weighted = _accuracy(hits, weights)
    single, single_weighted = _accuracy(single_hits, weights)
    return {"test": test, "reps": reps, "pairs": records, "accuracy": accuracy, "weighted_accuracy": weighted,
            "single_accuracy": single, "single_weighted_accuracy": single_weighted}


def _pairs(source: str, limit: int | None, num_points: int):
    if source.startswith("synthetic:"):
        from zoo.data.standins.cause_effect_pairs import synthetic_pair

        kind = source.split(":", 1)[1]
        return [synthetic_pair(kind, i, num_points) for i in range(limit or 20)]
    from zoo.data.generative.tuebingen import load_pairs

    return load_pairs(source)[:limit]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="cdt", help="cdt (the wheel's CSV), a folder of the official release, "
                                                        "or synthetic:additive|multiplicative|heteroscedastic")
    parser.add_argument("--test", default="knn", choices=TESTS)
    parser.add_argument("--reps", type=int, default=1, help="CGANs per direction (the thesis's ensemble: 100)")
    parser.add_argument("--epochs", type=int, default=CganOptions.epochs)
    parser.add_argument("--max-points", type=int, default=5000)
    parser.add_argument("--pairs", type=int, default=None, help="only the first N pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the per-pair results and accuracies as JSON here")
    args = parser.parse_args(argv)
    try:
        pairs = _pairs(args.source, args.pairs, min(args.max_points, 500))
        result = evaluate_pairs(pairs, test=args.test, reps=args.reps, options=CganOptions(epochs=args.epochs),
                                max_points=args.max_points, seed=args.seed, log=print)
    except ZooError as e:
        parser.error(str(e))
    print(f"accuracy {result['accuracy']:.3f} (weighted {result['weighted_accuracy']:.3f}) over {len(pairs)} pairs")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"command": "python -m zoo.experiments.cause_effect " + " ".join(argv or []), **result}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
