"""Small NYUDv2 and SIFT Flow files in the original formats, written by tests/data.

NYUDv2: nyu_depth_v2_labeled.mat as MATLAB v7.3 writes it (an HDF5 file after a 512-byte
header, arrays with their dimensions reversed), splits.mat and classMapping40.mat as MATLAB v5
files. SIFT Flow: SiftFlowDataset.zip with Images/, SemanticLabels/, GeoLabels/ and v5 .mat
labels, plus the FCN split lists.
"""

import io
import zipfile

import h5py
import numpy as np
import scipy.io
from PIL import Image

NUM_RAW_CLASSES = 894


def write_nyud_labeled(path, images, depths_m, labels, raw_depths=None):
    """nyu_depth_v2_labeled.mat of (N, H, W, 3) uint8 images, (N, H, W) depths in m and labels."""
    with h5py.File(path, "w", userblock_size=512) as f:
        # MATLAB's (H, W, 3, N) is HDF5's (N, 3, W, H); (H, W, N) is (N, W, H).
        f["images"] = np.ascontiguousarray(np.asarray(images, np.uint8).transpose(0, 3, 2, 1))
        f["depths"] = np.ascontiguousarray(np.asarray(depths_m, np.float32).transpose(0, 2, 1))
        f["labels"] = np.ascontiguousarray(np.asarray(labels, np.uint16).transpose(0, 2, 1))
        if raw_depths is not None:
            f["rawDepths"] = np.ascontiguousarray(np.asarray(raw_depths, np.float32).transpose(0, 2, 1))
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2012 HDF5 schema 1.00 .")


def write_nyud_splits(path, train, test):
    """splits.mat with 1-based index column vectors, as MATLAB saves them (double)."""
    train, test = (np.asarray(indices, float)[:, None] for indices in (train, test))
    scipy.io.savemat(path, {"trainNdxs": train, "testNdxs": test})


def write_class_mapping(path, map_class, key="mapClass"):
    """classMapping40.mat: mapClass (1, 894) of class ids 1-40, className (1, 40) cell."""
    names = np.array([f"class{i}" for i in range(1, 41)], dtype=object)[None, :]
    scipy.io.savemat(path, {key: np.asarray(map_class, float)[None, :], "className": names})


def write_nyud(manual_dir, *, num_images=5, size=(12, 16), train=(2, 4, 5), test=(1, 3), seed=0):
    """The three NYUDv2 files in manual_dir; returns the arrays written into them."""
    rng = np.random.default_rng(seed)
    h, w = size
    truth = {
        "images": rng.integers(0, 256, (num_images, h, w, 3), dtype=np.uint8),
        "depths_m": rng.uniform(0.5, 9.0, (num_images, h, w)).astype(np.float32),
        "labels": rng.integers(0, NUM_RAW_CLASSES + 1, (num_images, h, w)).astype(np.uint16),
        "map_class": rng.integers(1, 41, NUM_RAW_CLASSES),
    }
    truth["depths_m"][:, 2, 3:5] = (2.5, 0.75)  # 2500 and 750 mm
    truth["labels"][:, 0, :] = 0  # an unlabelled row in every image
    truth["labels"][:, 1, :3] = NUM_RAW_CLASSES  # and the last raw class
    raw = truth["depths_m"].copy()
    raw[:, -2:, :] = 0  # the raw depth misses the bottom rows; the in-painted depth fills them
    truth["raw_depths_m"] = raw
    write_nyud_labeled(
        manual_dir / "nyu_depth_v2_labeled.mat", truth["images"], truth["depths_m"], truth["labels"], raw
    )
    write_nyud_splits(manual_dir / "splits.mat", train, test)
    write_class_mapping(manual_dir / "classMapping40.mat", truth["map_class"])
    return truth


def png_bytes(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def mat_bytes(labels):
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"S": np.asarray(labels, float), "names": np.array(["a", "b"], dtype=object)})
    return buf.getvalue()


SIFTFLOW_TRAIN = ["coast_natu975", "insidecity_art947", "tallbuilding_a487066"]
SIFTFLOW_TEST = ["mountain_nat116", "street_par177"]
_FOLDER = "spatial_envelope_256x256_static_8outdoorcategories"


def write_siftflow(manual_dir, *, root="", size=(16, 20), seed=0, overrides=None, train=None, test=None):
    """SiftFlowDataset.zip (members under `root`) and sift-flow/{trainval,test}.txt in manual_dir.

    Returns {name: (jpeg bytes, semantic S, geometric S)}; `overrides` maps a member path
    relative to root to replacement bytes (None removes the member).
    """
    rng = np.random.default_rng(seed)
    train, test = train or SIFTFLOW_TRAIN, test or SIFTFLOW_TEST
    members, truth = {}, {}
    for name in train + test:
        jpeg = jpeg_bytes(rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        semantic = rng.integers(0, 34, size)
        semantic[0, :] = 0
        semantic[1, :2] = 33
        geometric = rng.integers(1, 4, size)
        geometric[-1, :] = -1
        members[f"Images/{_FOLDER}/{name}.jpg"] = jpeg
        members[f"SemanticLabels/{_FOLDER}/{name}.mat"] = mat_bytes(semantic)
        members[f"GeoLabels/{_FOLDER}/{name}.mat"] = mat_bytes(geometric)
        truth[name] = (jpeg, semantic, geometric)
    members[f"Images/{_FOLDER}/coast_unlisted1.jpg"] = jpeg_bytes(np.zeros((*size, 3), np.uint8))
    for name, data in (overrides or {}).items():
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    with zipfile.ZipFile(manual_dir / "SiftFlowDataset.zip", "w") as z:
        for name, data in sorted(members.items()):
            z.writestr(root + name, data)
    (manual_dir / "sift-flow").mkdir(exist_ok=True)
    (manual_dir / "sift-flow" / "trainval.txt").write_text("".join(f"{n}\n" for n in train))
    (manual_dir / "sift-flow" / "test.txt").write_text("\n".join(test))  # the FCN file has no final newline
    return truth
