"""COCO 2014 captions as LRCN uses them: (image, caption tokens) pairs on the paper's splits.

The images and captions come from TFDS's own `coco_captions` builder (COCO 2014 with the
Karpathy & Li split). Karpathy's 5k/5k val/test cut is not what the thesis used (§4.4, Tables
4.5-4.7), so the zoo's splits are rebuilt from TFDS's:

| zoo split      | TFDS split             | what it is                                                  |
|----------------|------------------------|-------------------------------------------------------------|
| `train`        | train                  | COCO 2014 train: 82,783 images, 414,113 captions            |
| `val`          | val + test + restval   | all of COCO 2014 val: 40,504 images, 202,654 captions;      |
|                |                        | caption generation is scored on it (Table 4.6)              |
| `retrieval_1k` | val + test + restval   | 1,000 val images with their first 5 captions (by annotation |
|                |                        | id): the retrieval ablation's "randomly chosen subset (1000 |
|                |                        | images and 5000 captions)" (Table 4.5)                      |

The thesis's 1,000 images were drawn at random and not published: `retrieval_1k` draws its
own (`retrieval_image_ids`: sorted val ids, NumPy `default_rng(retrieval_seed).choice`), so
Table 4.5 numbers on it are comparable in kind, not image for image. COCO 2014 test captions
are not public (Table 4.7 was scored by the COCO server): there is no test split.

Examples (`pairs=True`, the default): one per (image, caption), as lrcn.prototxt's data layers
pair them: {"image": uint8 (227, 227, 3) RGB, "image_id": int64, "caption": string, "words":
int32 (20,) [<eos>, w1 .. wn] padded with 0, "targets": int32 (20,) [w1 .. wn, <eos>] padded
with -1} (zoo.text.vocab.Vocabulary.sequences). With `pairs=False`, one per image:
{"image", "image_id", "captions": string (K,)}, the references for caption metrics.

Images as the release's data layer reads them: resized to 256x256, then 227x227 crops, random
and mirrored with probability 1/2 for `train`, central otherwise (`image_size`, `crop`).

The vocabulary (option `vocabulary`: the release's vocabulary.txt format, or a Vocabulary) is
by default built from the train captions with the release's rule (words seen 5 times or more;
`Vocabulary.build`), which reads every train record once; pass a saved file to skip that.
"""

from __future__ import annotations

import re

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, InputError

IMAGE_SIZE = 256
CROP = 227
MAX_WORDS = 20  # coco_to_hdf5_data.py
RETRIEVAL_IMAGES = 1000
RETRIEVAL_CAPTIONS_PER_IMAGE = 5
TFDS_SPLITS = {"train": "train", "val": "val+test+restval", "retrieval_1k": "val+test+restval"}
HOMEPAGE = "https://cocodataset.org"


# ------------------------------------------------------------------ shared with flickr30k and tacos


def base_split(split: str, allowed) -> str:
    """The one base split of `split` ("train[:10%]" -> "train"); caption datasets load one at a time."""
    bases = {re.sub(r"\[.*\]$", "", part.strip()) for part in split.split("+")}
    if len(bases) != 1:
        raise ConfigError(f"load {split!r} one split at a time: train and evaluation examples are prepared differently")
    (base,) = bases
    if base not in allowed:
        raise ConfigError(f"unknown split {base!r}; expected one of {', '.join(allowed)}")
    return base


def resolve_vocabulary(vocabulary, training_captions):
    """A Vocabulary from a vocabulary.txt path, a Vocabulary, or (None) built from `training_captions()`."""
    from zoo.text.vocab import Vocabulary

    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    if vocabulary is not None:
        return Vocabulary.load(vocabulary)
    return Vocabulary.build(training_captions())


def add_tokens(ds, vocabulary, *, key="caption", max_words=MAX_WORDS):
    """Add "words" and "targets" (int32 (max_words,)) for the string feature `key` of every example."""
    import tensorflow as tf

    def encode(text):
        seqs = vocabulary.sequences([text.decode("utf-8")], max_words)
        return seqs["input"][0], seqs["target"][0]

    def add(example):
        words, targets = tf.numpy_function(encode, [example[key]], [tf.int32, tf.int32], stateful=False)
        return {**example, "words": tf.ensure_shape(words, [max_words]),
                "targets": tf.ensure_shape(targets, [max_words])}

    return ds.map(add)


