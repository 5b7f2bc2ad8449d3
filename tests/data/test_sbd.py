"""SBD builder, end to end on a small benchmark.tgz in the original layout (fcn_archives.py)."""

import io

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from fcn_archives import SBD_TRAIN, SBD_VAL, mat_bytes, sbd_cls_mat, write_sbd_tgz
from PIL import Image
from voc_archives import jpeg_bytes

import zoo.data
from zoo.errors import CorruptRecordError, DatasetNotFoundError

tfds.disable_progress_bar()


def load_all(split, tmp_path, manual_dir, **kwargs):
    ds = zoo.data.load("sbd", split, data_dir=tmp_path / "tfds", manual_dir=manual_dir, **kwargs)
    return {ex["id"].decode(): ex for ex in ds.as_numpy_iterator()}


@pytest.fixture
def manual_dir(tmp_path):
    path = tmp_path / "manual"
    path.mkdir()
    return path


def test_info_matches_the_release():
    info = zoo.data.info("sbd")
    # SBD train 8,498 (FCN's data/pascal/README.md; Long thesis §3.3.7), val 2,857.
    assert info.splits == {"train": 8498, "validation": 2857}
    assert info.class_names == zoo.data.info("voc2012_segmentation").class_names and info.num_classes == 21
    assert info.ignore_label == 255 and not info.is_standin and info.task == "segmentation"
    assert "benchmark.tgz" in info.instructions


def test_sbd_prepared_from_benchmark_tgz(tmp_path, manual_dir):
    truth = write_sbd_tgz(manual_dir / "benchmark.tgz")
    train = load_all("train", tmp_path, manual_dir)
    val = load_all("validation", tmp_path, manual_dir)
    assert sorted(train) == sorted(SBD_TRAIN) and sorted(val) == sorted(SBD_VAL)
    seen = set()
    for image_id, ex in {**train, **val}.items():
        data, labels = truth[image_id]
        assert ex["image"].dtype == np.uint8 and ex["segmentation"].dtype == np.uint8
        np.testing.assert_array_equal(ex["image"], tf.io.decode_jpeg(data).numpy())  # the original bytes, stored
        pil = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)
        assert np.abs(ex["image"].astype(int) - pil).mean() < 3  # another decoder agrees
        np.testing.assert_array_equal(ex["segmentation"], labels)  # GTcls.Segmentation as written
        seen.update(np.unique(ex["segmentation"]).tolist())
    assert {0, 1, 20} <= seen and len(seen) > 4 and max(seen) <= 20
    # Same keys and shapes as voc2012_segmentation, so recipes can swap one for the other.
    spec = zoo.data.load("sbd", "train", data_dir=tmp_path / "tfds").element_spec
    assert set(spec) == {"id", "image", "segmentation"}
    assert spec["image"].shape.as_list() == [None, None, 3] and spec["segmentation"].shape.as_list() == [None, None]
    again = zoo.data.load("sbd", "train", data_dir=tmp_path / "tfds")
    assert [ex["id"].decode() for ex in again.as_numpy_iterator()] == list(train)  # fixed order


def test_missing_archive_says_what_to_download_and_where(tmp_path, manual_dir):
    with pytest.raises(DatasetNotFoundError) as err:
        zoo.data.load("sbd", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    message = str(err.value)
    assert "benchmark.tgz" in message and str(manual_dir) in message
    assert (
        "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz" in message
    )
    assert "python -m zoo.data prepare sbd" in message


def test_corrupt_mat_raises_naming_it_or_is_skipped_and_counted(tmp_path, manual_dir):
    bad = SBD_TRAIN[1]
    good = sbd_cls_mat(np.zeros((24, 24), np.uint8))
    write_sbd_tgz(manual_dir / "benchmark.tgz", overrides={f"cls/{bad}.mat": good[: len(good) // 2]})
    with pytest.raises(CorruptRecordError, match=rf"benchmark_RELEASE/dataset/cls/{bad}\.mat is not a readable MATLAB"):
        zoo.data.load("sbd", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)

    counter = zoo.data.CorruptCounter()
    train = load_all("train", tmp_path, manual_dir, on_corrupt="skip", counter=counter)
    assert sorted(train) == sorted(set(SBD_TRAIN) - {bad})
    assert counter.count == 1 and counter.names[0].endswith(bad)
    assert sorted(load_all("validation", tmp_path, manual_dir)) == sorted(SBD_VAL)  # no holes there
    with pytest.raises(CorruptRecordError, match="prepared with on_corrupt='skip'"):
        zoo.data.load("sbd", "train", data_dir=tmp_path / "tfds")


def test_missing_or_malformed_files_are_skipped_with_their_names(tmp_path, manual_dir):
    missing_mat, wrong_struct, missing_jpeg = SBD_TRAIN
    overrides = {
        f"cls/{missing_mat}.mat": None,
        f"cls/{wrong_struct}.mat": mat_bytes({"GTinst": {"Segmentation": np.zeros((24, 24), np.uint8)}}),
        f"img/{missing_jpeg}.jpg": None,
    }
    train = [*SBD_TRAIN, "2011_000001"]  # one good record: TFDS refuses an empty split
    write_sbd_tgz(manual_dir / "benchmark.tgz", train, overrides=overrides)
    counter = zoo.data.CorruptCounter()
    assert list(load_all("train", tmp_path, manual_dir, on_corrupt="skip", counter=counter)) == ["2011_000001"]
    assert counter.count == 3 and sorted(n.rsplit(":", 1)[1] for n in counter.names) == sorted(SBD_TRAIN)
    # Under "raise" each one stops the preparation with a message naming the file.
    for i, (member, expected) in enumerate(
        [
            (f"cls/{missing_mat}.mat", f"has no member benchmark_RELEASE/dataset/cls/{missing_mat}.mat"),
            (
                f"cls/{wrong_struct}.mat",
                f"cls/{wrong_struct}.mat should hold a variable GTcls; its variables are: GTinst",
            ),
            (f"img/{missing_jpeg}.jpg", f"has no member benchmark_RELEASE/dataset/img/{missing_jpeg}.jpg"),
        ]
    ):
        write_sbd_tgz(manual_dir / "benchmark.tgz", train, overrides={member: overrides[member]})
        with pytest.raises(CorruptRecordError, match=expected):
            zoo.data.load("sbd", "train", data_dir=tmp_path / f"raise{i}", manual_dir=manual_dir)


def test_label_outside_the_classes_raises_naming_the_mat(tmp_path, manual_dir):
    image_id = SBD_VAL[0]
    labels = np.zeros((24, 24), np.uint8)
    labels[5:9, 5:9] = 21  # one past tvmonitor (20), and not 255
    overrides = {
        f"cls/{image_id}.mat": sbd_cls_mat(labels),
        f"img/{image_id}.jpg": jpeg_bytes(np.zeros((24, 24, 3), np.uint8)),
    }
    write_sbd_tgz(manual_dir / "benchmark.tgz", overrides=overrides)
    with pytest.raises(CorruptRecordError, match=rf"dataset/cls/{image_id}\.mat has label values \[21\] outside"):
        zoo.data.load("sbd", "validation", data_dir=tmp_path / "tfds", manual_dir=manual_dir)


def test_archive_without_the_split_lists_is_refused(tmp_path, manual_dir):
    write_sbd_tgz(manual_dir / "benchmark.tgz", overrides={"val.txt": None})
    with pytest.raises(CorruptRecordError, match="benchmark.tgz should hold one benchmark_RELEASE/dataset/"):
        zoo.data.load("sbd", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
