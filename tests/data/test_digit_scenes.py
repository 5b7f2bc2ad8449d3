"""The digit_scenes stand-in (transfer notebook): determinism, label / box consistency, layouts, domains."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.data import registry as data_registry
from zoo.data.standins import digit_scenes as D
from zoo.errors import ConfigError, UnknownNameError


def test_examples_are_a_pure_function_of_their_arguments():
    a = D.render_example(3, "train", 5, size=64, layout="cluttered", domain="shifted")
    b = D.render_example(3, "train", 5, size=64, layout="cluttered", domain="shifted")
    c = D.render_example(3, "train", 6, size=64, layout="cluttered", domain="shifted")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["image"], c["image"])


@pytest.mark.parametrize("domain", D.DOMAINS)
def test_boxes_labels_and_ink_agree(domain):
    for i in range(6):
        ex = D.render_example(0, "test", i, size=96, layout="cluttered", domain=domain, clutter=0)
        assert ex["image"].shape == (96, 96, 3) and ex["image"].dtype == np.uint8
        assert 1 <= len(ex["box_labels"]) <= 3 and ex["label"] == ex["box_labels"][0] == i % 10
        expected = np.zeros(10, np.float32)
        expected[ex["box_labels"]] = 1
        np.testing.assert_array_equal(ex["labels"], expected)
        x0, y0, x1, y1 = ex["boxes"].T
        assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 96).all() and (y1 <= 96).all()
        assert np.allclose(x1 - x0, round(96 * 0.3)) and np.allclose(y1 - y0, round(96 * 0.3))
        # without clutter, every pixel far from the background colour lies in a box
        grey = ex["image"].astype(float).mean(-1)
        background = np.median(grey)
        ink = np.abs(grey - background) > 60
        inside = np.zeros_like(ink)
        for bx0, by0, bx1, by1 in ex["boxes"].astype(int):
            inside[max(by0 - 2, 0):by1 + 2, max(bx0 - 2, 0):bx1 + 2] = True
        assert ink.any() and not (ink & ~inside).any()


def test_centred_layout_and_domains():
    ex = D.render_example(0, "train", 0, size=96, layout="centred")
    x0, y0, x1, y1 = ex["boxes"][0]
    assert abs((x0 + x1) / 2 - 48) <= 4 and abs((y0 + y1) / 2 - 48) <= 4 and len(ex["box_labels"]) == 1
    clean = D.render_split(0, "test", 8, size=48, layout="cluttered", domain="clean")["image"].mean()
    shifted = D.render_split(0, "test", 8, size=48, layout="cluttered", domain="shifted")["image"].mean()
    assert clean < 80 < 140 < shifted  # dark vs bright backgrounds: the appearance shift
    assert set(np.concatenate([v for v in D.SUPERCLASSES.values()])) == set(range(10))
    assert D.SUPERCLASS_OF[8] == 0 and D.SUPERCLASS_OF[7] == 1 and D.SUPERCLASS_OF[3] == 2


def test_registered_and_bad_options_raise():
    info = data_registry.info("digit_scenes")
    assert info.is_standin and info.num_classes == 10
    batch = next(iter(data_registry.load("digit_scenes", "validation", num_examples=2, size=48).batch(2)))
    assert tuple(batch["image"].shape) == (2, 48, 48, 3)
    with pytest.raises(UnknownNameError):
        D.render_example(0, "train", 0, layout="tiled")
    with pytest.raises(ConfigError):
        D.render_example(0, "train", 0, size=32, digit_size=40)
