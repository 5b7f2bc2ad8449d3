"""TACoS Multi-Level (Rohrbach et al. 2014) as LRCN's video description reads it (Donahue thesis §4.5).

One example per (video segment, sentence): the sentence describing the segment, and the CRF's
output for that segment, which is the model's input (zoo.models.lrcn.video_description):

    {"segment": string "<video>:<start>-<end>", "video_id": string, "start_frame", "end_frame": int32,
     "sentence": string,
     "crf_prob": float32 (sum of slot sizes,)   each slot's label probabilities, concatenated
                                                (architecture (c), input `crf_prob`),
     "crf_max": int32 (number of slots,)        each slot's most probable label (the "CRF max";
                                                architectures (a) and (b), input `crf_max`),
     "words", "targets": int32 (20,)            the sentence as teacher-forcing ids (as coco_captions)}

The thesis: 44,762 video/sentence pairs, a CRF predicting an <activity, tool, object, location>
tuple (Rohrbach et al. 2013/2014), BLEU-4 on the test sentences (Table 4.9).

Assumed file layout. The sentences and time stamps of TACoS Multi-Level and the CRF outputs of
Rohrbach et al. 2014 were released as separate downloads whose exact files could not be checked
here (no network). The builder reads this plain layout from the manual_dir, into which they
convert line by line; the format is ours, the content theirs:

    tacos_multilevel_sentences.tsv   <video id> TAB <start frame> TAB <end frame> TAB <sentence>
                                     one line per sentence; a segment may have several
    tacos_multilevel_crf.tsv         <video id> TAB <start frame> TAB <end frame> TAB <slot 1> TAB ... <slot S>
                                     one line per segment; each slot column holds that slot's
                                     label probabilities, space-separated, in label order
    tacos_multilevel_crf_labels.tsv  <slot name> TAB <label 1> TAB <label 2> ...
                                     one line per slot, in the CRF file's column order
    tacos_multilevel_splits.tsv      <video id> TAB train | validation | test

A segment whose CRF line is missing, has the wrong number of slots or labels, or whose
probabilities are negative or do not sum to 1 (within 1e-3) is a corrupt record (named; skipped
with on_corrupt="skip"). Videos in no split are left out (counted in the metadata). The
vocabulary defaults to the release's captioning rule (words seen 5 times or more) on the train
sentences; the thesis does not state TACoS's.
"""

from __future__ import annotations

from zoo.data.text.coco_captions import MAX_WORDS, add_tokens, base_split, resolve_vocabulary
from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, register_dataset

_PAGE = "https://www.mpi-inf.mpg.de/departments/computer-vision-and-machine-learning/research/vision-and-language/"
SENTENCES = ManualFile("tacos_multilevel_sentences.tsv", _PAGE + "tacos-multi-level-corpus",
                       "segment sentences with start/end frames, converted to the layout in zoo/data/tacos.py")
CRF = ManualFile("tacos_multilevel_crf.tsv", _PAGE + " (Rohrbach et al. 2014, GCPR, released CRF outputs)",
                 "per-segment CRF label probabilities, converted to the layout in zoo/data/tacos.py")
CRF_LABELS = ManualFile("tacos_multilevel_crf_labels.tsv", _PAGE, "the CRF's slots and their labels")
SPLITS = ManualFile("tacos_multilevel_splits.tsv", _PAGE, "video id -> train / validation / test")
SPLIT_NAMES = ("train", "validation", "test")
PROBABILITY_TOLERANCE = 1e-3
LAYOUT_NOTE = "The file layout is the zoo's (see zoo/data/tacos.py); convert the releases to it."
CITATION = ("Rohrbach, Rohrbach, Qiu, Friedrich, Pinkal, Schiele, Coherent Multi-Sentence Video Description with "
            "Variable Level of Detail, GCPR 2014")


def _shapes(slot_sizes):
    import tensorflow as tf

    def fix(example):
        return {**example, "crf_prob": tf.ensure_shape(example["crf_prob"], [sum(slot_sizes)]),
                "crf_max": tf.ensure_shape(example["crf_max"], [len(slot_sizes)])}

    return fix


class TacosLoader:
    """The registered loader: the zoo's TFDS builder, fixed CRF shapes, sentence tokens."""

    builder = "zoo.data.text.tacos_builder:TacosMultilevel"

    def _builder(self, data_dir, manual_dir, on_corrupt, counter=None):
        import importlib

        from zoo.data import tfds_manual

        importlib.import_module(self.builder.split(":")[0])
        return tfds_manual, tfds_manual.prepare_tfds("tacos_multilevel", data_dir=data_dir, manual_dir=manual_dir,
                                                     on_corrupt=on_corrupt, counter=counter,
                                                     instructions=INFO.instructions)

    def _vocabulary(self, builder, vocabulary):
        def train_sentences():
            for example in builder.as_dataset(split="train", shuffle_files=False).as_numpy_iterator():
                yield example["sentence"].decode("utf-8")

        return resolve_vocabulary(vocabulary, train_sentences)

    def model_options(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", vocabulary=None, **_):
        """What lrcn_video_description needs from this data: vocab_size and the CRF's slot_sizes."""
        _, builder = self._builder(data_dir, manual_dir, on_corrupt)
        return {"vocab_size": len(self._vocabulary(builder, vocabulary)),
                "slot_sizes": [len(labels) for labels in builder.info.metadata["slots"].values()]}

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None,
                 vocabulary=None, max_words=MAX_WORDS):
        base_split(split, SPLIT_NAMES)
        tfds_manual, builder = self._builder(data_dir, manual_dir, on_corrupt)
        slot_sizes = [len(labels) for labels in builder.info.metadata["slots"].values()]
        vocabulary = self._vocabulary(builder, vocabulary)
        ds = tfds_manual.load_tfds("tacos_multilevel", split, data_dir=data_dir, manual_dir=manual_dir,
                                   on_corrupt=on_corrupt, counter=counter, instructions=INFO.instructions)
        return add_tokens(ds.map(_shapes(slot_sizes)), vocabulary, key="sentence", max_words=max_words)

    def prepare(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None):
        self._builder(data_dir, manual_dir, on_corrupt, counter)


INFO = DatasetInfo(
    name="tacos_multilevel",
    task="captioning",
    summary="TACoS Multi-Level: a sentence per cooking-video segment, with the CRF's slot predictions as input",
    splits={"train": None, "validation": None, "test": None},
    features={
        "segment": "string <video>:<start>-<end>",
        "video_id": "string",
        "start_frame": "int32",
        "end_frame": "int32",
        "sentence": "string",
        "crf_prob": "float32 (sum of slot sizes,): each slot's CRF label probabilities, concatenated",
        "crf_max": "int32 (number of slots,): each slot's most probable label",
        "words": "int32 (20,) [<eos>, w1 .. wn] padded with 0",
        "targets": "int32 (20,) [w1 .. wn, <eos>] padded with -1",
    },
    source=_PAGE + "tacos-multi-level-corpus (44,762 video/sentence pairs in the thesis, §4.5)",
    citation=CITATION,
    license="research use (MPI for Informatics)",
    instructions=manual_instructions("tacos_multilevel", (SENTENCES, CRF, CRF_LABELS, SPLITS), LAYOUT_NOTE),
    options={"vocabulary": None, "max_words": MAX_WORDS},
)

register_dataset("tacos_multilevel", INFO, TacosLoader())
