"""ImageNet (ILSVRC-2012 classification) through TFDS, with the crops the classic recipes train on.

    ds = zoo.data.load("imagenet2012", "train", manual_dir="~/Downloads/imagenet", image_size=227)

The data is TFDS's own `imagenet2012` builder (5.x), prepared from the two archives the user
downloads after registering at image-net.org; nothing else reaches the network. Each example is
{"image": uint8 (image_size, image_size, 3) RGB, "label": int64 class id 0-999 (TFDS order: the
sorted WordNet ids)}, cropped here because the recipe runner batches fixed-size images:

- training split (`augment=True`): rescale, take a random image_size x image_size crop, mirror it
  with probability 1/2 (Krizhevsky et al. 2012 §4.1; Simonyan & Zisserman 2015 §3.1; He et al.
  2016 §3.4);
- every other split, or `augment=False`: rescale and take the center crop (the single
  center-crop evaluation of the BVLC readmes and keras.applications' table).

Rescaling, option `resize`:
- "warp": both sides to resize_size, ignoring the aspect ratio: the BVLC Caffe recipes
  (convert_imageset resizes to 256x256 before cropping 227 or 224);
- "short_side": the shorter side to resize_size, the aspect ratio kept (VGG's training scale S,
  §3.1; He et al.'s 256). With `resize_size_max`, the training split draws the shorter side
  uniformly from [resize_size, resize_size_max] per example (He et al. 2016 §3.4: [256, 480];
  VGG's scale jittering [256, 512]).
Not reproduced: AlexNet's PCA colour augmentation and Caffe's mean *image* (the zoo subtracts its
per-channel mean, the card's input contract).

Randomness: each example's crop and flip are stateless functions of a seed drawn from
`tf.data.Dataset.random(seed, rerandomize_each_iteration=True)`, so every epoch gets new crops,
and a pipeline built after the same `tf.random.set_seed` (the runner sets it from the recipe's
seed) repeats them exactly.

`shapes_classification` (zoo.data.standins.shapes_classification) takes the same options, so that an
ImageNet recipe runs offline with the single override `--set data.name=shapes_classification`.
"""

from __future__ import annotations

from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.errors import ConfigError

RESIZE_MODES = ("warp", "short_side")
# The options of imagenet2012 and of its stand-in, with their defaults (VGG / ResNet / GoogLeNet: 224 crops).
CROP_OPTIONS = {"image_size": 224, "resize_size": 256, "resize": "short_side", "resize_size_max": None, "augment": True}

TRAIN_ARCHIVE = ManualFile(
    "ILSVRC2012_img_train.tar", "https://image-net.org/challenges/LSVRC/2012/2012-downloads.php",
    "Training images (Task 1 & 2), 138 GB; needs an image-net.org account",
)
VAL_ARCHIVE = ManualFile(
    "ILSVRC2012_img_val.tar", "https://image-net.org/challenges/LSVRC/2012/2012-downloads.php",
    "Validation images (all tasks), 6.3 GB",
)
CITATION = """@article{ILSVRC15,
  author={Olga Russakovsky and Jia Deng and Hao Su and Jonathan Krause and Sanjeev Satheesh and Sean Ma and
          Zhiheng Huang and Andrej Karpathy and Aditya Khosla and Michael Bernstein and Alexander C. Berg and
          Li Fei-Fei},
  title={{ImageNet Large Scale Visual Recognition Challenge}},
  journal={International Journal of Computer Vision}, volume={115}, number={3}, pages={211--252}, year={2015}}"""


