"""`voc2007_patches`, `voc2012_patches`: Oquab et al. 2014's multi-scale training patches from PASCAL VOC
object annotations (Oquab thesis §3.2.2), through TFDS `voc/2007` and `voc/2012`.

Per image: the square patch grid (`zoo.ops.patches.patch_grid`: side min(w, h) / λ, λ in {1, ..., 4}, >= 50%
overlap, about 500 patches), each labelled by the rule of §3.2.2 (`label_patches`: a box covering >= 0.2 of
the patch and >= 0.6 of itself gives its class 1..20; none: background 0; several: excluded); excluded
patches are left out, and on the training split only a random 10% of the background patches are kept
(`keep_for_training`, per image with the data seed). Each patch is rescaled to image_size x image_size.
Examples: {"image": uint8 patch, "label": int64 0 (background) .. 20, "image_id": the image's file stem,
"box": float32 (4,) the patch (x0, y0, x1, y1) in the image}. Image-level scores (Eq. 3.1's power mean
over all of an image's patches) and the VOC classification AP are computed by zoo.experiments.midlevel.
"""

from __future__ import annotations

import zlib

import numpy as np

from zoo.data.detection.voc_detection import tfds_voc_objects
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.data.segmentation.voc import CITATION, HOMEPAGE, VOC_CLASSES
from zoo.ops import patches as P

OPTIONS = {"image_size": 224, "min_overlap": P.MIN_OVERLAP, "background_fraction": 0.1, "subsample": None}


def labelled_patches(image_shape, boxes, labels, *, min_overlap, background_fraction, subsample, seed, image_id):
    """(patch boxes (K, 4) float32, labels (K,) int64) of one image: the grid, its labels, excluded ones left out
    and (subsample) background kept at `background_fraction` with a generator seeded by (seed, image id)."""
    height, width = int(image_shape[0]), int(image_shape[1])
    grid = P.patch_grid(height, width, min_overlap=float(min_overlap))
    patch_labels = P.label_patches(grid, boxes, labels)
    if subsample:
        rng = np.random.default_rng([int(seed), zlib.crc32(bytes(image_id))])
        keep = P.keep_for_training(patch_labels, rng, float(background_fraction))
    else:
        keep = np.flatnonzero(patch_labels != P.EXCLUDED)
    return grid[keep].astype(np.float32), patch_labels[keep].astype(np.int64)


class VocPatchLoader(TfdsLoader):
    """TFDS voc/<year> images -> their labelled patches, rescaled."""

    def __call__(self, split, *, image_size=224, min_overlap=P.MIN_OVERLAP, background_fraction=0.1, subsample=None,
                 seed=0, **common):
        import tensorflow as tf

        ds = super().__call__(split, seed=seed, **common)
        if subsample is None:
            subsample = split.split("[")[0].strip() == "train"
        size = int(image_size)

        def to_patches(ex):
            image = ex["image"]
            shape = tf.shape(image)[:2]
            boxes, labels, _, image_id = tfds_voc_objects(ex)
            boxes = boxes + tf.constant([0.0, 0.0, 1.0, 1.0])  # inclusive -> exclusive corners, the patch grid's
            grid, labels = tf.numpy_function(
                lambda s, bx, lb, iid: labelled_patches(s, bx, lb, min_overlap=min_overlap, subsample=subsample,
                                                        background_fraction=background_fraction, seed=seed,
                                                        image_id=iid),
                [shape, boxes, tf.cast(labels, tf.int64), image_id], [tf.float32, tf.int64])
            grid, labels = tf.ensure_shape(grid, (None, 4)), tf.ensure_shape(labels, (None,))
            crops = tf.data.Dataset.from_tensor_slices({"box": grid, "label": labels})
            return crops.map(lambda p: {"image": _crop(image, p["box"], size), "label": p["label"],
                                        "image_id": image_id, "box": p["box"]})

        return ds.flat_map(to_patches)


def crop_patches(image, boxes, size):
    """(K, size, size, 3) float32 crops of `image` (H, W, 3) at patch boxes (K, 4) (x0, y0, x1, y1), x1/y1
    exclusive, bilinearly resampled so that the first and last samples fall on pixels x0 and x1 - 1 (a patch
    as large as `size` is copied exactly)."""
    import tensorflow as tf

    hw = tf.cast(tf.shape(image)[:2], tf.float32) - 1.0
    b = tf.cast(tf.reshape(boxes, (-1, 4)), tf.float32)
    norm = tf.stack([b[:, 1] / hw[0], b[:, 0] / hw[1], (b[:, 3] - 1) / hw[0], (b[:, 2] - 1) / hw[1]], axis=1)
    return tf.image.crop_and_resize(tf.cast(image, tf.float32)[None], norm, tf.zeros(tf.shape(b)[:1], tf.int32),
                                    (size, size))


def _crop(image, box, size):
    import tensorflow as tf

    return tf.cast(tf.clip_by_value(tf.round(crop_patches(image, box, size)[0]), 0, 255), tf.uint8)


for _year, _splits in (("2007", {"train": None, "validation": None, "test": None}),
                       ("2012", {"train": None, "validation": None})):
    _name = f"voc{_year}_patches"
    register_dataset(_name, DatasetInfo(
        name=_name, task="classification",
        summary=f"PASCAL VOC {_year} multi-scale labelled patches (Oquab et al. 2014), 20 classes + background",
        num_classes=len(VOC_CLASSES), class_names=VOC_CLASSES, splits=_splits,
        features={"image": "uint8 (image_size, image_size, 3) RGB patch", "label": "int64 () 0 background, 1..20",
                  "image_id": "string, the image's file stem", "box": "float32 (4,) the patch x0, y0, x1, y1"},
        source=HOMEPAGE, citation=CITATION, options=dict(OPTIONS),
        instructions=f"TFDS downloads voc/{_year} itself (`tfds build voc/{_year}` or the first load).",
    ), VocPatchLoader(f"voc/{_year}"))