def caption_pairs(ds, vocabulary=None, *, max_words=MAX_WORDS, captions_per_image=None):
    """{"image", "image_id", "captions": (K,)} -> one example per caption {"image", "image_id",
    "caption"}, with "words"/"targets" when a Vocabulary is given; only the first
    `captions_per_image` captions of each image if set."""
    import tensorflow as tf

    def split(example):
        captions = example["captions"] if captions_per_image is None else example["captions"][:captions_per_image]
        image, image_id = example["image"], example["image_id"]
        return tf.data.Dataset.from_tensor_slices(captions).map(
            lambda c: {"image": image, "image_id": image_id, "caption": c})

    pairs = ds.flat_map(split)
    return pairs if vocabulary is None else add_tokens(pairs, vocabulary, max_words=max_words)


def first_captions(ds, k):
    """Keep the first `k` captions of every image (all of them when k is None)."""
    return ds if k is None else ds.map(lambda example: {**example, "captions": example["captions"][:k]})


def caption_images(ds, *, training, seed=0, image_size=IMAGE_SIZE, crop=CROP, mirror=True):
    """Resize "image" to image_size x image_size, then crop x crop: random and (`mirror`) mirrored with
    probability 1/2 when `training` (a pure function of seed, position and epoch), else central."""
    import tensorflow as tf

    if crop is not None and image_size is None:
        raise ConfigError("crop needs image_size: images of different sizes are resized before cropping")
    if crop is not None and crop > image_size:
        raise ConfigError(f"crop {crop} is larger than image_size {image_size}")
    if image_size is None:
        return ds

    def resize(image):
        image = tf.image.resize(image, (image_size, image_size), method="bilinear")
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)

    if crop is None:
        return ds.map(lambda example: {**example, "image": resize(example["image"])})
    if not training:
        offset = (image_size - crop) // 2
        return ds.map(lambda e: {**e, "image": resize(e["image"])[offset : offset + crop, offset : offset + crop]})

    def augment(example, draw):
        u = tf.random.stateless_uniform([3], seed=tf.stack([draw, tf.constant(seed, tf.int64)]))
        top, left = (tf.minimum(tf.cast(u[k] * (image_size - crop + 1), tf.int32), image_size - crop) for k in (0, 1))
        image = resize(example["image"])[top : top + crop, left : left + crop]
        if mirror:
            image = tf.cond(u[2] < 0.5, lambda: tf.reverse(image, axis=[1]), lambda: image)
        return {**example, "image": tf.ensure_shape(image, [crop, crop, 3])}

    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return tf.data.Dataset.zip((ds, draws)).map(augment)


def caption_examples(ds, *, training, seed, vocabulary, pairs, max_words, image_size, crop, captions_per_image=None):
    """The loaders' last steps: pairs with tokens (or per-image references), then image resizing and crops."""
    if pairs:
        ds = caption_pairs(ds, vocabulary, max_words=max_words, captions_per_image=captions_per_image)
    else:
        ds = first_captions(ds, captions_per_image)
    return caption_images(ds, training=training, seed=seed, image_size=image_size, crop=crop)


# ------------------------------------------------------------------ COCO


def from_tfds_coco(example):
    """A TFDS coco_captions record -> {"image", "image_id", "captions": (K,) in annotation-id order}."""
    import tensorflow as tf

    order = tf.argsort(example["captions"]["id"])
    return {"image": example["image"], "image_id": example["image/id"],
            "captions": tf.gather(example["captions"]["text"], order)}


def retrieval_image_ids(image_ids, size=RETRIEVAL_IMAGES, seed=0) -> np.ndarray:
    """`size` image ids drawn without replacement from the sorted unique `image_ids`, sorted."""
    ids = np.unique(np.asarray(image_ids, np.int64))
    if len(ids) < size:
        raise InputError(f"cannot draw {size} retrieval images from {len(ids)}")
    return np.sort(np.random.default_rng(seed).choice(ids, size, replace=False))


def _tfds(split, *, data_dir, manual_dir, on_corrupt, counter, images=True):
    """TFDS coco_captions `split`; `images=False` skips decoding the JPEGs (ids and captions only)."""
    import tensorflow_datasets as tfds

    from zoo.data import tfds_manual

    builder = tfds_manual.prepare_tfds("coco_captions/2014", data_dir=data_dir, manual_dir=manual_dir,
                                       on_corrupt=on_corrupt, counter=counter, zoo_builder=False,
                                       instructions=INSTRUCTIONS)
    decoders = None if images else {"image": tfds.decode.SkipDecoding()}
    return builder.as_dataset(split=split, shuffle_files=False, decoders=decoders)