def _wordnet_ids() -> tuple:
    """The 1000 class names in label order: the WordNet ids of TFDS's imagenet2012 labels.txt, found without
    importing TensorFlow Datasets (listing datasets stays cheap)."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("tensorflow_datasets")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "imagenet2012", "labels.txt")
    with open(path) as f:
        return tuple(line.strip() for line in f if line.strip())


def check_crop_options(image_size, resize_size, resize, resize_size_max):
    if resize not in RESIZE_MODES:
        raise ConfigError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    if not 0 < int(image_size) <= int(resize_size):
        raise ConfigError(
            f"image_size (the crop, {image_size}) must be positive and at most resize_size ({resize_size})"
        )
    if resize_size_max is not None and int(resize_size_max) < int(resize_size):
        raise ConfigError(f"resize_size_max ({resize_size_max}) must be at least resize_size ({resize_size})")


def is_training_split(split: str) -> bool:
    return split.split("[")[0].strip() == "train"


def _rescale(image, size, resize):
    """Warp to size x size, or scale the shorter side to `size` (a scalar tensor), as uint8."""
    import tensorflow as tf

    shape = tf.shape(image)[:2]
    if resize == "warp":
        target = tf.stack([size, size])
    else:
        scale = tf.cast(size, tf.float32) / tf.cast(tf.reduce_min(shape), tf.float32)
        target = tf.maximum(tf.cast(tf.round(tf.cast(shape, tf.float32) * scale), tf.int32), size)
    resized = tf.image.resize(image, target, method="bilinear")
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def center_crop(image, image_size, resize_size, resize="short_side"):
    """The single center-crop evaluation view of one uint8 image: rescaled (`_rescale`), then its central
    image_size x image_size window (also what `zoo predict` shows a fixed-size classifier)."""
    import tensorflow as tf

    image = _rescale(image, tf.constant(resize_size), resize)
    shape = tf.shape(image)
    top, left = (shape[0] - image_size) // 2, (shape[1] - image_size) // 2
    window = image[top:top + image_size, left:left + image_size]
    return tf.ensure_shape(window, (image_size, image_size, 3))


def crop(ds, split, *, image_size, resize_size, resize, resize_size_max, augment, seed):
    """Map `ds` (dicts with an "image") to fixed-size crops: random + mirrored on the training split, else central."""
    import tensorflow as tf

    check_crop_options(image_size, resize_size, resize, resize_size_max)
    image_size, resize_size = int(image_size), int(resize_size)
    if not (augment and is_training_split(split)):
        def center(ex):
            return {**ex, "image": center_crop(ex["image"], image_size, resize_size, resize)}

        return ds.map(center, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).batch(2)

    def random_crop(ex, key):
        scale_key, crop_key, flip_key = tf.unstack(tf.random.split(key, 3))
        size = tf.constant(resize_size)
        if resize_size_max is not None:
            size = tf.random.stateless_uniform((), scale_key, resize_size, int(resize_size_max) + 1, tf.int32)
        image = _rescale(ex["image"], size, resize)
        image = tf.image.stateless_random_crop(image, (image_size, image_size, 3), crop_key)
        return {**ex, "image": tf.image.stateless_random_flip_left_right(image, flip_key)}

    return tf.data.Dataset.zip(ds, seeds).map(random_crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _postprocess(example):
    return {"image": example["image"], "label": example["label"]}


class ImageNetLoader(TfdsLoader):
    """TFDS `imagenet2012` (prepared from manual_dir), cropped for training or evaluation."""

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, **options):
        ds = super().__call__(split, data_dir=data_dir, manual_dir=manual_dir, seed=seed, on_corrupt=on_corrupt,
                              counter=counter)
        return crop(ds, split, seed=seed, **{**CROP_OPTIONS, **options})


INFO = DatasetInfo(
    name="imagenet2012",
    task="classification",
    summary="ILSVRC-2012 classification (ImageNet-1k), 1000 classes, via TFDS imagenet2012",
    num_classes=1000,
    class_names=_wordnet_ids(),
    splits={"train": 1_281_167, "validation": 50_000},
    features={
        "image": "uint8 (image_size, image_size, 3) RGB: a random crop of the rescaled image, mirrored half the "
                 "time (train split, augment=True), else the center crop",
        "label": "int64 () class id 0-999, TFDS's order (sorted WordNet ids)",
    },
    source="https://image-net.org/ (ILSVRC-2012); read by TFDS's imagenet2012 builder",
    citation=CITATION,
    license="ImageNet terms of access: non-commercial research and educational use only",
    instructions=manual_instructions("imagenet2012", (TRAIN_ARCHIVE, VAL_ARCHIVE)),
    options=dict(CROP_OPTIONS),
)

register_dataset("imagenet2012", INFO, ImageNetLoader("imagenet2012", postprocess=_postprocess,
                                                      instructions=INFO.instructions))
