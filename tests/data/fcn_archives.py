"""Small SBD and PASCAL-Context archives in the original layouts, for tests/data/test_sbd.py and test_pascal_context.py.

The .mat files are written with scipy.io.savemat (MATLAB v5, zlib-compressed like MATLAB's
default) with the variables of the real releases: SBD's cls/<id>.mat holds a 1x1 struct GTcls
with fields Segmentation (uint8 class map), Boundaries (20x1 cell of sparse per-class boundary
masks) and CategoriesPresent; inst/<id>.mat holds GTinst; PASCAL-Context's trainval/<id>.mat
holds LabelMap (uint16 ids into labels.txt).
"""

import io
import tarfile

import numpy as np
import scipy.io
import scipy.sparse
from PIL import Image
from voc_archives import jpeg_bytes, write_voc_tar


def mat_bytes(variables):
    buf = io.BytesIO()
    scipy.io.savemat(buf, variables, do_compression=True)
    return buf.getvalue()


def _boundaries(labels, num_classes=20):
    """SBD's Boundaries: a num_classes x 1 cell of sparse masks of each class's boundary pixels."""
    edge = np.zeros(labels.shape, bool)
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    cell = np.empty((num_classes, 1), dtype=object)
    for k in range(num_classes):
        cell[k, 0] = scipy.sparse.csc_matrix(edge & (labels == k + 1))
    return cell


def sbd_cls_mat(labels):
    present = np.unique(labels[labels > 0]).astype(np.uint8)[:, None]
    gt = {"Segmentation": labels.astype(np.uint8), "Boundaries": _boundaries(labels), "CategoriesPresent": present}
    return mat_bytes({"GTcls": gt})


def sbd_inst_mat(labels):
    instances = (labels > 0).astype(np.uint8)
    gt = {"Segmentation": instances, "Boundaries": _boundaries(instances, 1), "Categories": np.array([[1]], np.uint8)}
    return mat_bytes({"GTinst": gt})


def _rectangles(rng, h, w, values):
    labels = np.zeros((h, w), np.int64)
    for value in values:
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        labels[y0 : y0 + h // 3, x0 : x0 + w // 3] = value
    return labels


def write_tar(path, members, mode="w"):
    with tarfile.open(path, mode) as tar:
        for name, data in sorted(members.items()):  # real tars group members by folder
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


SBD_ROOT = "benchmark_RELEASE/dataset/"
SBD_TRAIN = ["2008_000002", "2008_000003", "2010_005011"]
SBD_VAL = ["2008_000009", "2011_003276"]


def write_sbd_tgz(path, train=SBD_TRAIN, val=SBD_VAL, *, seed=0, overrides=None):
    """benchmark.tgz: benchmark_RELEASE/dataset/{img,cls,inst}, train.txt, val.txt.

    Returns {id: (JPEG bytes, labels)}. `overrides` maps a member path relative to dataset/
    to bytes that replace it, or to None to leave it out.
    """
    rng = np.random.default_rng(seed)
    members, truth = {}, {}
    for n, image_id in enumerate(train + val):
        h, w = int(rng.integers(20, 40)), int(rng.integers(20, 40))
        data = jpeg_bytes(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), quality=95)
        classes = [1, 20] if n == 0 else rng.integers(1, 21, size=rng.integers(1, 3))  # first and last classes occur
        labels = _rectangles(rng, h, w, classes).astype(np.uint8)
        members[f"img/{image_id}.jpg"] = data
        members[f"cls/{image_id}.mat"] = sbd_cls_mat(labels)
        members[f"inst/{image_id}.mat"] = sbd_inst_mat(labels)
        truth[image_id] = (data, labels)
    members["train.txt"] = "".join(f"{i}\n" for i in train).encode()
    members["val.txt"] = "".join(f"{i}\n" for i in val).encode()
    members.update(overrides or {})
    members = {SBD_ROOT + name: data for name, data in members.items() if data is not None}
    members["benchmark_RELEASE/benchmark_code_RELEASE/README"] = b"benchmark code"
    write_tar(path, members, "w:gz")
    return truth


# PASCAL-Context -----------------------------------------------------------------------------

