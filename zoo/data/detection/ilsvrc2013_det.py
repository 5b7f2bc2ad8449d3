"""ILSVRC2013 detection (200 classes; Donahue thesis §3.1.7) from the user's archives, with R-CNN's
val1 / val2 split.

R-CNN trains and validates on ILSVRC2013 DET's val set, split into two class-balanced halves val1 and
val2 (§3.1.7: maximum relative class imbalance about 11%, median 4%), because the train images are
not exhaustively annotated; up to N ground-truth boxes per class from train are added ("val1+train_N",
N in {0, 500, 1000}, Table 3.4). The loader reads, from `manual_dir`, archives as downloaded (.tar /
.tgz, read in place) or their extracted folders:

    ILSVRC2013_devkit.tgz        data/meta_det.mat (synsets: DET_ID, WNID, name; DET_ID 1..200 are the
                                 classes), data/det_lists/train_pos_<k>.txt (the train images of class k)
    ILSVRC2013_DET_val.tar       ILSVRC2013_DET_val/<image>.JPEG (or the images at the archive's top)
    ILSVRC2013_DET_bbox_val.tgz  ILSVRC2013_DET_bbox_val/<image>.xml, VOC-style XML whose object names
                                 are WNIDs
    val1.txt, val2.txt           rbgirshick/rcnn data/splits/ilsvrc13/val{1,2}.txt.tgz (or the .tgz):
                                 "<image> <index>" lines, blacklisted images already left out
    ILSVRC2013_DET_train/, ILSVRC2013_DET_bbox_train/   (split "train" only) extracted folders,
                                 <wnid>/<image>.JPEG and <wnid>/<image>.xml

Box corners are taken as the XML gives them (ILSVRC's are 0-based pixel indices, unlike VOC's 1-based
ones; an assumption from the ILSVRC loaders of later detectors, not stated in the thesis). There are no
"difficult" objects: every flag is False. Splits: "val1", "val2", "val" (val1 then val2: R-CNN's val,
blacklist removed), "train" (the first images of each class's train_pos list, that class's boxes only,
until `train_boxes_per_class` boxes; no proposals, as R-CNN uses only their ground truth). "val1+train"
concatenates. Proposals: R-CNN's released selective-search boxes (`proposals_file`,
selective_search_data/ilsvrc13_val1.mat ..., zoo.data.detection.proposals.load_released_boxes), else
selective search in fast mode on the image scaled to a width of 500 pixels (§3.1.7.2) computed on the fly.

Examples: as voc2007_detection (image, boxes, labels 1..200, difficult, proposals, image_id).
"""

from __future__ import annotations

import os
import tarfile
import xml.etree.ElementTree as ET

import numpy as np

from zoo.data.manual import ManualFile, default_manual_dir
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import CorruptRecordError, DatasetNotFoundError

