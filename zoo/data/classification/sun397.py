"""`sun397`: SUN-397 scenes (Xiao et al. 2010) through TFDS's own builder, as DeCAF reads it (Donahue thesis
§2.3.4): one of the ten official partitions of 50 training and 50 test images per class (TFDS config
`standard-part<N>-120k`; the thesis averages five splits: partitions 1-5), DeCAF's 224 view. The thesis
cross-validates by "training on 42 images and testing on the remaining 8" of each class's 50: the staged
step's cv_train_per_class = 42."""

from __future__ import annotations

from zoo.data.classification.caltech101 import DecafViewLoader, _postprocess, tfds_labels
from zoo.data.classification.decaf_crops import DECAF_VIEW
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.errors import ConfigError


class Sun397Loader(DecafViewLoader):
    """TFDS sun397/standard-part<partition>-120k."""

    def variant(self, partition=1):
        if int(partition) not in range(1, 11):
            raise ConfigError(f"partition must be one of the official partitions 1-10, got {partition!r}")
        return TfdsLoader(f"sun397/standard-part{int(partition)}-120k", postprocess=_postprocess,
                          instructions=self.instructions)


INFO = DatasetInfo(
    name="sun397", task="classification",
    summary="SUN-397 scenes, an official 50/50-per-class partition, via TFDS sun397 (downloads); DeCAF's 224 view",
    num_classes=397, class_names=tfds_labels("sun397_labels.txt"),
    splits={"train": 19_850, "test": 19_850},
    features={"image": "uint8 (image_size, image_size, 3) RGB: the center crop of the image warped to "
                       "resize_size x resize_size", "label": "int64 () class id 0-396, TFDS's order"},
    source="https://vision.princeton.edu/projects/2010/SUN/ ; read by TFDS's sun397 builder",
    citation="Xiao, Hays, Ehinger, Oliva, Torralba 2010, SUN database: large-scale scene recognition",
    license="see the SUN database page (research use)",
    instructions="TFDS downloads it on first use (network access needed; about 37 GB).",
    options={**DECAF_VIEW, "partition": 1},
)

register_dataset("sun397", INFO, Sun397Loader("sun397/standard-part1-120k", postprocess=_postprocess,
                                              instructions=INFO.instructions))
