"""DRAW (Gregor et al. 2015): the attention filterbank, read and write against a NumPy
transcription of eqs. 19-29, the KL term of eq. 11 through add_loss, the bound in nats, the
paper's MNIST sizes, and a short run on the binarized_digits stand-in."""

import keras
import numpy as np
import pytest

from zoo import registry
from zoo.models.draw.draw import DrawCore, attention_parameters, filterbank
from zoo.tasks.variational import BoundEvaluator
from tests.model_test_configs import SMALL

RNG = np.random.default_rng(0)


def numpy_filterbank(params, height, width, n):
    """Eqs. 19-26 written out: returns F_X (n, A), F_Y (n, B), γ for ONE set of the 5 linear outputs."""
    gx_, gy_, log_sigma2, log_delta, log_gamma = params
    gx = (width + 1) / 2 * (gx_ + 1)  # eq. 22
    gy = (height + 1) / 2 * (gy_ + 1)  # eq. 23
    delta = (max(width, height) - 1) / (n - 1) * np.exp(log_delta)  # eq. 24
    sigma2, gamma = np.exp(log_sigma2), np.exp(log_gamma)
    fx, fy = np.zeros((n, width)), np.zeros((n, height))
    for i in range(1, n + 1):
        mu_x = gx + (i - n / 2 - 0.5) * delta  # eq. 19
        mu_y = gy + (i - n / 2 - 0.5) * delta  # eq. 20
        for a in range(1, width + 1):
            fx[i - 1, a - 1] = np.exp(-((a - mu_x) ** 2) / (2 * sigma2))  # eq. 25
        for b in range(1, height + 1):
            fy[i - 1, b - 1] = np.exp(-((b - mu_y) ** 2) / (2 * sigma2))  # eq. 26
    fx /= fx.sum(axis=1, keepdims=True)  # Z_X: Σ_a F_X[i, a] = 1
    fy /= fy.sum(axis=1, keepdims=True)
    return fx, fy, gamma


@pytest.mark.parametrize("n", [2, 5])
def test_filterbank_matches_the_papers_equations(n):
    height, width = 7, 9
    params = RNG.normal(0, 0.5, (4, 5)).astype(np.float32)
    gx, gy, delta, sigma2, gamma = attention_parameters(params, (height, width), n)
    fx = np.asarray(filterbank(gx, delta, sigma2, n, width))
    fy = np.asarray(filterbank(gy, delta, sigma2, n, height))
    for k in range(len(params)):
        want_x, want_y, want_gamma = numpy_filterbank(params[k].astype(np.float64), height, width, n)
        np.testing.assert_allclose(fx[k], want_x, atol=2e-6)
        np.testing.assert_allclose(fy[k], want_y, atol=2e-6)
        assert float(np.asarray(gamma)[k, 0]) == pytest.approx(want_gamma, rel=1e-5)


def test_centred_grid_covers_the_image_at_the_initial_window():
    # g̃ = 0, δ̃ = 1: the grid centre is the image centre and the filters span it edge to edge (§3.2 "zoom")
    n, size = 5, 28
    gx, gy, delta, sigma2, _ = attention_parameters(np.array([[0, 0, np.log(0.5), 0, 0]], np.float32), (size, size), n)
    assert float(gx[0, 0]) == pytest.approx(14.5) and float(delta[0, 0]) == pytest.approx(27 / 4)
    peaks = np.asarray(filterbank(gx, delta, sigma2, n, size))[0].argmax(axis=1) + 1
    assert peaks[0] in (1, 2) and peaks[-1] in (27, 28) and list(peaks) == sorted(peaks)


