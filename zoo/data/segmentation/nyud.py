"""NYU Depth v2, labelled set, in the 40-class task of Gupta et al. (CVPR 2013), with HHA.

Registered dataset (TFDS builder in nyud_builder.py, prepared from manual_dir):

    nyud_v2   nyu_depth_v2_labeled.mat + splits.mat + classMapping40.mat   train 795, test 654

The FCN NYUDv2 experiments (Long thesis §3.4.2, Table 3.5) use the 1449 labelled RGB-D
images "coalesced into a 40 class semantic segmentation task by Gupta et al." with "the
standard split of 795 training images and 654 testing images". Examples:

    {"id": string "5001".."6449", "image": uint8 (H, W, 3) RGB, "depth": uint16 (H, W, 1) mm
     (0 = missing), "hha": uint8 (H, W, 3), "segmentation": uint8 (H, W) 0-39, 255 = void}

- id: 5000 + the image's 1-based index in the labelled .mat; the names Gupta's data and the
  FCN lists (data/nyud/{train,test}.txt: 5001-6449) use.
- image, depth: `images` and `depths` of nyu_depth_v2_labeled.mat (640x480, the NYU toolbox's
  in-painted depth, metres, rounded to mm); reference nyud_layers.py feeds log(depth in mm).
- segmentation: `labels` (894 classes, 0 = unlabelled) mapped to 40 by `mapClass` of
  classMapping40.mat, then shifted as nyud_layers.py does: classes 1-40 -> 0-39, 0 -> 255.
- hha: by default computed from the depth with zoo.data.segmentation.hha (Gupta et al. ECCV 2014; the
  raw depth's zeros, `rawDepths`, mark the missing pixels, as Gupta's saveHHA.m does). The
  released FCN nets were trained on Gupta's own HHA PNGs (reference layout
  data/hha/img_<id>.png); pass `hha_dir=DIR` holding img_5001.png ... img_6449.png to use
  those instead. The two are prepared separately (TFDS configs "computed_hha" and
  "precomputed_hha"), so neither is mistaken for the other.

The 894 -> 40 mapping file: the FCN repository points to Gupta's data
(people.eecs.berkeley.edu/~sgupta/cvpr13/data.tgz); the commonly used standalone copy of
Gupta's mapping is classMapping40.mat of github.com/ankurhanda/nyuv2-meta-data.
"""

from __future__ import annotations

import os

from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset

# Model output order of the 40 classes (FCN data/nyud/classes.txt, Gupta et al.'s className;
# "refridgerator" spelled as there).
NYUD_CLASSES = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
    "picture", "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror", "floor mat",
    "clothes", "ceiling", "books", "refridgerator", "television", "paper", "towel", "shower curtain", "box",
    "whiteboard", "person", "night stand", "toilet", "sink", "lamp", "bathtub", "bag", "otherstructure",
    "otherfurniture", "otherprop",
)  # fmt: skip
IGNORE_LABEL = 255
NUM_RAW_CLASSES = 894  # classes of the labelled set's `labels`
ID_OFFSET = 5000  # id = 5000 + 1-based index (Gupta's img_5001 ... img_6449)
HOMEPAGE = "https://cs.nyu.edu/~silberman/datasets/nyu_depth_v2.html"
CITATION = """@inproceedings{silberman2012indoor,
  title={Indoor Segmentation and Support Inference from RGBD Images},
  author={Silberman, Nathan and Hoiem, Derek and Kohli, Pushmeet and Fergus, Rob},
  booktitle={European Conference on Computer Vision (ECCV)}, year={2012}}
@inproceedings{gupta2013perceptual,
  title={Perceptual Organization and Recognition of Indoor Scenes from {RGB-D} Images},
  author={Gupta, Saurabh and Arbel{\\'a}ez, Pablo and Malik, Jitendra},
  booktitle={Computer Vision and Pattern Recognition (CVPR)}, year={2013}}
@inproceedings{gupta2014learning,
  title={Learning Rich Features from {RGB-D} Images for Object Detection and Segmentation},
  author={Gupta, Saurabh and Girshick, Ross and Arbel{\\'a}ez, Pablo and Malik, Jitendra},
  booktitle={European Conference on Computer Vision (ECCV)}, year={2014}}"""

