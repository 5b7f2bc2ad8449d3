"""ilsvrc2013_detection on a tiny release written here in the original formats: the devkit's
meta_det.mat (synsets DET_ID / WNID / name), VOC-style XML boxes with WNID names, the val images in
a tar, R-CNN's val1 / val2 lists (one of them as its .tgz), the released selective-search .mat, and
extracted train folders with det_lists/train_pos_<k>.txt."""

import io
import tarfile

import numpy as np
import pytest
import scipy.io
import tensorflow as tf

from zoo import data
from zoo.errors import CorruptRecordError, DatasetNotFoundError

VAL1, VAL2 = ["ILSVRC2012_val_00000001", "ILSVRC2013_val_00000002"], ["ILSVRC2012_val_00000003"]


def _jpeg(seed, h=40, w=60):
    rng = np.random.default_rng(seed)
    return tf.io.encode_jpeg(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).numpy()


def _xml(objects):
    parts = "".join(f"<object><name>{w}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
                    f"<ymax>{b[3]}</ymax></bndbox></object>" for w, b in objects)
    return f"<annotation><size><width>60</width><height>40</height></size>{parts}</annotation>".encode()


def _tar(path, files, mode="w"):
    with tarfile.open(path, mode) as t:
        for name, payload in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            t.addfile(info, io.BytesIO(payload))


def wnid(k):
    return f"n{k:08d}"


OBJECTS = {VAL1[0]: [(wnid(1), (1, 2, 30, 20)), (wnid(200), (10, 5, 59, 39))],
           VAL1[1]: [(wnid(7), (0, 0, 9, 9))], VAL2[0]: [(wnid(1), (3, 3, 13, 13))]}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("ilsvrc")
    synsets = np.zeros((1, 205), dtype=[("DET_ID", "O"), ("WNID", "O"), ("name", "O")])
    for i in range(205):  # 200 leaf classes, then internal nodes with larger ids (as the devkit's 815)
        synsets[0, i] = (np.array([[i + 1]]), np.array([wnid(i + 1)]), np.array([f"class {i + 1}"]))
    meta = io.BytesIO()
    scipy.io.savemat(meta, {"synsets": synsets})
    lists = {f"ILSVRC2013_devkit/data/det_lists/train_pos_{k}.txt": b"" for k in range(1, 201)}
    lists["ILSVRC2013_devkit/data/det_lists/train_pos_1.txt"] = f"{wnid(1)}_10\n{wnid(1)}_11\n{wnid(1)}_12\n".encode()
    _tar(root / "ILSVRC2013_devkit.tgz", {"ILSVRC2013_devkit/data/meta_det.mat": meta.getvalue(), **lists}, "w:gz")
    _tar(root / "ILSVRC2013_DET_val.tar", {f"ILSVRC2013_DET_val/{n}.JPEG": _jpeg(i) for i, n in enumerate(VAL1 + VAL2)})
    _tar(root / "ILSVRC2013_DET_bbox_val.tgz",
         {f"ILSVRC2013_DET_bbox_val/{n}.xml": _xml(o) for n, o in OBJECTS.items()}, "w:gz")
    _tar(root / "val1.txt.tgz", {"val1.txt": "".join(f"{n} {i + 1}\n" for i, n in enumerate(VAL1)).encode()}, "w:gz")
    (root / "val2.txt").write_text(f"{VAL2[0]} 1\n")
    # the released selective-search file: 1-based [y1 x1 y2 x2] per image
    boxes = np.empty((1, 3), dtype=object)
    images = np.empty((1, 3), dtype=object)
    for i, n in enumerate(VAL1 + VAL2):
        boxes[0, i] = np.array([[1, 1, 10, 20], [5, 6, 30, 40]], np.float64) + i
        images[0, i] = n
    scipy.io.savemat(root / "ilsvrc13_val.mat", {"boxes": boxes, "images": images})
    for k, name, objs in ((1, f"{wnid(1)}_10", [(wnid(1), (0, 0, 5, 5)), (wnid(1), (6, 6, 20, 20)),
                                                (wnid(3), (1, 1, 4, 4))]),
                          (1, f"{wnid(1)}_11", [(wnid(1), (2, 2, 9, 9)), (wnid(1), (3, 3, 9, 9))]),
                          (1, f"{wnid(1)}_12", [(wnid(1), (2, 2, 9, 9))])):
        (root / "ILSVRC2013_DET_train" / wnid(k)).mkdir(parents=True, exist_ok=True)
        (root / "ILSVRC2013_DET_bbox_train" / wnid(k)).mkdir(parents=True, exist_ok=True)
        (root / "ILSVRC2013_DET_train" / wnid(k) / f"{name}.JPEG").write_bytes(_jpeg(9))
        (root / "ILSVRC2013_DET_bbox_train" / wnid(k) / f"{name}.xml").write_bytes(_xml(objs))
    return root