NAME = "ilsvrc2013_detection"
# The 200 classes in the order of the thesis's Table 3.8; labels come from the devkit's DET_ID.
ILSVRC13_CLASSES = (
    "accordion", "airplane", "ant", "antelope", "apple", "armadillo", "artichoke", "axe", "baby bed",
    "backpack", "bagel", "balance beam", "banana", "band aid", "banjo", "baseball", "basketball", "bathing cap",
    "beaker", "bear", "bee", "bell pepper", "bench", "bicycle", "binder", "bird", "bookshelf", "bow tie", "bow",
    "bowl", "brassiere", "burrito", "bus", "butterfly", "camel", "can opener", "car", "cart", "cattle", "cello",
    "centipede", "chain saw", "chair", "chime", "cocktail shaker", "coffee maker", "computer keyboard",
    "computer mouse", "corkscrew", "cream", "croquet ball", "crutch", "cucumber", "cup or mug", "diaper",
    "digital clock", "dishwasher", "dog", "domestic cat", "dragonfly", "drum", "dumbbell", "electric fan",
    "elephant", "face powder", "fig", "filing cabinet", "flower pot", "flute", "fox", "french horn", "frog",
    "frying pan", "giant panda", "goldfish", "golf ball", "golfcart", "guacamole", "guitar", "hair dryer",
    "hair spray", "hamburger", "hammer", "hamster", "harmonica", "harp", "hat with a wide brim", "head cabbage",
    "helmet", "hippopotamus", "horizontal bar", "horse", "hotdog", "iPod", "isopod", "jellyfish", "koala bear",
    "ladle", "ladybug", "lamp", "laptop", "lemon", "lion", "lipstick", "lizard", "lobster", "maillot", "maraca",
    "microphone", "microwave", "milk can", "miniskirt", "monkey", "motorcycle", "mushroom", "nail",
    "neck brace", "oboe", "orange", "otter", "pencil box", "pencil sharpener", "perfume", "person", "piano",
    "pineapple", "ping-pong ball", "pitcher", "pizza", "plastic bag", "plate rack", "pomegranate", "popsicle",
    "porcupine", "power drill", "pretzel", "printer", "puck", "punching bag", "purse", "rabbit", "racket",
    "ray", "red panda", "refrigerator", "remote control", "rubber eraser", "rugby ball", "ruler",
    "salt or pepper shaker", "saxophone", "scorpion", "screwdriver", "seal", "sheep", "ski", "skunk", "snail",
    "snake", "snowmobile", "snowplow", "soap dispenser", "soccer ball", "sofa", "spatula", "squirrel",
    "starfish", "stethoscope", "stove", "strainer", "strawberry", "stretcher", "sunglasses", "swimming trunks",
    "swine", "syringe", "table", "tape player", "tennis ball", "tick", "tie", "tiger", "toaster",
    "traffic light", "train", "trombone", "trumpet", "turtle", "tv or monitor", "unicycle", "vacuum", "violin",
    "volleyball", "waffle iron", "washer", "water bottle", "watercraft", "whale", "wine bottle", "zebra",
)  # fmt: skip
SPLITS = ("val1", "val2", "val", "train")
FILES = (
    ManualFile("ILSVRC2013_devkit.tgz", "https://image-net.org/challenges/LSVRC/2013/ (registration)",
               "meta_det.mat: the 200 classes' WNIDs; det_lists/train_pos_<k>.txt"),
    ManualFile("ILSVRC2013_DET_val.tar", "https://image-net.org/challenges/LSVRC/2013/", "20,121 val images"),
    ManualFile("ILSVRC2013_DET_bbox_val.tgz", "https://image-net.org/challenges/LSVRC/2013/", "their boxes (XML)"),
    ManualFile("val1.txt", "rbgirshick/rcnn data/splits/ilsvrc13/val1.txt.tgz (the .tgz is read too)",
               "R-CNN's val1 image list"),
    ManualFile("val2.txt", "rbgirshick/rcnn data/splits/ilsvrc13/val2.txt.tgz", "R-CNN's val2 image list"),
    ManualFile("ILSVRC2013_DET_train/", "https://image-net.org/challenges/LSVRC/2013/ (ILSVRC2013_DET_train.tar, "
               "extracted, with its per-class tars extracted)", "split train only", optional=True),
    ManualFile("ILSVRC2013_DET_bbox_train/", "https://image-net.org/challenges/LSVRC/2013/ "
               "(ILSVRC2013_DET_bbox_train.tgz, extracted)", "split train only", optional=True),
)


def instructions() -> str:
    lines = ["Put into your manual_dir (default <data_dir>/downloads/manual; read in place, nothing is prepared):"]
    lines += [f"  {f.name}{' [optional]' if f.optional else ''}: {f.url} ({f.note})" for f in FILES]
    return "\n".join(lines)


class _Store:
    """One part of the release in manual_dir: an extracted folder or an archive read in place."""

    def __init__(self, manual_dir, candidates, what):
        self.dir = self.tar = None
        for name in candidates:
            path = os.path.join(manual_dir, name)
            if os.path.isdir(path):
                self.dir = path
                return
            if os.path.isfile(path):
                if not name.endswith((".tar", ".tgz", ".tar.gz")):
                    self.dir = os.path.dirname(path)
                    return
                self.tar = tarfile.open(path)
                self.members = {}
                for m in self.tar.getmembers():
                    if m.isfile():
                        parts = m.name.split("/")
                        for i in range(len(parts)):
                            self.members.setdefault("/".join(parts[i:]), m)
                return
        raise DatasetNotFoundError(f"{NAME}: {what} is not in {manual_dir} (looked for {', '.join(candidates)}).\n"
                                   + instructions())

    def read(self, relative) -> bytes | None:
        """The bytes of `relative` (a path inside the folder/archive, leading folders optional), or None."""
        if self.tar is not None:
            member = self.members.get(relative)
            return None if member is None else self.tar.extractfile(member).read()
        for base in (self.dir, os.path.dirname(self.dir)):
            path = os.path.join(base, relative)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    return f.read()
        return None

    def need(self, relative, what) -> bytes:
        data = self.read(relative)
        if data is None:
            raise CorruptRecordError(f"{NAME}: {what} ({relative}) is missing from the release files")
        return data


