"""VQA v1, real images (Antol et al. 2015), the open-ended task as Ask, Attend and Answer (Xu & Saenko 2016 §4)
trains and scores on it: train2014 for training, val2014 for the reported validation numbers.

The zoo's TFDS builder (vqa_v1_builder.py) reads the official release from the manual_dir
(https://visualqa.org/vqa_v1_download.html), each part as the file itself, the official zip holding it,
or (images) the COCO zip or its extracted folder:

    OpenEnded_mscoco_{train,val}2014_questions.json   {"questions": [{"image_id", "question", "question_id"}]}
        (or Questions_{Train,Val}_mscoco.zip)
    mscoco_{train,val}2014_annotations.json           {"annotations": [{"question_id", "image_id", "question_type",
        (or Annotations_{Train,Val}_mscoco.zip)          "answer_type", "multiple_choice_answer", "answers": ten
                                                          {"answer", "answer_confidence", "answer_id"}}]}
    train2014.zip / val2014.zip (or train2014/, val2014/)   COCO_<subset>_<12-digit image id>.jpg

Examples (one per question; zoo.data.vqa._questions for the shared keys): image, question (word ids),
question_text, label (the class of multiple_choice_answer, the release's training target), answers (int64
(10,): the ten human answers' classes, -1 outside the vocabulary: what the task's VQA accuracy reads),
answer_texts (string (10,)), answer_confidences (string (10,)), multiple_choice_answer, answer_type
("yes/no", "number", "other"), question_type, question_id, image_id.

Answer vocabulary: the K most frequent multiple_choice_answers of train2014, K = `num_answers` (default
1,000). Our source for the paper (a talk on it) gives no K; 1,000 follows the SMem-VQA release's data
script, whose rule (answers seen 23 times or more in train + val) gives 1,032 answers ("24: 990") -- an
ASSUMPTION close to it, counted on train only so that val2014 stays held out. Question words: zoo.text's
tokeniser, words seen 3 times or more (the release's min_count=3), up to 25 words (the release's
MAX_WORDS = 25; its longest question has 24).
"""

from __future__ import annotations

from zoo.data.manual_parts import ReleasePart, instructions
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.data.vqa._questions import QUESTION_OPTIONS, QuestionLoader

HOMEPAGE = "https://visualqa.org/vqa_v1_download.html"
SUBSETS = {"train": "train2014", "validation": "val2014"}  # zoo split -> the release's subset
NUM_ANSWERS = 1000
MAX_WORDS = 25
MIN_WORD_COUNT = 3
IMAGE_SIZE, CROP = 256, 224  # the release's image layer (new_height / new_width 256, crop_size 224)
HUMAN_ANSWERS = 10


def _parts(split):
    subset = SUBSETS[split]
    title = "Train" if split == "train" else "Val"
    questions = f"OpenEnded_mscoco_{subset}_questions.json"
    annotations = f"mscoco_{subset}_annotations.json"
    return (
        ReleasePart(f"{split} questions", (questions, f"Questions_{title}_mscoco.zip"), HOMEPAGE,
                    f"Questions_{title}_mscoco.zip holds it; the zip or the extracted file", member=questions),
        ReleasePart(f"{split} annotations", (annotations, f"Annotations_{title}_mscoco.zip"), HOMEPAGE,
                    f"Annotations_{title}_mscoco.zip holds it (ten human answers a question)", member=annotations),
        ReleasePart(f"{split} images", (f"{subset}.zip", f"{subset}/"), f"http://images.cocodataset.org/zips/{subset}.zip",
                    "the COCO images, read in place; the zip or its extracted folder"),
    )


PARTS = {split: _parts(split) for split in SUBSETS}
INSTRUCTIONS = instructions("vqa_v1", [p for parts in PARTS.values() for p in parts])
CITATION = """@inproceedings{antol2015vqa,
  title={{VQA}: Visual Question Answering},
  author={Antol, Stanislaw and Agrawal, Aishwarya and Lu, Jiasen and Mitchell, Margaret and Batra, Dhruv and
          Zitnick, C. Lawrence and Parikh, Devi},
  booktitle={ICCV}, year={2015}}"""


class VqaV1Loader(QuestionLoader):
    """The registered loader (module docstring)."""

    TARGET = "multiple_choice_answer"
    SPLITS = tuple(SUBSETS)
    DEFAULTS = {"num_answers": NUM_ANSWERS, "min_word_count": MIN_WORD_COUNT, "max_words": MAX_WORDS,
                "image_size": IMAGE_SIZE, "crop": CROP}

    def encode_extra(self, question, table):
        return {"answers": table.lookup(question["answers"]), "answer_texts": question["answers"]}


INFO = DatasetInfo(
    name="vqa_v1",
    task="vqa",
    summary="VQA v1 real images, open-ended: COCO train2014 / val2014 questions with ten human answers each",
    splits={"train": 248349, "validation": 121512},
    features={
        "image": f"uint8 ({CROP}, {CROP}, 3) RGB: resized to {IMAGE_SIZE}x{IMAGE_SIZE}, {CROP} crops (random for "
                 "train, central otherwise, never mirrored)",
        "question": f"int32 ({MAX_WORDS},) word ids (zoo.text.vocab), 0 pads",
        "question_text": "string",
        "label": f"int64 () class of multiple_choice_answer among the top {NUM_ANSWERS} train answers, -1 outside",
        "answers": "int64 (10,) classes of the ten human answers, -1 outside the vocabulary",
        "answer_texts": "string (10,) the ten human answers",
        "answer_confidences": "string (10,) yes / maybe / no",
        "multiple_choice_answer": "string, the most common human answer",
        "answer_type": "string: yes/no, number, other",
        "question_type": "string, e.g. 'what color is the'",
        "question_id": "int64",
        "image_id": "int64 (COCO)",
    },
    source=HOMEPAGE + " (splits: the release's question counts; train keeps only questions whose answer is in "
                      "the answer vocabulary unless train_known_only=False)",
    citation=CITATION,
    license="annotations CC BY 4.0; images: the COCO / Flickr terms of use",
    instructions=INSTRUCTIONS,
    options={**QUESTION_OPTIONS, **VqaV1Loader.DEFAULTS},
)

register_dataset("vqa_v1", INFO, VqaV1Loader("vqa_v1", builder="zoo.data.vqa.vqa_v1_builder:VqaV1",
                                             instructions=INSTRUCTIONS))
