"""TFDS builder of NYUDv2, 40 classes, with HHA (see nyud.py for the dataset).

nyu_depth_v2_labeled.mat is a MATLAB v7.3 file, i.e. HDF5, read with h5py. HDF5 stores a
MATLAB array with its dimensions reversed: the (480, 640, 3, 1449) `images` is an HDF5
dataset of shape (1449, 3, 640, 480), `depths`, `rawDepths` and `labels` are (1449, 640, 480),
so one picture is images[i].transpose(2, 1, 0) and one map depths[i].T. splits.mat and
classMapping40.mat are MATLAB v5 files, read with scipy.io.loadmat.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow_datasets as tfds

from zoo.data import matfiles
from zoo.data.segmentation import hha, nyud
from zoo.data.images import decode_image
from zoo.data.tfds_manual import ManualArchiveBuilder
from zoo.errors import ConfigError, CorruptRecordError, DatasetNotFoundError

_MAPS = ("depths", "labels")  # (N, W, H) beside images (N, 3, W, H); rawDepths is optional
_MAX_DEPTH_M = np.iinfo(np.uint16).max / 1000.0


def read_class_mapping(path: str) -> np.ndarray:
    """uint8 lookup table (895,) from the 894-class `labels` to 0-39, with 0 (unlabelled) -> 255."""
    map_class = matfiles.integer_vector(matfiles.load(path, path), "mapClass", path)
    if map_class.size != nyud.NUM_RAW_CLASSES or map_class.min() < 0 or map_class.max() > len(nyud.NYUD_CLASSES):
        raise CorruptRecordError(
            f"{path}: mapClass should map the {nyud.NUM_RAW_CLASSES} NYUDv2 classes to 1-40; found {map_class.size} "
            f"values in [{map_class.min()}, {map_class.max()}]"
        )
    lookup = np.full(nyud.NUM_RAW_CLASSES + 1, nyud.IGNORE_LABEL, np.uint8)
    lookup[1:] = np.where(map_class > 0, map_class - 1, nyud.IGNORE_LABEL)  # nyud_layers.py: label - 1
    return lookup


def read_splits(path: str, num_images: int) -> dict:
    """{"train": [...], "test": [...]} 1-based indices of splits.mat, checked against `num_images`."""
    mat = matfiles.load(path, path)
    splits = {split: matfiles.integer_vector(mat, key, path) for split, key in (("train", "trainNdxs"), ("test", "testNdxs"))}
    for split, key in (("train", "trainNdxs"), ("test", "testNdxs")):
        bad = splits[split][(splits[split] < 1) | (splits[split] > num_images)]
        if bad.size:
            raise CorruptRecordError(
                f"{path}: {key} should hold 1-based indices of the {num_images} labelled images; "
                f"found {bad[:5].tolist()}"
            )
    both = np.intersect1d(splits["train"], splits["test"])
    if both.size:
        raise CorruptRecordError(f"{path}: trainNdxs and testNdxs share indices {both[:5].tolist()}")
    return {split: indices.tolist() for split, indices in splits.items()}


def _open_labeled(path: str):
    """The h5py File of nyu_depth_v2_labeled.mat, its layout checked; returns (file, number of images)."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise CorruptRecordError(
            f"{path} is not a MATLAB v7.3 (HDF5) file, as nyu_depth_v2_labeled.mat is (truncated download?): {e}"
        ) from e
    try:
        for key in ("images", *_MAPS):
            if key not in f:
                raise CorruptRecordError(f"{path} should hold a dataset {key}; it holds {sorted(f.keys())}")
        images = f["images"]
        n, channels, w, h = images.shape if images.ndim == 4 else (0, 0, 0, 0)
        if channels != 3 or images.dtype != np.uint8:
            raise CorruptRecordError(
                f"{path}: images should be uint8 (N, 3, W, H); found {images.dtype} {images.shape}"
            )
        for key in (*_MAPS, "rawDepths"):
            if key in f and f[key].shape != (n, w, h):
                raise CorruptRecordError(
                    f"{path}: {key} should be (N, W, H) = {(n, w, h)} like images; found {f[key].shape}"
                )
    except BaseException:
        f.close()
        raise
    return f, n


def _read(f, key: str, index: int, path: str) -> np.ndarray:
    try:
        return f[key][index - 1]
    except (OSError, ValueError, RuntimeError) as e:  # h5py's read errors of a damaged file
        raise CorruptRecordError(f"{path}: {key} of image {index} cannot be read (truncated file?): {e}") from e


def depth_to_mm(depth_m: np.ndarray, name: str) -> np.ndarray:
    """uint16 millimetres of a depth map in metres; not finite or <= 0 -> 0 (missing)."""
    depth_m = np.asarray(depth_m, dtype=np.float64)
    valid = np.isfinite(depth_m) & (depth_m > 0)
    if np.any(depth_m[valid] > _MAX_DEPTH_M):
        raise CorruptRecordError(f"{name}: depth up to {depth_m[valid].max():.1f} m, more than uint16 millimetres hold")
    return np.where(valid, np.round(depth_m * 1000.0), 0).astype(np.uint16)


