"""BiGAN training (Donahue thesis §5.2.4) through the adversarial step: the task's losses against
NumPy transcriptions of V and the inverse objective, the JLR baseline's latent regressor, the
exp_from_half schedule, weight decay on multiplicative weights only, a short run of the recipe on
the digits stand-in, and the encoder exported with BN folded."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from zoo import registry, tasks
from zoo.models.bigan import bigan
from zoo.training import recipes, schedules

REPO = Path(__file__).resolve().parents[2]


def softplus(v):
    return np.logaddexp(0, v)


def _batch(n=6, shape=(4, 4, 1), seed=0):
    x = np.random.default_rng(seed).uniform(0, 1, (n, *shape)).astype("float32")
    return tf.constant(x), tf.zeros([n], tf.int32)


@pytest.mark.parametrize("joint", [True, False])
def test_bigan_losses_equal_the_thesis_objectives(joint):
    tf.keras.utils.set_random_seed(0)
    model = bigan.bigan_mlp(latent_dim=3, image_shape=(4, 4, 1), hidden=8, joint=joint)
    task = tasks.get("bigan")
    x, y = _batch()
    seed = tf.constant([7, 11], tf.int64)
    losses = task.adversarial_losses(model, (x, y), seed=seed, global_batch_size=12)
    z = tf.random.stateless_uniform([6, 3], seed, minval=-1.0, maxval=1.0)
    assert float(tf.reduce_min(z)) >= -1 and float(tf.reduce_max(z)) <= 1
    out = {k: np.asarray(v, np.float64) for k, v in model({"image": x, "noise": z}, training=True).items()}
    real, fake = out["real"], out["fake"]
    # D ascends V = E log D(x, E(x)) + E log(1 - D(G(z), z)): its loss is -V (per example / global batch 12)
    np.testing.assert_allclose(losses["discriminator"], (softplus(-real) + softplus(fake)).sum() / 12, rtol=1e-5)
    if joint:
        # G and E ascend E log(1 - D(x, E(x))) + E log D(G(z), z): labels swapped
        want = (softplus(real) + softplus(-fake)).sum() / 12
        np.testing.assert_allclose(losses["generator"], want, rtol=1e-5)
        np.testing.assert_allclose(losses["encoder"], want, rtol=1e-5)
    else:
        np.testing.assert_allclose(losses["generator"], softplus(-fake).sum() / 12, rtol=1e-5)
        code = np.asarray(model.get_layer("encoder")(out["generated"].astype("float32"), training=True), np.float64)
        t = (z.numpy() + 1) / 2  # sigmoid cross-entropy towards the U(-1, 1) code mapped to [0, 1]
        ce = softplus(code) - t * code
        np.testing.assert_allclose(losses["encoder"], ce.mean(axis=1).sum() / 12, rtol=1e-5)


def test_exp_from_half_schedule():
    s = schedules.CaffeSchedule("exp_from_half", 2e-4, 1000, gamma=0.01)
    lr = [float(s(i)) for i in (0, 499, 500, 750, 1000, 1200)]
    want = [2e-4, 2e-4, 2e-4, 2e-4 * 0.01**0.5, 2e-6, 2e-6]
    np.testing.assert_allclose(lr, want, rtol=1e-5)


def test_recipe_decays_multiplicative_weights_only():
    from zoo.training.steps.base import variable_multipliers

    recipe = recipes.load(str(REPO / "zoo/recipes/bigan/bigan_mlp_digits.toml"))
    assert (recipe.optimizer.learning_rate, recipe.optimizer.beta_1, recipe.optimizer.beta_2) == (2e-4, 0.5, 0.999)
    assert recipe.optimizer.weight_decay == 2.5e-5 and recipe.data.global_batch_size == 128
    assert recipe.schedule.policy == "exp_from_half" and recipe.schedule.gamma * 2e-4 == pytest.approx(2e-6)
    model = bigan.bigan_mlp(image_shape=(8, 8, 1), hidden=8)
    decays = {v.path: d for v, (_, d) in zip(model.trainable_variables, variable_multipliers(model.trainable_variables,
                                                                                            recipe.lr_mult))}
    assert decays and all(d == (0.0 if p.endswith("bias") else 1.0) for p, d in decays.items()), decays
    assert any(p.endswith("kernel") for p in decays) and any(p.endswith("bias") for p in decays)


def test_bigan_recipe_runs_on_the_digits_standin(tmp_path):
    from zoo.training import runner

    recipe = recipes.load(str(REPO / "zoo/recipes/bigan/bigan_mlp_digits.toml"),
                          ["train.steps=20", "train.checkpoint_every=10", "train.log_every=10",
                           "model.options.hidden=32", "data.global_batch_size=32"])
    res = runner.train(recipe, tmp_path / "run")
    assert set(res.metrics) >= {"discriminator_loss", "generator_loss"}
    assert all(np.isfinite(v) for v in res.metrics.values())
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,loss,learning_rate")
    last = [row for row in log if row.startswith("20,")][0].split(",")
    assert float(last[2]) == pytest.approx(2e-6)  # decayed to 2e-6 at the end
    encoder = res.model.get_layer("encoder")
    assert encoder(np.zeros((1, 8, 8, 1), "float32")).shape == (1, 50)


def test_encoder_exports_with_batchnorm_folded(tmp_path):
    import keras

    from zoo import export
    from zoo.export.fold_bn import fold_batchnorm

    keras.utils.set_random_seed(1)
    encoder = bigan.bigan_mlp(hidden=16, latent_dim=5).get_layer("encoder")
    bn = encoder.get_layer("bn2")
    rng = np.random.default_rng(2)
    bn.moving_mean.assign(rng.normal(size=16).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.2, 3, 16).astype("float32"))
    folded = fold_batchnorm(encoder)
    assert not any(isinstance(lay, keras.layers.BatchNormalization) for lay in folded.layers)
    assert folded.get_layer("fc2").use_bias
    x = rng.uniform(0, 1, (8, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(folded(x), encoder(x, training=False), rtol=1e-5, atol=1e-6)
    # a conv + BN with scale and shift (the AlexNet encoder's form) folds too
    inp = keras.Input((9, 9, 3))
    conv = keras.Model(inp, keras.layers.LeakyReLU(0.2)(keras.layers.BatchNormalization(name="bn1")(
        keras.layers.Conv2D(4, 3, strides=2, name="conv1")(inp))))
    b = conv.get_layer("bn1")
    for var, value in ((b.gamma, rng.normal(size=4)), (b.beta, rng.normal(size=4)), (b.moving_mean, rng.normal(size=4)),
                       (b.moving_variance, rng.uniform(0.5, 2, 4))):
        var.assign(value.astype("float32"))
    xc = rng.normal(size=(2, 9, 9, 3)).astype("float32")
    np.testing.assert_allclose(fold_batchnorm(conv)(xc), conv(xc, training=False), rtol=1e-5, atol=1e-5)
    from zoo import registry

    contract = registry.card("bigan_mlp").input_contract
    check = x[:1]
    sm = export.export_savedmodel(folded, tmp_path / "sm", input_contract=contract, input_shape=(28, 28, 1),
                                  check_inputs=check)
    assert sm.max_abs_diff <= sm.tolerance
    lite = export.export_tflite(folded, tmp_path / "e.tflite", input_shape=(28, 28, 1), check_inputs=check,
                                input_contract=contract)
    assert lite.max_abs_diff <= lite.tolerance


SHORT = ["train.steps=4", "train.checkpoint_every=2", "train.log_every=2", "model.options.hidden=16",
         "data.global_batch_size=32"]


def _sub_weights(model):  # {sub-model: copies of its weights}
    return {name: [np.asarray(w).copy() for w in model.get_layer(name).weights]
            for name in ("encoder", "generator", "discriminator")}


def _changed(before, after):
    return {name for name in before if any(not np.array_equal(a, b) for a, b in zip(before[name], after[name]))}


def test_autoencoder_loss_is_the_summed_reconstruction_error():
    tf.keras.utils.set_random_seed(0)
    model = bigan.bigan_mlp(latent_dim=5, image_shape=(4, 4, 1), hidden=8, trainable=("encoder", "generator"))
    x, y = _batch()
    rebuilt = np.asarray(model.get_layer("generator")(model.get_layer("encoder")(x, training=True), training=True))
    diff = (np.asarray(x) - rebuilt.reshape(x.shape)).reshape(6, -1)
    for norm, per_example in (("l2", (diff ** 2).sum(1)), ("l1", np.abs(diff).sum(1))):
        task = tasks.get(f"autoencoder_{norm}")
        losses = task.adversarial_losses(model, (x, y), seed=tf.constant([0, 0], tf.int64), global_batch_size=12)
        assert set(losses) == {"encoder", "generator"}
        assert float(losses["encoder"]) == pytest.approx(per_example.sum() / 12, rel=1e-5)


def test_reconstruction_evaluator_equals_numpy():
    tf.keras.utils.set_random_seed(1)
    model = bigan.bigan_mlp(latent_dim=5, image_shape=(4, 4, 1), hidden=8)
    x = np.asarray(_batch(n=5)[0])
    code = np.asarray(model.get_layer("encoder")(x, training=False))
    rebuilt = np.asarray(model.get_layer("generator")(code, training=False)).reshape(x.shape)
    for norm, expect in (("l2", ((x - rebuilt) ** 2).sum() / 5), ("l1", np.abs(x - rebuilt).sum() / 5)):
        evaluator = tasks.get(f"autoencoder_{norm}").evaluator(model)
        evaluator.update({"encoded": code[:2]}, x[:2])
        evaluator.update({"encoded": code[2:]}, x[2:])
        assert evaluator.result() == {f"reconstruction_{norm}": pytest.approx(expect, rel=1e-6)}


@pytest.mark.parametrize("norm", [pytest.param("l2", marks=pytest.mark.slow), "l1"])  # one run in the default tier
def test_autoencoder_recipes_train_e_and_g_only_and_report_the_reconstruction_error(tmp_path, norm):
    from zoo.training import runner

    recipe = recipes.load(str(REPO / f"zoo/recipes/bigan/bigan_mlp_digits_ae_{norm}.toml"), SHORT)
    tf.keras.utils.set_random_seed(0)
    before = _sub_weights(runner.build_model(recipe, registry.card("bigan_mlp")))
    res = runner.train(recipe, tmp_path / "run")
    assert _changed(before, _sub_weights(res.model)) == {"encoder", "generator"}
    assert list(res.metrics) == [f"reconstruction_{norm}"]
    assert np.isfinite(res.metrics[f"reconstruction_{norm}"]) and res.metrics[f"reconstruction_{norm}"] > 0


def test_latent_regressor_stage_2_trains_only_the_encoder_from_the_stage_1_gan(tmp_path):
    from zoo.training import runner

    stage_1 = recipes.load(str(REPO / "zoo/recipes/bigan/bigan_mlp_digits_lr_gan.toml"), SHORT)
    tf.keras.utils.set_random_seed(0)  # the runner's initialisation (train.seed = 0)
    initial = _sub_weights(runner.build_model(stage_1, registry.card("bigan_mlp")))
    gan = runner.train(stage_1, tmp_path / "gan")
    assert _changed(initial, _sub_weights(gan.model)) == {"generator", "discriminator"}
    stage_2 = recipes.load(str(REPO / "zoo/recipes/bigan/bigan_mlp_digits_lr.toml"),
                           SHORT + [f"model.weights={tmp_path / 'gan' / 'final.weights.h5'}"])
    before = _sub_weights(gan.model)
    res = runner.train(stage_2, tmp_path / "lr")
    assert _changed(before, _sub_weights(res.model)) == {"encoder"}


def test_trainable_names_sub_models():
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match="trainable must name"):
        bigan.bigan_mlp(hidden=8, trainable=("decoder",))


def test_table_5_1_driver_trains_each_method_and_scores_its_features(tmp_path):
    """A few steps of each method on the digits stand-in: every method yields a 1-NN accuracy, D's from its
    hidden layer; the accuracy equals one_nn_accuracy recomputed on the same features."""
    from zoo.experiments import bigan as table
    from zoo.metrics.nearest_neighbour import one_nn_accuracy

    overrides = SHORT[:3] + ["model.options.hidden=16", "data.global_batch_size=64"]
    results = table.table_5_1("bigan_mlp_digits", seeds=(0,), workdir=tmp_path, overrides=overrides,
                              methods=("D", "LR"), log=lambda _: None)  # LR reuses D's GAN run as its stage 1
    assert set(results) == {"D", "LR"} and all(0 < v[0] <= 100 for v in results.values())
    model, recipe = table.run_method("D", "bigan_mlp_digits", 0, tmp_path, overrides)  # reused, not retrained
    x, y = table.split_arrays(recipe, "train")
    tx, ty = table.split_arrays(recipe, "test")
    feats = table.features(model, "discriminator", "act2", x)
    assert feats.shape == (len(x), 16)
    assert results["D"][0] == one_nn_accuracy(feats, y, table.features(model, "discriminator", "act2", tx), ty)
