"""VOC 2012 actions (voc2012_actions) built from a tiny VOCtrainval tar in the original layout."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import zoo.data
from zoo.ops.patches import person_patch

tfds.disable_progress_bar()
ROOT = "VOCdevkit/VOC2012/"


def _person(box, actions):
    flags = "".join(f"<{a}>{int(a in actions)}</{a}>" for a in
                    ("jumping", "phoning", "playinginstrument", "reading", "ridingbike", "ridinghorse", "running",
                     "takingphoto", "usingcomputer", "walking", "other"))
    x0, y0, x1, y1 = box
    return (f"<object><name>person</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
            f"<ymax>{y1}</ymax></bndbox><actions>{flags}</actions></object>")


IMAGES = {  # id: (persons [(box 1-based, actions)], split)
    "2010_000001": ([((2, 3, 21, 40), {"jumping"}), ((30, 5, 45, 30), {"phoning", "walking"})], "train"),
    "2010_000002": ([((10, 10, 50, 20), {"reading"})], "val"),
}


def write_tar(path):
    with tarfile.open(path, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(ROOT + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for split in ("train", "val"):
            add(f"ImageSets/Action/{split}.txt", "".join(f"{i}\n" for i, (_, s) in IMAGES.items() if s == split).encode())
        add("ImageSets/Action/jumping_train.txt", b"2010_000001  1  1\n")
        pictures = {}
        for image_id, (persons, _) in IMAGES.items():
            objects = "".join(_person(b, a) for b, a in persons) + "<object><name>dog</name></object>"
            add(f"Annotations/{image_id}.xml", f"<annotation>{objects}</annotation>".encode())
            picture = np.random.default_rng(len(pictures)).integers(0, 255, (48, 64, 3)).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(picture).save(buf, format="PNG")
            add(f"JPEGImages/{image_id}.jpg", buf.getvalue())
            pictures[image_id] = picture
    return pictures


def test_voc2012_actions_one_example_per_person_with_its_centred_patch(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    pictures = write_tar(manual / "VOCtrainval_11-May-2012.tar")
    load = lambda split, **o: {ex["id"].decode(): ex for ex in zoo.data.load(  # noqa: E731
        "voc2012_actions", split, data_dir=tmp_path / "tfds", manual_dir=manual, **o).as_numpy_iterator()}
    train = load("train", single_action_only=False)
    assert sorted(train) == ["2010_000001_1", "2010_000001_2"]
    first = train["2010_000001_1"]
    np.testing.assert_array_equal(first["box"], [1, 2, 21, 40])  # 1-based xmin..xmax -> [xmin - 1, xmax)
    assert first["labels"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0] and first["label"] == 0
    assert train["2010_000001_2"]["label"] == -1  # phoning and walking: two actions
    assert first["image"].shape == (224, 224, 3)
    # the patch is the mirrored square around the box (38 high -> 38 x 38, reaching x < 0), rescaled
    square = person_patch(pictures["2010_000001"], first["box"])
    assert square.shape == (38, 38, 3)
    import tensorflow as tf

    want = tf.cast(tf.clip_by_value(tf.round(tf.image.resize(square, (224, 224))), 0, 255), tf.uint8).numpy()
    np.testing.assert_array_equal(first["image"], want)
    assert sorted(load("train")) == ["2010_000001_1"]  # the train split keeps single actions (§3.2.2)
    val = load("val")
    assert sorted(val) == ["2010_000002_1"] and val["2010_000002_1"]["label"] == 3


def test_voc2012_actions_info():
    info = zoo.data.info("voc2012_actions")
    assert info.num_classes == 10 and info.class_names[2] == "playinginstrument"
    with pytest.raises(Exception, match="VOCtrainval_11-May-2012.tar"):
        list(zoo.data.load("voc2012_actions", "train", data_dir="/nonexistent/tfds", manual_dir="/nonexistent/m"))
