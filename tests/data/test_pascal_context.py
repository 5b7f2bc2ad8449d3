"""PASCAL-Context builder, end to end on small VOC2010 and context archives in the original layouts."""

import io

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from fcn_archives import (
    CONTEXT_TRAIN,
    CONTEXT_VAL,
    TASK_NAMES,
    class_list_text,
    label_map_mat,
    write_context_files,
)
from PIL import Image

import zoo.data
from zoo.errors import CorruptRecordError, DatasetNotFoundError

tfds.disable_progress_bar()


def load_all(split, tmp_path, manual_dir, **kwargs):
    ds = zoo.data.load("pascal_context", split, data_dir=tmp_path / "tfds", manual_dir=manual_dir, **kwargs)
    return {ex["id"].decode(): ex for ex in ds.as_numpy_iterator()}


@pytest.fixture
def manual_dir(tmp_path):
    path = tmp_path / "manual"
    path.mkdir()
    return path


def test_info_matches_the_fcn_reference():
    info = zoo.data.info("pascal_context")
    # VOC2010 ImageSets/Main train 4,998 and val 5,105 (pascalcontext_layers.py reads these lists).
    assert info.splits == {"train": 4998, "validation": 5105}
    # 59 classes + background, in the order of the FCN repository's data/pascal-context/classes-59.txt.
    assert info.num_classes == 60 and info.class_names == ("background", *TASK_NAMES)
    assert info.class_names[11] == "diningtable" and info.class_names[52] == "bedcloth"
    assert info.ignore_label == 255 and not info.is_standin and info.task == "segmentation"
    for name in ["VOCtrainval_03-May-2010.tar", "trainval.tar.gz", "59_labels.txt", "labels.txt"]:
        assert name in info.instructions


def test_prepared_from_the_original_files(tmp_path, manual_dir):
    truth, _ = write_context_files(manual_dir)
    train = load_all("train", tmp_path, manual_dir)
    val = load_all("validation", tmp_path, manual_dir)
    # The splits are VOC2010's ImageSets/Main lists (its Segmentation lists hold fewer ids).
    assert sorted(train) == sorted(CONTEXT_TRAIN) and sorted(val) == sorted(CONTEXT_VAL)
    seen = set()
    for image_id, ex in {**train, **val}.items():
        data, labels = truth[image_id]
        assert ex["image"].dtype == np.uint8 and ex["segmentation"].dtype == np.uint8
        np.testing.assert_array_equal(ex["image"], tf.io.decode_jpeg(data).numpy())
        pil = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)
        assert np.abs(ex["image"].astype(int) - pil).mean() < 3
        np.testing.assert_array_equal(ex["segmentation"], labels)  # the classes the writer chose
        seen.update(np.unique(ex["segmentation"]).tolist())
    assert {0, 1, 59} <= seen and len(seen) > 5 and max(seen) <= 59
    spec = zoo.data.load("pascal_context", "validation", data_dir=tmp_path / "tfds").element_spec
    assert set(spec) == {"id", "image", "segmentation"} and spec["segmentation"].shape.as_list() == [None, None]


def test_459_to_59_mapping_by_hand(tmp_path, manual_dir):
    """A labels.txt and one LabelMap written by hand; the expected classes are typed by hand."""
    image_id = CONTEXT_VAL[1]
    truth, _ = write_context_files(manual_dir)
    full_names = [f"other thing {i}" for i in range(1, 460)]
    placed = {2: "aeroplane", 300: "table", 100: "dining table", 250: "potted plant", 459: "tv monitor",
              9: "bag", 77: "cloth", 31: "bedclothes", 1: "wood"}  # fmt: skip
    for i, name in placed.items():
        full_names[i - 1] = name
    spelled = {"diningtable": "table", "pottedplant": "potted plant", "tvmonitor": "tv monitor", "clothes": "cloth",
               "bedcloth": "bedclothes"}  # fmt: skip
    others = [spelled.get(n, n) for n in TASK_NAMES if spelled.get(n, n) not in placed.values()]
    full_names[399 : 399 + len(others)] = others
    # (labels.txt id, class of the 59-class task in classes-59.txt order):
    columns = [
        (2, 1),  # aeroplane
        (300, 11),  # "table" is the task's diningtable
        (100, 0),  # "dining table" is another labels.txt class, not in the task
        (250, 16),  # "potted plant": spaces are dropped before matching pottedplant
        (459, 20),  # tv monitor, the last id
        (9, 21),  # bag
        (77, 28),  # "cloth" is the task's clothes
        (31, 52),  # "bedclothes" is the task's bedcloth
        (1, 59),  # wood, the first id
        (5, 0),  # one of the 400 other classes
        (0, 0),  # unlabelled
    ]
    h, w = truth[image_id][1].shape
    full = np.zeros((h, w), np.uint16)
    expected = np.zeros((h, w), np.uint8)
    for column in range(w):
        full[:, column], expected[:, column] = columns[column % len(columns)]
    write_context_files(manual_dir, mats={image_id: label_map_mat(full)})
    (manual_dir / "labels.txt").write_text(class_list_text(full_names))  # replaces the writer's
    np.testing.assert_array_equal(load_all("validation", tmp_path, manual_dir)[image_id]["segmentation"], expected)


