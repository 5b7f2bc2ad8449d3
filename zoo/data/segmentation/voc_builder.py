"""TFDS builders of PASCAL VOC 2011/2012 semantic segmentation (see voc.py for the datasets).

Each reads the original trainval tar in place: ImageSets/Segmentation/{train,val}.txt list
the ids; JPEGImages/<id>.jpg is the picture and SegmentationClass/<id>.png the palette PNG
whose indices are the class ids (0-20) with 255 on the void band along object boundaries.
The VOC root inside the tar is found from the list file (VOCdevkit/VOC2012/ in 2012,
TrainVal/VOCdevkit/VOC2011/ in 2011), so either layout works.
"""

from __future__ import annotations

import tensorflow_datasets as tfds

from zoo.data.segmentation import voc
from zoo.data.images import decode_label_map, storable_image
from zoo.data.tfds_manual import ManualArchiveBuilder, open_archive
from zoo.errors import CorruptRecordError

_LIST = "ImageSets/Segmentation/train.txt"


class _VocSegmentation(ManualArchiveBuilder, skip_registration=True):
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "train and val of ImageSets/Segmentation; labels keep the 255 void band."}
    YEAR = ""

    def _info(self):
        return self.zoo_dataset_info(
            description=f"PASCAL VOC {self.YEAR} semantic segmentation, from the original trainval archive.",
            features=tfds.features.FeaturesDict(
                {
                    "id": tfds.features.Text(),
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "segmentation": tfds.features.Image(shape=(None, None, 1)),  # class ids, 255 = void
                }
            ),
            supervised_keys=("image", "segmentation"),
            homepage=voc.HOMEPAGE,
            citation=voc.CITATION,
        )

    def _split_generators(self, dl_manager):
        archive = self.manual_paths(dl_manager)[self.MANUAL_FILES[0].name]
        return {
            "train": self._generate_examples(archive, "train", "train"),
            "validation": self._generate_examples(archive, "val", "validation"),
        }

    def _generate_examples(self, archive_path, list_name, split):
        with open_archive(archive_path) as archive:
            roots = archive.find(_LIST)
            if len(roots) != 1:
                raise CorruptRecordError(
                    f"{archive_path} should hold one .../{_LIST} (a VOC trainval archive); found {len(roots)}"
                )
            root = roots[0][: -len(_LIST)]
            ids = archive.read(f"{root}ImageSets/Segmentation/{list_name}.txt").decode().split()
            written = self.info.metadata.setdefault("ids", {}).setdefault(split, [])
            for image_id in ids:
                jpeg, png = f"{root}JPEGImages/{image_id}.jpg", f"{root}SegmentationClass/{image_id}.png"
                name = f"{archive_path}:{png}"
                try:
                    image, size = storable_image(archive.read(jpeg), f"{archive_path}:{jpeg}")
                    labels = decode_label_map(archive.read(png), name, len(voc.VOC_CLASSES), voc.IGNORE_LABEL)
                    if labels.shape != tuple(size):
                        raise CorruptRecordError(f"{name} is {labels.shape}; its image {jpeg} is {tuple(size)}")
                except CorruptRecordError as e:
                    self.corrupt(split, f"{archive_path}:{image_id}", e)
                    continue
                written.append(image_id)
                yield image_id, {"id": image_id, "image": image, "segmentation": labels[..., None]}


class Voc2012Segmentation(_VocSegmentation):
    """PASCAL VOC 2012 segmentation from VOCtrainval_11-May-2012.tar."""

    YEAR = "2012"
    MANUAL_FILES = (voc.VOC2012_ARCHIVE,)


class Voc2011Segmentation(_VocSegmentation):
    """PASCAL VOC 2011 segmentation from VOCtrainval_25-May-2011.tar (seg11valid: see voc.py)."""

    YEAR = "2011"
    MANUAL_FILES = (voc.VOC2011_ARCHIVE,)
    MANUAL_EXTRA_INSTRUCTIONS = voc.SEG11VALID_NOTE
