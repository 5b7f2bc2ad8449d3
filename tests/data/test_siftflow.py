"""SIFT Flow (siftflow), end to end on a small SiftFlowDataset.zip in the original layout (rgbd_archives.py)."""

import io

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image
from rgbd_archives import SIFTFLOW_TEST, SIFTFLOW_TRAIN, jpeg_bytes, mat_bytes, write_siftflow

import zoo.data
from zoo.errors import CorruptRecordError, DatasetNotFoundError

tfds.disable_progress_bar()
FOLDER = "spatial_envelope_256x256_static_8outdoorcategories"


def load_all(split, data_dir, manual_dir, **kwargs):
    ds = zoo.data.load("siftflow", split, data_dir=data_dir, manual_dir=manual_dir, **kwargs)
    return {ex["id"].decode(): ex for ex in ds.as_numpy_iterator()}


@pytest.fixture
def manual_dir(tmp_path):
    path = tmp_path / "manual"
    path.mkdir()
    return path


@pytest.mark.parametrize("root", ["", "SiftFlowDataset/"])
def test_prepared_from_the_original_zip(tmp_path, manual_dir, root):
    truth = write_siftflow(manual_dir, root=root)
    train = load_all("train", tmp_path / "tfds", manual_dir)
    test = load_all("test", tmp_path / "tfds", manual_dir)
    assert sorted(train) == sorted(SIFTFLOW_TRAIN) and sorted(test) == sorted(SIFTFLOW_TEST)  # unlisted left out
    for name, ex in {**train, **test}.items():
        jpeg, semantic, geometric = truth[name]
        np.testing.assert_array_equal(ex["image"], tf.io.decode_jpeg(jpeg).numpy())  # stored as it was
        pil = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=int)
        assert np.abs(ex["image"].astype(int) - pil).mean() < 3
        # siftflow_layers.py: semantic 0 -> 255, 1-33 -> 0-32; geometric -1 -> 255, 1-3 -> 0-2.
        assert ex["segmentation"].dtype == np.uint8 and ex["segmentation"].shape == (16, 20)
        np.testing.assert_array_equal(ex["segmentation"], np.where(semantic == 0, 255, semantic - 1))
        np.testing.assert_array_equal(ex["geometry"], np.where(geometric == -1, 255, geometric - 1))
        assert np.all(ex["segmentation"][0] == 255) and np.all(ex["segmentation"][1, :2] == 32)  # "window"
        assert np.all(ex["geometry"][-1] == 255) and set(np.unique(ex["geometry"])) == {0, 1, 2, 255}


def test_info_and_element_spec(tmp_path, manual_dir):
    from zoo.data.segmentation import siftflow

    info = zoo.data.info("siftflow")
    assert info.num_classes == 33 and info.class_names[0] == "awning" and info.class_names[32] == "window"
    assert info.splits == {"train": 2488, "test": 200} and info.ignore_label == 255  # thesis §3.4.2
    assert siftflow.GEOMETRIC_CLASSES == ("sky", "horizontal", "vertical")  # the order of labels 1, 2, 3
    assert {siftflow.SEMANTIC_CLASSES.index(c) for c in siftflow.ABSENT_FROM_TEST} == {8, 10, 15}
    write_siftflow(manual_dir)
    spec = zoo.data.load("siftflow", "test", data_dir=tmp_path / "tfds", manual_dir=manual_dir).element_spec
    assert spec["image"].shape.as_list() == [None, None, 3] and spec["image"].dtype == tf.uint8
    for key in ("segmentation", "geometry"):
        assert spec[key].shape.as_list() == [None, None] and spec[key].dtype == tf.uint8