def _load(release, split, **options):
    ds = data.load("ilsvrc2013_detection", split, manual_dir=str(release),
                   proposals_file=str(release / "ilsvrc13_val.mat"), **options)
    return list(ds.as_numpy_iterator())


def test_val1_val2_boxes_labels_and_released_proposals(release):
    val1 = _load(release, "val1")
    assert [e["image_id"].decode() for e in val1] == VAL1
    first = val1[0]
    np.testing.assert_array_equal(first["boxes"], [[1, 2, 30, 20], [10, 5, 59, 39]])
    np.testing.assert_array_equal(first["labels"], [1, 200])
    assert first["image"].shape == (40, 60, 3) and not first["difficult"].any()
    np.testing.assert_array_equal(first["proposals"], [[0, 0, 19, 9], [5, 4, 39, 29]])  # [x1 y1 x2 y2] - 1
    assert [e["image_id"].decode() for e in _load(release, "val")] == VAL1 + VAL2


def test_train_takes_up_to_n_boxes_per_class_without_proposals(release):
    train = _load(release, "train", train_boxes_per_class=3)
    assert [e["image_id"].decode() for e in train] == [f"{wnid(1)}_10", f"{wnid(1)}_11"]
    np.testing.assert_array_equal(train[0]["labels"], [1, 1])  # class 3's box is not class 1's
    assert len(train[1]["boxes"]) == 1  # 2 + 1 = 3: the second image gives one of its two boxes
    assert all(e["proposals"].shape == (0, 4) for e in train)
    both = _load(release, "val1+train", train_boxes_per_class=1)
    assert [e["image_id"].decode() for e in both] == VAL1 + [f"{wnid(1)}_10"]


def test_missing_and_corrupt_files_are_named(release, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="ILSVRC2013_devkit.tgz"):
        data.load("ilsvrc2013_detection", "val1", manual_dir=str(tmp_path))
    from zoo.data.detection.ilsvrc2013_det import parse_annotation

    with pytest.raises(CorruptRecordError, match="not one of the 200"):
        parse_annotation(_xml([("n99999999", (0, 0, 1, 1))]), {wnid(1): 1}, "x.xml")
    with pytest.raises(CorruptRecordError, match="not valid XML"):
        parse_annotation(b"<annotation>", {}, "x.xml")
    info = data.info("ilsvrc2013_detection")
    assert info.num_classes == 201 and info.class_names[1] == "accordion" and info.class_names[-1] == "zebra"


def test_svm_windows_are_val_proposals_and_all_ground_truth(release):
    ds = data.load("ilsvrc2013_detection_windows", "val1+train", manual_dir=str(release), mode="svm", crop_size=16,
                   padding=1, proposals_file=str(release / "ilsvrc13_val.mat"), train_boxes_per_class=2)
    labels = [int(e["label"]) for e in ds.as_numpy_iterator()]
    assert labels.count(1) == 1 + 2 and labels.count(200) == 1 and labels.count(7) == 1  # ground truth: positives
    assert set(labels) <= {0, 1, 7, 200}