def test_labels_txt_from_inside_trainval_tar_gz(tmp_path, manual_dir):
    truth, _ = write_context_files(manual_dir, labels_in_archive=True)
    assert not (manual_dir / "labels.txt").exists()
    val = load_all("validation", tmp_path, manual_dir)
    for image_id in CONTEXT_VAL:
        np.testing.assert_array_equal(val[image_id]["segmentation"], truth[image_id][1])


def test_missing_files_say_what_to_download_and_where(tmp_path, manual_dir):
    with pytest.raises(DatasetNotFoundError) as err:
        zoo.data.load("pascal_context", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    message = str(err.value)
    for expected in [
        "VOCtrainval_03-May-2010.tar",
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar",
        "trainval.tar.gz",
        "https://www.cs.stanford.edu/~roozbeh/pascal-context/trainval.tar.gz",
        "https://www.cs.stanford.edu/~roozbeh/pascal-context/59_labels.txt",
        str(manual_dir),
        "python -m zoo.data prepare pascal_context",
    ]:
        assert expected in message
    assert "labels.txt [optional]" not in message  # optional files are not reported missing

    # labels.txt is optional only while trainval.tar.gz holds a copy.
    write_context_files(manual_dir)
    (manual_dir / "labels.txt").unlink()
    with pytest.raises(
        DatasetNotFoundError, match=r"needs labels.txt .* neither the manual_dir .* nor .*trainval.tar.gz"
    ):
        zoo.data.load("pascal_context", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)


def test_class_lists_in_another_order_or_format_are_refused(tmp_path, manual_dir):
    swapped = list(TASK_NAMES)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    write_context_files(manual_dir, task_names=swapped)
    with pytest.raises(CorruptRecordError, match=r"59_labels.txt should list the 59 classes .* position 1 \('bicycle'"):
        zoo.data.load("pascal_context", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    write_context_files(manual_dir)
    (manual_dir / "labels.txt").write_text(class_list_text(["a", "b"]))
    with pytest.raises(CorruptRecordError, match=r"labels.txt should number the 459 .* found 2 entries"):
        zoo.data.load("pascal_context", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)
    write_context_files(manual_dir)
    (manual_dir / "59_labels.txt").write_text("\n".join(TASK_NAMES))  # names without ids
    with pytest.raises(CorruptRecordError, match="59_labels.txt should list classes as 'id: name' lines"):
        zoo.data.load("pascal_context", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)


def test_corrupt_mat_raises_naming_it_or_is_skipped_and_counted(tmp_path, manual_dir):
    bad = CONTEXT_TRAIN[1]
    good = label_map_mat(np.zeros((24, 24), np.uint16))
    write_context_files(manual_dir, mats={bad: good[: len(good) // 2]})
    with pytest.raises(CorruptRecordError, match=rf"trainval.tar.gz:trainval/{bad}\.mat is not a readable MATLAB"):
        zoo.data.load("pascal_context", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir)

    counter = zoo.data.CorruptCounter()
    train = load_all("train", tmp_path, manual_dir, on_corrupt="skip", counter=counter)
    assert sorted(train) == sorted(set(CONTEXT_TRAIN) - {bad})
    assert counter.count == 1 and counter.names[0].endswith(bad)
    with pytest.raises(CorruptRecordError, match="prepared with on_corrupt='skip'"):
        zoo.data.load("pascal_context", "train", data_dir=tmp_path / "tfds")


def test_missing_mat_and_ids_past_459_raise_naming_the_file(tmp_path, manual_dir):
    write_context_files(manual_dir, mats={CONTEXT_VAL[0]: None})
    with pytest.raises(CorruptRecordError, match=rf"trainval.tar.gz has no member trainval/{CONTEXT_VAL[0]}\.mat"):
        zoo.data.load("pascal_context", "validation", data_dir=tmp_path / "tfds1", manual_dir=manual_dir)
    truth, _ = write_context_files(manual_dir)
    full = np.zeros(truth[CONTEXT_VAL[1]][1].shape, np.uint16)
    full[2:4, 2:4] = 460
    write_context_files(manual_dir, mats={CONTEXT_VAL[1]: label_map_mat(full)})
    with pytest.raises(CorruptRecordError, match=rf"trainval/{CONTEXT_VAL[1]}\.mat has label values \[460\] outside"):
        zoo.data.load("pascal_context", "validation", data_dir=tmp_path / "tfds2", manual_dir=manual_dir)