@pytest.mark.parametrize("channels", [1, 3])
def test_read_and_write_match_numpy(channels):
    """Eqs. 27 and 29 per channel: colour images use the same filters for every channel (§4.3)."""
    keras.utils.set_random_seed(0)  # the window weights: unseeded draws failed the float32 tolerance in CI once
    core = DrawCore((7, 9), steps=1, enc_units=6, dec_units=6, z_dim=2, read_n=3, write_n=4, channels=channels)
    core.build(None)
    h = RNG.normal(0, 1, (3, 6)).astype(np.float32)
    x = RNG.integers(0, 2, (3, 7, 9, channels)).astype(np.float32)
    x_hat = x - RNG.random((3, 7, 9, channels)).astype(np.float32)
    r, _ = core.read(x, x_hat, h)
    w_canvas, _ = core.write(h)
    read_params = h @ np.asarray(core.read_window.kernel) + np.asarray(core.read_window.bias)
    write_params = h @ np.asarray(core.write_window.kernel) + np.asarray(core.write_window.bias)
    patches = h @ np.asarray(core.write_patch.kernel) + np.asarray(core.write_patch.bias)
    for k in range(3):
        fx, fy, gamma = numpy_filterbank(read_params[k].astype(np.float64), 7, 9, 3)
        glimpse = lambda img: np.stack([fy @ img[..., c] @ fx.T for c in range(channels)], -1).ravel()  # noqa: E731
        want_r = gamma * np.concatenate([glimpse(x[k]), glimpse(x_hat[k])])  # eq. 27
        np.testing.assert_allclose(np.asarray(r)[k], want_r, rtol=1e-4, atol=1e-5)
        fx, fy, gamma = numpy_filterbank(write_params[k].astype(np.float64), 7, 9, 4)
        patch = patches[k].reshape(4, 4, channels)
        want_w = np.stack([fy.T @ patch[..., c] @ fx / gamma for c in range(channels)], -1).ravel()  # eq. 29
        np.testing.assert_allclose(np.asarray(w_canvas)[k], want_w, rtol=1e-4, atol=1e-5)


def _small(attention=True, **kw):
    card = registry.card("draw" if attention else "draw_no_attention")
    keras.utils.set_random_seed(0)
    return card.builder(**{**SMALL[card.name].kwargs, **kw})


def test_kl_per_step_is_eq_11_and_goes_through_add_loss():
    model = _small(steps=3, z_dim=4)
    core = model.get_layer("draw")
    mu, log_sigma = np.array([0.5, -1.0, 0.0, 2.0], np.float32), np.array([0.1, -0.3, 0.0, 0.2], np.float32)
    for layer, bias in ((core.mu, mu), (core.log_sigma, log_sigma)):  # μ and log σ independent of h^enc
        layer.kernel.assign(np.zeros(layer.kernel.shape, np.float32))
        layer.bias.assign(bias)
    x = {"image": RNG.integers(0, 2, (2, 8, 8, 1)).astype(np.float32), "noise": RNG.normal(size=(2, 3, 4)).astype(np.float32)}
    out = model(x, training=False)
    per_step = np.sum(0.5 * (mu**2 + np.exp(2 * log_sigma) - 2 * log_sigma) - 0.5)  # eq. 11: ½Σ(μ²+σ²-logσ²) - ½
    np.testing.assert_allclose(np.asarray(out[1]), 3 * per_step, rtol=1e-5)
    assert len(model.losses) == 1 and float(model.losses[0]) == pytest.approx(3 * per_step, rel=1e-5)
    # with ε given, z = μ + σ ε is a deterministic function of the inputs
    np.testing.assert_array_equal(np.asarray(model(x)[0]), np.asarray(out[0]))


def test_bound_evaluator_is_bernoulli_nll_plus_kl_in_nats():
    logits = RNG.normal(0, 2, (5, 64))
    x = RNG.integers(0, 2, (5, 64)).astype(np.float64)
    kl = RNG.random(5) * 10
    ev = BoundEvaluator()
    ev.update([logits[:3], kl[:3]], x[:3].reshape(3, 8, 8, 1))
    ev.update([logits[3:], kl[3:]], x[3:].reshape(2, 8, 8, 1))
    p = 1 / (1 + np.exp(-logits))
    nll = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
    res = ev.result()
    assert res["reconstruction_nats"] == pytest.approx(nll.mean()) and res["kl_nats"] == pytest.approx(kl.mean())
    assert res["nll_bound_nats"] == pytest.approx((nll + kl).mean()) and res["elbo_nats"] == -res["nll_bound_nats"]


