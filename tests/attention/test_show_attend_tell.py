"""Show, Attend and Tell (Xu et al. 2015): VGG19 conv5_4 annotations (196 x 512), soft attention
(α sums to 1, the gate β, the doubly stochastic penalty of eq. 14 through add_loss), the
one-step decoder equal to the unrolled model, the REINFORCE estimator on a toy with a known
expectation, the hard-attention task's baseline, and the encoder + step export (TFLite builtins)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import registry, tasks
from zoo.models.show_attend_tell.show_attend_tell import Decoder, decoder_parts
from zoo.ops import reinforce
from zoo.training.recipes import LossConfig
from tests.model_test_configs import SMALL

RNG = np.random.default_rng(0)


def _small(name="show_attend_tell_soft", **kw):
    card = registry.card(name)
    keras.utils.set_random_seed(0)
    return card.builder(**{**SMALL[card.name].kwargs, **kw})


def _batch(model, n=2, seed=0):
    rng = np.random.default_rng(seed)
    shape = tuple(model.get_layer("image").output.shape[1:])
    words = rng.integers(1, 30, (n, model.get_layer("words").output.shape[1])).astype(np.int32)
    return {"image": (60 * rng.standard_normal((n, *shape))).astype(np.float32), "words": words}


def test_full_size_annotations_are_vgg19_conv5_4_196_by_512():
    card = registry.card("show_attend_tell_soft")
    model = card.builder()
    assert tuple(model.get_layer("annotations").output.shape[1:]) == (196, 512)  # 14x14x512 (§3.1.1)
    assert model.get_layer("conv5_4").name == "conv5_4" and not model.get_layer("conv5_4").trainable
    decoder = model.get_layer("decoder")
    assert (decoder.embed_dim, decoder.units, decoder.attention_dim, decoder.vocab_size) == (512, 1000, 512, 10000)
    vgg19_convs = 20_024_384  # VGG19 conv1_1 .. conv5_4 (keras.applications.VGG19(include_top=False))
    lstm = 4 * 1000 * (512 + 512 + 1000) + 4 * 1000
    decoder_weights = (10000 * 512 + 2 * (512 * 1000 + 1000) + (512 * 512 + 512) + 1000 * 512 + 513 + 1001 + lstm
                       + (1000 * 512 + 512) + 512 * 512 + (512 * 10000 + 10000))
    counts = card.parameter_count()
    assert counts == {"trainable": decoder_weights, "non_trainable": vgg19_convs, "total": vgg19_convs + decoder_weights}
    assert counts == {k: card.parameters[k] for k in counts}


def test_soft_attention_maps_sum_to_one_and_eq_14_is_added():
    model = _small()
    out = model(_batch(model), training=False)
    logits, alpha = (np.asarray(o) for o in out)
    assert logits.shape == (2, 5, 30) and alpha.shape == (2, 5, 4)  # 32x32 input: 2x2 conv5_4 locations
    np.testing.assert_allclose(alpha.sum(-1), 1.0, rtol=1e-5)
    want = np.mean(np.sum((1.0 - alpha.sum(axis=1)) ** 2, axis=-1))  # λ = 1
    assert len(model.losses) == 1 and float(model.losses[0]) == pytest.approx(want, rel=1e-5)
    off = _small(doubly_stochastic=0.0)
    off(_batch(off))
    assert not off.losses


def test_gate_beta_scales_the_context():
    model = _small()
    decoder = model.get_layer("decoder")
    x = _batch(model)
    decoder.selector.bias.assign(np.array([-50.0], np.float32))  # β ≈ 0: the words see no image
    a = np.asarray(model(x)[0])
    x2 = {**x, "image": x["image"][::-1].copy()}
    b = np.asarray(model(x2)[0])
    assert a.shape == b.shape
    # with β ≈ 0 the logits do not depend on the image beyond h_0, c_0: cut those too and the image is invisible
    for dense in (decoder.init_h, decoder.init_c):
        dense.kernel.assign(np.zeros(dense.kernel.shape, np.float32))
    np.testing.assert_allclose(np.asarray(model(x)[0]), np.asarray(model(x2)[0]), atol=1e-5)
    decoder.selector.bias.assign(np.array([0.0], np.float32))
    assert np.abs(np.asarray(model(x)[0]) - np.asarray(model(x2)[0])).max() > 1e-4


@pytest.mark.parametrize("name", ["show_attend_tell_soft", "show_attend_tell_hard"])
def test_one_step_decoder_reproduces_the_unrolled_model(name):
    model = _small(name)
    x = _batch(model)
    out = model(x, training=False)
    decoder = Decoder(model)
    state = decoder.initial_state(x["image"])
    assert state["annotations"].shape == (2, 4, 32)
    for t in range(x["words"].shape[1]):
        logits, state = decoder.step(x["words"][:, t], state)
        np.testing.assert_allclose(logits, np.asarray(out[0])[:, t], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(decoder.last_alpha, np.asarray(out[1])[:, t], rtol=1e-4, atol=1e-6)


def test_reinforce_estimator_matches_the_exact_gradient_on_a_toy():
    # E_{s ~ softmax(θ)}[f(s)] has gradient p ⊙ (f - E f); the surrogate's gradient averaged over samples
    # must agree (unbiased with and without a baseline), and the baseline must lower the variance.
    theta = tf.Variable([0.3, -0.5, 1.0, 0.0])
    f = np.array([1.0, 4.0, -2.0, 0.5], np.float32) + 10.0  # an offset the baseline removes (lower variance)
    p = np.exp(theta.numpy()) / np.exp(theta.numpy()).sum()
    exact = p * (f - p @ f)
    samples = tf.random.stateless_categorical(theta[None], 1_000_000, seed=[1, 2])[0]
    means, variances = {}, {}
    for b in (0.0, float(p @ f)):
        with tf.GradientTape() as tape:
            log_p = tf.gather(tf.nn.log_softmax(theta), samples)
            loss = tf.reduce_mean(reinforce.surrogate(tf.gather(f, samples), log_p, b))
        means[b] = -tape.gradient(loss, theta).numpy()
        few = samples[:2000]
        with tf.GradientTape() as tape:  # per-sample estimates, for their variance
            per_sample = reinforce.surrogate(tf.gather(f, few), tf.gather(tf.nn.log_softmax(theta), few), b)
        variances[b] = tape.jacobian(per_sample, theta).numpy().var(axis=0).sum()
    for b, mean in means.items():
        np.testing.assert_allclose(mean, exact, atol=0.03, err_msg=f"baseline {b}")
    assert variances[float(p @ f)] < variances[0.0]
    assert float(reinforce.moving_average(2.0, np.array([1.0, 3.0]))) == pytest.approx(0.9 * 2.0 + 0.1 * 2.0)


def test_hard_attention_task_adds_reinforce_terms_and_moves_the_baseline():
    model = _small("show_attend_tell_hard")
    decoder = model.get_layer("decoder")
    task = tasks.get("hard_attention_captioning")
    task = type(task)(vocab_size=30, baseline=decoder.reward_baseline)
    x = _batch(model)
    targets = tf.constant(np.concatenate([x["words"][:, 1:], np.zeros((2, 1), np.int32)], axis=1))
    keras.utils.set_random_seed(3)
    outputs = model(x, training=True)
    log_p, entropy = np.asarray(outputs[2]), np.asarray(outputs[3])
    assert np.all(entropy > 0) and np.all(log_p <= 0)
    loss = task.replica_loss(outputs, targets, loss_cfg=LossConfig(), global_batch_size=2)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, outputs[0]).numpy().sum(axis=1)
    want = np.mean(ce + 1.0 * -(-ce - 0.0) * log_p - 0.01 * entropy)
    assert float(loss) == pytest.approx(want, rel=1e-4)
    assert float(decoder.reward_baseline.numpy()) == pytest.approx(0.1 * np.mean(-ce), rel=1e-4)
    with tf.GradientTape() as tape:
        outputs = model(x, training=True)
        loss = task.replica_loss(outputs, targets, loss_cfg=LossConfig(), global_batch_size=2)
    grads = tape.gradient(loss, model.trainable_variables)
    moved = [np.abs(tf.convert_to_tensor(g).numpy()).sum() for g in grads if g is not None]
    assert moved and max(moved) > 0


def test_encoder_and_step_export_with_builtin_ops_and_decode_the_same(tmp_path):
    from zoo.export.decoder import TFLiteDecoder, export_decoder
    from zoo.text.decoding import greedy

    card = registry.card("show_attend_tell_soft")
    model = _small()
    reports = export_decoder(model, tmp_path / "sat", input_contract=card.input_contract, parts=decoder_parts)
    assert set(reports) == {"encoder", "step"}
    images = _batch(model)["image"]
    keras_decoder = Decoder(model)
    lite = TFLiteDecoder(tmp_path / "sat")
    want = greedy(keras_decoder.step, keras_decoder.initial_state(images), max_length=6)
    got = greedy(lite.step, lite.initial_state(images), max_length=6)
    assert [c.tokens for c in got] == [c.tokens for c in want] and len(want[0].tokens) > 0
    np.testing.assert_allclose([c.log_prob for c in got], [c.log_prob for c in want], rtol=1e-3)


def test_shipped_recipes_validate():
    from zoo import recipe_files
    from zoo.training import recipes

    names = [n for n in recipe_files.list_recipes() if n.startswith(("show_attend_tell", "draw"))]
    assert len(names) == 15  # show_attend_tell: soft and hard on COCO, Flickr30k, Flickr8k, the stand-in; draw: 7
    for name in names:
        r = recipes.load(name)
        assert r.recipe.paper_target and registry.card(r.model.name).family in ("show_attend_tell", "draw")


@pytest.mark.slow  # a few minutes on 2 busy cores: graph tracing of the unrolled decoder
def test_hard_attention_captioner_trains_on_the_shape_captions_standin(tmp_path):
    from zoo.training import recipes, runner

    r = recipes.load("show_attend_tell_hard_shape_captions_standin", [
        "train.steps=4", "train.eval_every=0", "train.checkpoint_every=4", "train.log_every=2",
        "data.global_batch_size=4", "model.options.width=16", "model.options.units=8", "model.options.embed_dim=8",
        "model.options.input_shape=[32, 32, 3]", "data.options.image_size=32", "eval.decode=false"])
    result = runner.train(r, tmp_path / "run")
    assert result.steps == 4 and np.isfinite(result.final_loss)
