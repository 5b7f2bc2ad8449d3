"""Small archives in the original on-disk layouts, written by the tests of tests/data."""

import io
import tarfile

import numpy as np
from PIL import Image

from zoo.predict import voc_palette


def jpeg_bytes(array, **kwargs):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def png_bytes(image):
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def voc_label_png(labels):
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(voc_palette().ravel().tolist())
    return png_bytes(image)


def voc_labels(rng, h, w):
    """A label map like VOC's: background, one or two objects, a 255 band on their boundary."""
    labels = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 3)):
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        labels[y0 : y0 + h // 3, x0 : x0 + w // 3] = rng.integers(1, 21)
    edge = np.zeros_like(labels, bool)
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    labels[edge] = 255
    return labels


def write_voc_tar(path, root, train, val, *, seed=0, overrides=None):
    """A VOC trainval tar with the segmentation subset of `train` + `val` ids under `root`.

    Returns {id: (JPEG bytes written, labels)}. `overrides` maps a member path relative to
    root to bytes that replace it (corrupt files).
    """
    rng = np.random.default_rng(seed)
    members, truth = {}, {}
    for image_id in train + val:
        h, w = int(rng.integers(20, 40)), int(rng.integers(20, 40))
        data = jpeg_bytes(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), quality=95)
        labels = voc_labels(rng, h, w)
        members[f"JPEGImages/{image_id}.jpg"] = data
        members[f"SegmentationClass/{image_id}.png"] = voc_label_png(labels)
        members[f"SegmentationObject/{image_id}.png"] = voc_label_png((labels > 0).astype(np.uint8))
        members[f"Annotations/{image_id}.xml"] = b"<annotation/>"
        truth[image_id] = (data, labels)
    members["JPEGImages/2012_999999.jpg"] = jpeg_bytes(np.zeros((8, 8, 3), np.uint8))  # not in segmentation
    members["ImageSets/Segmentation/train.txt"] = "".join(f"{i}\n" for i in train).encode()
    members["ImageSets/Segmentation/val.txt"] = "".join(f"{i}\n" for i in val).encode()
    members["ImageSets/Segmentation/trainval.txt"] = "".join(f"{i}\n" for i in train + val).encode()
    members.update(overrides or {})
    with tarfile.open(path, "w") as tar:
        for name, data in sorted(members.items()):  # the real tar groups members by folder
            info = tarfile.TarInfo(root + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return truth


VOC_TRAIN = ["2007_000032", "2007_000039", "2008_000123"]
VOC_VAL = ["2007_000033", "2009_000001"]
