"""Flickr8k builder (zoo.data.text.flickr8k), end to end on a small copy of the original release:
Flickr8k_Dataset.zip (Flicker8k_Dataset/<name>.jpg) and Flickr8k_text.zip (Flickr8k.token.txt and the
official split lists)."""

import zipfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from lrcn_fixtures import jpeg_bytes

import zoo.data
from zoo.errors import CorruptRecordError

tfds.disable_progress_bar()
RAW = {"pairs": False, "image_size": None, "crop": None}
SPLITS = {"train": ["1000268201_693b08cb0e", "1001773457_577c3a7d70", "1002674143_1b742ab4b8"],
          "validation": ["2513260012_03d33305cf"], "test": ["3385593926_d3e9c21170", "2903617548_d3e38d7f88"]}
LIST_FILES = {"train": "Flickr_8k.trainImages.txt", "validation": "Flickr_8k.devImages.txt",
              "test": "Flickr_8k.testImages.txt"}


def write_release(manual_dir, *, drop_photo=None, bad_token_line=False):
    rng = np.random.default_rng(0)
    truth, tokens = {}, []
    with zipfile.ZipFile(manual_dir / "Flickr8k_Dataset.zip", "w") as z:
        for name in sorted(n for names in SPLITS.values() for n in names):
            data = jpeg_bytes(rng.integers(0, 256, (24, 30, 3), dtype=np.uint8), quality=95)
            captions = [f"photo {name[:4]} caption {k} ." for k in range(5)]
            truth[name] = (data, captions)
            tokens += [f"{name}.jpg#{k}\t{c}" for k, c in enumerate(captions)]
            if name != drop_photo:
                z.writestr(f"Flicker8k_Dataset/{name}.jpg", data)
    if bad_token_line:
        tokens.append("not a token line")
    with zipfile.ZipFile(manual_dir / "Flickr8k_text.zip", "w") as z:
        z.writestr("Flickr8k.token.txt", "\n".join(tokens) + "\n")
        for split, names in SPLITS.items():
            z.writestr(LIST_FILES[split], "".join(f"{n}.jpg\n" for n in names))
    return truth


def load(split, tmp_path, manual_dir, **options):
    return list(zoo.data.load("flickr8k", split, data_dir=tmp_path / "tfds", manual_dir=manual_dir,
                              **options).as_numpy_iterator())


def test_prepared_from_the_release_on_the_official_split(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    truth = write_release(manual)
    for split, names in SPLITS.items():
        examples = load(split, tmp_path, manual, **RAW)
        assert sorted(int(e["image_id"]) for e in examples) == sorted(int(n.split("_")[0]) for n in names)
        by_id = {int(n.split("_")[0]): n for n in names}
        for e in examples:
            data, captions = truth[by_id[int(e["image_id"])]]
            np.testing.assert_array_equal(e["image"], tf.io.decode_jpeg(data).numpy())
            assert [c.decode() for c in e["captions"]] == captions
    pairs = load("train", tmp_path, manual)  # the default: (image, caption) pairs with the train vocabulary
    assert len(pairs) == 15 and pairs[0]["image"].shape == (227, 227, 3)


def test_a_listed_photo_missing_from_the_archive_is_named_or_skipped(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    write_release(manual, drop_photo="3385593926_d3e9c21170")
    with pytest.raises(CorruptRecordError, match="3385593926_d3e9c21170 of split test"):
        load("test", tmp_path, manual, **RAW)
    assert len(load("test", tmp_path / "skip", manual, on_corrupt="skip", **RAW)) == 1


def test_a_malformed_token_file_is_named(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    write_release(manual, bad_token_line=True)
    with pytest.raises(CorruptRecordError, match="Flickr8k.token.txt line 31"):
        load("train", tmp_path, manual, **RAW)
