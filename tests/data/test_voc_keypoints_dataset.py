"""The `voc_keypoints` builder end to end on tiny files in the releases' formats: the poselets annotation files
(annotations/<category>/<image>_<voc id>.xml) as voc2011_keypoints_Feb2012.tgz or the annotations/ folder, and
VOC2011's JPEGImages/*.jpg with ImageSets/Main/{train,val}.txt as VOCtrainval_25-May-2011.tar (its
TrainVal/VOCdevkit/VOC2011/ root) or the VOC2011/ folder."""

import io
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import zoo.data
from zoo.data import CorruptCounter
from zoo.errors import ConfigError, CorruptRecordError, DatasetNotFoundError

tfds.disable_progress_bar()

# (category, image, voc id, visible_bounds (xmin, ymin, width, height), [(name, visible, x, y)])
OBJECTS = [
    ("cat", "2008_000001", 1, (2.0, 3.0, 10.0, 8.0), [("L_Eye", 1, 4.5, 5.25), ("Nose", 0, 6.0, 7.0)]),
    ("cat", "2008_000002", 2, (1.0, 1.0, 5.0, 6.0), [("R_Eye", 1, 3.0, 2.0), ("L_Eye", 1, 2.0, 2.5)]),
    ("cat", "2008_000003", 1, (0.0, 0.0, 4.0, 4.0), [("Nose", 1, 1.0, 1.0)]),  # image in neither list
    ("person", "2008_000001", 3, (5.0, 0.0, 6.0, 12.0), [("Head", 1, 8.0, 1.5)]),
    ("person", "2008_000002", 1, (0.0, 2.0, 3.0, 3.0), []),  # no keypoint annotated
]
TRAIN, VAL = ["2008_000001"], ["2008_000002", "2008_000004"]
CAT_NAMES = ["L_Eye", "Nose", "R_Eye"]  # every type the cat files use, sorted
COLOURS = {"2008_000001": (200, 30, 40), "2008_000002": (20, 180, 90), "2008_000003": (10, 10, 250)}
VOC_ROOT = "TrainVal/VOCdevkit/VOC2011/"


def _xml(cat, image, voc_id, bounds, keypoints):
    x, y, w, h = bounds
    points = "".join(f'\t\t<keypoint name="{n}" visible="{v}" x="{kx:.2f}" y="{ky:.2f}" z="0.00"/>\n'
                     for n, v, kx, ky in keypoints)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<annotation>\n\t<image>{image}</image>\n\t<voc_id>{voc_id}'
            f'</voc_id>\n\t<category>{cat}</category>\n\t<subcategory></subcategory>\n\t<visible_bounds '
            f'height="{h:.2f}" width="{w:.2f}" xmin="{x:.2f}" ymin="{y:.2f}"/>\n\t<keypoints>\n{points}'
            '\t</keypoints>\n</annotation>\n')


