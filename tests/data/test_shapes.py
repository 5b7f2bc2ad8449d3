"""The `shapes` stand-in: determinism, layout, class coverage, thin structures, boxes."""


import numpy as np
import pytest
from scipy import ndimage

import zoo.data
from zoo.data.standins import shapes

N = 120  # examples checked per property: enough for every class, fast


@pytest.fixture(scope="module")
def examples():
    return [shapes.render_example(0, "train", i) for i in range(N)]


def test_same_seed_same_bytes_and_different_seeds_differ():
    a = shapes.render_example(3, "train", 7)
    b = shapes.render_example(3, "train", 7)
    for key in a:
        assert a[key].tobytes() == b[key].tobytes(), key
    assert shapes.render_example(4, "train", 7)["image"].tobytes() != a["image"].tobytes()
    assert shapes.render_example(3, "validation", 7)["image"].tobytes() != a["image"].tobytes()
    assert shapes.render_example(3, "train", 8)["image"].tobytes() != a["image"].tobytes()


def test_load_matches_examples_rendered_alone_and_skip_is_cheap(monkeypatch):
    ds = zoo.data.load("shapes", "validation", seed=5, num_examples=40)
    assert int(ds.cardinality()) == 40
    loaded = list(ds.as_numpy_iterator())
    again = list(zoo.data.load("shapes", "validation", seed=5, num_examples=40).as_numpy_iterator())
    for i in (0, 17, 39):  # any example can be regenerated on its own
        alone = shapes.render_example(5, "validation", i)  # also the instance map, which `shapes` does not load
        assert set(loaded[i]) <= set(alone)
        for key in loaded[i]:
            np.testing.assert_array_equal(loaded[i][key], alone[key])
            np.testing.assert_array_equal(again[i][key], alone[key])
    # The split is rendered once per process: skipping 599 of 600 is lookups, not rendering.
    zoo.data.load("shapes", "train", seed=5, num_examples=600)  # renders and caches
    rendered = []
    original = shapes.render_example
    monkeypatch.setattr(shapes, "render_example", lambda *a, **k: rendered.append(a) or original(*a, **k))
    (tail,) = list(zoo.data.load("shapes", "train", seed=5, num_examples=600).skip(599).as_numpy_iterator())
    assert rendered == []  # served from the split cache: no example rendered again
    monkeypatch.undo()
    np.testing.assert_array_equal(tail["image"], shapes.render_example(5, "train", 599)["image"])


def test_shapes_and_dtypes():
    ds = zoo.data.load("shapes", "test", num_examples=3, image_size=48)
    spec = ds.element_spec
    assert {k: (tuple(v.shape), v.dtype.name) for k, v in spec.items()} == {
        "image": ((48, 48, 3), "uint8"),
        "segmentation": ((48, 48), "uint8"),
        "boxes": ((shapes.MAX_OBJECTS, 4), "float32"),
        "classes": ((shapes.MAX_OBJECTS,), "int32"),
        "num_objects": ((), "int32"),
    }
    batch = next(iter(ds.batch(3)))  # fixed padding: batches without padded_batch
    assert batch["image"].shape == (3, 48, 48, 3)


def test_info_says_standin_of_nothing():
    info = zoo.data.info("shapes")
    assert info.is_standin and info.stands_in_for is None
    assert info.class_names == ("background", "circle", "rectangle", "triangle", "line", "dot")
    assert info.num_classes == 6 and info.ignore_label == 255
    assert set(info.features) == {"image", "segmentation", "boxes", "classes", "num_objects"}


def test_every_class_covered(examples):
    present = np.array([[(e["segmentation"] == c).any() for c in range(6)] for e in examples])
    assert present[:, 0].all()
    assert present[:, shapes.LINE].all() and present[:, shapes.DOT].all()  # fine detail in every scene
    for c in (shapes.CIRCLE, shapes.RECTANGLE, shapes.TRIANGLE):
        assert 0.3 < present[:, c].mean() < 0.95, shapes.CLASS_NAMES[c]
    assert not any((e["segmentation"] == 255).any() for e in examples)  # no ignore band by default


def _run_lengths(mask):
    """Lengths of the horizontal runs of True in each row."""
    steps = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    return np.nonzero(steps == -1)[1] - np.nonzero(steps == 1)[1]  # row-major: starts and ends alternate


def test_thin_structures_are_1_to_3_px_wide(examples):
    square4 = np.ones((4, 4), bool)
    line_pixels = survived = 0
    widths = set()
    for e in examples:
        line = e["segmentation"] == shapes.LINE
        line_pixels += line.sum()
        # Nothing 1-3 px wide contains a 4x4 square: an opening with one removes it.
        survived += ndimage.binary_opening(line, square4).sum()
        widths.update(_run_lengths(line).tolist() + _run_lengths(line.T).tolist())
    assert line_pixels > 0
    assert survived / line_pixels < 0.02  # only where two bars cross at a shallow angle
    assert {1, 2, 3} <= widths
    for e in examples:  # dots: at most 3x3 px each
        n = e["num_objects"]
        boxes, classes = e["boxes"][:n], e["classes"][:n]
        sizes = (boxes[classes == shapes.DOT][:, 2:] - boxes[classes == shapes.DOT][:, :2]) * 64
        assert (np.round(sizes) <= 3).all()


def test_boxes_are_tight_boxes_of_the_masks(examples):
    for e in examples:
        seg, n = e["segmentation"], int(e["num_objects"])
        boxes, classes = e["boxes"], e["classes"]
        assert (classes[n:] == -1).all() and (boxes[n:] == 0).all()
        assert (classes[:n] >= 1).all() and (classes[:n] <= 5).all()
        covered = np.zeros_like(seg, bool)
        for (y0, x0, y1, x1), c in zip(np.rint(boxes[:n] * 64).astype(int), classes[:n]):
            assert 0 <= y0 < y1 <= 64 and 0 <= x0 < x1 <= 64
            inside = seg[y0:y1, x0:x1] == c
            # Tight: the class touches every edge of its box.
            assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
            covered[y0:y1, x0:x1] |= inside
        assert (covered == (seg > 0)).all()  # every shape pixel is in a box of its class


def test_ignore_boundary_band_matches_a_window_oracle():
    plain = shapes.render_example(1, "train", 3)
    banded = shapes.render_example(1, "train", 3, ignore_boundary=1)
    seg = plain["segmentation"]
    # A pixel is in the band when its 3x3 window holds two classes.
    oracle = ndimage.maximum_filter(seg, 3, mode="nearest") != ndimage.minimum_filter(seg, 3, mode="nearest")
    np.testing.assert_array_equal(banded["segmentation"] == 255, oracle)
    np.testing.assert_array_equal(banded["segmentation"][~oracle], seg[~oracle])
    np.testing.assert_array_equal(banded["image"], plain["image"])


def test_bad_split_and_options():
    with pytest.raises(KeyError, match="did you mean 'train'"):
        zoo.data.load("shapes", "trian")
    with pytest.raises(zoo.ZooError, match="image_sise"):
        zoo.data.load("shapes", "train", image_sise=32)
