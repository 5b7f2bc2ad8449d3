"""PASCAL-Context, 59 classes + background (Mottaghi et al., CVPR 2014), as the FCN reference uses it.

Registered dataset (TFDS builder in pascal_context_builder.py, prepared from manual_dir):

    pascal_context   VOCtrainval_03-May-2010.tar + trainval.tar.gz + 59_labels.txt [+ labels.txt]
                     train 4998, validation 5105

PASCAL-Context labels every pixel of the PASCAL VOC 2010 trainval images with one of 459
classes; the "59 class task" keeps the 59 most frequent and FCN (Long thesis §3.6, Table 3.7)
trains on train and evaluates on val. Everything follows the reference data layer
(fcn.berkeleyvision.org pascalcontext_layers.py, PASCALContextSegDataLayer):

- Images: VOC2010/JPEGImages/<id>.jpg, read in place from the VOC2010 trainval tar.
- Splits: VOC2010/ImageSets/Main/{train,val}.txt (4,998 and 5,105 ids; the reference's
  `{voc_dir}/ImageSets/Main/{split}.txt`, and pascalcontext-fcn32s/solve.py scores on
  VOC2010/ImageSets/Main/val.txt). They are inside the VOC2010 tar, so no list is downloaded
  separately.
- Labels: LabelMap of trainval/<id>.mat (459-class ids) mapped to 60 classes: the k-th name of
  59_labels.txt becomes class k (1-59), everything else (the other 400 classes and unlabelled
  pixels, id 0) becomes 0 = background. Names are matched to labels.txt ("id: name", 459 lines)
  with spaces removed, and 59_labels.txt's diningtable, bedcloth and clothes are looked up as
  labels.txt's table, bedclothes and cloth, as the reference does. No pixel is void: 255 is the
  ignore label of the FCN loss but never occurs.
- Class order: background + 59_labels.txt, the "model output order" of the FCN repository's
  data/pascal-context/classes-59.txt, with its spellings (CONTEXT_CLASSES). A 59_labels.txt in
  another order is refused, since the class ids would no longer match these names or the
  released pascalcontext-fcn*s weights.

The download URLs and the "id: name" format of the label lists are those of the public
PASCAL-Context release (the FCN repository only links the dataset page). labels.txt is
optional in the manual_dir: if it is absent, the copy inside trainval.tar.gz is used.

Examples: {"id": string like "2008_000002", "image": uint8 (H, W, 3) RGB, "segmentation":
uint8 (H, W) class ids 0-59}, keyed like voc2012_segmentation.
"""

from __future__ import annotations

from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset

CONTEXT_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    "bag", "bed", "bench", "book", "building", "cabinet", "ceiling", "clothes", "computer", "cup", "door", "fence",
    "floor", "flower", "food", "grass", "ground", "keyboard", "light", "mountain", "mouse", "curtain", "platform",
    "sign", "plate", "road", "rock", "shelves", "sidewalk", "sky", "snow", "bedcloth", "track", "tree", "truck",
    "wall", "water", "window", "wood",
)  # fmt: skip
NUM_FULL_CLASSES = 459  # labels.txt: the full PASCAL-Context label set
# 59_labels.txt names three classes differently from labels.txt (pascalcontext_layers.py maps them back).
TASK_TO_FULL_NAME = {"diningtable": "table", "bedcloth": "bedclothes", "clothes": "cloth"}
IGNORE_LABEL = 255

HOMEPAGE = "https://www.cs.stanford.edu/~roozbeh/pascal-context/"
CITATION = """@inproceedings{mottaghi2014role,
  title={The Role of Context for Object Detection and Semantic Segmentation in the Wild},
  author={Mottaghi, Roozbeh and Chen, Xianjie and Liu, Xiaobai and Cho, Nam-Gyu and Lee, Seong-Whan and
          Fidler, Sanja and Urtasun, Raquel and Yuille, Alan},
  booktitle={IEEE Conference on Computer Vision and Pattern Recognition (CVPR)}, year={2014}}"""

VOC2010_ARCHIVE = ManualFile(
    "VOCtrainval_03-May-2010.tar",
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar",
    "PASCAL VOC 2010 trainval: the images and the train/val lists; used as is, not extracted",
)
CONTEXT_ARCHIVE = ManualFile(
    "trainval.tar.gz",
    HOMEPAGE + "trainval.tar.gz",
    "PASCAL-Context annotations, trainval/<id>.mat with LabelMap; used as is, not extracted",
)
LABELS_59 = ManualFile("59_labels.txt", HOMEPAGE + "59_labels.txt", "the 59 classes of the task")
LABELS_FULL = ManualFile(
    "labels.txt",
    HOMEPAGE,
    "the 459 classes as 'id: name', from the dataset page; only needed if trainval.tar.gz holds no labels.txt",
    optional=True,
)
MANUAL_FILES = (VOC2010_ARCHIVE, CONTEXT_ARCHIVE, LABELS_59, LABELS_FULL)

FEATURES = {
    "id": "string, the VOC2010 image id (e.g. 2008_000002)",
    "image": "uint8 (H, W, 3) RGB",
    "segmentation": "uint8 (H, W) class ids 0-59, 0 = background (every class outside the 59)",
}

INFO = DatasetInfo(
    name="pascal_context",
    task="segmentation",
    summary="PASCAL-Context 59-class task on VOC2010 (59 object and stuff classes + background)",
    num_classes=len(CONTEXT_CLASSES),
    class_names=CONTEXT_CLASSES,
    splits={"train": 4998, "validation": 5105},
    features=FEATURES,
    ignore_label=IGNORE_LABEL,
    source=HOMEPAGE,
    citation=CITATION,
    license="images: Flickr terms of use (PASCAL VOC); annotations: the PASCAL-Context authors'",
    instructions=manual_instructions("pascal_context", MANUAL_FILES),
)


def _postprocess(example):
    return {"id": example["id"], "image": example["image"], "segmentation": example["segmentation"][..., 0]}


register_dataset(
    "pascal_context",
    INFO,
    TfdsLoader(
        "pascal_context",
        builder="zoo.data.segmentation.pascal_context_builder:PascalContext",
        postprocess=_postprocess,
        instructions=INFO.instructions,
    ),
)
