"""TFDS builder of Flickr8k from the original release (see flickr8k.py).

Flickr8k_text.zip holds the captions (Flickr8k.token.txt, the Flickr30k token format) and the split lists
(one "<name>.jpg" a line); the photos are read from Flickr8k_Dataset.zip in one pass per split. A listed
photo missing from the archive, undecodable, without captions or with a name that is not
"<number>_<secret>" is a corrupt record (named; skipped with on_corrupt="skip").
"""

from __future__ import annotations

import os
import zipfile

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.text import flickr8k
from zoo.data.text.flickr30k_builder import parse_captions, photo_caption_examples
from zoo.data.tfds_manual import ManualArchiveBuilder
from zoo.errors import CorruptRecordError


def read_text_archive(path) -> tuple[dict, dict]:
    """({photo name: [captions]}, {zoo split: [photo names]}) from Flickr8k_text.zip."""
    try:
        with zipfile.ZipFile(path) as z:
            members = {os.path.basename(n): n for n in z.namelist()}
            missing = [f for f in (flickr8k.TOKEN_FILE, *flickr8k.SPLIT_FILES.values()) if f not in members]
            if missing:
                raise CorruptRecordError(f"{path} lacks {', '.join(missing)}: is it the release's Flickr8k_text.zip?")
            token_bytes = z.read(members[flickr8k.TOKEN_FILE])
            lists = {split: z.read(members[name]).decode("utf-8").split() for split, name in
                     flickr8k.SPLIT_FILES.items()}
    except zipfile.BadZipFile as e:
        raise CorruptRecordError(f"{path} is not a zip archive: {e}") from e
    captions = parse_captions(token_bytes.decode("utf-8").splitlines(), f"{path}:{flickr8k.TOKEN_FILE}")
    return captions, {split: [n[:-len(".jpg")] if n.endswith(".jpg") else n for n in names]
                      for split, names in lists.items()}


class Flickr8k(ManualArchiveBuilder):
    """Flickr8k: photos, five captions each, the official split."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Original photos, captions and split lists."}
    MANUAL_FILES = (flickr8k.IMAGES, flickr8k.TEXT)

    def _info(self):
        return self.zoo_dataset_info(
            description="Flickr8k photos with their five captions, on the official split.",
            features=tfds.features.FeaturesDict({
                "image_id": np.int64,
                "image": tfds.features.Image(shape=(None, None, 3)),
                "captions": tfds.features.Sequence(tfds.features.Text()),
            }),
            homepage=flickr8k.HOMEPAGE,
            citation=flickr8k.CITATION,
        )

    def _split_generators(self, dl_manager):
        paths = self.manual_paths(dl_manager)
        captions, splits = read_text_archive(paths[flickr8k.TEXT.name])
        archive = paths[flickr8k.IMAGES.name]
        return {split: self._generate_examples(archive, names, captions, split) for split, names in splits.items()}

    def _generate_examples(self, archive, names, captions, split):
        return photo_caption_examples(self, archive, names, captions, split, photo_number=_flickr8k_number,
                                      token_file=flickr8k.TOKEN_FILE, folder="Flicker8k_Dataset",
                                      listed_in=flickr8k.SPLIT_FILES[split])


def _flickr8k_number(key, record):
    number = key.split("_")[0]
    if not number.isdigit():
        raise CorruptRecordError(f"{record}: Flickr8k photo names are '<number>_<secret>', not {key!r}")
    return int(number)
