"""Box operations shared by the region-based detectors (R-CNN, Fast R-CNN, region networks).

Boxes are `[x1, y1, x2, y2]` pixel coordinates with inclusive corners (width `x2 - x1 + 1`), as
in the R-CNN / Fast R-CNN Caffe releases; see `zoo.ops.boxes` for the conventions.
"""

from zoo.ops.boxes import (
    BBOX_XFORM_CLIP,
    batched_nms,
    box_area,
    clip_boxes,
    crop_and_resize,
    decode_deltas,
    encode_deltas,
    nms,
    pairwise_iou,
    roi_max_pool,
)

__all__ = [
    "BBOX_XFORM_CLIP",
    "batched_nms",
    "box_area",
    "clip_boxes",
    "crop_and_resize",
    "decode_deltas",
    "encode_deltas",
    "nms",
    "pairwise_iou",
    "roi_max_pool",
]