def _captions_of(ds):
    for example in ds.as_numpy_iterator():
        yield from (c.decode("utf-8") for c in example["captions"]["text"])


class CocoCaptionsLoader:
    """The registered loader (see the module docstring)."""

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None,
                 vocabulary=None, max_words=MAX_WORDS, pairs=True, image_size=IMAGE_SIZE, crop=CROP,
                 retrieval_seed=0):
        base = base_split(split, TFDS_SPLITS)
        if base != "train" and split != base:
            raise ConfigError(f"coco_captions {base} is built from several TFDS splits and cannot be sliced; "
                              f"got {split!r}")
        tfds_kwargs = {"data_dir": data_dir, "manual_dir": manual_dir, "on_corrupt": on_corrupt, "counter": counter}
        tfds_split = split if base == "train" else TFDS_SPLITS[base]
        if pairs:
            vocabulary = self._vocabulary(vocabulary, **tfds_kwargs)
        ds = _tfds(tfds_split, **tfds_kwargs).map(from_tfds_coco)
        per_image = None
        if base == "retrieval_1k":
            import tensorflow as tf

            all_ids = [e["image/id"] for e in _tfds(tfds_split, images=False, **tfds_kwargs).as_numpy_iterator()]
            chosen = tf.constant(retrieval_image_ids(all_ids, RETRIEVAL_IMAGES, seed=retrieval_seed))
            ds = ds.filter(lambda e: tf.reduce_any(tf.equal(e["image_id"], chosen)))
            per_image = RETRIEVAL_CAPTIONS_PER_IMAGE
        return caption_examples(ds, training=base == "train", seed=seed, vocabulary=vocabulary if pairs else None,
                                pairs=pairs, max_words=max_words, image_size=image_size, crop=crop,
                                captions_per_image=per_image)

    @staticmethod
    def _vocabulary(vocabulary, **tfds_kwargs):
        """The given vocabulary, or the one built from the train captions (read without the JPEGs)."""
        return resolve_vocabulary(vocabulary, lambda: _captions_of(_tfds("train", images=False, **tfds_kwargs)))

    def model_options(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", vocabulary=None, **_):
        """What a captioner needs from this data: vocab_size, the size of the vocabulary its captions use."""
        return {"vocab_size": len(self._vocabulary(vocabulary, data_dir=data_dir, manual_dir=manual_dir,
                                                   on_corrupt=on_corrupt))}

    def prepare(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None):
        _tfds("train", data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt, counter=counter)


INSTRUCTIONS = (
    "TFDS's own builder coco_captions downloads COCO 2014 (train2014.zip, val2014.zip, annotations; about 19 GB from "
    "images.cocodataset.org) and Karpathy's caption_datasets.zip (cs.stanford.edu/people/karpathy/deepimagesent). "
    "Run: python -m zoo.data prepare coco_captions (or tfds build coco_captions); with the files downloaded by hand, "
    "put them in TFDS's manual_dir as its coco documentation says."
)
CAPTION_FEATURES = {
    "image": "uint8 (227, 227, 3) RGB (resized to 256x256, then cropped)",
    "image_id": "int64",
    "caption": "string (pairs=True)",
    "words": "int32 (20,) [<eos>, w1 .. wn] padded with 0 (pairs=True)",
    "targets": "int32 (20,) [w1 .. wn, <eos>] padded with -1 (pairs=True)",
    "captions": "string (K,) all captions of the image (pairs=False)",
}
CAPTION_OPTIONS = {"vocabulary": None, "max_words": MAX_WORDS, "pairs": True, "image_size": IMAGE_SIZE, "crop": CROP}

INFO = DatasetInfo(
    name="coco_captions",
    task="captioning",
    summary="COCO 2014 captions on LRCN's splits: train, all of val (generation), a 1k-image val subset (retrieval)",
    splits={"train": 414113, "val": 202654, "retrieval_1k": RETRIEVAL_IMAGES * RETRIEVAL_CAPTIONS_PER_IMAGE},
    features=CAPTION_FEATURES,
    source=HOMEPAGE + " (via TFDS coco_captions; split sizes are (image, caption) pairs)",
    citation="Lin et al., Microsoft COCO: Common Objects in Context, ECCV 2014",
    license="annotations CC BY 4.0; images: Flickr terms of use",
    instructions=INSTRUCTIONS,
    options={**CAPTION_OPTIONS, "retrieval_seed": 0},
)

register_dataset("coco_captions", INFO, CocoCaptionsLoader())
