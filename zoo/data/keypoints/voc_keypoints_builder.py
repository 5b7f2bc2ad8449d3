"""TFDS builder of `voc_keypoints` (see voc_keypoints.py): the poselets keypoint annotations of PASCAL VOC 2011
with VOC2011's pictures and train / val lists, read in place from the user's archives or folders.

The annotations are parsed first (all categories, so each category's keypoint order is fixed across the
splits); a file that does not parse is a corrupt record named by its path (raised, or skipped with
on_corrupt="skip" and recorded under its image's split). Each object goes to the split whose
ImageSets/Main list holds its image; a picture missing from JPEGImages/ or undecodable is a corrupt record.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.images import storable_image
from zoo.data.keypoints import voc_keypoints as vk
from zoo.data.manual_parts import locate
from zoo.data.tfds_manual import ManualArchiveBuilder, open_archive
from zoo.errors import CorruptRecordError, DatasetNotFoundError

log = logging.getLogger(__name__)


class VocTrainval:
    """VOC2011 trainval, the tar (read in place; its VOC root found from ImageSets/Main/train.txt, as
    TrainVal/VOCdevkit/VOC2011/ in the 2011 tar) or the extracted VOC2011 folder."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.archive, self.root = None, ""
        if not os.path.isdir(self.path):
            self.archive = open_archive(self.path)
            lists = self.archive.find("/" + vk.IMAGE_SETS.format("train")) + (
                [vk.IMAGE_SETS.format("train")] if vk.IMAGE_SETS.format("train") in self.archive else [])
            if len(lists) != 1:
                raise DatasetNotFoundError(f"{self.path} should hold one .../{vk.IMAGE_SETS.format('train')} (the "
                                           f"VOC2011 trainval tar, {vk.VOC2011.url}); found {len(lists)}")
            self.root = lists[0][: -len(vk.IMAGE_SETS.format("train"))]

    def where(self, relative: str) -> str:
        return f"{self.path}:{self.root}{relative}" if self.archive is not None else os.path.join(self.path, relative)

    def read(self, relative: str) -> bytes | None:
        """The bytes of `relative` (e.g. "JPEGImages/2008_000001.jpg"), None when the release lacks it."""
        if self.archive is not None:
            name = self.root + relative
            return self.archive.read(name) if name in self.archive else None
        path = os.path.join(self.path, relative)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def image_set(self, split: str) -> set:
        """The image ids of ImageSets/Main/<split>.txt."""
        data = self.read(vk.IMAGE_SETS.format(split))
        if data is None:
            raise DatasetNotFoundError(f"{self.where(vk.IMAGE_SETS.format(split))} is missing: voc_keypoints needs "
                                       f"VOC2011's split lists; use the trainval tar ({vk.VOC2011.url}) as "
                                       "downloaded or its complete VOC2011/ folder")
        return {line.split()[0] for line in data.decode().splitlines() if line.strip()}


class VocKeypoints(ManualArchiveBuilder):
    """PASCAL VOC 2011 objects with their Bourdev & Malik keypoints."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "voc2011_keypoints_Feb2012 objects split by VOC2011 ImageSets/Main train / val."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = vk.INSTRUCTIONS

    def _info(self):
        return self.zoo_dataset_info(
            description="PASCAL VOC 2011 objects with the poselets keypoint annotations, one example per object.",
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3)),
                "image_id": tfds.features.Text(), "voc_id": np.int64,
                "category": tfds.features.Text(), "label": tfds.features.ClassLabel(names=vk.CATEGORIES),
                "subcategory": tfds.features.Text(),
                "box": tfds.features.Tensor(shape=(4,), dtype=np.float32),
                "keypoint_names": tfds.features.Sequence(tfds.features.Text()),
                "keypoints": tfds.features.Tensor(shape=(None, 2), dtype=np.float32),
                "visible": tfds.features.Tensor(shape=(None,), dtype=np.bool_),
            }),
            homepage=vk.HOMEPAGE, citation=vk.CITATION,
            disable_shuffling=True,  # the release's order
        )

    def _split_generators(self, dl_manager):
        found = locate(vk.PARTS, dl_manager._manual_dir, "voc_keypoints", self.data_dir_root)  # noqa: SLF001
        voc = VocTrainval(found[vk.VOC2011.what].path)
        image_sets = {split: voc.image_set(split) for split in vk.SPLITS}
        objects = self._annotations(found[vk.ANNOTATIONS.what].path, image_sets)
        order = {cat: vk.keypoint_names(objects, cat) for cat in vk.CATEGORIES}
        outside = sorted({o.image for o in objects} - set().union(*image_sets.values()))
        if outside:  # the release is of train+val: none expected
            log.warning("voc_keypoints: %d annotated images are in neither train nor val, left out (first %s)",
                        len(outside), outside[0])
        return {split: self._generate_examples(split, [o for o in objects if o.image in image_sets[split]], order, voc)
                for split in vk.SPLITS}

    def _annotations(self, path, image_sets):
        objects = []
        for name, data in vk.annotation_files(path):
            try:
                objects.append(vk.parse_annotation(data, name))
            except CorruptRecordError as e:
                image = os.path.basename(name).rsplit("_", 1)[0]  # <image id>_<voc id>.xml
                self.corrupt(next((s for s in vk.SPLITS if image in image_sets[s]), "unsplit"), name, e)
        if not objects:
            raise DatasetNotFoundError(f"no readable <category>/*.xml keypoint annotation in {path}; "
                                       f"{vk.ANNOTATIONS.url} unpacks to annotations/<category>/*.xml")
        return objects

    def _generate_examples(self, split, objects, order, voc):
        for obj in objects:
            jpeg = f"JPEGImages/{obj.image}.jpg"
            try:
                data = voc.read(jpeg)
                if data is None:
                    raise CorruptRecordError(f"{voc.where(jpeg)} is missing: the keypoint annotation of "
                                             f"{obj.category} {obj.image}_{obj.voc_id} needs the VOC2011 picture")
                image, _ = storable_image(data, voc.where(jpeg))
            except CorruptRecordError as e:
                self.corrupt(split, f"{obj.category}/{obj.image}_{obj.voc_id}", e)
                continue
            names = order[obj.category]
            xy, visible = vk.keypoint_arrays(obj, names)
            key = f"{obj.category}/{obj.image}_{obj.voc_id}"
            yield key, {"image": image, "image_id": obj.image, "voc_id": obj.voc_id, "category": obj.category,
                        "label": vk.CATEGORIES.index(obj.category), "subcategory": obj.subcategory,
                        "box": np.asarray(obj.bounds, np.float32), "keypoint_names": names,
                        "keypoints": xy, "visible": visible}
