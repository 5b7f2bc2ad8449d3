"""The DeCAF datasets: Office-31 built from a tiny archive in the original layout, the CUB 1.5x box crop,
DeCAF's 224-of-256 view, and the TFDS entries' infos."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

import zoo.data
from zoo.errors import ConfigError, CorruptRecordError

tfds.disable_progress_bar()

# (domain, class, file, colour): the archive's layout is <domain>/images/<class>/frame_NNNN.jpg
MEMBERS = [("amazon", "back_pack", "frame_0001.jpg", 30), ("amazon", "trash_can", "frame_0001.jpg", 90),
           ("amazon", "mug", "frame_0002.jpg", 150), ("webcam", "mug", "frame_0001.jpg", 200),
           ("dslr", "scissors", "frame_0003.jpg", 250)]


def _jpeg(value, size=(40, 30)):
    buf = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def write_office(path, root="", extra=()):
    with tarfile.open(path, "w:gz") as tar:
        for domain, cls, file, value in MEMBERS:
            data = _jpeg(value)
            info = tarfile.TarInfo(f"{root}{domain}/images/{cls}/{file}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, data in extra:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("root", ["", "office31/"])
def test_office31_from_the_original_archive_layout(tmp_path, root):
    from zoo.data.classification.office31 import CLASSES

    manual = tmp_path / "manual"
    manual.mkdir()
    write_office(manual / "domain_adaptation_images.tar.gz", root, extra=[(f"{root}README.txt", b"x")])
    got = {}
    for domain in ("amazon", "dslr", "webcam"):
        ds = zoo.data.load("office31", domain, data_dir=tmp_path / "tfds", manual_dir=manual)
        got[domain] = {ex["id"].decode(): ex for ex in ds.as_numpy_iterator()}
    assert {d: len(v) for d, v in got.items()} == {"amazon": 3, "dslr": 1, "webcam": 1}
    for domain, cls, file, value in MEMBERS:
        ex = got[domain][f"{domain}/images/{cls}/{file}"]
        assert ex["label"] == CLASSES.index(cls) and ex["image"].shape == (224, 224, 3)  # DeCAF's view
        assert abs(float(ex["image"].mean()) - value) < 3
    assert len(CLASSES) == 31 and CLASSES.index("back_pack") == 0 and CLASSES.index("trash_can") == 30


def test_office31_refuses_an_unknown_class_folder(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    write_office(manual / "domain_adaptation_images.tar.gz", extra=[("amazon/images/cat/frame_0001.jpg", _jpeg(1))])
    with pytest.raises(CorruptRecordError, match="'cat' is not one of the 31 Office classes"):
        list(zoo.data.load("office31", "amazon", data_dir=tmp_path / "tfds", manual_dir=manual))


def test_cub_crop_is_the_box_enlarged_one_and_a_half_times_about_its_centre():
    from zoo.data.classification.decaf_crops import crop_enlarged_box, enlarged_box

    # 100 x 200 image, box rows 20-60, columns 40-80 (normalised 0.2, 0.2, 0.6, 0.4): centre (40, 60), 40 x 40
    box = np.array([0.2, 0.2, 0.6, 0.4])
    bottom, right, top, left = (int(v) for v in enlarged_box(box, 1.5, 100, 200))
    assert (top, bottom, left, right) == (10, 70, 30, 90)  # 60 x 60 about the same centre
    # clipped to the image near a corner: box rows 0-20, columns 0-40 -> rows 0-25, columns 0-50
    assert [int(v) for v in enlarged_box(np.array([0.0, 0.0, 0.2, 0.2]), 1.5, 100, 200)] == [25, 50, 0, 0]
    image = np.arange(100 * 200 * 3, dtype=np.int32).reshape(100, 200, 3)
    np.testing.assert_array_equal(crop_enlarged_box(tf.constant(image), box, 1.5).numpy(), image[10:70, 30:90])


def test_decaf_view_is_the_center_224_of_the_image_warped_to_256():
    from zoo.data.classification.decaf_crops import DECAF_VIEW, decaf_view

    image = np.zeros((512, 300, 3), np.uint8)
    image[:, 150:] = 255  # right half white: after warping to 256 x 256, columns 128+ are white
    ds = decaf_view(tf.data.Dataset.from_tensors({"image": image}), **DECAF_VIEW)
    out = next(iter(ds))["image"].numpy()
    assert out.shape == (224, 224, 3)
    assert out[:, :110].max() == 0 and out[:, 114:].min() == 255  # the crop starts at column 16: 128 - 16 = 112


def test_transfer_dataset_infos():
    assert zoo.data.info("caltech101").num_classes == 102  # 101 objects + background (thesis §2.3.1)
    assert zoo.data.info("caltech101").splits["train"] == 30 * 102
    assert zoo.data.info("sun397").num_classes == 397 and zoo.data.info("sun397").options["partition"] == 1
    assert zoo.data.info("caltech_birds2011").options["box_scale"] == 1.5
    assert set(zoo.data.info("office31").splits) == {"amazon", "dslr", "webcam"}
    with pytest.raises(ConfigError, match="partitions 1-10"):
        zoo.data.load("sun397", "train", partition=11)


def test_tfds_entries_map_records_to_decafs_view(monkeypatch):
    """caltech101 / sun397 / caltech_birds2011 through their loaders on one fake TFDS record (no download)."""
    from zoo.data import registry

    calls = []
    record = {"image": np.full((60, 80, 3), 7, np.uint8), "label": np.int64(4),
              "bbox": np.array([0.25, 0.25, 0.75, 0.75], np.float32)}

    def fake(self, split, **kw):
        calls.append(self.tfds_name)
        ds = tf.data.Dataset.from_tensors(record)
        return ds.map(self.postprocess) if self.postprocess else ds

    monkeypatch.setattr(registry.TfdsLoader, "__call__", fake)
    for name, options, tfds_name in (("caltech101", {}, "caltech101"),
                                     ("sun397", {"partition": 3}, "sun397/standard-part3-120k"),
                                     ("caltech_birds2011", {"image_size": 32, "resize_size": 40}, "caltech_birds2011")):
        ex = next(iter(zoo.data.load(name, "train", **options)))
        assert calls[-1] == tfds_name and int(ex["label"]) == 4
        assert ex["image"].shape == (options.get("image_size", 224),) * 2 + (3,) and int(ex["image"][0, 0, 0]) == 7
