"""PASCAL VOC 2011/2012 semantic segmentation, from the original trainval archives.

Registered datasets (TFDS builders in voc_builder.py, prepared from manual_dir):

    voc2012_segmentation  VOCtrainval_11-May-2012.tar   train 1464, validation 1449
    voc2011_segmentation  VOCtrainval_25-May-2011.tar   train 1112, validation 1111, seg11valid 736

Examples: {"id": string like "2007_000032", "image": uint8 (H, W, 3) RGB,
"segmentation": uint8 (H, W) class ids 0-20, 255 = void (the object boundary band and
"difficult" regions the VOC annotators left unlabelled)}.

seg11valid is the validation set of the FCN paper (Long et al. 2015, Sec. 5): the 736
images of VOC2011 segmentation val that are not in SBD train. Its list comes from the FCN
repository (data/pascal/seg11valid.txt); put that file in the manual_dir (or pass
`seg11valid_list=PATH`) and load split "seg11valid": the prepared validation split is
filtered to those ids at load time, so no re-preparation is needed.
"""

from __future__ import annotations

import os
import re

from zoo.data.manual import ManualFile, default_manual_dir, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.errors import ConfigError, CorruptRecordError, DatasetNotFoundError

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
IGNORE_LABEL = 255
HOMEPAGE = "http://host.robots.ox.ac.uk/pascal/VOC/"
CITATION = """@article{everingham2010pascal,
  title={The Pascal Visual Object Classes (VOC) Challenge},
  author={Everingham, M. and Van Gool, L. and Williams, C. K. I. and Winn, J. and Zisserman, A.},
  journal={International Journal of Computer Vision}, volume={88}, number={2}, pages={303--338}, year={2010}}"""

VOC2012_ARCHIVE = ManualFile(
    "VOCtrainval_11-May-2012.tar",
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
    "PASCAL VOC 2012 trainval; used as is, not extracted",
)
VOC2011_ARCHIVE = ManualFile(
    "VOCtrainval_25-May-2011.tar",
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2011/VOCtrainval_25-May-2011.tar",
    "PASCAL VOC 2011 trainval; used as is, not extracted",
)
SEG11VALID = ManualFile(
    "seg11valid.txt",
    "https://github.com/shelhamer/fcn.berkeleyvision.org/blob/master/data/pascal/seg11valid.txt",
    "736 ids, VOC2011 seg val minus SBD train; only for split seg11valid",
    optional=True,
)
SEG11VALID_SIZE = 736
SEG11VALID_NOTE = (
    "For split seg11valid also put seg11valid.txt (raw file of the URL above) in the manual_dir, "
    "or pass seg11valid_list=PATH to zoo.data.load; it needs no re-preparation."
)

FEATURES = {
    "id": "string, the VOC image id (e.g. 2007_000032)",
    "image": "uint8 (H, W, 3) RGB",
    "segmentation": "uint8 (H, W) class ids 0-20, 255 = void (boundaries, unlabelled regions)",
}


def _postprocess(example):
    return {"id": example["id"], "image": example["image"], "segmentation": example["segmentation"][..., 0]}


def _info(name, year, archive, splits, extra=""):
    files = (archive, SEG11VALID) if extra else (archive,)
    return DatasetInfo(
        name=name,
        task="segmentation",
        summary=f"PASCAL VOC {year} semantic segmentation (20 object classes + background)",
        num_classes=len(VOC_CLASSES),
        class_names=VOC_CLASSES,
        splits=splits,
        features=FEATURES,
        ignore_label=IGNORE_LABEL,
        source=HOMEPAGE,
        citation=CITATION,
        license="images: Flickr terms of use; annotations: the VOC challenge's",
        instructions=manual_instructions(name, files, extra),
        options={"seg11valid_list": None} if extra else {},
    )


VOC2012_INFO = _info("voc2012_segmentation", 2012, VOC2012_ARCHIVE, {"train": 1464, "validation": 1449})
VOC2011_INFO = _info(
    "voc2011_segmentation",
    2011,
    VOC2011_ARCHIVE,
    {"train": 1112, "validation": 1111, "seg11valid": SEG11VALID_SIZE},
    SEG11VALID_NOTE,
)

_VOC_ID = re.compile(r"^\d{4}_\d{6}$")


def read_id_list(path) -> list[str]:
    """VOC image ids, one per line, from a list file such as seg11valid.txt."""
    with open(path) as f:
        ids = [line.strip() for line in f if line.strip()]
    bad = [i for i in ids if not _VOC_ID.match(i)]
    if bad or not ids:
        raise CorruptRecordError(
            f"{path} should list VOC image ids like 2007_000033, one per line; "
            + (f"found {bad[:3]}" if bad else "it is empty")
        )
    return ids


class Voc2011Loader(TfdsLoader):
    """voc2011_segmentation, plus split seg11valid: validation filtered to the FCN list."""

    def __call__(
        self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, seg11valid_list=None
    ):
        if "seg11valid" not in split:
            return super().__call__(
                split, data_dir=data_dir, manual_dir=manual_dir, seed=seed, on_corrupt=on_corrupt, counter=counter
            )
        if split != "seg11valid":
            raise ConfigError(f"split seg11valid cannot be sliced or combined; got {split!r}")
        import tensorflow as tf

        from zoo.data import tfds_manual

        path = seg11valid_list or os.path.join(default_manual_dir(data_dir, manual_dir), SEG11VALID.name)
        if not os.path.isfile(path):
            raise DatasetNotFoundError(
                f"voc2011_segmentation split seg11valid needs its id list {SEG11VALID.name}, not found at {path}; "
                f"download it from {SEG11VALID.url} (raw file) and put it there, or pass seg11valid_list=PATH"
            )
        ids = read_id_list(path)
        self._import()
        builder = tfds_manual.prepare_tfds(
            self.tfds_name, data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt
        )
        prepared = set(builder.info.metadata.get("ids", {}).get("validation", []))
        missing = [i for i in ids if i not in prepared]
        if missing:
            raise CorruptRecordError(
                f"{path} lists {len(missing)} id(s) not in the prepared VOC2011 validation split "
                f"(first {missing[0]}); is it the FCN seg11valid.txt, and were records skipped as corrupt?"
            )
        ds = super().__call__(
            "validation", data_dir=data_dir, manual_dir=manual_dir, seed=seed, on_corrupt=on_corrupt, counter=counter
        )
        wanted = tf.constant(ids)
        ds = ds.filter(lambda example: tf.reduce_any(tf.equal(example["id"], wanted)))
        return ds.apply(tf.data.experimental.assert_cardinality(len(ids)))


register_dataset(
    "voc2012_segmentation",
    VOC2012_INFO,
    TfdsLoader(
        "voc2012_segmentation",
        builder="zoo.data.segmentation.voc_builder:Voc2012Segmentation",
        postprocess=_postprocess,
        instructions=VOC2012_INFO.instructions,
    ),
)
register_dataset(
    "voc2011_segmentation",
    VOC2011_INFO,
    Voc2011Loader(
        "voc2011_segmentation",
        builder="zoo.data.segmentation.voc_builder:Voc2011Segmentation",
        postprocess=_postprocess,
        instructions=VOC2011_INFO.instructions,
    ),
)
