"""SBD, the Semantic Boundaries Dataset (Hariharan et al., ICCV 2011), from the original benchmark.tgz.

Registered dataset (TFDS builder in sbd_builder.py, prepared from manual_dir):

    sbd   benchmark.tgz   train 8498, validation 2857

SBD re-annotates 11,355 PASCAL VOC 2011 trainval images with the 20 VOC classes. FCN trains on
SBD train (Long thesis §3.3.7: "[HAB+11] ... 8498 PASCAL training images"; the FCN
repository's data/pascal/README.md) and validates on seg11valid (split
"seg11valid" of voc2011_segmentation: VOC2011 seg val minus SBD train).

Examples are keyed like voc2012_segmentation, so every FCN recipe can use either: {"id": string
like "2008_000002", "image": uint8 (H, W, 3) RGB, "segmentation": uint8 (H, W) class ids 0-20}.
The labels are `GTcls.Segmentation` of dataset/cls/<id>.mat, read as the reference data layer
does (fcn.berkeleyvision.org voc_layers.py, SBDDSegDataLayer: scipy.io.loadmat,
mat['GTcls'][0]['Segmentation'][0]). SBD draws no void band: its maps hold 0-20 only, though
255 is accepted and ignored like VOC's. The splits are dataset/train.txt and dataset/val.txt
of the archive (the reference's `{sbdd_dir}/{split}.txt`). The archive URL and its layout
(benchmark_RELEASE/dataset/{img,cls,inst}) are those of the public release; the FCN repository
only links the download page.
"""

from __future__ import annotations

from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.data.segmentation.voc import IGNORE_LABEL, VOC_CLASSES

HOMEPAGE = "http://home.bharathh.info/pubs/codes/SBD/download.html"
CITATION = """@inproceedings{hariharan2011semantic,
  title={Semantic Contours from Inverse Detectors},
  author={Hariharan, Bharath and Arbel{\\'a}ez, Pablo and Bourdev, Lubomir and Maji, Subhransu and Malik, Jitendra},
  booktitle={International Conference on Computer Vision (ICCV)}, pages={991--998}, year={2011}}"""

ARCHIVE = ManualFile(
    "benchmark.tgz",
    "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz",
    f"SBD release, 1.4 GB; used as is, not extracted; page: {HOMEPAGE}",
)

FEATURES = {
    "id": "string, the VOC image id (e.g. 2008_000002)",
    "image": "uint8 (H, W, 3) RGB",
    "segmentation": "uint8 (H, W) class ids 0-20 (SBD has no void band; 255 would be ignored)",
}

INFO = DatasetInfo(
    name="sbd",
    task="segmentation",
    summary="Semantic Boundaries Dataset: SBD segmentation of VOC2011 images (20 VOC classes + background)",
    num_classes=len(VOC_CLASSES),
    class_names=VOC_CLASSES,
    splits={"train": 8498, "validation": 2857},
    features=FEATURES,
    ignore_label=IGNORE_LABEL,
    source=HOMEPAGE,
    citation=CITATION,
    license="images: Flickr terms of use (PASCAL VOC); annotations: the SBD authors'",
    instructions=manual_instructions("sbd", (ARCHIVE,)),
)


def _postprocess(example):
    return {"id": example["id"], "image": example["image"], "segmentation": example["segmentation"][..., 0]}


register_dataset(
    "sbd",
    INFO,
    TfdsLoader(
        "sbd",
        builder="zoo.data.segmentation.sbd_builder:Sbd",
        postprocess=_postprocess,
        instructions=INFO.instructions,
    ),
)
