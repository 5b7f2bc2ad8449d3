"""TFDS builder of PASCAL-Context (59 classes + background); see pascal_context.py for the dataset.

The VOC2010 trainval tar is read in place (random access, like voc_builder.py); trainval.tar.gz
is gzipped, so it is read in one sequential pass per split, keeping that split's .mat files.
"""

from __future__ import annotations

import os
import re

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.segmentation import pascal_context as pc
from zoo.data.images import storable_image
from zoo.data.matfiles import read_label_map
from zoo.data.tfds_manual import ManualArchiveBuilder, iter_archive, open_archive
from zoo.errors import CorruptRecordError, DatasetNotFoundError

_LIST = "ImageSets/Main/train.txt"
_MAT = re.compile(r"(?:^|/)trainval/([^/]+)\.mat$")


def _read_class_list(text: str, name: str) -> list[tuple[int, str]]:
    """(id, name without spaces) of each "id: name" line, as the reference's np.genfromtxt reads them."""
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        number, colon, label = line.partition(":")
        if not colon or not number.strip().isdigit():
            raise CorruptRecordError(f"{name} should list classes as 'id: name' lines; found {line.strip()!r}")
        entries.append((int(number), "".join(label.split())))  # "potted plant" -> "pottedplant"
    return entries


def label_mapping(full_text: str, full_name: str, task_text: str, task_name: str) -> np.ndarray:
    """Lookup table (460,) uint8 from PASCAL-Context class ids (0-459) to the 60 classes of the task.

    As pascalcontext_layers.py: the k-th class of 59_labels.txt (k = 1..59) is id i of labels.txt
    when it is the i-th line there; every other id, and 0 (unlabelled), maps to 0 = background.
    """
    full = _read_class_list(full_text, full_name)
    if [i for i, _ in full] != list(range(1, pc.NUM_FULL_CLASSES + 1)):
        raise CorruptRecordError(
            f"{full_name} should number the {pc.NUM_FULL_CLASSES} PASCAL-Context classes 1 to "
            f"{pc.NUM_FULL_CLASSES} in order, one per line; found {len(full)} entries numbered "
            f"{full[0][0] if full else '-'} to {full[-1][0] if full else '-'}"
        )
    task = [label for _, label in _read_class_list(task_text, task_name)]
    expected = list(pc.CONTEXT_CLASSES[1:])
    if task != expected:
        at = next((k for k, (a, b) in enumerate(zip(task, expected)) if a != b), min(len(task), len(expected)))
        raise CorruptRecordError(
            f"{task_name} should list the 59 classes of the task in the FCN output order {', '.join(expected)}; "
            f"found {len(task)} classes, differing at position {at + 1} "
            f"({task[at] if at < len(task) else 'end of file'!r} instead of "
            f"{expected[at] if at < len(expected) else 'end of list'!r})"
        )
    full_names = [label for _, label in full]
    lut = np.zeros(pc.NUM_FULL_CLASSES + 1, np.uint8)
    for k, label in enumerate(task, start=1):
        label = pc.TASK_TO_FULL_NAME.get(label, label)
        if label not in full_names:
            raise CorruptRecordError(f"{full_name} has no class {label!r}, which {task_name} needs")
        lut[full_names.index(label) + 1] = k  # the first line of that name, as list.index in the reference
    return lut


def _context_mats(path, ids) -> dict:
    """{id: (member name, bytes)} of the trainval/<id>.mat files of `ids`, in one pass over the archive."""

    def wanted(name):
        match = _MAT.search(name)
        return match is not None and match.group(1) in ids

    return {_MAT.search(name).group(1): (name, data) for name, data in iter_archive(path, wanted)}


