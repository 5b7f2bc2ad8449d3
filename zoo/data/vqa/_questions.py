"""What the VQA datasets share: answer classes, question word ids, and the per-question examples the
`vqa` task (zoo/tasks/vqa.py) consumes.

The builders store one record per image with all its questions ({"image", "image_id", "questions":
{...: (Q, ...)}}), so an image asked about many times is stored once; the loader flattens them into one
example per question:

    image      uint8 (crop, crop, 3) RGB: resized to image_size x image_size (bilinear), then cropped, at random
               for train and centrally otherwise, never mirrored, as the SMem-VQA release's image layer does
               (256, then 224 crops, mirror: false); image_size=None and crop=None keep the stored pictures
    question   int32 (max_words,) word ids (zoo.text.vocab: 0 pads, 1 is <unk>), truncated past max_words
    question_text   string, as in the release
    label      int64 the class of the target answer in the answer vocabulary, -1 when it is not in it

The answer vocabulary is the K most frequent target answers of the train split (ties alphabetical), or a
given list; the question vocabulary is zoo.text's Vocabulary.build (words and punctuation, lower-cased)
over the train questions the loader keeps, words seen `min_word_count` times or more. With
`train_known_only` (the default) train questions whose answer is outside the vocabulary are left out, as
the SMem-VQA release's data script does (generate_h5_data.py keeps a question only when its answer is in
its answer vocabulary); evaluation splits keep every question (label -1: never counted right).

Light at import: TensorFlow and TFDS are imported inside the functions.
"""

from __future__ import annotations

import collections
from pathlib import Path

from zoo.data.registry import TfdsLoader
from zoo.data.text.coco_captions import base_split, caption_images
from zoo.errors import ConfigError, InputError

QUESTION_OPTIONS = {"vocabulary": None, "answer_vocabulary": None, "train_known_only": True}


def top_answers(answers, k) -> tuple:
    """The `k` most frequent of `answers` (all when k is None), by decreasing count then alphabetically."""
    if k is not None and (type(k) is not int or k < 1):
        raise ConfigError(f"num_answers must be a positive integer or None, got {k!r}")
    counts = collections.Counter(answers)
    ranked = sorted(counts, key=lambda a: (-counts[a], a))
    return tuple(ranked if k is None else ranked[:k])


def load_answers(given) -> tuple:
    """A given answer vocabulary: a list of answers, or a file of one answer a line (the SMem-VQA release's
    answer_vocabulary.txt, whose trailing <unk> line is not an answer)."""
    if isinstance(given, (list, tuple)):
        answers = [str(a) for a in given]
    else:
        try:
            answers = Path(given).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(f"cannot read the answer vocabulary {given}: {e.strerror or e}") from e
        answers = [a.strip() for a in answers if a.strip() and a.strip() != "<unk>"]
    duplicates = sorted(a for a, n in collections.Counter(answers).items() if n > 1)
    if not answers or duplicates:
        raise ConfigError(f"the answer vocabulary {given!r} is empty or repeats {duplicates[:5]}")
    return tuple(answers)


def encode_question(vocabulary, text: str, max_words: int, clean=None):
    """int32 (max_words,) word ids of `text` (cleaned by `clean` first), padded with 0."""
    import numpy as np

    words = vocabulary.encode(clean(text) if clean else text)
    ids = np.zeros(max_words, np.int32)
    ids[: min(len(words), max_words)] = words[:max_words]
    return ids


class Vocabularies:
    """The question Vocabulary and the answer classes a loader uses (built from train, or given)."""

    def __init__(self, words, answers):
        self.words, self.answers = words, tuple(answers)
        self.index = {a: i for i, a in enumerate(self.answers)}

    def model_options(self, max_words) -> dict:
        return {"vocab_size": len(self.words), "num_answers": len(self.answers), "max_words": int(max_words)}


