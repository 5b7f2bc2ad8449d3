"""`caltech_birds2011`: CUB-200-2011 (Wah et al. 2011) through TFDS's own builder, as DeCAF's first bird
pipeline reads it (Donahue thesis §2.3.3): "cropping the images regions 1.5x the size of the provided
bounding boxes, resizing them 256x256", then the center 224 crop. "1.5x the size" is read as each side
scaled 1.5 times about the box centre, clipped to the image (`box_scale`; 0 keeps the whole image).
The thesis names "Caltech-UCSD Birds 200" and gives no split; this is the 2011 release's train/test split.
"""

from __future__ import annotations

from zoo.data.classification.caltech101 import DecafViewLoader
from zoo.data.classification.decaf_crops import DECAF_VIEW
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.errors import ConfigError


class BirdsLoader(DecafViewLoader):
    """TFDS caltech_birds2011, each image cropped to its enlarged box before DeCAF's view."""

    def variant(self, box_scale=1.5):
        if float(box_scale) < 0:
            raise ConfigError(f"box_scale must be >= 0 (0: the whole image), got {box_scale!r}")

        def crop(example):
            from zoo.data.classification.decaf_crops import crop_enlarged_box

            image = example["image"]
            if float(box_scale) > 0:
                image = crop_enlarged_box(image, example["bbox"], float(box_scale))
            return {"image": image, "label": example["label"]}

        return TfdsLoader(self.tfds_name, postprocess=crop, instructions=self.instructions)


INFO = DatasetInfo(
    name="caltech_birds2011", task="classification",
    summary="CUB-200-2011 birds, 200 species, via TFDS caltech_birds2011 (downloads); 1.5x box crop, DeCAF's view",
    num_classes=200, class_names=tuple(f"species_{i:03d}" for i in range(1, 201)),
    splits={"train": 5_994, "test": 5_794},
    features={"image": "uint8 (image_size, image_size, 3) RGB: the region box_scale x the bounding box, warped to "
                       "resize_size x resize_size, center crop", "label": "int64 () species 0-199"},
    source="https://www.vision.caltech.edu/datasets/cub_200_2011/ ; read by TFDS's caltech_birds2011 builder",
    citation="Wah, Branson, Welinder, Perona, Belongie 2011, The Caltech-UCSD Birds-200-2011 Dataset",
    license="see the CUB-200-2011 page (research use)",
    instructions="TFDS downloads it on first use (network access needed).",
    options={**DECAF_VIEW, "box_scale": 1.5},
)

register_dataset("caltech_birds2011", INFO, BirdsLoader("caltech_birds2011", instructions=INFO.instructions))
