"""The discrete-latent GAN of Donahue thesis ch. 6: the prior, G's alpha scaling, E's code loss
against NumPy, purity by hand and NMI against scikit-learn, and a short recipe run that reports them."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from zoo import tasks
from zoo.errors import ConfigError, InputError
from zoo.metrics.clustering import nmi, purity
from zoo.models.bigan.bigan import gan_discrete_latent_mlp

REPO = Path(__file__).resolve().parents[2]


def _bound(categories=4, continuous=3):
    tf.keras.utils.set_random_seed(0)
    model = gan_discrete_latent_mlp(categories, continuous, alpha=2.5, image_shape=(4, 4, 1), hidden=8)
    task = tasks.get("gan_discrete_latent")
    recipe = type("R", (), {"train": type("T", (), {"seed": 0})()})()
    return model, task.bind(recipe, None, None, model)


def test_prior_is_a_one_hot_and_a_uniform_and_g_scales_the_one_hot():
    model, task = _bound()
    z = task.draw_noise([500, 7], tf.constant([3, 4], tf.int64)).numpy()
    onehot, rest = z[:, :4], z[:, 4:]
    assert set(np.unique(onehot)) == {0.0, 1.0} and (onehot.sum(1) == 1).all()
    assert np.bincount(onehot.argmax(1), minlength=4).min() > 80  # every category drawn
    assert rest.min() >= -1 and rest.max() <= 1 and abs(rest.mean()) < 0.1
    np.testing.assert_array_equal(task.draw_noise([5, 7], tf.constant([3, 4], tf.int64)).numpy(), z[:5])
    scaled = model.get_layer("generator").get_layer("code_scale")(z[:3]).numpy()
    np.testing.assert_allclose(scaled, np.concatenate([2.5 * onehot[:3], rest[:3]], 1))


def test_encoder_loss_is_softmax_on_the_category_plus_the_latent_regressor():
    from zoo.tasks.generative import discrete_code_loss

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 7))
    z = np.concatenate([np.eye(4)[rng.integers(0, 4, 6)], rng.uniform(-1, 1, (6, 3))], 1)
    soft = -np.sum(z[:, :4] * (logits[:, :4] - np.log(np.exp(logits[:, :4]).sum(1, keepdims=True))), 1)
    t, v = (z[:, 4:] + 1) / 2, logits[:, 4:]
    sig = -np.mean(t * np.log(1 / (1 + np.exp(-v))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-v))), 1)
    got = float(discrete_code_loss(tf.constant(logits), tf.constant(z), 4, global_batch_size=12))
    assert got == pytest.approx((soft.sum() + sig.sum()) / 12, rel=1e-5)


def test_purity_by_hand_and_nmi_as_scikit_learn():
    from sklearn.metrics import normalized_mutual_info_score

    clusters = [0, 0, 0, 1, 1, 2, 2, 2]
    labels = [5, 5, 6, 6, 6, 7, 7, 5]
    assert purity(clusters, labels) == pytest.approx((2 + 2 + 2) / 8)
    assert purity([0] * 4, [1, 2, 3, 4]) == 0.25 and purity(labels, labels) == 1.0
    assert nmi(clusters, labels) == pytest.approx(normalized_mutual_info_score(labels, clusters))
    with pytest.raises(InputError, match="as many"):
        purity([0, 1], [0])


def test_bad_sizes_are_refused():
    with pytest.raises(ConfigError, match="categories >= 2"):
        gan_discrete_latent_mlp(categories=1)


def test_digits_recipe_reports_how_the_code_clusters_the_digits(tmp_path):
    from zoo.training import recipes, runner

    recipe = recipes.load(str(REPO / "zoo/recipes/bigan/gan_discrete_latent_digits.toml"),
                          ["train.steps=4", "train.checkpoint_every=2", "train.log_every=2", "model.options.hidden=16",
                           "data.global_batch_size=32"])
    res = runner.train(recipe, tmp_path / "run")
    assert 0.1 <= res.metrics["cluster_purity"] <= 1.0 and 0.0 <= res.metrics["cluster_nmi"] <= 1.0
    assert {"discriminator_loss", "generator_loss"} <= set(res.metrics)
