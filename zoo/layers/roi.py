"""Fast R-CNN's RoI layers on per-image proposal lists (Girshick 2015, §2.1).

A Fast R-CNN model takes images (B, H, W, C) and, for each, R proposals (B, R, 4) as
`[x1, y1, x2, y2]` image pixels. `RoIMaxPooling` pools every proposal to a fixed grid with
`zoo.ops.boxes.roi_max_pool` (Caffe's ROIPoolingLayer, bit-exact) and returns the B * R pooled
maps as one batch, so the fully connected layers after it (fc6 reading a Flatten, as Caffe's
InnerProduct reads roi_pool5) are ordinary layers that released weights load into; `PerImage`
gives their outputs back their (B, R) shape.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.ops.boxes import roi_max_pool


@keras.saving.register_keras_serializable(package="zoo")
class RoIMaxPooling(keras.layers.Layer):
    """(features (B, h, w, C), rois (B, R, 4)) -> (B * R, ph, pw, C); image b's RoIs first for b = 0.

    Args:
        pooled_size: the output grid, (6, 6) for CaffeNet's roi_pool5, (7, 7) for VGG16's.
        spatial_scale: feature-map pixels per image pixel, 1/16 for both (conv5's stride).
    """

    def __init__(self, pooled_size, spatial_scale, **kwargs):
        super().__init__(**kwargs)
        self.pooled_size = tuple(pooled_size) if not isinstance(pooled_size, int) else (pooled_size, pooled_size)
        self.spatial_scale = float(spatial_scale)

    def call(self, features, rois):
        shape = ops.shape(rois)
        batch, count = shape[0], shape[1]
        index = ops.repeat(ops.arange(batch, dtype="float32"), count)
        flat = ops.reshape(ops.cast(rois, "float32"), (-1, 4))  # as Caffe: negative or inverted corners as given
        rows = ops.concatenate([index[:, None], flat], axis=1)
        return roi_max_pool(features, rows, self.pooled_size, self.spatial_scale)

    def compute_output_shape(self, features_shape, rois_shape):
        return (None, *self.pooled_size, features_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pooled_size": self.pooled_size, "spatial_scale": self.spatial_scale}


@keras.saving.register_keras_serializable(package="zoo")
class PerImage(keras.layers.Layer):
    """(x (B * R, K), rois (B, R, 4)) -> (B, R, K): per-RoI outputs regrouped by image."""

    def call(self, x, rois):
        shape = ops.shape(rois)
        return ops.reshape(x, (shape[0], shape[1], ops.shape(x)[-1]))

    def compute_output_shape(self, x_shape, rois_shape):
        return (rois_shape[0], rois_shape[1], x_shape[-1])
