"""`office31`: the Office dataset (Saenko, Kulis, Fritz, Darrell 2010), the benchmark of DeCAF's domain
adaptation (Donahue thesis §2.3.2, Table 2.1), built from the user's archive of the images.

    manual_dir/domain_adaptation_images.tar.gz   (amazon/images/<class>/*.jpg, dslr/..., webcam/...)
    python -m zoo.data prepare office31 --manual_dir DIR

One split per domain: `amazon` (product photos from amazon.com), `dslr` and `webcam` (the same office
objects photographed with a digital SLR and a webcam); 31 classes in each. Loaded examples get DeCAF's
view (the center 224 crop of the 256x256 resized image) and {"image", "label", "id"}. The supervised
protocol's splits (source and target examples per class) are drawn from the extracted features by
`zoo.experiments.decaf.office_splits`.
"""

from __future__ import annotations

from zoo.data.classification.caltech101 import DecafViewLoader
from zoo.data.classification.decaf_crops import DECAF_VIEW
from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, register_dataset

DOMAINS = ("amazon", "dslr", "webcam")
CLASSES = (
    "back_pack", "bike", "bike_helmet", "bookcase", "bottle", "calculator", "desk_chair", "desk_lamp",
    "desktop_computer", "file_cabinet", "headphones", "keyboard", "laptop_computer", "letter_tray", "mobile_phone",
    "monitor", "mouse", "mug", "paper_notebook", "pen", "phone", "printer", "projector", "punchers", "ring_binder",
    "ruler", "scissors", "speaker", "stapler", "tape_dispenser", "trash_can",
)
ARCHIVE = ManualFile(
    "domain_adaptation_images.tar.gz", "https://faculty.cc.gatech.edu/~judy/domainadapt/",
    "the Office images: amazon/, dslr/, webcam/ each with images/<class>/*.jpg (about 75 MB)",
)
HOMEPAGE = "https://faculty.cc.gatech.edu/~judy/domainadapt/"
CITATION = ("Saenko, Kulis, Fritz, Darrell 2010, Adapting Visual Category Models to New Domains (ECCV)")


def _postprocess(example):
    return {"image": example["image"], "label": example["label"], "id": example["id"]}


INFO = DatasetInfo(
    name="office31", task="classification",
    summary="Office-31 (amazon / dslr / webcam domains, 31 classes) from the user's archive; DeCAF's 224 view",
    num_classes=len(CLASSES), class_names=CLASSES,
    splits={"amazon": 2_817, "dslr": 498, "webcam": 795},
    features={"image": "uint8 (image_size, image_size, 3) RGB: the center crop of the image warped to "
                       "resize_size x resize_size", "label": "int64 () class id 0-30 (alphabetical)",
              "id": "string: the archive path, e.g. webcam/images/mug/frame_0001.jpg"},
    source=HOMEPAGE, citation=CITATION, license="research use (see the dataset page)",
    instructions=manual_instructions("office31", (ARCHIVE,)),
    options=dict(DECAF_VIEW),
)

register_dataset("office31", INFO, DecafViewLoader("office31", builder="zoo.data.classification.office31_builder:Office31",
                                                   postprocess=_postprocess, instructions=INFO.instructions))
