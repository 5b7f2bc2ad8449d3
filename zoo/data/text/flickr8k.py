"""Flickr8k (Hodosh, Young & Hockenmaier 2013), the first dataset of Show, Attend and Tell's table
(Xu et al. 2015, Table 1: BLEU-1..4 and METEOR on Flickr8k / Flickr30k / COCO).

The zoo's TFDS builder (flickr8k_builder.py) reads the original release from the manual_dir:

    Flickr8k_Dataset.zip    Flicker8k_Dataset/<name>.jpg, 8,091 photos (the release spells the folder so)
    Flickr8k_text.zip       Flickr8k.token.txt ("<name>.jpg#<k><TAB><caption>", five per photo) and the
                            official split lists Flickr_8k.trainImages.txt / devImages.txt / testImages.txt
                            (6,000 / 1,000 / 1,000 photos), the split Xu et al. use

A photo's name is "<Flickr photo id>_<secret>"; `image_id` is the photo id (an int64, unique per photo).
Examples, options and the default vocabulary (words seen 5 times or more in the train captions) are those of
coco_captions and flickr30k.
"""

from __future__ import annotations

from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.data.text.coco_captions import CAPTION_FEATURES, CAPTION_OPTIONS
from zoo.data.text.flickr30k import Flickr30kLoader, _from_tfds

IMAGES = ManualFile(
    "Flickr8k_Dataset.zip",
    "https://illinois.edu/fb/sec/1713398 (the release's request form; mirrored with Flickr8k_text.zip)",
    "the 8,091 photos; read in place, not extracted",
)
TEXT = ManualFile(
    "Flickr8k_text.zip",
    "the same request form as Flickr8k_Dataset.zip",
    "Flickr8k.token.txt (five captions a photo) and the official train / dev / test lists",
)
SPLIT_FILES = {"train": "Flickr_8k.trainImages.txt", "validation": "Flickr_8k.devImages.txt",
               "test": "Flickr_8k.testImages.txt"}
TOKEN_FILE = "Flickr8k.token.txt"
HOMEPAGE = "https://hockenmaier.cs.illinois.edu/8k-pictures.html"
CITATION = """@article{hodosh2013framing,
  title={Framing image description as a ranking task: Data, models and evaluation metrics},
  author={Hodosh, Micah and Young, Peter and Hockenmaier, Julia},
  journal={Journal of Artificial Intelligence Research}, volume={47}, pages={853--899}, year={2013}}"""

INFO = DatasetInfo(
    name="flickr8k",
    task="captioning",
    summary="Flickr8k photos with five captions each, on the official 6,000 / 1,000 / 1,000 split",
    splits={"train": 30000, "validation": 5000, "test": 5000},
    features=CAPTION_FEATURES,
    source=HOMEPAGE + " (pairs: 5 captions per photo)",
    citation=CITATION,
    license="images: Flickr terms of use; captions: the release's terms (research use)",
    instructions=manual_instructions("flickr8k", (IMAGES, TEXT)),
    options=CAPTION_OPTIONS,
)

register_dataset("flickr8k", INFO, Flickr30kLoader("flickr8k", builder="zoo.data.text.flickr8k_builder:Flickr8k",
                                                   postprocess=_from_tfds, instructions=INFO.instructions))
