"""`voc_keypoints`: PASCAL VOC 2011 objects with the Bourdev & Malik keypoint annotations (poselets release,
"a beta release of the keypoint annotations ... of train+val examples from PASCAL 2011"), the data of Long
thesis §2.2-2.4 (Tables 2.2-2.4), prepared by the TFDS builder beside (voc_keypoints_builder.py) from:

    manual_dir/voc2011_keypoints_Feb2012.tgz  (or .tar, or its extracted annotations/ folder)
    manual_dir/VOCtrainval_25-May-2011.tar    (or the extracted VOC2011/ folder: JPEGImages/, ImageSets/Main/)
    python -m zoo.data prepare voc_keypoints --manual_dir DIR

The annotation release's layout: `annotations/<category>/<image id>_<voc object id>.xml`, one file per object:

    <annotation><image>2007_000032</image><voc_id>1</voc_id><category>aeroplane</category>
      <subcategory>...</subcategory><visible_bounds height= width= xmin= ymin=/>
      <keypoints><keypoint name="NoseTip" visible="1" x= y= z=/> ...</keypoints></annotation>

Images are VOC2011's `JPEGImages/<image id>.jpg`. Splits: an object is in `train` or `val` as its image is
in VOC2011's ImageSets/Main/train.txt or val.txt (the release covers train+val; Long §2.3 trains the SVMs on
train and reports accuracy on val; §2.2 and §2.4 do not state their split). One example per object, in the
release's order (category, then file name): {"image": uint8 (H, W, 3) the whole picture, "image_id",
"voc_id", "category", "label" (index in CATEGORIES), "subcategory", "box": float32 (4,) visible_bounds as x1,
y1, x2, y2 (the release's pixel coordinates), "keypoint_names": (K,) the category's keypoint types
(`keypoint_names`: every type the category's annotations use, sorted, the same in both splits), "keypoints":
float32 (K, 2) (x, y) as annotated, NaN where the object's file lacks the type, "visible": bool (K,) the
file's visible="1"}. PCK (zoo.metrics.keypoints.pck) takes `keypoints`, `box` and `visible` as they are;
zoo.visualize.keypoints takes points as (y, x), NaN where absent: np.where(visible[:, None], keypoints, nan)[:, ::-1].

The reader (`read_annotations`, `parse_annotation`) works on the folder or the .tgz/.tar itself; a file that
is not such an annotation raises CorruptRecordError naming it (the builder raises or skips it as its
on_corrupt says).
"""

from __future__ import annotations

import dataclasses
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from zoo.data.manual_parts import ReleasePart, instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.errors import ConfigError, CorruptRecordError, DatasetNotFoundError

CATEGORIES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
              "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")


@dataclasses.dataclass
class KeypointObject:
    """One annotated object: `keypoints` {name: (x, y, visible)}, `bounds` [x1, y1, x2, y2] (visible_bounds)."""

    image: str
    voc_id: int
    category: str
    subcategory: str
    bounds: tuple
    keypoints: dict

    def array(self, names):
        """(K, 2) (x, y) of `names` in that order, NaN where the keypoint is absent or not visible."""
        out = np.full((len(names), 2), np.nan)
        for i, n in enumerate(names):
            if n in self.keypoints and self.keypoints[n][2]:
                out[i] = self.keypoints[n][:2]
        return out


def parse_annotation(text, source="<annotation>") -> KeypointObject:
    try:
        root = ET.fromstring(text)
        vb = root.find("visible_bounds").attrib
        x, y = float(vb["xmin"]), float(vb["ymin"])
        bounds = (x, y, x + float(vb["width"]), y + float(vb["height"]))
        block = root.find("keypoints")
        kps = {k.attrib["name"]: (float(k.attrib["x"]), float(k.attrib["y"]), k.attrib.get("visible", "1") == "1")
               for k in (block if block is not None else ())}
        image, category = (root.findtext("image") or "").strip(), (root.findtext("category") or "").strip()
        if not image or category not in CATEGORIES:
            raise ValueError(f"<image> {image!r} and <category> {category!r} should name a picture and a VOC class")
        return KeypointObject(image, int(root.findtext("voc_id")), category, root.findtext("subcategory") or "",
                              bounds, kps)
    except (ET.ParseError, AttributeError, KeyError, TypeError, ValueError) as e:
        raise CorruptRecordError(f"{source} is not a keypoint annotation of the poselets release: {e}") from e


def annotation_files(path, categories=CATEGORIES):
    """(name, bytes) of every `<category>/*.xml` of `categories` under an unpacked `annotations/` folder or in a
    .tgz/.tar archive of it, by category then file name (folder) or member name (archive); `name` says where."""
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"{path} does not exist: unpack the poselets keypoint annotations of PASCAL 2011 "
                                   "there, or pass the archive itself")
    if path.is_dir():
        for cat in categories:
            for f in sorted((path / cat).glob("*.xml")):
                yield str(f), f.read_bytes()
        return
    try:
        with tarfile.open(path) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                parts = Path(member.name).parts
                if member.isfile() and member.name.endswith(".xml") and len(parts) >= 2 and parts[-2] in categories:
                    yield f"{path}:{member.name}", tar.extractfile(member).read()
    except (tarfile.TarError, EOFError) as e:
        raise CorruptRecordError(f"{path} is not a readable .tgz/.tar of the keypoint annotations: {e}") from e


