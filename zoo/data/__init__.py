"""Datasets: the registry, offline stand-ins, TFDS builders the zoo adds, robust image decoding.

    import zoo.data
    zoo.data.list_datasets()
    print(zoo.data.info("shapes"))
    ds = zoo.data.load("shapes", "train", seed=0)            # unbatched dicts, deterministic order
    ds = zoo.data.load("voc2012_segmentation", "validation", manual_dir="~/Downloads")

Listing datasets and reading their infos does not import TensorFlow Datasets; loaders do.
"""

from zoo.data.images import CorruptCounter, decode_image, read_image
from zoo.data.registry import DatasetInfo, info, list_datasets, load, model_options, prepare, register_dataset

__all__ = [
    "CorruptCounter",
    "DatasetInfo",
    "decode_image",
    "info",
    "list_datasets",
    "load",
    "model_options",
    "prepare",
    "read_image",
    "register_dataset",
]
