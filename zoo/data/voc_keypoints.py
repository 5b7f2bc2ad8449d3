"""Reader of the Bourdev & Malik keypoint annotations of PASCAL VOC 2011 train+val (poselets release,
"a beta release of the keypoint annotations ... of train+val examples from PASCAL 2011"), the data
of Long thesis §2.2-2.4 (Tables 2.2-2.4).

The release's layout: `annotations/<category>/<image id>_<voc object id>.xml`, one file per object:

    <annotation><image>2007_000032</image><voc_id>1</voc_id><category>aeroplane</category>
      <subcategory>...</subcategory><visible_bounds height= width= xmin= ymin=/>
      <keypoints><keypoint name="NoseTip" visible="1" x= y= z=/> ...</keypoints></annotation>

Images are VOC2011's `JPEGImages/<image id>.jpg`. This module reads the annotations (from the
unpacked folder or the .tgz/.tar archive itself); it is not yet a registered zoo dataset.
"""

from __future__ import annotations

import dataclasses
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from zoo.errors import CorruptRecordError, DatasetNotFoundError

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
        return KeypointObject(root.findtext("image"), int(root.findtext("voc_id")), root.findtext("category"),
                              root.findtext("subcategory") or "", bounds, kps)
    except (ET.ParseError, AttributeError, KeyError, TypeError, ValueError) as e:
        raise CorruptRecordError(f"{source} is not a keypoint annotation of the poselets release: {e}") from e


def read_annotations(path, categories=CATEGORIES) -> list[KeypointObject]:
    """Every object of `categories` under an unpacked `annotations/` folder or in a .tgz/.tar archive of it."""
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"{path} does not exist: unpack the poselets keypoint annotations of PASCAL 2011 "
                                   "there, or pass the archive itself")
    out = []
    if path.is_dir():
        for cat in categories:
            for f in sorted((path / cat).glob("*.xml")):
                out.append(parse_annotation(f.read_text(), str(f)))
    else:
        with tarfile.open(path) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                parts = Path(member.name).parts
                if member.isfile() and member.name.endswith(".xml") and len(parts) >= 2 and parts[-2] in categories:
                    out.append(parse_annotation(tar.extractfile(member).read(), f"{path}:{member.name}"))
    if not out:
        raise DatasetNotFoundError(f"no <category>/*.xml keypoint annotation under {path}")
    return out


def keypoint_names(objects, category) -> list[str]:
    """The keypoint types a category's annotations use, sorted."""
    return sorted({n for o in objects if o.category == category for n in o.keypoints})