LABELED = ManualFile(
    "nyu_depth_v2_labeled.mat",
    "http://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat",
    "2.8 GB, MATLAB v7.3 (HDF5): images, depths, rawDepths, labels of the 1449 labelled frames",
)
SPLITS = ManualFile(
    "splits.mat",
    "http://horatio.cs.nyu.edu/mit/silberman/indoor_seg_sup/splits.mat",
    "trainNdxs (795) and testNdxs (654), 1-based indices into the labelled set",
)
CLASS_MAPPING = ManualFile(
    "classMapping40.mat",
    "https://github.com/ankurhanda/nyuv2-meta-data/raw/master/classMapping40.mat",
    "mapClass: Gupta et al.'s 894 -> 40 class mapping",
)
HHA_NOTE = (
    "HHA is computed from the depth while preparing (about a second per image on one CPU core). To use Gupta et al.'s "
    "HHA PNGs (those the released FCN nets were trained on), pass hha_dir=DIR, a folder of img_5001.png ... "
    "img_6449.png (the reference's data/hha/), to zoo.data.load."
)


def hha_png_name(index: int) -> str:
    """The reference's HHA file name of the image at 1-based `index` (data/hha/img_<id>.png)."""
    return f"img_{ID_OFFSET + index}.png"


FEATURES = {
    "id": "string, 5000 + the 1-based index in nyu_depth_v2_labeled.mat (5001-6449)",
    "image": "uint8 (H, W, 3) RGB, 480x640",
    "depth": "uint16 (H, W, 1) in-painted depth in millimetres, 0 = missing",
    "hha": "uint8 (H, W, 3) horizontal disparity, height above ground, angle with gravity (Gupta et al. 2014)",
    "segmentation": "uint8 (H, W) class ids 0-39, 255 = unlabelled",
}

INFO = DatasetInfo(
    name="nyud_v2",
    task="segmentation",
    summary="NYU Depth v2 labelled RGB-D images, 40-class task of Gupta et al., with HHA",
    num_classes=len(NYUD_CLASSES),
    class_names=NYUD_CLASSES,
    splits={"train": 795, "test": 654},
    features=FEATURES,
    ignore_label=IGNORE_LABEL,
    source=HOMEPAGE,
    citation=CITATION,
    license="NYU Depth v2: for research use (see its homepage)",
    instructions=manual_instructions("nyud_v2", (LABELED, SPLITS, CLASS_MAPPING), HHA_NOTE),
    options={"hha_dir": None},
)


def _postprocess(example):
    return {**example, "segmentation": example["segmentation"][..., 0]}


class NyudLoader(TfdsLoader):
    """nyud_v2 with computed HHA (TFDS config computed_hha), or with the PNGs of `hha_dir` (precomputed_hha)."""

    def __call__(
        self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, hha_dir=None
    ):
        if hha_dir is None:
            return super().__call__(
                split, data_dir=data_dir, manual_dir=manual_dir, seed=seed, on_corrupt=on_corrupt, counter=counter
            )
        import tensorflow_datasets as tfds

        from zoo.data.segmentation.nyud_builder import NyudV2

        # The builder needs hha_dir only to prepare; TFDS's own construction (load_tfds) cannot pass it.
        builder = NyudV2(
            config="precomputed_hha",
            data_dir=os.path.expanduser(os.fspath(data_dir)) if data_dir else None,
            on_corrupt=on_corrupt,
            hha_dir=hha_dir,
        )
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(
                manual_dir=os.path.expanduser(os.fspath(manual_dir)) if manual_dir else None, try_download_gcs=False
            )
        )
        return _PRECOMPUTED(
            split, data_dir=data_dir, manual_dir=manual_dir, seed=seed, on_corrupt=on_corrupt, counter=counter
        )


_BUILDER = "zoo.data.segmentation.nyud_builder:NyudV2"
_PRECOMPUTED = TfdsLoader(
    "nyud_v2/precomputed_hha", builder=_BUILDER, postprocess=_postprocess, instructions=INFO.instructions
)
register_dataset(
    "nyud_v2",
    INFO,
    NyudLoader("nyud_v2/computed_hha", builder=_BUILDER, postprocess=_postprocess, instructions=INFO.instructions),
)
