"""PASCAL VOC segmentation builders, end to end on small tars in the original layout."""

import io

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image
from voc_archives import VOC_TRAIN, VOC_VAL, jpeg_bytes, voc_label_png, write_voc_tar

import zoo.data
from zoo.errors import CorruptRecordError, DatasetNotFoundError

tfds.disable_progress_bar()


def load_all(name, split, tmp_path, manual_dir, **kwargs):
    ds = zoo.data.load(name, split, data_dir=tmp_path / "tfds", manual_dir=manual_dir, **kwargs)
    return {ex["id"].decode(): ex for ex in ds.as_numpy_iterator()}


def test_voc2012_prepared_from_the_original_layout(tmp_path, voc2012_tar):
    manual_dir, truth = voc2012_tar
    train = load_all("voc2012_segmentation", "train", tmp_path, manual_dir)
    val = load_all("voc2012_segmentation", "validation", tmp_path, manual_dir)
    assert sorted(train) == sorted(VOC_TRAIN) and sorted(val) == sorted(VOC_VAL)
    seen = set()
    for image_id, ex in {**train, **val}.items():
        data, labels = truth[image_id]
        assert ex["image"].dtype == np.uint8 and ex["segmentation"].dtype == np.uint8
        # The JPEG is stored as it was in the tar: TensorFlow's decode of the original bytes.
        np.testing.assert_array_equal(ex["image"], tf.io.decode_jpeg(data).numpy())
        pil = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)
        assert np.abs(ex["image"].astype(int) - pil).mean() < 3  # another decoder agrees
        np.testing.assert_array_equal(ex["segmentation"], labels)  # palette indices, 255 kept
        seen.update(np.unique(ex["segmentation"]).tolist())
    assert 255 in seen and 0 in seen and len(seen) > 3
    # Order is fixed: a second load yields the same sequence.
    again = zoo.data.load("voc2012_segmentation", "train", data_dir=tmp_path / "tfds")
    assert [ex["id"].decode() for ex in again.as_numpy_iterator()] == list(train)


def test_element_spec():
    info = zoo.data.info("voc2012_segmentation")
    assert info.num_classes == 21 and info.class_names[0] == "background" and info.class_names[-1] == "tvmonitor"
    assert info.splits == {"train": 1464, "validation": 1449} and info.ignore_label == 255
    assert not info.is_standin