def _full_class_list(paths, context):
    """(text, name) of labels.txt: the manual_dir's, else the one inside trainval.tar.gz."""
    if pc.LABELS_FULL.name in paths:
        with open(paths[pc.LABELS_FULL.name], encoding="utf-8", errors="replace") as f:
            return f.read(), paths[pc.LABELS_FULL.name]
    found = list(iter_archive(context, lambda n: n.rsplit("/", 1)[-1] == pc.LABELS_FULL.name))
    if len(found) > 1:
        raise CorruptRecordError(
            f"{context} holds {len(found)} labels.txt ({found[0][0]}, {found[1][0]}); expected one"
        )
    if not found:
        manual_dir = os.path.dirname(paths[pc.LABELS_59.name])
        raise DatasetNotFoundError(
            f"pascal_context needs {pc.LABELS_FULL.name} (the {pc.NUM_FULL_CLASSES} PASCAL-Context classes) and "
            f"neither the manual_dir {manual_dir} nor {context} holds one; download it from {pc.LABELS_FULL.url} "
            "into the manual_dir"
        )
    name, data = found[0]
    return data.decode("utf-8", errors="replace"), f"{context}:{name}"


class PascalContext(ManualArchiveBuilder):
    """PASCAL-Context 59-class task: VOC2010 images, trainval.tar.gz labels mapped 459 -> 60."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "VOC2010 ImageSets/Main train and val; LabelMap mapped to 59 classes + background."}
    MANUAL_FILES = pc.MANUAL_FILES

    def _info(self):
        return self.zoo_dataset_info(
            description="PASCAL-Context 59-class semantic segmentation of VOC2010, as the FCN reference maps it.",
            features=tfds.features.FeaturesDict(
                {
                    "id": tfds.features.Text(),
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "segmentation": tfds.features.Image(shape=(None, None, 1)),  # class ids 0-59
                }
            ),
            supervised_keys=("image", "segmentation"),
            homepage=pc.HOMEPAGE,
            citation=pc.CITATION,
        )

    def _split_generators(self, dl_manager):
        paths = {name: str(path) for name, path in self.manual_paths(dl_manager).items()}
        voc, context = paths[pc.VOC2010_ARCHIVE.name], paths[pc.CONTEXT_ARCHIVE.name]
        with open(paths[pc.LABELS_59.name], encoding="utf-8", errors="replace") as f:
            task_text = f.read()
        lut = label_mapping(*_full_class_list(paths, context), task_text, paths[pc.LABELS_59.name])
        return {
            "train": self._generate_examples(voc, context, lut, "train", "train"),
            "validation": self._generate_examples(voc, context, lut, "val", "validation"),
        }

    def _generate_examples(self, voc_path, context_path, lut, list_name, split):
        with open_archive(voc_path) as voc:
            roots = voc.find(_LIST)
            if len(roots) != 1:
                raise CorruptRecordError(
                    f"{voc_path} should hold one .../{_LIST} (the VOC2010 trainval archive); found {len(roots)}"
                )
            root = roots[0][: -len(_LIST)]
            ids = voc.read(f"{root}ImageSets/Main/{list_name}.txt").decode().split()
            mats = _context_mats(context_path, set(ids))
            for image_id in ids:
                jpeg = f"{root}JPEGImages/{image_id}.jpg"
                try:
                    image, size = storable_image(voc.read(jpeg), f"{voc_path}:{jpeg}")
                    if image_id not in mats:
                        raise CorruptRecordError(f"{context_path} has no member trainval/{image_id}.mat")
                    member, data = mats.pop(image_id)
                    name = f"{context_path}:{member}"
                    full = read_label_map(data, name, "LabelMap", pc.NUM_FULL_CLASSES + 1, ignore_label=None)
                    if full.shape != tuple(size):
                        raise CorruptRecordError(f"{name} is {full.shape}; its image {jpeg} is {tuple(size)}")
                except CorruptRecordError as e:
                    self.corrupt(split, f"{voc_path}:{image_id}", e)
                    continue
                yield image_id, {"id": image_id, "image": image, "segmentation": lut[full][..., None]}
