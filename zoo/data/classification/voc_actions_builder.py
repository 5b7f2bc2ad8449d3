"""TFDS builder of VOC 2012 actions (see voc_actions.py): reads ImageSets/Action/{train,val}.txt, the
Annotations/<id>.xml person objects with their <actions> flags, and JPEGImages/<id>.jpg, in place from
VOCtrainval_11-May-2012.tar (random access: an uncompressed tar)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.classification import voc_actions
from zoo.data.images import storable_image
from zoo.data.segmentation.voc import VOC2012_ARCHIVE
from zoo.data.tfds_manual import ManualArchiveBuilder, open_archive
from zoo.errors import CorruptRecordError


def parse_persons(xml_bytes, name):
    """[(box (x0, y0, x1, y1) 0-based pixels, action flags (10,))] of the annotated persons of one image,
    in annotation order (VOC's 1-based xmin..xmax become [xmin - 1, xmax))."""
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as e:
        raise CorruptRecordError(f"{name} is not valid XML: {e}") from e
    persons = []
    for obj in root.iter("object"):
        actions = obj.find("actions")
        if (obj.findtext("name") or "").strip() != "person" or actions is None:
            continue
        box = obj.find("bndbox")
        try:
            x0, y0, x1, y1 = (float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
            flags = [int(float(actions.findtext(a) or 0) > 0.5) for a in voc_actions.ACTIONS]
        except (AttributeError, TypeError, ValueError) as e:
            raise CorruptRecordError(f"{name}: a person without a readable box or actions ({e})") from e
        persons.append((np.array([x0 - 1, y0 - 1, x1, y1], np.float32), np.array(flags, np.int64)))
    return persons


class Voc2012Actions(ManualArchiveBuilder):
    """VOC 2012 Action task persons from VOCtrainval_11-May-2012.tar."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "One example per annotated person of ImageSets/Action train / val."}
    MANUAL_FILES = (VOC2012_ARCHIVE,)

    def _info(self):
        return self.zoo_dataset_info(
            description="PASCAL VOC 2012 action classification, one example per annotated person.",
            features=tfds.features.FeaturesDict({
                "id": tfds.features.Text(), "image": tfds.features.Image(shape=(None, None, 3)),
                "box": tfds.features.Tensor(shape=(4,), dtype=np.float32),
                "labels": tfds.features.Tensor(shape=(len(voc_actions.ACTIONS),), dtype=np.int64),
                "label": tfds.features.Scalar(dtype=np.int64),
            }),
            homepage=voc_actions.HOMEPAGE, citation=voc_actions.CITATION,
        )

    def _split_generators(self, dl_manager):
        archive = str(self.manual_paths(dl_manager)[VOC2012_ARCHIVE.name])
        return {split: self._generate_examples(archive, split) for split in ("train", "val")}

    def _generate_examples(self, archive_path, split):
        with open_archive(archive_path) as archive:
            lists = archive.find(f"ImageSets/Action/{split}.txt")
            if len(lists) != 1:
                raise CorruptRecordError(f"{archive_path} should hold one .../ImageSets/Action/{split}.txt")
            root = lists[0][: -len(f"ImageSets/Action/{split}.txt")]
            ids = [line.split()[0] for line in archive.read(lists[0]).decode().splitlines() if line.strip()]
            for image_id in ids:
                yield from self._persons(archive, root, image_id, split)

    def _persons(self, archive, root, image_id, split):
        try:
            persons = parse_persons(archive.read(f"{root}Annotations/{image_id}.xml"), f"{image_id}.xml")
            image, _ = storable_image(archive.read(f"{root}JPEGImages/{image_id}.jpg"), f"{image_id}.jpg")
        except (CorruptRecordError, KeyError) as e:
            self.corrupt(split, image_id, e if isinstance(e, CorruptRecordError) else CorruptRecordError(str(e)))
            return
        for number, (box, flags) in enumerate(persons, start=1):
            label = int(np.argmax(flags)) if flags.sum() == 1 else -1
            key = f"{image_id}_{number}"
            yield key, {"id": key, "image": image, "box": box, "labels": flags, "label": label}
