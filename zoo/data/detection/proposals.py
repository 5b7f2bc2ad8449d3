"""Category-independent region proposals for R-CNN and Fast R-CNN (Donahue thesis §3.1.1).

- `selective_search`: Uijlings et al.'s selective search in "fast mode", about 2,000 boxes per
  image, from OpenCV contrib's `cv2.ximgproc.segmentation` (the `opencv-contrib-python-headless`
  wheel; with the plain OpenCV wheel ximgproc is missing and a ConfigError says what to install).
  OpenCV's implementation is not the MATLAB code R-CNN used, so its boxes differ in detail: to
  reproduce the paper's proposals exactly, read the released ones with `load_released_boxes`.
- `load_released_boxes`: the precomputed selective-search boxes released with R-CNN
  (`data/selective_search_data/voc_2007_{trainval,test}.mat`: a cell array `boxes` of (P, 4)
  arrays, 1-based `[y1 x1 y2 x2]`, and `images`, the image ids). Fast R-CNN's
  `pascal_voc._load_selective_search_roidb` reads them as `boxes[:, (1, 0, 3, 2)] - 1`: 0-based
  `[x1 y1 x2 y2]`, the zoo's convention.
Boxes are float32 `[x1, y1, x2, y2]` 0-based inclusive pixels (zoo.ops.boxes).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError, CorruptRecordError


def selective_search(image_rgb, mode="fast", max_proposals=2000, resize_width=None):
    """Selective search boxes (P, 4) of an RGB uint8 image, in the order OpenCV ranks them.

    `mode`: "fast" (the paper's) or "quality". `resize_width`: run on the image scaled to this
    width (R-CNN on ILSVRC used 500, §3.1.7.2) and scale the boxes back. Duplicates are removed.
    """
    try:
        import cv2

        seg = cv2.ximgproc.segmentation
    except (ImportError, AttributeError) as e:
        raise ConfigError("selective search needs OpenCV contrib's ximgproc: pip uninstall -y opencv-python-headless "
                          "&& pip install 'opencv-contrib-python-headless<5' (pip install 'zoo[detection]')") from e
    if mode not in ("fast", "quality"):
        raise ConfigError(f"selective search mode must be 'fast' or 'quality', got {mode!r}")
    image = np.asarray(image_rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ConfigError(f"selective search takes an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    scale = 1.0
    if resize_width:
        scale = resize_width / image.shape[1]
        image = cv2.resize(image, (resize_width, max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_LINEAR)
    cv2.setNumThreads(1)
    ss = seg.createSelectiveSearchSegmentation()
    ss.setBaseImage(np.ascontiguousarray(image[:, :, ::-1]))  # OpenCV works in BGR
    ss.switchToSelectiveSearchFast() if mode == "fast" else ss.switchToSelectiveSearchQuality()
    rects = np.asarray(ss.process(), np.float64).reshape(-1, 4)  # x, y, w, h
    boxes = np.stack([rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2] - 1, rects[:, 1] + rects[:, 3] - 1], 1)
    boxes = boxes / scale if scale != 1.0 else boxes
    _, first = np.unique(np.round(boxes, 3), axis=0, return_index=True)
    boxes = boxes[np.sort(first)]
    return boxes[:max_proposals].astype(np.float32)


def load_released_boxes(source, name=None) -> dict:
    """{image id: (P, 4) float32 boxes} from an R-CNN `selective_search_data/*.mat` file (path or bytes)."""
    from zoo.data import matfiles

    name = name or str(source)
    mat = matfiles.load(source, name)
    if "boxes" not in mat or "images" not in mat:
        found = ", ".join(k for k in mat if not k.startswith("__"))
        raise CorruptRecordError(f"{name} should hold the variables boxes and images (R-CNN's selective search "
                                 f"data); it has: {found}")
    boxes, images = mat["boxes"].ravel(), mat["images"].ravel()
    if len(boxes) != len(images):
        raise CorruptRecordError(f"{name}: {len(boxes)} box lists for {len(images)} images")
    out = {}
    for image, raw in zip(images, boxes):
        image_id = str(np.asarray(image).ravel()[0])
        raw = np.asarray(raw, np.float64).reshape(-1, 4)
        out[image_id] = (raw[:, (1, 0, 3, 2)] - 1).astype(np.float32)
    return out


def released_proposals(released, image_id, proposals_file, max_proposals):
    """The first `max_proposals` boxes of `image_id` (bytes or str) in a loaded released-boxes file."""
    key = np.asarray(image_id).item()
    key = key.decode() if isinstance(key, bytes) else str(key)
    if key not in released:
        raise CorruptRecordError(f"{proposals_file} has no proposals for image {key!r}; is it this split's file?")
    return released[key][:max_proposals]
