"""TFDS builder of VQA v1 (real images, open-ended) from the official release (see vqa_v1.py).

One record per COCO image with all its questions, in image-id order (questions in question-id order), so
an image is stored once. A question without an annotation or without ten human answers, and an image
missing from the COCO zip / folder or undecodable, is a corrupt record (named; skipped with
on_corrupt="skip"); a JSON file that is not the release's raises CorruptRecordError naming it.
"""

from __future__ import annotations

import collections
import json

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.manual_parts import locate
from zoo.data.tfds_manual import ManualArchiveBuilder
from zoo.data.vqa._questions import image_records
from zoo.data.vqa import vqa_v1
from zoo.errors import CorruptRecordError

_QUESTION_KEYS = ("question_id", "question", "question_type", "answer_type", "multiple_choice_answer")


def read_json(part, key, fields):
    """The list under `key` of a release JSON, each entry checked to have `fields`."""
    where = f"{part.path}" + (f":{part.part.member}" if part.path.endswith(".zip") else "")
    try:
        entries = json.loads(part.read_member().decode("utf-8"))[key]
        for entry in entries:
            missing = [f for f in fields if f not in entry]
            if missing:
                raise KeyError(f"an entry lacks {missing}")
    except (ValueError, KeyError, TypeError) as e:
        raise CorruptRecordError(f"{where} is not the VQA release's {part.part.member} ({{{key!r}: [...]}}): {e}") from e
    return entries


def join_questions(questions, annotations, split, builder):
    """{image id: [question dicts, by question id]} of the questions with a complete annotation."""
    by_id = {a["question_id"]: a for a in annotations}
    images = collections.defaultdict(list)
    for q in sorted(questions, key=lambda q: q["question_id"]):
        record = f"vqa_v1 {split} question {q['question_id']}"
        a = by_id.get(q["question_id"])
        try:
            if a is None:
                raise CorruptRecordError(f"{record} has no annotation in {vqa_v1.SUBSETS[split]}'s annotations")
            if a["image_id"] != q["image_id"]:
                raise CorruptRecordError(f"{record} is about image {q['image_id']} but annotated for {a['image_id']}")
            answers = a["answers"]
            if len(answers) != vqa_v1.HUMAN_ANSWERS:
                raise CorruptRecordError(f"{record} has {len(answers)} human answers, not {vqa_v1.HUMAN_ANSWERS}")
        except CorruptRecordError as e:
            builder.corrupt(split, record, e)
            continue
        answers = sorted(answers, key=lambda x: x.get("answer_id", 0))
        images[int(q["image_id"])].append({
            **{k: a[k] for k in _QUESTION_KEYS if k != "question"}, "question": q["question"],
            "answers": [x["answer"] for x in answers],
            "answer_confidences": [x.get("answer_confidence", "") for x in answers]})
    return images


class VqaV1(ManualArchiveBuilder):
    """VQA v1 real images, open-ended: one record per image with its questions and ten human answers each."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Official questions and annotations (train2014, val2014) with the COCO images."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = vqa_v1.INSTRUCTIONS

    def _info(self):
        text = tfds.features.Text()
        question = tfds.features.FeaturesDict({
            "question_id": np.int64, "question": text, "question_type": text, "answer_type": text,
            "multiple_choice_answer": text,
            # dense (10,) tensors: a Sequence inside the questions' Sequence would parse as ragged
            "answers": tfds.features.Tensor(shape=(vqa_v1.HUMAN_ANSWERS,), dtype=np.str_),
            "answer_confidences": tfds.features.Tensor(shape=(vqa_v1.HUMAN_ANSWERS,), dtype=np.str_),
        })
        return self.zoo_dataset_info(
            description="VQA v1 real images, open-ended questions with ten human answers each, per COCO image.",
            features=tfds.features.FeaturesDict({
                "image_id": np.int64,
                "image": tfds.features.Image(shape=(None, None, 3)),
                "questions": tfds.features.Sequence(question),
            }),
            homepage=vqa_v1.HOMEPAGE,
            citation=vqa_v1.CITATION,
            disable_shuffling=True,  # records stay in image-id order
        )

    def _split_generators(self, dl_manager):
        parts = [p for split_parts in vqa_v1.PARTS.values() for p in split_parts]
        found = locate(parts, dl_manager._manual_dir, "vqa_v1", self.data_dir_root)  # noqa: SLF001 (as manual_paths)
        return {split: self._generate_examples(split, found) for split in vqa_v1.SUBSETS}

    def _generate_examples(self, split, found):
        questions = read_json(found[f"{split} questions"], "questions", ("image_id", "question", "question_id"))
        annotations = read_json(found[f"{split} annotations"], "annotations",
                                ("question_id", "image_id", "question_type", "answer_type", "multiple_choice_answer",
                                 "answers"))
        images = found[f"{split} images"]
        by_image = join_questions(questions, annotations, split, self)
        yield from image_records(self, split, by_image, images,
                                 lambda image_id: f"COCO_{vqa_v1.SUBSETS[split]}_{image_id:012d}.jpg",
                                 found[f"{split} questions"].path)
