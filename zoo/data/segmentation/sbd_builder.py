"""TFDS builder of SBD segmentation from benchmark.tgz (see sbd.py for the dataset).

The archive holds benchmark_RELEASE/dataset/{img/<id>.jpg, cls/<id>.mat, inst/<id>.mat,
train.txt, val.txt}. It is a 1.4 GB gzipped tar: random access would decompress from the start
for every member, so it is read in sequential passes (`iter_archive`) instead. Per split, one
pass keeps the split's cls/<id>.mat files (small, zlib-compressed) and notes which members
exist, a second pass streams the JPEGs and pairs each with its labels. Whatever the order of
the folders in the tar, no more than one split's .mat files are held in memory.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.segmentation import sbd
from zoo.data.images import storable_image
from zoo.data.matfiles import read_label_map
from zoo.data.tfds_manual import ManualArchiveBuilder, iter_archive
from zoo.errors import CorruptRecordError

_LIST = re.compile(r"(?:^|/)dataset/(train|val)\.txt$")
_SEGMENTATION = "GTcls.Segmentation"


class Sbd(ManualArchiveBuilder):
    """SBD from benchmark.tgz: train and val of benchmark_RELEASE/dataset, labels from cls/*.mat."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "dataset/train.txt and val.txt; labels GTcls.Segmentation of cls/<id>.mat."}
    MANUAL_FILES = (sbd.ARCHIVE,)

    def _info(self):
        return self.zoo_dataset_info(
            description="SBD semantic segmentation (20 VOC classes + background), from the original benchmark.tgz.",
            features=tfds.features.FeaturesDict(
                {
                    "id": tfds.features.Text(),
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "segmentation": tfds.features.Image(shape=(None, None, 1)),  # class ids 0-20
                }
            ),
            supervised_keys=("image", "segmentation"),
            homepage=sbd.HOMEPAGE,
            citation=sbd.CITATION,
        )

    def _split_generators(self, dl_manager):
        path = str(self.manual_paths(dl_manager)[sbd.ARCHIVE.name])
        found = dict(iter_archive(path, _LIST.search))
        trains = [name for name in found if name.endswith("train.txt")]
        root = trains[0][: -len("train.txt")] if len(trains) == 1 else ""
        if sorted(found) != [f"{root}train.txt", f"{root}val.txt"]:
            raise CorruptRecordError(
                f"{path} should hold one benchmark_RELEASE/dataset/ with train.txt and val.txt (the SBD "
                f"benchmark.tgz); found {sorted(found) or 'no such lists'}"
            )
        return {
            "train": self._generate_examples(path, root, found[f"{root}train.txt"].decode().split(), "train"),
            "validation": self._generate_examples(path, root, found[f"{root}val.txt"].decode().split(), "validation"),
        }

    def _generate_examples(self, path, root, ids, split):
        mat_names = {f"{root}cls/{i}.mat": i for i in ids}
        jpeg_names = {f"{root}img/{i}.jpg": i for i in ids}
        present = set()

        def keep_mat(name):
            present.add(name)
            return name in mat_names

        mats = {mat_names[name]: data for name, data in iter_archive(path, keep_mat)}
        for name, image_id in jpeg_names.items():
            if name not in present:
                self.corrupt(split, f"{path}:{image_id}", CorruptRecordError(f"{path} has no member {name}"))
        for name, jpeg in iter_archive(path, lambda n: n in jpeg_names):
            image_id = jpeg_names[name]
            mat = f"{root}cls/{image_id}.mat"
            try:
                image, size = storable_image(jpeg, f"{path}:{name}")
                if image_id not in mats:
                    raise CorruptRecordError(f"{path} has no member {mat}")
                labels = read_label_map(
                    mats.pop(image_id), f"{path}:{mat}", _SEGMENTATION, sbd.INFO.num_classes, sbd.INFO.ignore_label
                )
                if labels.shape != tuple(size):
                    raise CorruptRecordError(f"{path}:{mat} is {labels.shape}; its image {name} is {tuple(size)}")
            except CorruptRecordError as e:
                self.corrupt(split, f"{path}:{image_id}", e)
                continue
            yield image_id, {"id": image_id, "image": image, "segmentation": labels.astype(np.uint8)[..., None]}
