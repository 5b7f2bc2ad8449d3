"""`lsun_bedrooms` and `lfw`: the two datasets of the DCGAN grid (Oquab thesis §5.3.3, App. C,
Tables C.1 / C.2), through TFDS's own builders (`lsun/bedroom`, `lfw`; both download).

Images become 64x64 RGB as the DCGAN code's loader makes them: the shorter side scaled to
`load_size`, then a centre crop of 64 (`load_size` = 64 keeps the whole square; dcgan.torch's
default of 96 with a random crop is `load_size=96`, here centred so evaluation is deterministic).
Examples: {"image": uint8 (64, 64, 3), "label": 0} (the GAN task ignores labels).
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.errors import ConfigError

IMAGE_SIZE = 64
OPTIONS = {"load_size": 64}


def square_resize(image, load_size: int, size: int = IMAGE_SIZE):
    """The shorter side scaled to `load_size` (bilinear, antialiased), then the centre size x size crop, uint8."""
    import tensorflow as tf

    hw = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(load_size, tf.float32) / tf.reduce_min(hw)
    new = tf.cast(tf.round(hw * scale), tf.int32)
    resized = tf.image.resize(image, new, antialias=True)
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    crop = resized[top:top + size, left:left + size]
    return tf.cast(tf.clip_by_value(tf.round(crop), 0, 255), tf.uint8)


class SquareImageLoader(TfdsLoader):
    """A TFDS image dataset as 64x64 squares."""

    def __call__(self, split, *, load_size=OPTIONS["load_size"], **common):
        import tensorflow as tf

        if not IMAGE_SIZE <= int(load_size) <= 1024:
            raise ConfigError(f"load_size must be in {IMAGE_SIZE}..1024 (the crop is {IMAGE_SIZE}), got {load_size}")
        ds = super().__call__(split, **common)
        return ds.map(lambda ex: {"image": tf.ensure_shape(square_resize(ex["image"], int(load_size)),
                                                           (IMAGE_SIZE, IMAGE_SIZE, 3)),
                                  "label": tf.constant(0, tf.int64)})


LSUN_INSTRUCTIONS = "TFDS downloads it on first use: `python -m zoo.data prepare lsun_bedrooms` (network access)."
LFW_INSTRUCTIONS = "TFDS downloads it on first use: `python -m zoo.data prepare lfw` (network access)."
FEATURES = {"image": "uint8 (64, 64, 3) RGB: centre crop of the image scaled to load_size on its shorter side",
            "label": "int64 () 0 (unlabelled for the GAN)"}

register_dataset("lsun_bedrooms", DatasetInfo(
    name="lsun_bedrooms", task="adversarial_generation",
    summary="LSUN bedrooms (Yu et al. 2015) via TFDS lsun/bedroom (downloads, ~43 GB), as 64x64 squares",
    splits={"train": 3_033_042, "validation": 300}, features=FEATURES, options=dict(OPTIONS),
    source="https://www.yf.io/p/lsun ; read by TFDS's lsun builder",
    citation="Yu, Seff, Zhang, Song, Funkhouser, Xiao, LSUN: Construction of a Large-scale Image Dataset using "
             "Deep Learning with Humans in the Loop, arXiv 1506.03365",
    instructions=LSUN_INSTRUCTIONS,
), SquareImageLoader("lsun/bedroom", instructions=LSUN_INSTRUCTIONS))

register_dataset("lfw", DatasetInfo(
    name="lfw", task="adversarial_generation",
    summary="Labeled Faces in the Wild (Huang et al. 2007) via TFDS lfw (downloads), as 64x64 squares",
    splits={"train": 13_233}, features=FEATURES, options=dict(OPTIONS),
    source="http://vis-www.cs.umass.edu/lfw/ ; read by TFDS's lfw builder",
    citation="Huang, Ramesh, Berg, Learned-Miller, Labeled Faces in the Wild, UMass TR 07-49, 2007",
    instructions=LFW_INSTRUCTIONS,
), SquareImageLoader("lfw", instructions=LFW_INSTRUCTIONS))
