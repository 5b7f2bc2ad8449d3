"""DRAW's read attention as a classifier (Gregor et al. 2015 §4.1) and the cluttered digits it classifies:
the glimpse against a NumPy transcription of eq. 27 (image only), Table 3's sizes, the clutter generator's
placement, and a short run of the stand-in recipe."""

import keras
import numpy as np
import pytest

from zoo import registry
from zoo.data.standins.cluttered import cluttered
from zoo.errors import ConfigError
from zoo.models.draw.classifier import GlimpseLSTM, draw_classifier, glimpse_windows
from tests.attention.test_draw import numpy_filterbank

RNG = np.random.default_rng(0)


def test_glimpse_is_the_filtered_image_times_gamma():
    keras.utils.set_random_seed(0)
    layer = GlimpseLSTM((10, 12), steps=1, units=5, read_n=3)
    layer.build(None)
    h = RNG.normal(0, 1, (2, 5)).astype(np.float32)
    x = RNG.random((2, 10, 12, 1)).astype(np.float32)
    r, window = layer.glimpse(x, h)
    params = h @ np.asarray(layer.read_window.kernel) + np.asarray(layer.read_window.bias)
    for k in range(2):
        fx, fy, gamma = numpy_filterbank(params[k].astype(np.float64), 10, 12, 3)
        np.testing.assert_allclose(np.asarray(r)[k], gamma * (fy @ x[k, ..., 0] @ fx.T).ravel(), rtol=1e-4, atol=1e-5)
    assert np.asarray(window).shape == (2, 3)


def test_full_size_is_table_3s_classifier_and_windows_are_readable():
    model = draw_classifier()
    core = model.get_layer("glimpses")
    assert (core.steps, core.units, core.read_n) == (8, 256, 12)
    assert model.count_params() == registry.card("draw_classifier").parameters["total"]
    small = draw_classifier(input_shape=(24, 24, 1), steps=3, units=4, read_n=4)
    windows = np.asarray(glimpse_windows(small)(RNG.random((2, 24, 24, 1)).astype(np.float32)))
    assert windows.shape == (2, 3, 3)
    with pytest.raises(ConfigError, match="input_shape"):
        draw_classifier(input_shape=(None, 24, 1))


def test_clutter_keeps_the_digit_whole_where_the_box_says():
    rng = np.random.default_rng(3)
    digits = RNG.integers(0, 256, (5, 24, 24)).astype(np.uint8)
    image, box = cluttered(rng, digits[0], digits, canvas=60, pieces=4, piece=6)
    x0, y0, x1, y1 = box.astype(int)
    assert image.shape == (60, 60) and (x1 - x0, y1 - y0) == (24, 24)
    assert (image[y0:y1, x0:x1] >= digits[0]).all()  # pasted by maximum: the digit is never hidden
    assert image.sum() > int(digits[0].astype(np.int64).sum())  # and the clutter is there
    with pytest.raises(ConfigError, match="must fit"):
        cluttered(rng, digits[0], digits, canvas=20, pieces=1, piece=6)


def test_stand_in_recipe_trains_and_reports_accuracy(tmp_path):
    from zoo.data import registry as data_registry
    from zoo.training import recipes, runner

    (ex,) = list(data_registry.load("cluttered_digits", "test", num_examples=1).as_numpy_iterator())
    assert ex["image"].shape == (60, 60, 1) and 0 <= ex["label"] <= 9
    recipe = recipes.load("draw_classifier_cluttered_digits_standin",
                          ["model.options.units=8", "model.options.steps=2", "train.steps=3", "train.eval_every=0",
                           "train.checkpoint_every=3", "train.log_every=3", "data.global_batch_size=8",
                           "data.options.num_examples=24", "data.eval_options={num_examples = 16}",
                           "data.eval_name='cluttered_digits'"])
    res = runner.train(recipe, tmp_path / "run")
    assert 0.0 <= res.metrics["accuracy"] <= 1.0
