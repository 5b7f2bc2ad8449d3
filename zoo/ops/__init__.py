"""Array operations shared by families, one module per kind (imported by name, so that using one
does not load the others' frameworks):

- `zoo.ops.boxes`: box area, IoU, NMS, R-CNN box deltas, crop-and-resize and Fast R-CNN's RoI max
  pooling. Boxes are `[x1, y1, x2, y2]` pixel coordinates with inclusive corners (width
  `x2 - x1 + 1`), as in the R-CNN / Fast R-CNN Caffe releases.
- `zoo.ops.warp`: R-CNN's region warping (rcnn_im_crop: context padding, anisotropic warp, mean fill).
- `zoo.ops.numerics`: the package's one softmax / log-softmax (NumPy, float64).
"""
