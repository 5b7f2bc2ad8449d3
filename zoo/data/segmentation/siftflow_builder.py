"""TFDS builder of SIFT Flow (see siftflow.py for the dataset).

SiftFlowDataset.zip holds Images/<folder>/<name>.jpg, SemanticLabels/<folder>/<name>.mat and
GeoLabels/<folder>/<name>.mat, <folder> being spatial_envelope_256x256_static_8outdoorcategories;
each .mat is a MATLAB v5 file whose `S` is the (256, 256) label map. The root of those three
folders inside the zip is found from the image folder, so a zip with or without a top folder
works. The split lists name the images, one a line.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.segmentation import siftflow
from zoo.data.images import storable_image
from zoo.data.matfiles import read_label_map
from zoo.data.tfds_manual import ManualArchiveBuilder, open_archive
from zoo.errors import CorruptRecordError

_NAME = re.compile(r"^[A-Za-z]+_[A-Za-z0-9]+$")  # e.g. coast_natu975, tallbuilding_a487066
_IMAGES = f"Images/{siftflow.IMAGE_FOLDER}/"
_SEMANTIC_VALUES = len(siftflow.SEMANTIC_CLASSES) + 1  # 0 unlabelled, 1-33
_GEOMETRIC_VALUES = len(siftflow.GEOMETRIC_CLASSES) + 1  # -1 void (and 0), 1-3


def read_name_list(path) -> list[str]:
    """SIFT Flow image names, one per line, from a split list such as the FCN's test.txt."""
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    bad = [n for n in names if not _NAME.match(n)]
    if bad or not names:
        raise CorruptRecordError(
            f"{path} should list SIFT Flow image names like coast_natu975, one per line; "
            + (f"found {bad[:3]}" if bad else "it is empty")
        )
    return names


def shift_labels(labels: np.ndarray) -> np.ndarray:
    """siftflow_layers.py's shift: -1 -> 0, then uint8 minus 1, so classes 1.. -> 0.. and 0 -> 255."""
    labels = np.where(labels == -1, 0, labels)
    return np.where(labels == 0, siftflow.IGNORE_LABEL, labels - 1).astype(np.uint8)


class Siftflow(ManualArchiveBuilder):
    """SIFT Flow from SiftFlowDataset.zip and the FCN split lists."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "FCN trainval.txt / test.txt; semantic 0-32 and geometric 0-2 labels, 255 = void."}
    MANUAL_FILES = (siftflow.ARCHIVE, siftflow.TRAIN_LIST, siftflow.TEST_LIST)

    def _info(self):
        return self.zoo_dataset_info(
            description="SIFT Flow scene parsing (33 semantic, 3 geometric classes), from SiftFlowDataset.zip.",
            features=tfds.features.FeaturesDict(
                {
                    "id": tfds.features.Text(),
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "segmentation": tfds.features.Image(shape=(None, None, 1)),  # 0-32, 255 = void
                    "geometry": tfds.features.Image(shape=(None, None, 1)),  # 0 sky, 1 horizontal, 2 vertical
                }
            ),
            supervised_keys=("image", "segmentation"),
            homepage=siftflow.HOMEPAGE,
            citation=siftflow.CITATION,
        )

    def _split_generators(self, dl_manager):
        paths = {name: str(path) for name, path in self.manual_paths(dl_manager).items()}
        lists = {
            "train": read_name_list(paths[siftflow.TRAIN_LIST.name]),
            "test": read_name_list(paths[siftflow.TEST_LIST.name]),
        }
        both = sorted(set(lists["train"]) & set(lists["test"]))
        if both:
            raise CorruptRecordError(
                f"{paths[siftflow.TRAIN_LIST.name]} and {paths[siftflow.TEST_LIST.name]} share images, e.g. {both[:3]}"
            )
        archive = paths[siftflow.ARCHIVE.name]
        return {split: self._generate_examples(archive, names, split) for split, names in lists.items()}

    def _generate_examples(self, archive_path, names, split):
        with open_archive(archive_path) as archive:
            roots = {n[: n.index(_IMAGES)] for n in archive.names() if _IMAGES in n}
            if len(roots) != 1:
                raise CorruptRecordError(
                    f"{archive_path} should hold one .../{_IMAGES} folder (SiftFlowDataset.zip); found {len(roots)}"
                )
            root = roots.pop()
            for name in names:
                jpeg = f"{root}{_IMAGES}{name}.jpg"
                semantic = f"{root}SemanticLabels/{siftflow.IMAGE_FOLDER}/{name}.mat"
                geometric = f"{root}GeoLabels/{siftflow.IMAGE_FOLDER}/{name}.mat"
                try:
                    image, size = storable_image(archive.read(jpeg), f"{archive_path}:{jpeg}")
                    maps = {
                        "segmentation": read_label_map(  # 0 is void here: no other value is
                            archive.read(semantic), f"{archive_path}:{semantic}", "S", _SEMANTIC_VALUES, None
                        ),
                        "geometry": read_label_map(  # -1 is void: passed through as the ignore label
                            archive.read(geometric), f"{archive_path}:{geometric}", "S", _GEOMETRIC_VALUES, -1
                        ),
                    }
                    for key, member in (("segmentation", semantic), ("geometry", geometric)):
                        if maps[key].shape != tuple(size):
                            raise CorruptRecordError(
                                f"{archive_path}:{member} is {maps[key].shape}; its image {jpeg} is {tuple(size)}"
                            )
                except CorruptRecordError as e:
                    self.corrupt(split, f"{archive_path}:{name}", e)
                    continue
                yield name, {"id": name, "image": image, **{k: shift_labels(v)[..., None] for k, v in maps.items()}}
