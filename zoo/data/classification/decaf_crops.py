"""The DeCAF input view shared by its datasets (Donahue thesis §2.3): "the center 224x224 crop of the
256x256 resized image", and the CUB protocol's region "1.5x the size of the provided bounding box"
(§2.3.3), cropped before that resize. Registers nothing; TensorFlow is imported inside the functions."""

from __future__ import annotations

# The loaders' options: warp to 256x256 (both sides, as Caffe's convert_imageset), then the central 224.
DECAF_VIEW = {"image_size": 224, "resize_size": 256, "resize": "warp"}


def decaf_view(ds, *, image_size, resize_size, resize):
    """Map dicts with an "image" to the central crop of the resized image (no augmentation: features)."""
    import tensorflow as tf

    from zoo.data.classification.imagenet import center_crop, check_crop_options

    check_crop_options(image_size, resize_size, resize, None)

    def view(ex):
        return {**ex, "image": center_crop(ex["image"], int(image_size), int(resize_size), resize)}

    return ds.map(view, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def enlarged_box(box, scale, height, width):
    """Pixel rows/columns [top, bottom) x [left, right) of the normalised box (ymin, xmin, ymax, xmax) with
    each side multiplied by `scale` about its centre, clipped to the image (TF ops, or NumPy scalars)."""
    import tensorflow as tf

    box = tf.cast(box, tf.float32)
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    cy, cx = (box[0] + box[2]) / 2 * h, (box[1] + box[3]) / 2 * w
    half_h, half_w = (box[2] - box[0]) * h * scale / 2, (box[3] - box[1]) * w * scale / 2
    top = tf.cast(tf.maximum(tf.round(cy - half_h), 0.0), tf.int32)
    left = tf.cast(tf.maximum(tf.round(cx - half_w), 0.0), tf.int32)
    bottom = tf.cast(tf.minimum(tf.round(cy + half_h), h), tf.int32)
    right = tf.cast(tf.minimum(tf.round(cx + half_w), w), tf.int32)
    return tf.maximum(bottom, top + 1), tf.maximum(right, left + 1), top, left


def crop_enlarged_box(image, box, scale):
    """The region of `image` (H, W, 3) inside `box` enlarged `scale` times (at least one pixel)."""
    import tensorflow as tf

    shape = tf.shape(image)
    bottom, right, top, left = enlarged_box(box, scale, shape[0], shape[1])
    return image[top:bottom, left:right]
