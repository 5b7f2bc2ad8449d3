"""Flickr30k builder (zoo.data.text.flickr30k), end to end on a small copy of the original release:
flickr30k-images.tar.gz, results_20130124.token, and Karpathy's dataset_flickr30k.json split."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from lrcn_fixtures import FLICKR_SPLITS, flickr_captions, jpeg_bytes, write_flickr30k

import zoo.data
from zoo.data.text.flickr30k_builder import read_captions
from zoo.errors import CorruptRecordError, DatasetNotFoundError
from zoo.text.vocab import EOS_ID, Vocabulary

tfds.disable_progress_bar()
RAW = {"pairs": False, "image_size": None, "crop": None}  # the records as prepared


@pytest.fixture
def release(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    return manual_dir, write_flickr30k(manual_dir)


def load(split, tmp_path, manual_dir, **options):
    ds = zoo.data.load("flickr30k", split, data_dir=tmp_path / "tfds", manual_dir=manual_dir, **options)
    return list(ds.as_numpy_iterator())


def test_prepared_from_the_release_on_karpathys_split(tmp_path, release):
    manual_dir, truth = release
    for split, karpathy in (("train", "train"), ("validation", "val"), ("test", "test")):
        examples = load(split, tmp_path, manual_dir, **RAW)
        assert sorted(str(e["image_id"]) for e in examples) == sorted(FLICKR_SPLITS[karpathy])
        for e in examples:
            data, captions = truth[str(e["image_id"])]
            np.testing.assert_array_equal(e["image"], tf.io.decode_jpeg(data).numpy())  # the release's bytes
            assert [c.decode() for c in e["captions"]] == captions  # the token file's, #0 .. #4, untokenised
    info = zoo.data.info("flickr30k")
    assert info.splits["test"] == 5000 and "dataset_flickr30k.json" in info.instructions


def test_pairs_with_tokens_from_the_train_vocabulary(tmp_path, release):
    manual_dir, _ = release
    pairs = load("test", tmp_path, manual_dir, max_words=8)
    assert len(pairs) == 5 * len(FLICKR_SPLITS["test"]) and pairs[0]["image"].shape == (227, 227, 3)
    # Train captions: "a person number k walks past photo <id>" -> the 5-times words are known.
    vocab = Vocabulary.build(c for i in FLICKR_SPLITS["train"] for c in flickr_captions(i))
    first = pairs[0]
    np.testing.assert_array_equal(first["words"], vocab.sequences([first["caption"].decode()], 8)["input"][0])
    assert first["words"][0] == EOS_ID and vocab.id("person") == first["words"][2]
    given = zoo.data.model_options("flickr30k", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    assert given == {"vocab_size": len(vocab)}  # what a recipe's vocab_size = "data" becomes


def test_missing_files_say_what_to_download(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    (manual_dir / "results_20130124.token").write_text("1.jpg#0\ta caption\n")
    with pytest.raises(DatasetNotFoundError) as err:
        load("test", tmp_path, manual_dir)
    message = str(err.value)
    assert "flickr30k-images.tar.gz" in message and "dataset_flickr30k.json" in message
    assert "caption_datasets.zip" in message and "results_20130124.token, " not in message


def test_corrupt_photo_and_photo_missing_from_the_archive(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    broken = FLICKR_SPLITS["test"][1]
    good = jpeg_bytes(np.zeros((20, 20, 3), np.uint8))
    splits = {**FLICKR_SPLITS, "test": FLICKR_SPLITS["test"] + ["999999"]}  # listed, not in the tar
    write_flickr30k(manual_dir, overrides={broken: good[: len(good) // 2]}, split_override=splits)
    with pytest.raises(CorruptRecordError, match=f"flickr30k-images/{broken}.jpg"):
        load("test", tmp_path, manual_dir, **RAW)
    counter = zoo.data.CorruptCounter()
    kept = load("test", tmp_path, manual_dir, on_corrupt="skip", counter=counter, **RAW)
    assert [str(e["image_id"]) for e in kept] == [FLICKR_SPLITS["test"][0]]
    assert counter.count == 2 and any("999999" in n for n in counter.names)


def test_malformed_token_line_is_named(tmp_path):
    path = tmp_path / "results_20130124.token"
    path.write_text("1000092795.jpg#0\tTwo young guys.\n1000092795.jpg 1 no tab\n")
    with pytest.raises(CorruptRecordError, match="line 2 is not"):
        read_captions(path)
