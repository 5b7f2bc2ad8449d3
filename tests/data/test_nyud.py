"""NYUDv2 (nyud_v2), end to end on tiny files in the original formats (rgbd_archives.py)."""

import h5py
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from rgbd_archives import png_bytes, write_class_mapping, write_nyud, write_nyud_splits

import zoo.data
from zoo.data.segmentation import hha, nyud
from zoo.errors import CorruptRecordError, DatasetNotFoundError

tfds.disable_progress_bar()


def load_all(split, data_dir, manual_dir, **kwargs):
    ds = zoo.data.load("nyud_v2", split, data_dir=data_dir, manual_dir=manual_dir, **kwargs)
    return {ex["id"].decode(): ex for ex in ds.as_numpy_iterator()}


@pytest.fixture
def nyud_dir(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    return manual_dir, write_nyud(manual_dir)


def test_prepared_from_the_original_files(tmp_path, nyud_dir):
    manual_dir, truth = nyud_dir
    train = load_all("train", tmp_path / "tfds", manual_dir)
    test = load_all("test", tmp_path / "tfds", manual_dir)
    # splits.mat: train (2, 4, 5), test (1, 3), 1-based; ids are 5000 + index as in the FCN lists.
    assert sorted(train) == ["5002", "5004", "5005"] and sorted(test) == ["5001", "5003"]
    for image_id, ex in {**train, **test}.items():
        i = int(image_id) - 5001  # 0-based row of the arrays written
        assert ex["image"].shape == (12, 16, 3)  # the HDF5 (N, 3, W, H) read back as (H, W, 3)
        np.testing.assert_array_equal(ex["image"], truth["images"][i])
        assert ex["depth"].dtype == np.uint16 and ex["depth"].shape == (12, 16, 1)
        assert tuple(ex["depth"][2, 3:5, 0]) == (2500, 750)  # metres to millimetres
        np.testing.assert_array_equal(ex["depth"][..., 0], np.round(truth["depths_m"][i].astype(np.float64) * 1000))
        # Gupta's mapping, then the reference's shift: raw 0 -> 255, raw k -> mapClass[k-1] - 1.
        mapping = {0: 255, **{k: int(truth["map_class"][k - 1]) - 1 for k in range(1, 895)}}
        expected = np.vectorize(mapping.get)(truth["labels"][i])
        assert ex["segmentation"].dtype == np.uint8 and ex["segmentation"].shape == (12, 16)
        np.testing.assert_array_equal(ex["segmentation"], expected)
        assert np.all(ex["segmentation"][0] == 255)
        assert np.all(ex["segmentation"][1, :3] == truth["map_class"][893] - 1)
        # HHA from the depth in mm, the raw depth's zeros marking what is missing.
        depth_mm = ex["depth"][..., 0]
        np.testing.assert_array_equal(ex["hha"], hha.hha(depth_mm, missing=truth["raw_depths_m"][i] == 0))
        assert not np.array_equal(ex["hha"], hha.hha(depth_mm))  # the raw depth made a difference
    # Order is fixed: a second load yields the same sequence.
    again = zoo.data.load("nyud_v2", "train", data_dir=tmp_path / "tfds")
    assert [ex["id"].decode() for ex in again.as_numpy_iterator()] == list(train)


def test_info_and_element_spec(tmp_path, nyud_dir):
    info = zoo.data.info("nyud_v2")
    assert info.num_classes == 40 and info.class_names[:3] == ("wall", "floor", "cabinet")
    assert info.class_names[-1] == "otherprop" and info.ignore_label == 255
    assert info.splits == {"train": 795, "test": 654}  # thesis §3.4.2
    assert nyud.hha_png_name(1) == "img_5001.png" and nyud.hha_png_name(1449) == "img_6449.png"
    manual_dir, _ = nyud_dir
    spec = zoo.data.load("nyud_v2", "test", data_dir=tmp_path / "tfds", manual_dir=manual_dir).element_spec
    assert {k: (v.shape.as_list(), v.dtype) for k, v in spec.items() if k != "id"} == {
        "image": ([None, None, 3], tf.uint8),
        "depth": ([None, None, 1], tf.uint16),
        "hha": ([None, None, 3], tf.uint8),
        "segmentation": ([None, None], tf.uint8),
    }


def test_precomputed_hha_pngs(tmp_path, nyud_dir):
    manual_dir, truth = nyud_dir
    hha_dir = tmp_path / "hha"
    hha_dir.mkdir()
    rng = np.random.default_rng(1)
    pngs = {}
    for index in range(1, 6):
        pngs[str(5000 + index)] = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        (hha_dir / f"img_{5000 + index}.png").write_bytes(png_bytes(pngs[str(5000 + index)]))
    test = load_all("test", tmp_path / "tfds", manual_dir, hha_dir=hha_dir)
    assert sorted(test) == ["5001", "5003"]
    for image_id, ex in test.items():
        np.testing.assert_array_equal(ex["hha"], pngs[image_id])
        np.testing.assert_array_equal(ex["image"], truth["images"][int(image_id) - 5001])
    # The computed HHA is prepared apart from the PNGs, so neither replaces the other.
    computed = load_all("test", tmp_path / "tfds", manual_dir)
    assert not np.array_equal(computed["5001"]["hha"], pngs["5001"])
    assert np.array_equal(load_all("test", tmp_path / "tfds", manual_dir, hha_dir=hha_dir)["5001"]["hha"], pngs["5001"])

    (hha_dir / "img_5003.png").unlink()
    with pytest.raises(CorruptRecordError, match="img_5003.png is missing"):
        load_all("test", tmp_path / "tfds2", manual_dir, hha_dir=hha_dir)
    with pytest.raises(DatasetNotFoundError, match="hha_dir .*nowhere is not a folder"):
        load_all("test", tmp_path / "tfds3", manual_dir, hha_dir=tmp_path / "nowhere")


def test_missing_files_say_what_to_download_and_where(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    write_nyud_splits(manual_dir / "splits.mat", [1], [2])
    with pytest.raises(DatasetNotFoundError) as err:
        load_all("train", tmp_path / "tfds", manual_dir)
    message = str(err.value)
    assert "nyu_depth_v2_labeled.mat, classMapping40.mat are not in the manual_dir" in message
    assert "http://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat" in message
    assert "github.com/ankurhanda/nyuv2-meta-data/raw/master/classMapping40.mat" in message
    assert str(manual_dir) in message and "python -m zoo.data prepare nyud_v2" in message


def test_corrupt_files_are_named(tmp_path, nyud_dir):
    manual_dir, truth = nyud_dir
    labeled = manual_dir / "nyu_depth_v2_labeled.mat"
    good = labeled.read_bytes()
    labeled.write_bytes(good[:300])  # a download cut short inside the header
    with pytest.raises(CorruptRecordError, match=r"nyu_depth_v2_labeled.mat is not a MATLAB v7.3 \(HDF5\) file"):
        load_all("train", tmp_path / "tfds", manual_dir)
    labeled.write_bytes(good)

    write_nyud_splits(manual_dir / "splits.mat", [2, 4, 6], [1, 3])  # only 5 images
    with pytest.raises(CorruptRecordError, match=r"splits.mat: trainNdxs should hold 1-based indices .*found \[6\]"):
        load_all("train", tmp_path / "tfds", manual_dir)
    write_nyud_splits(manual_dir / "splits.mat", [2, 4, 5], [1, 3])

    write_class_mapping(manual_dir / "classMapping40.mat", truth["map_class"], key="mapping")
    with pytest.raises(CorruptRecordError, match="classMapping40.mat should hold a variable mapClass"):
        load_all("train", tmp_path / "tfds", manual_dir)
    write_class_mapping(manual_dir / "classMapping40.mat", truth["map_class"][:40])
    with pytest.raises(CorruptRecordError, match="mapClass should map the 894 NYUDv2 classes"):
        load_all("train", tmp_path / "tfds", manual_dir)


def test_label_outside_the_894_classes_is_a_corrupt_record(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    write_nyud(manual_dir)
    with h5py.File(manual_dir / "nyu_depth_v2_labeled.mat", "r+") as f:
        f["labels"][2, 5, 5] = 900  # image 3 (test)
    with pytest.raises(CorruptRecordError, match=r"labels of image 3: labels hold values \[900\] outside 0-894"):
        load_all("test", tmp_path / "tfds", manual_dir)
    counter = zoo.data.CorruptCounter()
    test = load_all("test", tmp_path / "tfds", manual_dir, on_corrupt="skip", counter=counter)
    assert sorted(test) == ["5001"] and counter.count == 1 and counter.names[0].endswith(":5003")
    assert sorted(load_all("train", tmp_path / "tfds", manual_dir)) == ["5002", "5004", "5005"]  # no hole there
