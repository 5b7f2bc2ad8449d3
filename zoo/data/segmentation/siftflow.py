"""SIFT Flow scene parsing (Liu et al. 2011): 33 semantic and 3 geometric classes per pixel.

Registered dataset (TFDS builder in siftflow_builder.py, prepared from manual_dir):

    siftflow   SiftFlowDataset.zip + sift-flow/trainval.txt, sift-flow/test.txt   train 2488, test 200

The two-headed FCN-16s of the Long thesis (§3.4.2, Table 3.6) is trained on "the standard
split into 2,488 training and 200 test images". The split lists are the FCN repository's
data/sift-flow/trainval.txt and test.txt (image names, one a line); put them in a folder
sift-flow/ of the manual_dir, as they are in the repository. Examples:

    {"id": string like "coast_natu975", "image": uint8 (256, 256, 3) RGB,
     "segmentation": uint8 (H, W) 0-32, 255 = void, "geometry": uint8 (H, W) 0-2, 255 = void}

Labels as the reference data layer makes them (siftflow_layers.py): the `S` of
SemanticLabels/.../<name>.mat holds 0 (unlabelled) and classes 1-33, shifted to 0-32 with 0 ->
255; the `S` of GeoLabels/.../<name>.mat holds -1 (void) and 1 sky, 2 horizontal, 3 vertical
(FCN data/sift-flow/classes.txt), with -1 set to 0 and then shifted the same way: 0 sky,
1 horizontal, 2 vertical, 255 void (0, which the classes do not use, would also be void).

Three semantic classes (cow, desert, moon: ABSENT_FROM_TEST) never occur in the test split.
The thesis predicts all 33 but averages over the classes present in the test set (footnote
10); a mean IU over all 33 would count an absent class the net predicts somewhere as 0.
"""

from __future__ import annotations

from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset

SEMANTIC_CLASSES = (
    "awning", "balcony", "bird", "boat", "bridge", "building", "bus", "car", "cow", "crosswalk", "desert",
    "door", "fence", "field", "grass", "moon", "mountain", "person", "plant", "pole", "river", "road", "rock",
    "sand", "sea", "sidewalk", "sign", "sky", "staircase", "streetlight", "sun", "tree", "window",
)  # fmt: skip
GEOMETRIC_CLASSES = ("sky", "horizontal", "vertical")
ABSENT_FROM_TEST = ("cow", "desert", "moon")  # FCN data/sift-flow/classes.txt
IGNORE_LABEL = 255
IMAGE_FOLDER = "spatial_envelope_256x256_static_8outdoorcategories"
HOMEPAGE = "https://people.csail.mit.edu/celiu/SIFTflow/"
CITATION = """@article{liu2011sift,
  title={{SIFT} Flow: Dense Correspondence across Scenes and its Applications},
  author={Liu, Ce and Yuen, Jenny and Torralba, Antonio},
  journal={IEEE Transactions on Pattern Analysis and Machine Intelligence}, volume={33}, number={5},
  pages={978--994}, year={2011}}"""

ARCHIVE = ManualFile(
    "SiftFlowDataset.zip",
    "http://www.cs.unc.edu/~jtighe/Papers/ECCV10/siftflow/SiftFlowDataset.zip",
    "Images/, SemanticLabels/, GeoLabels/ of the 2,688 images; used as is, not extracted",
)
_FCN_DATA = "https://github.com/shelhamer/fcn.berkeleyvision.org/blob/master/data/sift-flow"
TRAIN_LIST = ManualFile(
    "sift-flow/trainval.txt", f"{_FCN_DATA}/trainval.txt", "raw file; the 2,488 training images of the FCN split"
)
TEST_LIST = ManualFile("sift-flow/test.txt", f"{_FCN_DATA}/test.txt", "raw file; the 200 test images")

FEATURES = {
    "id": "string, the image name (e.g. coast_natu975)",
    "image": "uint8 (H, W, 3) RGB, 256x256",
    "segmentation": "uint8 (H, W) semantic class ids 0-32, 255 = unlabelled",
    "geometry": "uint8 (H, W) geometric class ids 0 sky, 1 horizontal, 2 vertical, 255 = unlabelled",
}

INFO = DatasetInfo(
    name="siftflow",
    task="segmentation",
    summary="SIFT Flow scene parsing: 33 semantic classes (class_names) and 3 geometric (sky, horizontal, vertical)",
    num_classes=len(SEMANTIC_CLASSES),
    class_names=SEMANTIC_CLASSES,
    splits={"train": 2488, "test": 200},
    features=FEATURES,
    ignore_label=IGNORE_LABEL,
    source=HOMEPAGE,
    citation=CITATION,
    license="LabelMe images and annotations: for research use",
    instructions=manual_instructions("siftflow", (ARCHIVE, TRAIN_LIST, TEST_LIST)),
)


def _postprocess(example):
    return {**example, "segmentation": example["segmentation"][..., 0], "geometry": example["geometry"][..., 0]}


register_dataset(
    "siftflow",
    INFO,
    TfdsLoader(
        "siftflow",
        builder="zoo.data.segmentation.siftflow_builder:Siftflow",
        postprocess=_postprocess,
        instructions=INFO.instructions,
    ),
)
