"""`caltech101`: Caltech-101 (Li et al. 2004) through TFDS's own builder, as DeCAF reads it (Donahue
thesis §2.3.1): 102 classes (101 objects and the background class, which the thesis keeps: "30 samples
per class (including the background class)"), the center 224 crop of the 256x256 resized image.

TFDS's `train` split is 30 images per class drawn once by TFDS (3,060), `test` the rest: one of the
thesis's five random 30-per-class splits; for the other four, extract the features of train+test once and
draw the splits with `zoo.ops.features.per_class_split` (the five-split protocol of zoo.experiments.decaf).
"""

from __future__ import annotations

import os

from zoo.data.classification.decaf_crops import DECAF_VIEW
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset


def tfds_labels(filename) -> tuple:
    """Class names from a labels file of the installed TFDS (without importing TensorFlow Datasets)."""
    import importlib.util

    spec = importlib.util.find_spec("tensorflow_datasets")
    with open(os.path.join(spec.submodule_search_locations[0], "image_classification", filename)) as f:
        return tuple(line.strip() for line in f if line.strip())


class DecafViewLoader(TfdsLoader):
    """A TFDS dataset mapped to {"image": DeCAF's 224 view, "label"}."""

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, **options):
        from zoo.data.classification.decaf_crops import decaf_view

        view = {k: options.pop(k) for k in list(options) if k in DECAF_VIEW}
        loader = self.variant(**options)  # a dataset's own options pick the TFDS config / mapping
        ds = TfdsLoader.__call__(loader, split, data_dir=data_dir, manual_dir=manual_dir, seed=seed,
                                 on_corrupt=on_corrupt, counter=counter)
        return decaf_view(ds, **{**DECAF_VIEW, **view})

    def variant(self, **options) -> TfdsLoader:
        """The TFDS loader for these dataset options (none here)."""
        return self


def _postprocess(example):
    return {"image": example["image"], "label": example["label"]}


INFO = DatasetInfo(
    name="caltech101", task="classification",
    summary="Caltech-101, 101 object classes + background, via TFDS caltech101 (downloads); DeCAF's 224 view",
    num_classes=102, class_names=tfds_labels("caltech101_labels.txt"),
    splits={"train": 3_060, "test": 6_084},
    features={"image": "uint8 (image_size, image_size, 3) RGB: the center crop of the image warped to "
                       "resize_size x resize_size (DeCAF: 224 of 256)",
              "label": "int64 () class id 0-101, TFDS's order (background_google included)"},
    source="https://data.caltech.edu/records/mzrjq-6wc02 ; read by TFDS's caltech101 builder",
    citation="Li Fei-Fei, Fergus, Perona 2004, Learning generative visual models from few training examples",
    license="see the Caltech-101 page (research use)",
    instructions="TFDS downloads it on first use (network access needed).",
    options=dict(DECAF_VIEW),
)

register_dataset("caltech101", INFO, DecafViewLoader("caltech101", postprocess=_postprocess,
                                                     instructions=INFO.instructions))