def read_classes(devkit: _Store):
    """[(WNID, name)] of DET_ID 1..200 from the devkit's meta_det.mat."""
    from zoo.data import matfiles

    mat = matfiles.load(devkit.need("data/meta_det.mat", "meta_det.mat"), "meta_det.mat")
    if "synsets" not in mat:
        raise CorruptRecordError(f"{NAME}: meta_det.mat has no variable synsets")
    synsets = np.ravel(mat["synsets"])
    value = lambda s, f: np.ravel(s[f])[0] if np.ravel(s[f]).size else None  # noqa: E731
    by_id = {int(value(s, "DET_ID")): (str(value(s, "WNID")), str(value(s, "name"))) for s in synsets}
    classes = [by_id.get(k) for k in range(1, len(ILSVRC13_CLASSES) + 1)]
    if None in classes:
        raise CorruptRecordError(f"{NAME}: meta_det.mat lacks DET_IDs 1..{len(ILSVRC13_CLASSES)}")
    return classes


def parse_annotation(xml_bytes, wnid_to_label, name="annotation"):
    """(boxes (M, 4) float32 [x1, y1, x2, y2] as given, labels (M,) int32) of an ILSVRC DET XML."""
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as e:
        raise CorruptRecordError(f"{NAME}: {name} is not valid XML: {e}") from e
    boxes, labels = [], []
    for obj in root.iter("object"):
        wnid = (obj.findtext("name") or "").strip()
        if wnid not in wnid_to_label:
            raise CorruptRecordError(f"{NAME}: {name} names {wnid!r}, not one of the 200 DET classes")
        bb = obj.find("bndbox")
        try:
            boxes.append([float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
        except (AttributeError, TypeError, ValueError) as e:
            raise CorruptRecordError(f"{NAME}: {name} has an object without a readable bndbox") from e
        labels.append(wnid_to_label[wnid])
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int32)


def _split_list(manual_dir, which):
    store = _Store(manual_dir, (f"{which}.txt", f"{which}.txt.tgz"), f"R-CNN's {which} list")
    text = store.need(f"{which}.txt", f"{which}.txt").decode()
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def _val_records(manual_dir, which, wnid_to_label):
    """(image bytes, boxes, labels, image id) of R-CNN's val1 / val2 images."""
    images = _Store(manual_dir, ("ILSVRC2013_DET_val", "ILSVRC2013_DET_val.tar"), "the val images")
    boxes = _Store(manual_dir, ("ILSVRC2013_DET_bbox_val", "ILSVRC2013_DET_bbox_val.tgz"), "the val boxes")
    for image_id in _split_list(manual_dir, which):
        b, lab = parse_annotation(boxes.need(f"{image_id}.xml", "the boxes"), wnid_to_label, f"{image_id}.xml")
        yield images.need(f"{image_id}.JPEG", "the image"), b, lab, image_id


def _train_records(manual_dir, devkit, classes, wnid_to_label, per_class):
    """The first images of each class's train_pos list, that class's boxes, until `per_class` boxes."""
    images = _Store(manual_dir, ("ILSVRC2013_DET_train",), "the train images (extracted)")
    annotations = _Store(manual_dir, ("ILSVRC2013_DET_bbox_train",), "the train boxes (extracted)")
    for k, (wnid, _) in enumerate(classes, start=1):
        listed = devkit.need(f"data/det_lists/train_pos_{k}.txt", f"class {k}'s train list").decode().split()
        taken = 0
        for image_id in listed:
            if taken >= per_class:
                break
            folder = image_id.split("_")[0]
            xml = annotations.need(f"{folder}/{image_id}.xml", "the boxes")
            b, lab = parse_annotation(xml, wnid_to_label, f"{image_id}.xml")
            b = b[lab == k][:per_class - taken]
            if not len(b):
                continue
            taken += len(b)
            yield images.need(f"{folder}/{image_id}.JPEG", "the image"), b, np.full(len(b), k, np.int32), image_id


def _proposal_fn(proposals_file, max_proposals):
    from zoo.data.detection.proposals import load_released_boxes, released_proposals, selective_search

    released = load_released_boxes(proposals_file) if proposals_file else None

    def proposals(image, image_id, is_train):
        if is_train:  # R-CNN uses only the ground truth of train images
            return np.zeros((0, 4), np.float32)
        if released is None:
            return selective_search(np.asarray(image), "fast", max_proposals=max_proposals, resize_width=500)
        return released_proposals(released, image_id, proposals_file, max_proposals)

    return proposals


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, proposals_file="",
         max_proposals=2000, train_boxes_per_class=1000):
    """The registered loader (see the module docstring); `split` may join parts with "+"."""
    import tensorflow as tf

    manual_dir = default_manual_dir(data_dir, manual_dir)
    devkit = _Store(manual_dir, ("ILSVRC2013_devkit", "ILSVRC2013_devkit.tgz"), "the devkit")
    classes = read_classes(devkit)
    wnid_to_label = {wnid: k for k, (wnid, _) in enumerate(classes, start=1)}
    parts = [p.strip() for p in split.split("+")]

    def records():
        for part in parts:
            subsets = ("val1", "val2") if part == "val" else (part,)
            for sub in subsets:
                if sub == "train":
                    source = _train_records(manual_dir, devkit, classes, wnid_to_label, train_boxes_per_class)
                else:
                    source = _val_records(manual_dir, sub, wnid_to_label)
                for jpeg, boxes, labels, image_id in source:
                    yield jpeg, boxes, labels, image_id, sub == "train"

    signature = (tf.TensorSpec((), tf.string), tf.TensorSpec((None, 4), tf.float32), tf.TensorSpec((None,), tf.int32),
                 tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.bool))
    proposals = _proposal_fn(proposals_file, max_proposals)

    def to_example(jpeg, boxes, labels, image_id, is_train):
        image = tf.io.decode_jpeg(jpeg, channels=3)
        props = tf.numpy_function(proposals, [image, image_id, is_train], tf.float32, stateful=False)
        return {"image": image, "boxes": boxes, "labels": labels, "difficult": tf.zeros_like(labels, tf.bool),
                "proposals": tf.ensure_shape(props, (None, 4)), "image_id": image_id}

    return tf.data.Dataset.from_generator(records, output_signature=signature).map(to_example)