@pytest.mark.parametrize("name", ["draw", "draw_no_attention"])
def test_full_size_draw_has_the_mnist_model_sizes(name):
    card = registry.card(name)
    model = card.builder()
    core = model.get_layer("draw")
    assert (core.steps, core.enc_units, core.dec_units, core.z_dim) == (64, 256, 256, 100)  # Table 3 (MNIST)
    if name == "draw":
        assert (core.read_n, core.write_n) == (2, 5)
        enc_in = 2 * 2 * 2 + 256
        write = 256 * 25 + 25 + 2 * (256 * 5 + 5)
    else:
        enc_in = 2 * 784 + 256
        write = 256 * 784 + 784
    lstm = lambda n_in, units: 4 * units * (n_in + units) + 4 * units  # noqa: E731
    want = lstm(enc_in, 256) + lstm(100, 256) + 2 * (256 * 100 + 100) + write
    assert model.count_params() == want == card.parameters["total"]


def test_generation_from_the_prior_draws_canvases():
    model = _small()
    canvases = np.asarray(model.get_layer("draw").generate(RNG.normal(size=(2, 3, 4)).astype(np.float32)))
    assert canvases.shape == (2, 3, 8, 8, 1) and np.all((canvases > 0) & (canvases < 1))


@pytest.mark.slow  # about 2.5 min on 2 busy cores (60 steps, graph tracing of the unrolled recurrence)
def test_draw_trains_on_the_binarized_digits_standin_and_its_bound_drops(tmp_path):
    from zoo.training import recipes, runner

    recipe = recipes.from_dict({
        "recipe": {"name": "draw_test"},
        "model": {"name": "draw", "options": {"image_shape": [8, 8, 1], "steps": 4, "units": 32, "z_dim": 4,
                                             "read_n": 2, "write_n": 3}},
        "data": {"name": "binarized_digits", "train_split": "train", "eval_split": "test",
                 "global_batch_size": 32, "shuffle_buffer": 256},
        "optimizer": {"name": "adam", "learning_rate": 0.003},
        "train": {"steps": 60, "eval_every": 0, "checkpoint_every": 60, "log_every": 30, "seed": 0},
    })
    result = runner.train(recipe, tmp_path / "run")
    assert {"nll_bound_nats", "kl_nats", "reconstruction_nats"} <= set(result.metrics)
    # an untrained model scores about 64·log 2 ≈ 44.4 nats of reconstruction on 64 binary pixels
    assert result.metrics["nll_bound_nats"] < 40.0


def test_svhn_recipe_trains_a_colour_draw_on_intensities(tmp_path, monkeypatch):
    """svhn_cropped's uint8 records become [0, 1] intensities and the colour DRAW of draw_svhn trains on them
    (a fake TFDS split in svhn_cropped's layout; sizes reduced)."""
    import tensorflow as tf

    from zoo.data import registry as data_registry
    from zoo.training import recipes, runner

    images = RNG.integers(0, 256, (8, 32, 32, 3)).astype(np.uint8)
    monkeypatch.setattr(data_registry.TfdsLoader, "__call__", lambda self, split, **kw: tf.data.Dataset.from_tensor_slices(
        {"image": images, "label": np.arange(8, dtype=np.int64)}))
    (first, *_) = list(data_registry.load("svhn_cropped", "train").as_numpy_iterator())
    np.testing.assert_allclose(first["image"], images[0] / 255.0, rtol=1e-6)
    recipe = recipes.load("draw_svhn", ["model.options.units=8", "model.options.steps=2", "model.options.z_dim=3",
                                        "model.options.read_n=3", "model.options.write_n=3", "data.global_batch_size=4",
                                        "train.steps=2", "train.checkpoint_every=2", "train.log_every=2",
                                        "data.eval_split='train'", "data.shuffle_buffer=8", "train.eval_every=0"])
    res = runner.train(recipe, tmp_path / "run")
    assert np.isfinite(res.metrics["nll_bound_nats"]) and res.model.get_layer("draw").channels == 3