class QuestionLoader(TfdsLoader):
    """The registered loader of a per-image TFDS builder whose records hold {"questions": {...}}.

    Subclasses set TARGET (the per-question key holding the target answer string), SPLITS, DEFAULTS
    (num_answers, min_word_count, max_words, image_size) and may override `clean` (question text ->
    the text whose words are encoded) and `encode_extra` (more per-question keys from the raw record).
    """

    TARGET = "answer"
    SPLITS = ("train", "test")
    DEFAULTS: dict = {}

    def __init__(self, tfds_name, **kwargs):
        super().__init__(tfds_name, **kwargs)
        self._cache = {}

    # ------------------------------------------------------------------ hooks

    def tfds_name_for(self, options) -> str:
        return self.tfds_name

    @staticmethod
    def clean(text: str) -> str:
        return text

    def encode_extra(self, question, table):
        return {}

    # ------------------------------------------------------------------ loading

    def _options(self, options) -> dict:
        """The options with their defaults (zoo.data.load has checked their names against the info's)."""
        return {**QUESTION_OPTIONS, **self.DEFAULTS, **options}

    def _records(self, split, options, *, data_dir, manual_dir, on_corrupt, counter=None, images=True):
        import tensorflow_datasets as tfds

        tfds_manual = self._import()
        builder = tfds_manual.prepare_tfds(self.tfds_name_for(options), data_dir=data_dir, manual_dir=manual_dir,
                                           on_corrupt=on_corrupt, counter=None, instructions=self.instructions)
        tfds_manual._report_skipped(builder, split, on_corrupt, counter)  # noqa: SLF001 (as load_tfds does)
        decoders = None if images else {"image": tfds.decode.SkipDecoding()}
        return builder.as_dataset(split=split, shuffle_files=False, decoders=decoders)

    def vocabularies(self, options, *, data_dir=None, manual_dir=None, on_corrupt="raise") -> Vocabularies:
        """The question and answer vocabularies for `options` (read from the train questions once per process)."""
        from zoo.text.vocab import Vocabulary

        key = (str(data_dir), str(manual_dir), on_corrupt, repr(sorted(options.items(), key=lambda kv: kv[0])))
        if key in self._cache:
            return self._cache[key]
        given_words, given_answers = options["vocabulary"], options["answer_vocabulary"]
        questions, targets = [], []
        if given_words is None or given_answers is None:
            train = self._records("train", options, data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt,
                                  images=False)
            pairs = [(q.decode("utf-8"), a.decode("utf-8")) for record in train.as_numpy_iterator()
                     for q, a in zip(record["questions"]["question"], record["questions"][self.TARGET])]
            questions, targets = [q for q, _ in pairs], [a for _, a in pairs]
        answers = load_answers(given_answers) if given_answers is not None else top_answers(
            targets, options["num_answers"])
        if not answers:
            raise ConfigError(f"{self.tfds_name}: the train split has no questions to take the answer classes from")
        if isinstance(given_words, Vocabulary):
            words = given_words
        elif given_words is not None:
            words = Vocabulary.load(given_words)
        else:
            known = set(answers)
            kept = [q for q, a in zip(questions, targets) if a in known or not options["train_known_only"]]
            words = Vocabulary.build((self.clean(q) for q in kept), options["min_word_count"])
        self._cache[key] = Vocabularies(words, answers)
        return self._cache[key]

    def model_options(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", **options):
        """What a VQA model needs from this data: vocab_size, num_answers, max_words."""
        options = self._options(options)
        vocabularies = self.vocabularies(options, data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt)
        return vocabularies.model_options(options["max_words"])

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, **options):
        import tensorflow as tf

        base = base_split(split, self.SPLITS)
        options = self._options(options)
        if type(options["max_words"]) is not int or options["max_words"] < 1:
            raise ConfigError(f"max_words must be a positive integer, got {options['max_words']!r}")
        vocab = self.vocabularies(options, data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt)
        records = self._records(split, options, data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt,
                                counter=counter)
        # the release's image layer: resized to image_size x image_size, then crop x crop, random for train and
        # central otherwise, never mirrored (a mirror would swap the answers of "left" / "right" questions)
        records = caption_images(records, training=base == "train", seed=seed, image_size=options["image_size"],
                                 crop=options["crop"], mirror=False)
        table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocab.answers, tf.string), tf.range(len(vocab.answers), dtype=tf.int64)), -1)
        questions = records.flat_map(lambda r: tf.data.Dataset.from_tensor_slices(r["questions"]).map(
            lambda q: {**q, "image": r["image"], "image_id": r["image_id"]}))
        max_words, clean = options["max_words"], self.clean

        def ids(text):
            try:
                return encode_question(vocab.words, text.decode("utf-8"), max_words, clean)
            except InputError as e:
                raise InputError(f"{self.tfds_name}: question {text!r}: {e}") from e

        def encode(q):
            words = tf.numpy_function(ids, [q["question"]], tf.int32, stateful=False)
            out = {**q, "question_text": q["question"], "question": tf.ensure_shape(words, [max_words]),
                   "label": table.lookup(q[self.TARGET])}
            out.update(self.encode_extra(q, table))
            return out

        examples = questions.map(encode)
        if base == "train" and options["train_known_only"]:
            examples = examples.filter(lambda e: e["label"] >= 0)
        return examples


def image_records(builder, split, by_image, images, file_name, source):
    """A builder's (key, record) per image: its picture read from `images` (a located part) by
    `file_name(image_id)`, with its questions; a missing or unreadable picture is the builder's
    corrupt record (raised or skipped as it is told)."""
    from zoo.data.images import storable_image
    from zoo.errors import CorruptRecordError

    for image_id, asked in sorted(by_image.items()):
        name = file_name(image_id)
        record = images.where(name)
        try:
            data = images.read(name)
            if data is None:
                raise CorruptRecordError(f"{record}: the picture of {len(asked)} {split} question(s) of {source} "
                                         f"is not in {images.path}")
            image, _ = storable_image(data, record)
        except CorruptRecordError as e:
            builder.corrupt(split, record, e)
            continue
        yield str(image_id), {"image_id": image_id, "image": image, "questions": asked}