register_dataset(NAME, DatasetInfo(
    name=NAME, task="detection",
    summary="ILSVRC2013 DET, 200 classes + background, with R-CNN's val1 / val2 split (§3.1.7), from the archives",
    num_classes=len(ILSVRC13_CLASSES) + 1, class_names=("background",) + ILSVRC13_CLASSES,
    splits={"val1": 9887, "val2": 9917, "val": 19804, "train": None},
    features={"image": "uint8 (H, W, 3) RGB", "boxes": "float32 (M, 4) [x1, y1, x2, y2] as in the XML (0-based)",
              "labels": "int32 (M,) 1..200 (DET_ID)", "difficult": "bool (M,), all False",
              "proposals": "float32 (P, 4); none for train images", "image_id": "string"},
    source="https://image-net.org/challenges/LSVRC/2013/; val1/val2: rbgirshick/rcnn data/splits/ilsvrc13",
    citation="Russakovsky et al. 2015, ImageNet Large Scale Visual Recognition Challenge (IJCV)",
    license="ImageNet terms of access (non-commercial research)",
    instructions=instructions(),
    options={"proposals_file": "", "max_proposals": 2000, "train_boxes_per_class": 1000},
), load)


def load_windows(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, mode="finetune",
                 proposals_file="", max_proposals=2000, train_boxes_per_class=1000, crop_size=227, padding=16,
                 warp_mode="warp", batch_size=128, fg_fraction=0.25):
    """R-CNN's training windows of a split (zoo.data.detection.windows): fine-tuning minibatches or SVM windows;
    train images give ground-truth windows only (they have no proposals), so no negatives (§3.1.7.3)."""
    from zoo.data.detection.windows import windows_dataset

    source = load(split, data_dir=data_dir, manual_dir=manual_dir, seed=seed, on_corrupt=on_corrupt, counter=counter,
                  proposals_file=proposals_file, max_proposals=max_proposals,
                  train_boxes_per_class=train_boxes_per_class)
    return windows_dataset(source.as_numpy_iterator(), mode, crop_size=crop_size, padding=padding,
                           warp_mode=warp_mode, batch_size=batch_size, fg_fraction=fg_fraction, seed=seed)


register_dataset(f"{NAME}_windows", DatasetInfo(
    name=f"{NAME}_windows", task="classification",
    summary="R-CNN training windows of ILSVRC2013 DET (warped proposals and ground truth with labels)",
    num_classes=len(ILSVRC13_CLASSES) + 1, class_names=("background",) + ILSVRC13_CLASSES,
    splits={"val1": None, "val2": None, "val": None, "train": None},
    features={"image": "float32 (227, 227, 3) RGB window, mean outside the image", "label": "int32 0..200"},
    source="as ilsvrc2013_detection", instructions="as ilsvrc2013_detection\n" + instructions(),
    options={"mode": "finetune", "proposals_file": "", "max_proposals": 2000, "train_boxes_per_class": 1000,
             "crop_size": 227, "padding": 16, "warp_mode": "warp", "batch_size": 128, "fg_fraction": 0.25},
), load_windows)
