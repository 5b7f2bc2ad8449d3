"""The `shape_captions` stand-in: determinism, loading, and captions that say what the image shows
(the shapes found again by colour and connected components, their kinds by how much of their box
they fill, their order by position)."""

import collections

import numpy as np
import pytest
from scipy import ndimage

import zoo.data
from zoo.data.standins import shape_captions
from zoo.errors import ConfigError
from zoo.text.vocab import Vocabulary

N = 300


@pytest.fixture(scope="module")
def examples():
    return [shape_captions.render_example(0, "train", i) for i in range(N)]


def test_same_seed_same_bytes_and_different_seeds_differ():
    a = shape_captions.render_example(3, "train", 7)
    assert a["image"].shape == (64, 64, 3) and a["image"].dtype == np.uint8 and a["image_id"] == 7
    b = shape_captions.render_example(3, "train", 7)
    assert a["image"].tobytes() == b["image"].tobytes() and a["caption"] == b["caption"]
    for other in [(4, "train", 7), (3, "validation", 7), (3, "train", 8)]:
        assert shape_captions.render_example(*other)["image"].tobytes() != a["image"].tobytes(), other


def test_load_serves_the_rendered_examples():
    ds = zoo.data.load("shape_captions", "test", seed=1, num_examples=4, image_size=48)
    spec = ds.element_spec
    assert {k: (tuple(v.shape), v.dtype.name) for k, v in spec.items()} == {
        "image": ((48, 48, 3), "uint8"), "caption": ((), "string"), "image_id": ((), "int64")}
    for i, example in enumerate(ds.as_numpy_iterator()):
        alone = shape_captions.render_example(1, "test", i, image_size=48)
        np.testing.assert_array_equal(example["image"], alone["image"])
        assert example["caption"].decode() == alone["caption"] and example["image_id"] == i


def test_info_and_option_errors():
    info = zoo.data.info("shape_captions")
    assert info.is_standin and info.stands_in_for == "coco_captions" and info.task == "captioning"
    with pytest.raises(ConfigError, match="image_size"):
        zoo.data.load("shape_captions", "train", image_size=16)


def _found_shapes(image):
    """[(colour, kind, centre (row, column))] of the shapes in `image`, found without the generator:
    pixels near a colour prototype, grouped into connected components; the kind from the fraction of
    its bounding box a component fills (square 1, circle pi/4, triangle 1/2)."""
    found = []
    for name, rgb in shape_captions.COLOURS.items():
        near = np.abs(image.astype(np.float32) - rgb).max(axis=-1) < 40
        components, count = ndimage.label(near)
        for index, box in enumerate(ndimage.find_objects(components), start=1):
            pixels = components[box] == index
            if pixels.sum() < 20:
                continue  # a few noisy pixels, not a shape
            fill = pixels.mean()
            kind = "square" if fill > 0.9 else "circle" if fill > 0.65 else "triangle"
            found.append((name, kind, ndimage.center_of_mass(pixels) + np.array([box[0].start, box[1].start])))
    return found


def _read(caption):
    """(shapes in the caption's order [(colour, kind)], relation word) of a templated caption."""
    words = caption.split()
    shapes = [(words[i + 1], words[i + 2]) for i, w in enumerate(words) if w == "a"]
    relations = {w for w in words if w in ("left", "right", "above", "below")}
    assert len(relations) <= 1, caption
    return shapes, relations.pop() if relations else None


def test_captions_describe_the_rendered_scene(examples):
    axis_of = {"left": (1, +1), "right": (1, -1), "above": (0, +1), "below": (0, -1)}  # (axis, order)
    for e in examples:
        found = _found_shapes(e["image"])
        assert e["caption"] in e["references"]
        for caption in e["references"]:
            shapes, relation = _read(caption)
            assert len(found) == len(shapes), (caption, found)
            if relation is None:
                assert [(c, k) for c, k, _ in found] == shapes
                continue
            axis, order = axis_of[relation]
            # "x left of y": x has the smaller column; "x below y": x has the larger row.
            in_order = sorted(found, key=lambda f: order * f[2][axis])
            assert [(c, k) for c, k, _ in in_order] == shapes, caption


def test_scenes_cover_counts_layouts_and_the_vocabulary(examples):
    counts = collections.Counter(len(_read(e["caption"])[0]) for e in examples)
    assert set(counts) == {1, 2, 3} and min(counts.values()) > N / 5
    relations = collections.Counter(_read(e["caption"])[1] for e in examples)
    assert all(relations[r] > N / 12 for r in ("left", "right", "above", "below"))
    for e in examples:  # two shapes or more: the caption read forwards and backwards
        assert len(e["references"]) == (1 if len(_read(e["caption"])[0]) == 1 else 2)
        assert len(set(e["references"])) == len(e["references"])
    vocab = Vocabulary.build([e["caption"] for e in examples])  # the release's tokenizer, min count 5
    assert sorted(vocab.words[1:]) == sorted(shape_captions.vocabulary_words())
