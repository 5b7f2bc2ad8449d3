"""COCO captions on LRCN's splits (zoo.data.text.coco_captions), on fake TFDS coco_captions datasets.

TFDS's builder would download 19 GB: the tests replace the function that asks TFDS for a split
and check what the loader asks for and what it makes of the records. The paper's splits
(Donahue thesis §4.4, papers/donahue_thesis_2017.md §3.3): train = COCO 2014 train; generation
on all of COCO 2014 val (Table 4.6); retrieval on a random 1000-image / 5000-caption val subset.
"""

import numpy as np
import pytest
from lrcn_fixtures import fake_coco_dataset

import zoo.data
from zoo.data.text import coco_captions
from zoo.errors import ConfigError, InputError
from zoo.text.vocab import EOS_ID, IGNORE, UNK_ID, Vocabulary

RNG = np.random.default_rng(0)


def image(h=30, w=40):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


TRAIN = [(9, image(), [(31, "A dog runs on the grass."), (30, "a dog on grass")]),
         (4, image(), [(12, "A cat sleeps on a dog"), (13, "A dog and a cat."), (11, "dog dog dog")])]
VAL = [(100 + i, image(8, 8), [(1000 + 10 * i + k, f"val caption {k} of {i} zebra") for k in (3, 1, 0, 2, 5, 4)])
       for i in range(25)]


@pytest.fixture
def fake_tfds(monkeypatch):
    """Replace TFDS coco_captions by the fakes above; record every (split, images) request."""
    calls = []

    def fake(split, *, images=True, **kwargs):
        calls.append((split, images))
        return fake_coco_dataset(TRAIN if split.startswith("train") else VAL)

    monkeypatch.setattr(coco_captions, "_tfds", fake)
    return calls


def test_pairs_follow_annotation_order_with_the_release_sequences():
    vocab = Vocabulary(["<unk>", "dog", "a", "on", "cat"])
    ds = coco_captions.caption_pairs(fake_coco_dataset(TRAIN).map(coco_captions.from_tfds_coco), vocab, max_words=6)
    pairs = list(ds.as_numpy_iterator())
    assert [(p["image_id"], p["caption"].decode()) for p in pairs] == [
        (9, "a dog on grass"), (9, "A dog runs on the grass."),
        (4, "dog dog dog"), (4, "A cat sleeps on a dog"), (4, "A dog and a cat.")]
    np.testing.assert_array_equal(pairs[1]["image"], TRAIN[0][1])
    # coco_to_hdf5_data.py: input [<eos>, w1..wn] padded with <eos>, target [w1..wn, <eos>] padded with -1,
    # words lower-cased, punctuation split off and a final "." dropped, unknown words -> <unk>.
    a, dog, on, unk = 3, 2, 4, UNK_ID
    np.testing.assert_array_equal(pairs[1]["words"], [EOS_ID, a, dog, unk, on, unk])
    np.testing.assert_array_equal(pairs[1]["targets"], [a, dog, unk, on, unk, unk])  # truncated: no <eos>
    np.testing.assert_array_equal(pairs[0]["targets"], [a, dog, on, unk, EOS_ID, IGNORE])


def test_val_is_all_of_coco_2014_val_and_the_vocabulary_comes_from_train(fake_tfds):
    ds = zoo.data.load("coco_captions", "val", image_size=None, crop=None)
    assert ("val+test+restval", True) in fake_tfds and ("train", False) in fake_tfds  # captions only, no JPEGs
    first = next(ds.as_numpy_iterator())
    assert first["image_id"] == 100 and first["caption"] == b"val caption 0 of 0 zebra"
    # "dog" occurs 7 times in the train captions (kept, min count 5); "zebra" only in val (-> <unk>).
    assert first["targets"][:4].tolist() == [UNK_ID, UNK_ID, UNK_ID, UNK_ID] and UNK_ID in first["words"]
    dog = zoo.data.load("coco_captions", "train", image_size=None, crop=None)
    assert any(2 in ex["words"] for ex in dog.as_numpy_iterator())  # id 2 = "dog", the most frequent word


def test_model_options_give_the_vocabulary_size_of_the_training_captions(fake_tfds, tmp_path):
    captions = [text for _, _, caps in TRAIN for _, text in caps]
    assert zoo.data.model_options("coco_captions") == {"vocab_size": len(Vocabulary.build(captions))}
    path = Vocabulary(["<unk>", "zebra", "val"]).save(tmp_path / "vocabulary.txt")
    assert zoo.data.model_options("coco_captions", vocabulary=str(path)) == {"vocab_size": 4}  # + <eos>