def read_annotations(path, categories=CATEGORIES) -> list[KeypointObject]:
    """Every object of `categories` under an unpacked `annotations/` folder or in a .tgz/.tar archive of it."""
    out = [parse_annotation(data, name) for name, data in annotation_files(path, categories)]
    if not out:
        raise DatasetNotFoundError(f"no <category>/*.xml keypoint annotation under {path}")
    return out


def keypoint_names(objects, category) -> list[str]:
    """The keypoint types a category's annotations use, sorted."""
    return sorted({n for o in objects if o.category == category for n in o.keypoints})


def keypoint_arrays(obj: KeypointObject, names):
    """(float32 (K, 2) (x, y) as annotated, NaN where `obj` lacks the type; bool (K,) visible) in `names`' order."""
    xy = np.full((len(names), 2), np.nan, np.float32)
    visible = np.zeros(len(names), bool)
    for i, n in enumerate(names):
        if n in obj.keypoints:
            xy[i], visible[i] = obj.keypoints[n][:2], obj.keypoints[n][2]
    return xy, visible


# --- the registered dataset ------------------------------------------------------------------------------

SPLITS = ("train", "val")  # VOC2011 ImageSets/Main/{train,val}.txt
IMAGE_SETS = "ImageSets/Main/{}.txt"
HOMEPAGE = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/shape/poselets/"
ANNOTATIONS = ReleasePart("keypoint annotations", ("voc2011_keypoints_Feb2012.tgz", "voc2011_keypoints_Feb2012.tar",
                                                   "annotations/"),
                          HOMEPAGE + "voc2011_keypoints_Feb2012.tgz",
                          "the poselets release: annotations/<category>/<image>_<voc id>.xml; the .tgz or its folder")
VOC2011 = ReleasePart("VOC2011 trainval", ("VOCtrainval_25-May-2011.tar", "VOC2011/"),
                      "http://host.robots.ox.ac.uk/pascal/VOC/voc2011/VOCtrainval_25-May-2011.tar",
                      "the tar as downloaded (read in place), or its extracted TrainVal/VOCdevkit/VOC2011/ folder "
                      "moved here as VOC2011/ (JPEGImages/ and ImageSets/Main/train.txt, val.txt)")
PARTS = (ANNOTATIONS, VOC2011)
INSTRUCTIONS = instructions("voc_keypoints", PARTS)
CITATION = """@inproceedings{bourdev2009poselets,
  title={Poselets: Body Part Detectors Trained Using 3D Human Pose Annotations},
  author={Bourdev, Lubomir and Malik, Jitendra}, booktitle={ICCV}, year={2009}}
@misc{pascal-voc-2011,
  author={Everingham, M. and Van~Gool, L. and Williams, C. K. I. and Winn, J. and Zisserman, A.},
  title={The {PASCAL} {V}isual {O}bject {C}lasses {C}hallenge 2011 {(VOC2011)} {R}esults}}"""


class KeypointLoader(TfdsLoader):
    """The prepared objects, optionally only those of `categories`."""

    def __call__(self, split, *, categories=None, **kwargs):
        wanted = _check_categories(categories)
        ds = super().__call__(split, **kwargs)
        if wanted is None:
            return ds
        import tensorflow as tf

        names = tf.constant(wanted)
        return ds.filter(lambda ex: tf.reduce_any(tf.equal(ex["category"], names)))


def _check_categories(categories):
    if categories is None:
        return None
    wanted = (categories,) if isinstance(categories, str) else tuple(categories)
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown or not wanted:
        raise ConfigError(f"voc_keypoints categories must be among {', '.join(CATEGORIES)}; got {list(wanted)}")
    return wanted


INFO = DatasetInfo(
    name="voc_keypoints", task="keypoints",
    summary="PASCAL VOC 2011 train/val objects with the Bourdev & Malik (poselets) keypoints, 20 categories",
    num_classes=len(CATEGORIES), class_names=CATEGORIES, splits={split: None for split in SPLITS},
    features={
        "image": "uint8 (H, W, 3) RGB, the whole VOC2011 picture",
        "image_id": "string, e.g. 2008_000001", "voc_id": "int64, the object's number in the VOC annotation",
        "category": "string, one of the 20 VOC classes", "label": "int64 () the category's index",
        "subcategory": "string, as released (often empty)",
        "box": "float32 (4,) visible_bounds x1, y1, x2, y2 (the release's pixel coordinates)",
        "keypoint_names": "string (K,) the category's keypoint types, sorted (fixed per category)",
        "keypoints": "float32 (K, 2) (x, y) as annotated; NaN where the object has no such keypoint",
        "visible": "bool (K,) annotated as visible",
    },
    source=HOMEPAGE + " (keypoints; Bourdev & Malik 2009) and http://host.robots.ox.ac.uk/pascal/VOC/voc2011/ "
                      "(images, splits); per-split counts are left to the files",
    citation=CITATION, license="research use (the poselets release's and PASCAL VOC's terms; flickr images)",
    instructions=INSTRUCTIONS, options={"categories": None},
)

register_dataset("voc_keypoints", INFO, KeypointLoader(
    "voc_keypoints", builder="zoo.data.keypoints.voc_keypoints_builder:VocKeypoints", instructions=INSTRUCTIONS))
