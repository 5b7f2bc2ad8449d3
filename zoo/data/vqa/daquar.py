"""DAQUAR (Malinowski & Fritz 2014): questions about NYU Depth v2 indoor scenes, the full set (894 answer
classes) and the reduced DAQUAR-37 (37 object classes), the second dataset of Ask, Attend and Answer
(Xu & Saenko 2016 §4; its figure of W_att / W_att2 shows DAQUAR questions).

The zoo's TFDS builder (daquar_builder.py) reads the release from the manual_dir:

    qa.894.raw.train.txt, qa.894.raw.test.txt    the full set (variant="full")
    qa.37.raw.train.txt, qa.37.raw.test.txt      the reduced set (variant="reduced"); the spellings
        (or qa.37.raw.reduced.train.txt / .test.txt)    qa.37.raw.reduced.*.txt are accepted too
    nyu_depth_images.tar (or its folder nyu_depth_images/)   image<N>.png, the 1,449 NYU Depth v2 pictures

A question file alternates lines: a question that names its picture ("what is on the left side of the
table in the image12 ?"), then its answer; an answer of several items is comma-separated ("chair, lamp"),
which zoo.metrics.vqa's WUPS and DAQUAR accuracy read as a set.

Examples (one per question; zoo.data.vqa._questions for the shared keys): image (the picture image<N>),
question (word ids of the question without its "image<N>" word: it names a picture, not a word),
question_text (the line as released), answer (string, as released), label (the class of the whole answer
string; -1 outside), question_id (the question's position in its file, from 0), image_id (N).

Answer classes: every answer string of the train file (`num_answers` None) or its K most frequent. Question
words: every word of the train questions (min_word_count 1), up to 30 words: our choices (the paper's
are not in our sources).
"""

from __future__ import annotations

import re

from zoo.data.manual_parts import ReleasePart, instructions
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.data.vqa._questions import QUESTION_OPTIONS, QuestionLoader
from zoo.errors import ConfigError

HOMEPAGE = ("https://www.mpi-inf.mpg.de/departments/computer-vision-and-machine-learning/research/"
            "vision-and-language/visual-turing-challenge")
FILES_URL = "http://datasets.d2.mpi-inf.mpg.de/mateusz14visual-turing/"
VARIANTS = {"full": "894", "reduced": "37"}
SPLITS = ("train", "test")
IMAGE_TOKEN = re.compile(r"\bimage(\d+)\b")
MAX_WORDS = 30
IMAGE_SIZE, CROP = 256, 224  # as vqa_v1 (the SMem-VQA release's image layer)


def _question_part(variant, split):
    name = f"qa.{VARIANTS[variant]}.raw.{split}.txt"
    names = (name,) if variant == "full" else (name, f"qa.37.raw.reduced.{split}.txt")
    url = FILES_URL + name if variant == "full" else HOMEPAGE + " (the reduced DAQUAR-37 files)"
    return ReleasePart(f"{variant} {split} questions", names, url, "question and answer lines alternating", member=name)


IMAGES = ReleasePart("NYU Depth v2 images", ("nyu_depth_images.tar", "nyu_depth_images/"),
                     FILES_URL + "nyu_depth_images.tar", "image1.png .. image1449.png; the tar or its extracted folder")
PARTS = {variant: (*(_question_part(variant, s) for s in SPLITS), IMAGES) for variant in VARIANTS}
INSTRUCTIONS = instructions("daquar", (*PARTS["full"][:2], *PARTS["reduced"][:2], IMAGES),
                            "variant='full' needs the qa.894 files, variant='reduced' the qa.37 files.")
CITATION = """@inproceedings{malinowski2014multi,
  title={A Multi-World Approach to Question Answering about Real-World Scenes based on Uncertain Input},
  author={Malinowski, Mateusz and Fritz, Mario},
  booktitle={NIPS}, year={2014}}"""


class DaquarLoader(QuestionLoader):
    """The registered loader (module docstring)."""

    TARGET = "answer"
    SPLITS = SPLITS
    DEFAULTS = {"variant": "full", "num_answers": None, "min_word_count": 1, "max_words": MAX_WORDS,
                "image_size": IMAGE_SIZE, "crop": CROP}

    def tfds_name_for(self, options) -> str:
        if options["variant"] not in VARIANTS:
            raise ConfigError(f"daquar variant must be one of {', '.join(map(repr, VARIANTS))}, "
                              f"got {options['variant']!r}")
        return f"{self.tfds_name}/{options['variant']}"

    @staticmethod
    def clean(text: str) -> str:
        return IMAGE_TOKEN.sub(" ", text)

    def prepare(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None):
        """Prepare every variant whose files are in manual_dir (DatasetNotFoundError when neither's are)."""
        from zoo.errors import DatasetNotFoundError

        missing = []
        for variant in VARIANTS:
            try:
                self._import().prepare_tfds(f"{self.tfds_name}/{variant}", data_dir=data_dir, manual_dir=manual_dir,
                                            on_corrupt=on_corrupt, counter=counter, instructions=self.instructions)
            except DatasetNotFoundError as e:
                missing.append(e)
        if len(missing) == len(VARIANTS):
            raise missing[0]


INFO = DatasetInfo(
    name="daquar",
    task="vqa",
    summary="DAQUAR questions on NYU Depth v2 indoor pictures, full (894 classes) or reduced DAQUAR-37",
    splits={"train": None, "test": None},
    features={
        "image": f"uint8 ({CROP}, {CROP}, 3) RGB: resized to {IMAGE_SIZE}x{IMAGE_SIZE}, {CROP} crops (random for "
                 "train, central for test, never mirrored)",
        "question": f"int32 ({MAX_WORDS},) word ids (zoo.text.vocab) of the question without 'image<N>', 0 pads",
        "question_text": "string, the question line as released",
        "answer": "string, as released; several items comma-separated",
        "label": "int64 () class of the answer string among the train answers, -1 outside",
        "question_id": "int64, the question's position in its file",
        "image_id": "int64, N of image<N>",
    },
    source=HOMEPAGE + " (12,468 question-answer pairs on 1,449 pictures in all, Malinowski & Fritz 2014; the "
                      "per-split counts depend on the variant and are left to the files)",
    citation=CITATION,
    license="research use (the release's terms); NYU Depth v2 images: Silberman et al. 2012",
    instructions=INSTRUCTIONS,
    options={**QUESTION_OPTIONS, **DaquarLoader.DEFAULTS},
)

register_dataset("daquar", INFO, DaquarLoader("daquar", builder="zoo.data.vqa.daquar_builder:Daquar",
                                              instructions=INSTRUCTIONS))
