"""COCO object segments through TFDS (`coco/2017_panoptic`), as the region networks' instance masks.

Long thesis §4.4.3 trains on COCO train (">80,000 images", 80 categories, category labels
ignored) and validates on a subset of COCO val. TFDS's `coco/2014` and `coco/2017` configs hold
boxes only; its `coco/2017_panoptic` config holds every image's segments as a PNG whose pixel
(R, G, B) is segment id R + 256 G + 256^2 B, listed in `panoptic_objects` (id, label, is_crowd).
The 80 "thing" categories are labels 0..79 (the panoptic category list puts the things, COCO ids
1..90, before the 53 stuff categories). An example's instance masks are its non-crowd thing
segments; crowd segments and stuff are "no segment" (their pixels are negatives in a window and
never a region's ground truth). The panoptic annotations resolve the overlaps of the instance
annotations, so each pixel is in at most one segment: a close but not identical reading of the
thesis' segment labels (2017 splits: train2017 = train2014 + most of val2014).

Examples: image uint8 (H, W, 3), instance_masks bool (M, H, W), labels int32 (M,) 0..79,
image_id int64.
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset

NUM_THINGS = 80


def panoptic_to_instances(ex):
    """A TFDS coco/2017_panoptic record -> {image, instance_masks, labels, image_id} (inside tf.data)."""
    import tensorflow as tf

    rgb = tf.cast(ex["panoptic_image"], tf.int64)
    segment_ids = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
    objects = ex["panoptic_objects"]
    keep = (tf.cast(objects["label"], tf.int64) < NUM_THINGS) & tf.logical_not(tf.cast(objects["is_crowd"], tf.bool))
    ids = tf.boolean_mask(tf.cast(objects["id"], tf.int64), keep)
    masks = tf.equal(segment_ids[None], ids[:, None, None])
    return {"image": ex["image"], "instance_masks": masks,
            "labels": tf.cast(tf.boolean_mask(objects["label"], keep), tf.int32), "image_id": ex["image/id"]}


register_dataset("coco2017_instances", DatasetInfo(
    name="coco2017_instances", task="instance_proposals",
    summary="COCO 2017 thing segments (TFDS coco/2017_panoptic) as instance masks, crowds and stuff left out",
    num_classes=None, splits={"train": 118287, "validation": 5000},
    features={"image": "uint8 (H, W, 3) RGB", "instance_masks": "bool (M, H, W) non-crowd thing segments",
              "labels": "int32 (M,) 0..79 (unused by the region networks)", "image_id": "int64"},
    source="https://cocodataset.org (Lin et al. 2014; panoptic annotations: Kirillov et al. 2019)",
    citation="Lin et al., Microsoft COCO: Common Objects in Context, ECCV 2014 [LMB+14]",
    license="annotations CC BY 4.0; images under their Flickr licences",
    instructions="TFDS downloads coco/2017_panoptic itself (`tfds build coco/2017_panoptic`, about 20 GB)",
), TfdsLoader("coco/2017_panoptic", postprocess=panoptic_to_instances))
