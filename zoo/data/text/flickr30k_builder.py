"""TFDS builder of Flickr30k from the original release plus Karpathy et al.'s split (see flickr30k.py).

results_20130124.token gives each photo's captions (`<id>.jpg#<k>` then a tab and the caption);
dataset_flickr30k.json gives each photo's split ("train", "val", "test"); the photos are read
from flickr30k-images.tar.gz in one sequential pass per split (a .tar.gz has no random access).
A photo of a split that is missing from the archive, undecodable, or without captions is a
corrupt record (named; skipped with on_corrupt="skip").
"""

from __future__ import annotations

import collections
import json
import os
import re

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.text import flickr30k
from zoo.data.images import storable_image
from zoo.data.tfds_manual import ManualArchiveBuilder, iter_archive
from zoo.errors import CorruptRecordError

_TOKEN_LINE = re.compile(r"^(?P<id>[^#\s]+)\.jpg#(?P<k>\d+)\t(?P<caption>.*)$")


def read_captions(path) -> dict:
    """{image id: [captions in #k order]} from results_20130124.token."""
    with open(path, encoding="utf-8") as f:
        return parse_captions(f, path)


def parse_captions(lines, where) -> dict:
    """{image id: [captions in #k order]} from the lines of a Flickr token file ("<id>.jpg#<k><TAB><caption>",
    Flickr30k's results_20130124.token and Flickr8k's Flickr8k.token.txt); `where` names the file in errors."""
    captions = collections.defaultdict(dict)
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        match = _TOKEN_LINE.match(line)
        if match is None:
            raise CorruptRecordError(
                f"{where} line {number} is not '<id>.jpg#<k><TAB><caption>' (the Flickr token format): {line[:80]!r}"
            )
        captions[match["id"]][int(match["k"])] = match["caption"].strip()
    return {image_id: [by_k[k] for k in sorted(by_k)] for image_id, by_k in captions.items()}


def read_splits(path) -> dict:
    """{zoo split: [image ids]} from Karpathy's dataset_flickr30k.json."""
    try:
        with open(path, encoding="utf-8") as f:
            images = json.load(f)["images"]
        pairs = [(image["split"], os.path.splitext(image["filename"])[0]) for image in images]
    except (ValueError, KeyError, TypeError) as e:
        raise CorruptRecordError(
            f"{path} is not Karpathy's dataset_flickr30k.json ({{'images': [{{'filename', 'split', ...}}]}}): {e}"
        ) from e
    unknown = sorted({split for split, _ in pairs} - set(flickr30k.SPLIT_NAMES))
    if unknown:
        raise CorruptRecordError(f"{path} has splits {unknown}; expected {sorted(flickr30k.SPLIT_NAMES)}")
    splits = {name: [] for name in flickr30k.SPLIT_NAMES.values()}
    for split, image_id in pairs:
        splits[flickr30k.SPLIT_NAMES[split]].append(image_id)
    return splits


class Flickr30k(ManualArchiveBuilder):
    """Flickr30k: photos, five captions each, Karpathy et al.'s 1k-test split."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Original photos and captions; split from dataset_flickr30k.json."}
    MANUAL_FILES = (flickr30k.IMAGES, flickr30k.TOKENS, flickr30k.SPLITS)

    def _info(self):
        return self.zoo_dataset_info(
            description="Flickr30k photos with their five captions, split as in Karpathy et al. (2014).",
            features=tfds.features.FeaturesDict({
                "image_id": np.int64,
                "image": tfds.features.Image(shape=(None, None, 3)),
                "captions": tfds.features.Sequence(tfds.features.Text()),
            }),
            homepage=flickr30k.HOMEPAGE,
            citation=flickr30k.CITATION,
        )

    def _split_generators(self, dl_manager):
        paths = self.manual_paths(dl_manager)
        captions = read_captions(paths[flickr30k.TOKENS.name])
        splits = read_splits(paths[flickr30k.SPLITS.name])
        listed = {i for ids in splits.values() for i in ids}
        self.info.metadata["photos_in_no_split"] = len(set(captions) - listed)
        archive = paths[flickr30k.IMAGES.name]
        return {split: self._generate_examples(archive, ids, captions, split) for split, ids in splits.items()}

    def _generate_examples(self, archive, ids, captions, split):
        return photo_caption_examples(self, archive, ids, captions, split, photo_number=_flickr30k_number,
                                      token_file=flickr30k.TOKENS.name, folder="flickr30k-images",
                                      listed_in=flickr30k.SPLITS.name)


def _flickr30k_number(key, record):
    if not key.isdigit():
        raise CorruptRecordError(f"{record}: Flickr30k photo names are numbers, not {key!r}")
    return int(key)


def photo_caption_examples(builder, archive, keys, captions, split, *, photo_number, token_file, folder, listed_in):
    """(key, {"image_id", "image", "captions"}) of the photos `keys` of `split` read from `archive` in one pass
    (Flickr8k and Flickr30k); `photo_number(key, record)` gives the int64 id or raises CorruptRecordError. A
    photo that is undecodable, without captions or missing from the archive is a corrupt record."""
    wanted = set(keys)

    def photo(name):
        base = os.path.basename(name)
        return base[: -len(".jpg")] if base.endswith(".jpg") else None

    found = set()
    for name, data in iter_archive(archive, select=lambda n: photo(n) in wanted):
        key = photo(name)
        found.add(key)
        record = f"{archive}:{name}"
        try:
            number = photo_number(key, record)
            if not captions.get(key):
                raise CorruptRecordError(f"{record} has no captions in {token_file}")
            image, _ = storable_image(data, record)
        except CorruptRecordError as e:
            builder.corrupt(split, record, e)
            continue
        yield key, {"image_id": number, "image": image, "captions": captions[key]}
    for key in sorted(wanted - found):
        record = f"{archive}:{folder}/{key}.jpg"
        builder.corrupt(split, record, CorruptRecordError(
            f"{record}: photo {key} of split {split} ({listed_in}) is not in the archive"))