CONTEXT_TRAIN = ["2008_000002", "2008_000007", "2010_000038"]
CONTEXT_VAL = ["2008_000008", "2009_000001"]
# The 59 classes as 59_labels.txt names them, in its order (= the FCN repository's classes-59.txt).
TASK_NAMES = """aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse motorbike person
pottedplant sheep sofa train tvmonitor bag bed bench book building cabinet ceiling clothes computer cup door fence
floor flower food grass ground keyboard light mountain mouse curtain platform sign plate road rock shelves sidewalk
sky snow bedcloth track tree truck wall water window wood""".split()
# How labels.txt spells them where it differs: three other words, and words with spaces.
FULL_SPELLING = {
    "diningtable": "table",
    "bedcloth": "bedclothes",
    "clothes": "cloth",
    "pottedplant": "potted plant",
    "tvmonitor": "tv monitor",
}


def context_full_names(seed=0):
    """459 class names for labels.txt: the 59 (labels.txt spelling) at random ids among others."""
    rng = np.random.default_rng(seed)
    names = [f"other thing {i}" for i in range(459)]
    for name, position in zip(TASK_NAMES, rng.permutation(459)[:59]):
        names[position] = FULL_SPELLING.get(name, name)
    # A decoy: the task's diningtable is labels.txt's "table" (pascalcontext_layers.py), not this one.
    names[int(np.flatnonzero([n.startswith("other") for n in names])[0])] = "dining table"
    return names


def class_list_text(names):
    return "".join(f"{i}: {name}\n" for i, name in enumerate(names, start=1))


def label_map_mat(label_map):
    return mat_bytes({"LabelMap": label_map.astype(np.uint16)})


def write_context_files(
    manual_dir, train=CONTEXT_TRAIN, val=CONTEXT_VAL, *, seed=0, mats=None, labels_in_archive=False, task_names=None
):
    """VOCtrainval_03-May-2010.tar, trainval.tar.gz, 59_labels.txt and labels.txt in `manual_dir`.

    Returns (truth {id: (JPEG bytes, 60-class labels)}, full class names). The truth labels are the
    classes the writer chose (0-59); LabelMap holds the labels.txt id of each, or for class 0 an
    id outside the 59 or 0 (unlabelled). `mats` maps an id to .mat bytes replacing its file, or
    to None to leave it out; with `labels_in_archive` labels.txt is inside trainval.tar.gz only.
    """
    rng = np.random.default_rng(seed)
    full_names = context_full_names(seed)
    id_of = {name: i for i, name in enumerate(full_names, start=1)}
    background_ids = [0] + [i for name, i in id_of.items() if name.startswith("other") or name == "dining table"]
    segmentation_train = train[:1]  # VOC2010's Segmentation lists differ from its Main lists
    voc = write_voc_tar(
        manual_dir / "VOCtrainval_03-May-2010.tar",
        "VOCdevkit/VOC2010/",
        train + val,
        [],
        seed=seed,
        overrides={
            "ImageSets/Main/train.txt": "".join(f"{i}\n" for i in train).encode(),
            "ImageSets/Main/val.txt": "".join(f"{i}\n" for i in val).encode(),
            "ImageSets/Main/aeroplane_train.txt": "".join(f"{i} -1\n" for i in train).encode(),
            "ImageSets/Segmentation/train.txt": "".join(f"{i}\n" for i in segmentation_train).encode(),
        },
    )
    members, truth = {}, {}
    for n, image_id in enumerate(train + val):
        data = voc[image_id][0]
        w, h = Image.open(io.BytesIO(data)).size
        classes = _rectangles(rng, h, w, [1, 59] if n == 0 else rng.integers(1, 60, size=3))  # first and last occur
        full = np.where(classes > 0, 0, rng.choice(background_ids, size=(h, w)))
        for c in np.unique(classes[classes > 0]):
            full[classes == c] = id_of[FULL_SPELLING.get(TASK_NAMES[c - 1], TASK_NAMES[c - 1])]
        members[f"trainval/{image_id}.mat"] = label_map_mat(full)
        truth[image_id] = (data, classes.astype(np.uint8))
    members.update({f"trainval/{image_id}.mat": data for image_id, data in (mats or {}).items()})
    if labels_in_archive:
        members["labels.txt"] = class_list_text(full_names).encode()
    else:
        (manual_dir / "labels.txt").write_text(class_list_text(full_names))
    write_tar(manual_dir / "trainval.tar.gz", {n: d for n, d in members.items() if d is not None}, "w:gz")
    (manual_dir / "59_labels.txt").write_text(class_list_text(task_names or TASK_NAMES))
    return truth, full_names