def test_missing_files_say_what_to_download_and_where(tmp_path, manual_dir):
    with pytest.raises(DatasetNotFoundError) as err:
        load_all("train", tmp_path / "tfds", manual_dir)
    message = str(err.value)
    assert "SiftFlowDataset.zip, sift-flow/trainval.txt, sift-flow/test.txt are not in the manual_dir" in message
    assert "http://www.cs.unc.edu/~jtighe/Papers/ECCV10/siftflow/SiftFlowDataset.zip" in message
    assert "fcn.berkeleyvision.org/blob/master/data/sift-flow/test.txt" in message
    assert str(manual_dir) in message and "python -m zoo.data prepare siftflow" in message


def test_corrupt_members_are_named_or_skipped(tmp_path, manual_dir):
    overrides = {
        f"Images/{FOLDER}/{SIFTFLOW_TRAIN[1]}.jpg": jpeg_bytes(np.zeros((16, 20, 3), np.uint8))[:200],
        f"GeoLabels/{FOLDER}/{SIFTFLOW_TRAIN[2]}.mat": None,  # not in the zip
    }
    write_siftflow(manual_dir, overrides=overrides)
    with pytest.raises(CorruptRecordError, match=f"Images/{FOLDER}/{SIFTFLOW_TRAIN[1]}.jpg is not a decodable image"):
        load_all("train", tmp_path / "tfds", manual_dir)

    counter = zoo.data.CorruptCounter()
    train = load_all("train", tmp_path / "tfds2", manual_dir, on_corrupt="skip", counter=counter)
    assert list(train) == [SIFTFLOW_TRAIN[0]] and counter.count == 2
    assert sorted(n.rsplit(":", 1)[1] for n in counter.names) == sorted(SIFTFLOW_TRAIN[1:])
    assert sorted(load_all("test", tmp_path / "tfds2", manual_dir)) == sorted(SIFTFLOW_TEST)  # no hole there
    with pytest.raises(CorruptRecordError, match="prepared with on_corrupt='skip'"):
        load_all("train", tmp_path / "tfds2", manual_dir)


def test_missing_label_file_is_named(tmp_path, manual_dir):
    write_siftflow(manual_dir, overrides={f"GeoLabels/{FOLDER}/{SIFTFLOW_TEST[0]}.mat": None})
    member = f"GeoLabels/{FOLDER}/{SIFTFLOW_TEST[0]}.mat"
    with pytest.raises(CorruptRecordError, match=f"SiftFlowDataset.zip has no member {member}"):
        load_all("test", tmp_path / "tfds", manual_dir)


@pytest.mark.parametrize(
    "folder, value", [("SemanticLabels", 34), ("SemanticLabels", 255), ("GeoLabels", 4), ("GeoLabels", -2)]
)
def test_label_outside_the_classes(tmp_path, manual_dir, folder, value):
    labels = np.ones((16, 20))
    labels[3, 3] = value  # semantic: past the 33 classes (255 is no void here); geometric: past vertical, below void
    member = f"{folder}/{FOLDER}/{SIFTFLOW_TEST[1]}.mat"
    write_siftflow(manual_dir, overrides={member: mat_bytes(labels)})
    with pytest.raises(CorruptRecordError, match=rf"{member} has label values \[{value}\]"):
        load_all("test", tmp_path / "tfds", manual_dir)


def test_split_lists_are_checked(tmp_path, manual_dir):
    write_siftflow(manual_dir)
    (manual_dir / "sift-flow" / "test.txt").write_text("<!DOCTYPE html>\n<html>\n")  # a saved GitHub page
    with pytest.raises(CorruptRecordError, match="test.txt should list SIFT Flow image names"):
        load_all("test", tmp_path / "tfds", manual_dir)
    (manual_dir / "sift-flow" / "test.txt").write_text(f"{SIFTFLOW_TRAIN[0]}\n")
    with pytest.raises(CorruptRecordError, match="share images"):
        load_all("test", tmp_path / "tfds", manual_dir)
    (manual_dir / "sift-flow" / "test.txt").write_text("coast_notinzip1\n")
    with pytest.raises(CorruptRecordError, match="has no member Images/.*coast_notinzip1.jpg"):
        load_all("test", tmp_path / "tfds", manual_dir)
