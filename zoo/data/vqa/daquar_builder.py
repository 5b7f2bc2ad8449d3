"""TFDS builder of DAQUAR, full and reduced (configs "full" and "reduced"), from the release (see daquar.py).

One record per NYU picture with all its questions of the split, in picture order (questions in file order),
so a picture is stored once. A question file that does not alternate question lines naming a picture
("... image<N> ...") with answer lines raises CorruptRecordError naming the file and line; a picture
missing from nyu_depth_images or undecodable is a corrupt record (its questions are named and skipped with
on_corrupt="skip").
"""

from __future__ import annotations

import collections

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.manual_parts import locate
from zoo.data.tfds_manual import ManualArchiveBuilder
from zoo.data.vqa._questions import image_records
from zoo.data.vqa import daquar
from zoo.errors import CorruptRecordError


def parse_questions(text: str, where: str) -> list[tuple]:
    """[(question_id, image number, question, answer)] of a DAQUAR question file (question, answer, question, ...)."""
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) % 2:
        raise CorruptRecordError(f"{where} line {lines[-1][0]}: the file ends with a question without an answer")
    out = []
    for k in range(0, len(lines), 2):
        (number, question), (_, answer) = lines[k], lines[k + 1]
        images = daquar.IMAGE_TOKEN.findall(question)
        if not images:
            raise CorruptRecordError(f"{where} line {number} names no picture ('... image<N> ...'): {question[:80]!r}; "
                                     "DAQUAR files alternate question and answer lines")
        out.append((k // 2, int(images[-1]), question, answer))
    return out


class Daquar(ManualArchiveBuilder):
    """DAQUAR: one record per NYU picture with its questions and answers."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "The release's question files (qa.894 full, qa.37 reduced) with the NYU pictures."}
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name="full", description="all 894 answer classes"),
                       tfds.core.BuilderConfig(name="reduced", description="DAQUAR-37: 37 object classes")]
    MANUAL_DOWNLOAD_INSTRUCTIONS = daquar.INSTRUCTIONS

    def _info(self):
        question = tfds.features.FeaturesDict({"question_id": np.int64, "question": tfds.features.Text(),
                                               "answer": tfds.features.Text()})
        return self.zoo_dataset_info(
            description="DAQUAR questions and answers about NYU Depth v2 pictures, per picture.",
            features=tfds.features.FeaturesDict({
                "image_id": np.int64,
                "image": tfds.features.Image(shape=(None, None, 3)),
                "questions": tfds.features.Sequence(question),
            }),
            homepage=daquar.HOMEPAGE,
            citation=daquar.CITATION,
            disable_shuffling=True,  # records stay in picture order
        )

    def _split_generators(self, dl_manager):
        variant = self.builder_config.name
        found = locate(daquar.PARTS[variant], dl_manager._manual_dir, "daquar", self.data_dir_root)  # noqa: SLF001
        return {split: self._generate_examples(split, found[f"{variant} {split} questions"],
                                               found[daquar.IMAGES.what]) for split in daquar.SPLITS}

    def _generate_examples(self, split, questions, images):
        rows = parse_questions(questions.read_member().decode("utf-8"), questions.path)
        by_image = collections.defaultdict(list)
        for question_id, image_id, question, answer in rows:
            by_image[image_id].append({"question_id": question_id, "question": question, "answer": answer})
        yield from image_records(self, split, by_image, images, lambda image_id: f"image{image_id}.png", questions.path)
