"""TFDS builder of enwik8 (the Hutter Prize Wikipedia text; the Grid LSTM paper's character-level
language-modelling data; Bastings' talk on the paper, the Hutter challenge slide), from the user's
enwik8.zip in manual_dir.

enwik8.zip holds one member `enwik8`: the first 10^8 bytes of an English Wikipedia XML dump.
The usual split, which the paper's "test: last 5MB" follows: bytes [0, 90M) train, [90M, 95M)
validation, [95M, 100M) test. Each record is a chunk of CHUNK bytes of a split plus the byte after
it (so that every byte of the split has its next byte as a target): record i of a split starting
at byte s holds bytes [s + i·CHUNK, s + (i+1)·CHUNK + 1) clipped to the split's end + 1 (the last
split, test, has no byte after it, so its last record is one byte shorter). Records are written
in text order. The paper's "sample sequences of 10000 chars" is CHUNK.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.sequence import tasks
from zoo.data.tfds_manual import ManualArchiveBuilder, open_archive
from zoo.errors import CorruptRecordError

CHUNK = 10_000


class Enwik8(ManualArchiveBuilder):
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "90M/5M/5M byte split in text order, chunks of 10,000 bytes + the next byte."}
    MANUAL_FILES = (tasks.ENWIK8_ARCHIVE,)

    def _info(self):
        return self.zoo_dataset_info(
            description="enwik8: the first 10^8 bytes of English Wikipedia (Hutter Prize), as byte chunks.",
            features=tfds.features.FeaturesDict(
                {"offset": np.int64, "bytes": tfds.features.Tensor(shape=(None,), dtype=np.uint8)}
            ),
            homepage=tasks.ENWIK8_HOMEPAGE,
            disable_shuffling=True,  # records stay in text order
        )

    def _split_generators(self, dl_manager):
        path = self.manual_paths(dl_manager)[self.MANUAL_FILES[0].name]
        with open_archive(path) as archive:
            if tasks.ENWIK8_MEMBER not in archive:
                raise CorruptRecordError(f"{path} has no member {tasks.ENWIK8_MEMBER!r}; is it enwik8.zip?")
            data = archive.read(tasks.ENWIK8_MEMBER)
        bounds = tasks.text_split_bounds(len(data))
        return {split: self._generate_examples(data, lo, hi) for split, (lo, hi) in bounds.items()}

    def _generate_examples(self, data, lo, hi):
        for start in range(lo, hi, CHUNK):
            end = min(start + CHUNK, hi) + 1  # the byte after the chunk is the last target
            yield start, {"offset": start, "bytes": np.frombuffer(data[start:end], np.uint8)}