def test_retrieval_subset_is_1000_val_images_with_5_captions(fake_tfds, monkeypatch):
    # Table 4.5: "a randomly chosen subset of 1000 images (and 5000 captions)" of COCO 2014 val
    assert (coco_captions.RETRIEVAL_IMAGES, coco_captions.RETRIEVAL_CAPTIONS_PER_IMAGE) == (1000, 5)
    monkeypatch.setattr(coco_captions, "RETRIEVAL_IMAGES", 20)  # of the 25 fake val images
    ds = zoo.data.load("coco_captions", "retrieval_1k", pairs=False, image_size=None, crop=None)
    examples = list(ds.as_numpy_iterator())
    ids = [e["image_id"] for e in examples]
    assert ("val+test+restval", False) in fake_tfds  # the ids are read without decoding the JPEGs
    assert len(ids) == 20 and ids == sorted(ids)
    np.testing.assert_array_equal(ids, coco_captions.retrieval_image_ids(range(100, 125), 20, seed=0))
    assert all(len(e["captions"]) == 5 for e in examples)  # the first five by annotation id
    assert [c.decode() for c in examples[0]["captions"]] == [f"val caption {k} of {ids[0] - 100} zebra"
                                                              for k in range(5)]
    other = coco_captions.retrieval_image_ids(range(100, 125), 20, seed=1)
    assert set(other) != set(ids) and len(coco_captions.retrieval_image_ids(range(5000))) == 1000
    with pytest.raises(InputError, match="cannot draw 1000 retrieval images from 3"):
        coco_captions.retrieval_image_ids([1, 2, 3])


def test_images_resized_to_256_then_cropped_227_random_and_mirrored_for_training():
    pairs = fake_coco_dataset(TRAIN).map(coco_captions.from_tfds_coco)
    val = list(coco_captions.caption_images(pairs, training=False).as_numpy_iterator())
    import cv2  # an independent bilinear resize with half-pixel centers

    resized = cv2.resize(TRAIN[0][1], (256, 256), interpolation=cv2.INTER_LINEAR)
    assert val[0]["image"].shape == (227, 227, 3)
    assert np.abs(val[0]["image"].astype(int) - resized[14:241, 14:241]).max() <= 1
    # Training crops: a 40x40 image coded by position (channel 1 = 5x, channel 2 = 5y) is not resized
    # at image_size 40, so each 32x32 crop tells where it was taken and whether it was mirrored.
    y, x = np.mgrid[:40, :40]
    coded = np.stack([np.zeros_like(x), 5 * x, 5 * y], axis=-1).astype(np.uint8)

    def crops(seed):
        one = fake_coco_dataset([(1, coded, [(1, "a")])]).map(coco_captions.from_tfds_coco)
        ds = coco_captions.caption_images(one, training=True, seed=seed, image_size=40, crop=32)
        return [e["image"] for e in ds.repeat(12).as_numpy_iterator()]  # 12 epochs, new draws each

    found = set()
    for crop in crops(5):
        flipped = crop[0, 0, 1] > crop[0, -1, 1]
        top, left = crop[0, 0, 2] // 5, min(crop[0, 0, 1], crop[0, -1, 1]) // 5
        window = coded[top : top + 32, left : left + 32]
        np.testing.assert_array_equal(crop, window[:, ::-1] if flipped else window)
        found.add((top, left, flipped))
    assert len(found) >= 6 and {f[2] for f in found} == {False, True}
    assert all(np.array_equal(a, b) for a, b in zip(crops(5), crops(5), strict=True))  # a pure function of the seed
    assert not all(np.array_equal(a, b) for a, b in zip(crops(5), crops(6), strict=True))
    with pytest.raises(ConfigError, match="crop 300 is larger"):
        coco_captions.caption_images(pairs, training=False, crop=300)


def test_vocabulary_file_option_and_split_errors(tmp_path, fake_tfds):
    path = Vocabulary(["<unk>", "zebra", "val"]).save(tmp_path / "vocabulary.txt")
    first = next(zoo.data.load("coco_captions", "val", vocabulary=str(path), image_size=None, crop=None)
                 .as_numpy_iterator())
    np.testing.assert_array_equal(first["words"][:7], [EOS_ID, 3, UNK_ID, UNK_ID, UNK_ID, UNK_ID, 2])
    assert ("train", False) not in fake_tfds  # a given vocabulary needs no pass over train
    with pytest.raises(ConfigError, match="cannot be sliced"):
        zoo.data.load("coco_captions", "val[:10%]")
    with pytest.raises(ConfigError, match="one split at a time"):
        zoo.data.load("coco_captions", "train+val")
    info = zoo.data.info("coco_captions")
    assert set(info.splits) == {"train", "val", "retrieval_1k"} and info.splits["retrieval_1k"] == 5000