def _jpeg(colour, size=(14, 18)):
    buf = io.BytesIO()
    Image.fromarray(np.full((*size, 3), colour, np.uint8)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _files(*, corrupt=None, drop_image=None):
    """{path in the release: bytes} of both releases."""
    notes = {f"annotations/{c}/{i}_{v}.xml": _xml(c, i, v, b, k).encode() for c, i, v, b, k in OBJECTS}
    if corrupt:
        notes[corrupt] = b"<annotation><image>2008_000001</image><voc_id>9</voc_id>"  # truncated
    voc = {f"ImageSets/Main/{s}.txt": "".join(f"{i}\n" for i in ids).encode() for s, ids in (("train", TRAIN),
                                                                                           ("val", VAL))}
    voc["ImageSets/Segmentation/train.txt"] = b"2008_000002\n"  # another list of the same name: not the split
    voc.update({f"JPEGImages/{i}.jpg": _jpeg(c) for i, c in COLOURS.items() if i != drop_image})
    return notes, voc


def _tar(path, files, prefix="", mode="w"):
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def write_release(manual, *, folders=False, **kwargs):
    manual.mkdir(parents=True, exist_ok=True)
    notes, voc = _files(**kwargs)
    if not folders:
        _tar(manual / "voc2011_keypoints_Feb2012.tgz", notes, mode="w:gz")
        _tar(manual / "VOCtrainval_25-May-2011.tar", voc, VOC_ROOT)
        return
    for base, files in ((manual, notes), (manual / "VOC2011", voc)):
        for name, data in files.items():
            (base / name).parent.mkdir(parents=True, exist_ok=True)
            (base / name).write_bytes(data)


def load(split, tmp_path, manual, **kwargs):
    return list(tfds.as_numpy(zoo.data.load("voc_keypoints", split, data_dir=tmp_path / "tfds", manual_dir=manual,
                                            **kwargs)))


def expected(split):
    """What the builder should give for `split`, computed from OBJECTS directly."""
    out = []
    ids = TRAIN if split == "train" else VAL
    for cat, image, voc_id, (x, y, w, h), kps in OBJECTS:
        if image not in ids:
            continue
        names = CAT_NAMES if cat == "cat" else ["Head"]
        xy = np.full((len(names), 2), np.nan, np.float32)
        visible = np.zeros(len(names), bool)
        for n, v, kx, ky in kps:
            xy[names.index(n)], visible[names.index(n)] = (kx, ky), v == 1
        out.append({"category": cat, "image_id": image, "voc_id": voc_id, "box": [x, y, x + w, y + h],
                    "names": names, "keypoints": xy, "visible": visible})
    return out


def check(examples, split):
    want = expected(split)
    assert len(examples) == len(want)
    for got, ref in zip(examples, want):  # the release's order: category, then file name
        assert got["category"].decode() == ref["category"] and got["image_id"].decode() == ref["image_id"]
        assert got["voc_id"] == ref["voc_id"] and got["subcategory"] == b""
        assert got["label"] == zoo.data.info("voc_keypoints").class_names.index(ref["category"])
        np.testing.assert_array_equal(got["box"], np.asarray(ref["box"], np.float32))
        assert [n.decode() for n in got["keypoint_names"]] == ref["names"]
        assert got["keypoints"].dtype == np.float32 and got["visible"].dtype == bool
        np.testing.assert_array_equal(got["keypoints"], ref["keypoints"])  # NaN where equal too
        np.testing.assert_array_equal(got["visible"], ref["visible"])
        image = got["image"]
        assert image.dtype == np.uint8 and image.shape == (14, 18, 3)
        assert np.abs(image.astype(int) - COLOURS[ref["image_id"]]).max() <= 3  # JPEG rounding only


def test_prepares_objects_with_keypoints_from_the_archives(tmp_path):
    write_release(tmp_path / "manual")
    for split in ("train", "val"):
        check(load(split, tmp_path, tmp_path / "manual"), split)
    # the order of keypoint types is the category's, whatever the object's file lists first
    cats = load("val", tmp_path, tmp_path / "manual", categories=["cat"])
    assert [e["image_id"] for e in cats] == [b"2008_000002"]
    with pytest.raises(ConfigError, match="categories must be among"):
        load("val", tmp_path, tmp_path / "manual", categories=["kitten"])


def test_prepares_the_same_from_the_extracted_folders_and_splits_by_imagesets_main(tmp_path):
    write_release(tmp_path / "manual", folders=True)
    train, val = (load(s, tmp_path, tmp_path / "manual") for s in ("train", "val"))
    check(train, "train")
    check(val, "val")
    # ImageSets/Main decides: 2008_000003 is in neither list, so its object is in no split
    assert {e["image_id"] for e in train} == {b"2008_000001"} and {e["image_id"] for e in val} == {b"2008_000002"}


def test_missing_files_say_which_and_where(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    with pytest.raises(DatasetNotFoundError) as error:
        load("train", tmp_path, manual)
    message = str(error.value)
    for part in ("voc2011_keypoints_Feb2012.tgz", "annotations/", "VOCtrainval_25-May-2011.tar", "VOC2011/",
                 str(manual), "python -m zoo.data prepare voc_keypoints"):
        assert part in message
    write_release(manual, folders=True)
    (manual / "VOC2011" / "ImageSets" / "Main" / "val.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"ImageSets/Main/val\.txt is missing"):
        load("train", tmp_path, manual)
    assert "VOCtrainval_25-May-2011.tar" in zoo.data.info("voc_keypoints").instructions


def test_missing_picture_is_a_corrupt_record_naming_it(tmp_path):
    write_release(tmp_path / "manual", drop_image="2008_000002")
    with pytest.raises(CorruptRecordError, match=r"VOC2011/JPEGImages/2008_000002\.jpg is missing"):
        load("val", tmp_path, tmp_path / "manual")


def test_corrupt_xml_raises_naming_the_file_or_is_skipped_and_counted(tmp_path):
    bad = "annotations/cat/2008_000001_9.xml"
    write_release(tmp_path / "manual", corrupt=bad)
    with pytest.raises(CorruptRecordError, match=r"voc2011_keypoints_Feb2012\.tgz:annotations/cat/2008_000001_9\.xml"):
        load("train", tmp_path / "raise", tmp_path / "manual")
    counter = CorruptCounter()
    check(load("train", tmp_path / "skip", tmp_path / "manual", on_corrupt="skip", counter=counter), "train")
    assert counter.count == 1 and bad in counter.names[0]
    with pytest.raises(CorruptRecordError, match="prepared with on_corrupt='skip'"):
        load("train", tmp_path / "skip", tmp_path / "manual")  # a split with holes is never used silently
    check(load("val", tmp_path / "skip", tmp_path / "manual"), "val")  # val lost nothing
