"""Flickr30k (Young et al. 2014) with the standard 1k test split, as LRCN's retrieval results use it.

The zoo's TFDS builder (flickr30k_builder.py) reads the original release from the manual_dir:

    flickr30k-images.tar.gz     flickr30k-images/<image id>.jpg, 31,783 photos
    results_20130124.token      "<image id>.jpg#<k><TAB><caption>", five captions per image (k = 0-4)

The thesis compares LRCN2f on Flickr30k (Table 4.4) with DeViSE, SDT-RNN, DeFrag, m-RNN and
Kiros et al., who all report on the split of Karpathy et al. (2014, DeFrag): 1,000 test images,
1,000 validation images, the rest for training. That split is not in the original release; it is
the `split` field of dataset_flickr30k.json in Karpathy's caption_datasets.zip (29,000 train,
1,014 val, 1,000 test images), which the builder also reads. Only the split comes from that
file; the captions are the release's own (results_20130124.token), untokenised. Photos in no
split are left out (they are counted in the prepared dataset's metadata).

Examples: as coco_captions (zoo.data.text.coco_captions, same options): (image, caption tokens)
pairs with `pairs=True`, or one example per image with its five captions ({"image", "image_id",
"captions"}) with `pairs=False`, the form retrieval is scored on (Table 4.4: R@K, median rank,
over the 1,000 test images and their 5,000 captions). The vocabulary defaults to the release's
rule (words seen 5 times or more) on the train captions.
"""

from __future__ import annotations

from zoo.data.text.coco_captions import (
    CAPTION_FEATURES,
    CAPTION_OPTIONS,
    CROP,
    IMAGE_SIZE,
    MAX_WORDS,
    base_split,
    caption_examples,
    resolve_vocabulary,
)
from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset

IMAGES = ManualFile(
    "flickr30k-images.tar.gz",
    "https://shannon.cs.illinois.edu/DenotationGraph/ (request form; the original release)",
    "the 31,783 photos; read in place, not extracted",
)
TOKENS = ManualFile(
    "results_20130124.token",
    "https://shannon.cs.illinois.edu/DenotationGraph/ (in flickr30k.tar.gz of the same release)",
    "the five captions of every photo",
)
SPLITS = ManualFile(
    "dataset_flickr30k.json",
    "https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip (extract this member)",
    "Karpathy et al.'s split: 29,000 train, 1,014 val, 1,000 test images",
)
SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}  # Karpathy's name -> the zoo's
HOMEPAGE = "https://shannon.cs.illinois.edu/DenotationGraph/"
CITATION = """@article{young2014image,
  title={From image descriptions to visual denotations: New similarity metrics for semantic inference over event
         descriptions},
  author={Young, Peter and Lai, Alice and Hodosh, Micah and Hockenmaier, Julia},
  journal={Transactions of the Association for Computational Linguistics}, volume={2}, pages={67--78}, year={2014}}"""


def _from_tfds(example):
    return {"image": example["image"], "image_id": example["image_id"], "captions": example["captions"]}


class Flickr30kLoader(TfdsLoader):
    """The registered loader: the zoo's TFDS builder, then caption pairs or per-image references."""

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None,
                 vocabulary=None, max_words=MAX_WORDS, pairs=True, image_size=IMAGE_SIZE, crop=CROP):
        base = base_split(split, ("train", "validation", "test"))
        common = {"data_dir": data_dir, "manual_dir": manual_dir, "seed": seed, "on_corrupt": on_corrupt}
        if pairs:
            vocabulary = self._vocabulary(vocabulary, data_dir, manual_dir, on_corrupt)
        ds = super().__call__(split, counter=counter, **common)
        return caption_examples(ds, training=base == "train", seed=seed, vocabulary=vocabulary if pairs else None,
                                pairs=pairs, max_words=max_words, image_size=image_size, crop=crop)

    def model_options(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", vocabulary=None, **_):
        """What a captioner needs from this data: vocab_size, the size of the vocabulary its captions use."""
        return {"vocab_size": len(self._vocabulary(vocabulary, data_dir, manual_dir, on_corrupt))}

    def _vocabulary(self, vocabulary, data_dir, manual_dir, on_corrupt):
        """The given vocabulary, or the one built from the train captions."""
        return resolve_vocabulary(vocabulary, lambda: self._train_captions(data_dir, manual_dir, on_corrupt))

    def _train_captions(self, data_dir, manual_dir, on_corrupt):
        """The train captions, read without decoding the photos (for the default vocabulary)."""
        import tensorflow_datasets as tfds

        builder = self._import().prepare_tfds(self.tfds_name, data_dir=data_dir, manual_dir=manual_dir,
                                              on_corrupt=on_corrupt, instructions=self.instructions)
        ds = builder.as_dataset(split="train", shuffle_files=False, decoders={"image": tfds.decode.SkipDecoding()})
        for example in ds.as_numpy_iterator():
            yield from (c.decode("utf-8") for c in example["captions"])


INFO = DatasetInfo(
    name="flickr30k",
    task="captioning",
    summary="Flickr30k photos with five captions each, on the standard 1k-test split of Karpathy et al. (2014)",
    splits={"train": None, "validation": None, "test": 5000},
    features=CAPTION_FEATURES,
    source=HOMEPAGE + " (test: 1,000 images x 5 captions = 5,000 pairs; train 29,000 and val 1,014 images)",
    citation=CITATION,
    license="images: Flickr terms of use; captions: the release's terms (research use)",
    instructions=manual_instructions("flickr30k", (IMAGES, TOKENS, SPLITS)),
    options=CAPTION_OPTIONS,
)

register_dataset(
    "flickr30k",
    INFO,
    Flickr30kLoader("flickr30k", builder="zoo.data.text.flickr30k_builder:Flickr30k", postprocess=_from_tfds,
                    instructions=INFO.instructions),
)