def map_labels(labels: np.ndarray, lookup: np.ndarray, name: str) -> np.ndarray:
    """The 894-class `labels` as uint8 0-39 / 255 through `lookup` (read_class_mapping)."""
    labels = np.asarray(labels)
    bad = np.unique(labels[(labels < 0) | (labels >= lookup.size)])
    if bad.size:
        raise CorruptRecordError(f"{name}: labels hold values {bad[:10].tolist()} outside 0-{lookup.size - 1}")
    return lookup[labels.astype(np.int64)]


class NyudV2(ManualArchiveBuilder):
    """NYUDv2 labelled set, 40 classes, from nyu_depth_v2_labeled.mat, splits.mat and classMapping40.mat."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "splits.mat train/test; Gupta's 40 classes; HHA computed or from Gupta's PNGs."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(
            name="computed_hha", description="HHA computed from the depth by zoo.data.segmentation.hha."
        ),
        tfds.core.BuilderConfig(name="precomputed_hha", description="HHA read from the PNGs of hha_dir."),
    ]
    MANUAL_FILES = (nyud.LABELED, nyud.SPLITS, nyud.CLASS_MAPPING)
    MANUAL_EXTRA_INSTRUCTIONS = nyud.HHA_NOTE

    def __init__(self, *, hha_dir=None, **kwargs):
        self.hha_dir = os.path.expanduser(os.fspath(hha_dir)) if hha_dir else None
        super().__init__(**kwargs)

    def _info(self):
        return self.zoo_dataset_info(
            description="NYU Depth v2 labelled set, 40-class task of Gupta et al., with depth and HHA.",
            features=tfds.features.FeaturesDict(
                {
                    "id": tfds.features.Text(),
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "depth": tfds.features.Image(shape=(None, None, 1), dtype=np.uint16),  # mm, 0 = missing
                    "hha": tfds.features.Image(shape=(None, None, 3)),
                    "segmentation": tfds.features.Image(shape=(None, None, 1)),  # 0-39, 255 = unlabelled
                }
            ),
            supervised_keys=("image", "segmentation"),
            homepage=nyud.HOMEPAGE,
            citation=nyud.CITATION,
        )

    def _split_generators(self, dl_manager):
        paths = {name: str(path) for name, path in self.manual_paths(dl_manager).items()}
        precomputed = self.builder_config.name == "precomputed_hha"
        if precomputed:
            if self.hha_dir is None:
                raise ConfigError("nyud_v2/precomputed_hha is prepared from HHA PNGs; pass hha_dir=DIR to load it")
            if not os.path.isdir(self.hha_dir):
                raise DatasetNotFoundError(
                    f"hha_dir {self.hha_dir} is not a folder; expected one holding Gupta et al.'s HHA PNGs "
                    f"{nyud.hha_png_name(1)} ... (the FCN reference's data/hha/)"
                )
        labeled = paths[nyud.LABELED.name]
        lookup = read_class_mapping(paths[nyud.CLASS_MAPPING.name])
        f, num_images = _open_labeled(labeled)
        f.close()
        splits = read_splits(paths[nyud.SPLITS.name], num_images)
        computed = "computed by zoo.data.segmentation.hha"
        self.info.metadata["hha"] = f"PNGs of {self.hha_dir}" if precomputed else computed
        return {split: self._generate_examples(labeled, indices, lookup, split) for split, indices in splits.items()}

    def _hha(self, index, depth, raw_depth, size):
        if self.builder_config.name == "computed_hha":
            return hha.hha(depth, missing=None if raw_depth is None else ~(raw_depth > 0))
        path = os.path.join(self.hha_dir, nyud.hha_png_name(index))
        if not os.path.isfile(path):
            raise CorruptRecordError(f"{path} is missing: hha_dir should hold the HHA PNG of every image")
        with open(path, "rb") as file:
            image = decode_image(file.read(), path, mode="raw")
        if image.dtype != np.uint8 or image.shape != (*size, 3):
            raise CorruptRecordError(f"{path} is {image.dtype} {image.shape}; expected an 8-bit RGB PNG of {size}")
        return image

    def _generate_examples(self, path, indices, lookup, split):
        f, _ = _open_labeled(path)
        with f:
            for index in indices:
                image_id = str(nyud.ID_OFFSET + index)
                try:
                    image = _read(f, "images", index, path).transpose(2, 1, 0)
                    depth = depth_to_mm(_read(f, "depths", index, path).T, f"{path}: depths of image {index}")
                    labels = map_labels(_read(f, "labels", index, path).T, lookup, f"{path}: labels of image {index}")
                    raw = _read(f, "rawDepths", index, path).T if "rawDepths" in f else None
                    hha_image = self._hha(index, depth, raw, image.shape[:2])
                except CorruptRecordError as e:
                    self.corrupt(split, f"{path}:{image_id}", e)
                    continue
                yield image_id, {
                    "id": image_id,
                    "image": np.ascontiguousarray(image),
                    "depth": depth[..., None],
                    "hha": hha_image,
                    "segmentation": labels[..., None],
                }
