"""TFDS builder of TACoS Multi-Level with CRF inputs, from the layout zoo/data/tacos.py describes.

Malformed lines of the label and split files stop the preparation (nothing can be built without
them); problems of one segment (its CRF line missing or malformed) are corrupt records.
"""

from __future__ import annotations

import collections

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.text import tacos
from zoo.data.tfds_manual import ManualArchiveBuilder
from zoo.errors import CorruptRecordError


def _lines(path):
    """(line number, tab-separated fields) of the non-empty lines of a UTF-8 text file."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line.split("\t")


def _segment(path, number, fields):
    try:
        return fields[0], int(fields[1]), int(fields[2])
    except (IndexError, ValueError) as e:
        raise CorruptRecordError(f"{path} line {number}: expected <video> TAB <start frame> TAB <end frame> ...") from e


def read_labels(path) -> dict:
    """{slot: [labels]} in file order."""
    slots = {}
    for number, fields in _lines(path):
        if len(fields) < 2 or fields[0] in slots:
            raise CorruptRecordError(f"{path} line {number}: expected a new slot name and its labels, tab-separated")
        slots[fields[0]] = fields[1:]
    if not slots:
        raise CorruptRecordError(f"{path} lists no CRF slots")
    return slots


def read_splits(path) -> dict:
    """{video id: split}."""
    splits = {}
    for number, fields in _lines(path):
        if len(fields) != 2 or fields[1] not in tacos.SPLIT_NAMES:
            raise CorruptRecordError(f"{path} line {number}: expected <video> TAB one of {tacos.SPLIT_NAMES}")
        splits[fields[0]] = fields[1]
    return splits


def read_sentences(path) -> dict:
    """{(video, start, end): [sentences]} in file order."""
    sentences = collections.defaultdict(list)
    for number, fields in _lines(path):
        if len(fields) != 4 or not fields[3].strip():
            raise CorruptRecordError(f"{path} line {number}: expected <video> TAB <start> TAB <end> TAB <sentence>")
        sentences[_segment(path, number, fields)].append(fields[3].strip())
    return sentences


def read_crf(path) -> dict:
    """{(video, start, end): (line number, [slot columns as text])}; parsed per segment by `crf_vectors`."""
    rows = {}
    for number, fields in _lines(path):
        key = _segment(path, number, fields)
        rows[key] = (number, fields[3:]) if key not in rows else (number, None)  # None: listed twice
    return rows


def crf_vectors(row, slots, where) -> tuple[np.ndarray, np.ndarray]:
    """(crf_prob (sum K,), crf_max (S,)) of one CRF line, checked against the slots' label counts."""
    number, columns = row
    if columns is None:
        raise CorruptRecordError(f"{where} line {number}: the segment has more than one CRF line")
    if len(columns) != len(slots):
        raise CorruptRecordError(
            f"{where} line {number}: {len(columns)} slot columns; the labels file has {len(slots)}")
    probs = []
    for (slot, labels), text in zip(slots.items(), columns):
        try:
            p = np.array(text.split(), np.float64)
        except ValueError as e:
            raise CorruptRecordError(f"{where} line {number}: slot {slot} holds non-numbers: {text[:60]!r}") from e
        if p.shape != (len(labels),):
            raise CorruptRecordError(f"{where} line {number}: slot {slot} has {p.size} values for {len(labels)} labels")
        if (p < 0).any() or abs(p.sum() - 1) > tacos.PROBABILITY_TOLERANCE:
            raise CorruptRecordError(
                f"{where} line {number}: slot {slot} is not a probability distribution (sum {p.sum():.4f})")
        probs.append(p)
    return (np.concatenate(probs).astype(np.float32),
            np.array([p.argmax() for p in probs], np.int32))


class TacosMultilevel(ManualArchiveBuilder):
    """TACoS Multi-Level sentences per segment with the CRF's per-segment slot probabilities."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Sentence per segment with CRF probabilities and MAP labels (the zoo's TSV layout)."}
    MANUAL_FILES = (tacos.SENTENCES, tacos.CRF, tacos.CRF_LABELS, tacos.SPLITS)
    MANUAL_EXTRA_INSTRUCTIONS = tacos.LAYOUT_NOTE

    def _info(self):
        return self.zoo_dataset_info(
            description="TACoS Multi-Level sentences per video segment with CRF inputs (Donahue thesis §4.5).",
            features=tfds.features.FeaturesDict({
                "segment": tfds.features.Text(),
                "video_id": tfds.features.Text(),
                "start_frame": np.int32,
                "end_frame": np.int32,
                "sentence": tfds.features.Text(),
                "crf_prob": tfds.features.Tensor(shape=(None,), dtype=np.float32),
                "crf_max": tfds.features.Tensor(shape=(None,), dtype=np.int32),
            }),
            citation=tacos.CITATION,
        )

    def _split_generators(self, dl_manager):
        paths = {name: str(path) for name, path in self.manual_paths(dl_manager).items()}
        slots = read_labels(paths[tacos.CRF_LABELS.name])
        splits = read_splits(paths[tacos.SPLITS.name])
        sentences = read_sentences(paths[tacos.SENTENCES.name])
        crf = read_crf(paths[tacos.CRF.name])
        self.info.metadata["slots"] = slots
        self.info.metadata["videos_in_no_split"] = sorted({v for v, _, _ in sentences} - set(splits))
        where = paths[tacos.CRF.name]
        return {split: self._generate_examples(split, splits, sentences, crf, slots, where)
                for split in tacos.SPLIT_NAMES}

    def _generate_examples(self, split, splits, sentences, crf, slots, where):
        for (video, start, end), texts in sentences.items():
            if splits.get(video) != split:
                continue
            segment = f"{video}:{start}-{end}"
            try:
                if (video, start, end) not in crf:
                    raise CorruptRecordError(f"{where} has no CRF line for segment {segment}")
                prob, best = crf_vectors(crf[(video, start, end)], slots, where)
            except CorruptRecordError as e:
                self.corrupt(split, segment, e)
                continue
            for k, sentence in enumerate(texts):
                yield f"{segment}#{k}", {"segment": segment, "video_id": video, "start_frame": start,
                                         "end_frame": end, "sentence": sentence, "crf_prob": prob, "crf_max": best}