def test_element_spec_of_loaded_split(tmp_path, voc2012_tar):
    manual_dir, _ = voc2012_tar
    ds = zoo.data.load("voc2012_segmentation", "validation", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    spec = ds.element_spec
    assert spec["image"].shape.as_list() == [None, None, 3] and spec["image"].dtype == tf.uint8
    assert spec["segmentation"].shape.as_list() == [None, None] and spec["segmentation"].dtype == tf.uint8


def test_missing_archive_says_what_to_download_and_where(tmp_path):
    manual_dir = tmp_path / "empty_manual"
    with pytest.raises(DatasetNotFoundError) as err:
        zoo.data.load("voc2012_segmentation", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    message = str(err.value)
    assert "VOCtrainval_11-May-2012.tar" in message
    assert "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar" in message
    assert str(manual_dir) in message
    assert "python -m zoo.data prepare voc2012_segmentation" in message
    assert not (tmp_path / "tfds" / "voc2012_segmentation" / "1.0.0").exists()  # nothing half-prepared


def test_missing_archive_with_default_manual_dir(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "tfds" / "downloads" / "manual")):
        zoo.data.load("voc2012_segmentation", "train", data_dir=tmp_path / "tfds")


def test_corrupt_jpeg_raises_naming_the_member(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    good = jpeg_bytes(np.zeros((30, 30, 3), np.uint8))
    overrides = {f"JPEGImages/{VOC_TRAIN[1]}.jpg": good[: len(good) // 2]}
    write_voc_tar(
        manual_dir / "VOCtrainval_11-May-2012.tar", "VOCdevkit/VOC2012/", VOC_TRAIN, VOC_VAL, overrides=overrides
    )
    with pytest.raises(CorruptRecordError, match=f"VOCdevkit/VOC2012/JPEGImages/{VOC_TRAIN[1]}.jpg"):
        zoo.data.load("voc2012_segmentation", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)

    counter = zoo.data.CorruptCounter()
    train = load_all("voc2012_segmentation", "train", tmp_path, manual_dir, on_corrupt="skip", counter=counter)
    assert sorted(train) == sorted(set(VOC_TRAIN) - {VOC_TRAIN[1]})
    assert counter.count == 1 and counter.names[0].endswith(VOC_TRAIN[1])
    # Loading the prepared split again reports the hole again, and refuses it under "raise".
    counter = zoo.data.CorruptCounter()
    load_all("voc2012_segmentation", "train", tmp_path, manual_dir, on_corrupt="skip", counter=counter)
    assert counter.count == 1
    val = load_all("voc2012_segmentation", "validation", tmp_path, manual_dir)  # no holes there
    assert sorted(val) == sorted(VOC_VAL)
    with pytest.raises(CorruptRecordError, match="prepared with on_corrupt='skip'"):
        zoo.data.load("voc2012_segmentation", "train", data_dir=tmp_path / "tfds")


def test_label_outside_the_classes_raises_naming_the_png(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    labels = np.zeros((24, 24), np.uint8)
    labels[5:9, 5:9] = 21  # one past tvmonitor (20), and not 255
    image_id = VOC_VAL[0]
    overrides = {
        f"SegmentationClass/{image_id}.png": voc_label_png(labels),
        f"JPEGImages/{image_id}.jpg": jpeg_bytes(np.zeros((24, 24, 3), np.uint8)),
    }
    write_voc_tar(
        manual_dir / "VOCtrainval_11-May-2012.tar", "VOCdevkit/VOC2012/", VOC_TRAIN, VOC_VAL, overrides=overrides
    )
    with pytest.raises(CorruptRecordError, match=rf"SegmentationClass/{image_id}.png has label values \[21\]"):
        zoo.data.load("voc2012_segmentation", "validation", data_dir=tmp_path / "tfds", manual_dir=manual_dir)


def test_truncated_archive_raises_naming_it(tmp_path, voc2012_tar):
    manual_dir, _ = voc2012_tar
    tar = manual_dir / "VOCtrainval_11-May-2012.tar"
    tar.write_bytes(tar.read_bytes()[:3000])
    with pytest.raises(CorruptRecordError, match="VOCtrainval_11-May-2012.tar"):
        zoo.data.load("voc2012_segmentation", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)


@pytest.fixture
def voc2011_dir(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    val = ["2007_000033", "2007_000042", "2008_000073", "2010_000038"]
    # The 2011 tar nests the devkit under TrainVal/.
    truth = write_voc_tar(manual_dir / "VOCtrainval_25-May-2011.tar", "TrainVal/VOCdevkit/VOC2011/", VOC_TRAIN, val)
    return manual_dir, truth, val


def test_voc2011_and_seg11valid(tmp_path, voc2011_dir):
    manual_dir, truth, val = voc2011_dir
    assert sorted(load_all("voc2011_segmentation", "validation", tmp_path, manual_dir)) == sorted(val)
    with pytest.raises(DatasetNotFoundError, match="seg11valid.txt.*fcn.berkeleyvision.org"):
        zoo.data.load("voc2011_segmentation", "seg11valid", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    listed = [val[0], val[2]]  # seg11valid: val minus SBD train
    (manual_dir / "seg11valid.txt").write_text("\n".join(listed) + "\n")
    ds = zoo.data.load("voc2011_segmentation", "seg11valid", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    assert int(ds.cardinality()) == 2
    got = {ex["id"].decode(): ex for ex in ds.as_numpy_iterator()}
    assert sorted(got) == sorted(listed)
    np.testing.assert_array_equal(got[val[2]]["segmentation"], truth[val[2]][1])


def test_seg11valid_list_must_match_validation(tmp_path, voc2011_dir):
    manual_dir, _, val = voc2011_dir
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"{val[0]}\n2011_999999\n")
    with pytest.raises(CorruptRecordError, match="wrong.txt lists 1 id"):
        zoo.data.load(
            "voc2011_segmentation",
            "seg11valid",
            data_dir=tmp_path / "tfds",
            manual_dir=manual_dir,
            seg11valid_list=wrong,
        )
    wrong.write_text("<html>not found</html>\n")  # a saved GitHub page instead of the raw file
    with pytest.raises(CorruptRecordError, match="VOC image ids"):
        zoo.data.load(
            "voc2011_segmentation",
            "seg11valid",
            data_dir=tmp_path / "tfds",
            manual_dir=manual_dir,
            seg11valid_list=wrong,
        )


def test_prepare_command_then_load_without_manual_dir(tmp_path, voc2012_tar, capsys):
    from zoo.data.__main__ import main

    manual_dir, truth = voc2012_tar
    data_dir = tmp_path / "tfds"
    assert main(["prepare", "voc2012_segmentation", "--manual_dir", str(manual_dir), "--data_dir", str(data_dir)]) == 0
    assert "voc2012_segmentation is prepared" in capsys.readouterr().out
    (manual_dir / "VOCtrainval_11-May-2012.tar").unlink()  # the prepared copy no longer needs it
    val = zoo.data.load("voc2012_segmentation", "validation", data_dir=data_dir)
    assert sorted(ex["id"].decode() for ex in val.as_numpy_iterator()) == sorted(VOC_VAL)
    assert main(["prepare", "voc2011_segmentation", "--data_dir", str(data_dir)]) == 1
    assert "VOCtrainval_25-May-2011.tar" in capsys.readouterr().err
