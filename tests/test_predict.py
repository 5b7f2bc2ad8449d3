"""zoo.predict: the colour overlay, and what it refuses."""

import numpy as np
import pytest

from zoo import registry
from zoo.errors import ConfigError
from zoo.predict import overlay, palette, predict_to_png


def test_overlay_tints_class_pixels_and_leaves_background():
    image = np.full((2, 3, 3), 100, np.uint8)
    labels = np.array([[0, 1, 2], [0, 0, 1]])
    colors = palette(3)
    out = overlay(image, labels, colors, alpha=0.5)
    np.testing.assert_array_equal(out[labels == 0], image[labels == 0])
    want = np.round(0.5 * 100 + 0.5 * colors[1].astype(float)).astype(np.uint8)
    np.testing.assert_array_equal(out[0, 1], want)


def test_predict_refuses_models_that_do_not_take_one_picture(tmp_path):
    card = registry.card("fcn32s_rgbhha")
    with pytest.raises(ConfigError, match="single-image models"):
        predict_to_png(None, card, [], tmp_path / "p.png")
