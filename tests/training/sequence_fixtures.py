"""Tiny generated data and recipes for the sequence-task runner tests (test_sequence_tasks.py).

- `crf_sentences`: a dataset shaped like tacos_multilevel (zoo.data.text.tacos): CRF outputs of 4 slots,
  sentences already as teacher-forcing ids ("words", "targets" padded with -1), two sentences per
  segment. The sentence names the CRF's labels, so it is learnable.
- `tiny_clip_classifier`: a dropout-free per-frame conv + LSTM clip classifier (task
  video_classification), for comparing strategies weight for weight (LRCN's own nets have dropout,
  whose random draws differ between strategies).
Both are registered by `register()` in the process that needs them (a subprocess, or under a
monkeypatched registry), never by importing this module.
"""

from __future__ import annotations

import numpy as np

from zoo.data.registry import DatasetInfo
from zoo.registry import InputContract

SLOTS = (3, 4, 5, 2)  # word ids 1 .. 14 name the slots' labels: 1 + offset of the slot + label
CRF_INFO = DatasetInfo(
    name="test/crf_sentences", task="captioning", summary="test fixture: CRF outputs and sentences",
    splits={"train": 24, "test": 8},
    features={"crf_prob": "float32 (14,)", "crf_max": "int32 (4,)", "words": "int32 (8,)", "targets": "int32 (8,)",
              "segment": "string ()"},
    is_standin=True,
)


def crf_arrays(split, seed=0):
    n = CRF_INFO.splits[split]
    rng = np.random.default_rng([seed, list(CRF_INFO.splits).index(split)])
    segments = n // 2
    labels = np.stack([rng.integers(0, s, segments) for s in SLOTS], axis=1)
    offsets = np.cumsum((0,) + SLOTS[:-1])
    prob = np.zeros((segments, sum(SLOTS)), np.float32)
    for i, slot in enumerate(SLOTS):
        p = rng.dirichlet(np.ones(slot), segments) * 0.3
        p[np.arange(segments), labels[:, i]] += 0.7
        prob[:, offsets[i] : offsets[i] + slot] = p
    words = np.zeros((n, 8), np.int32)
    targets = np.full((n, 8), -1, np.int32)
    for row in range(n):
        seg = row // 2
        sentence = 1 + offsets + labels[seg]  # four words
        if row % 2:  # the second sentence of a segment names the first two slots only
            sentence = sentence[:2]
        words[row, : len(sentence) + 1] = [0, *sentence]
        targets[row, : len(sentence) + 1] = [*sentence, 0]
    return {"crf_prob": np.repeat(prob, 2, axis=0), "crf_max": np.repeat(labels, 2, axis=0).astype(np.int32),
            "words": words, "targets": targets, "segment": np.array([f"v:{row // 2}" for row in range(n)])}


def load_crf(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(crf_arrays(split, seed))


def tiny_clip_classifier(num_classes=6, input_shape=(4, 16, 16, 3)):
    """Per-frame conv features into an LSTM, logits at every step; no dropout."""
    import keras

    from zoo.models.lrcn.layers import FoldTime, UnfoldTime

    clips = keras.Input(input_shape, name="data")
    x = FoldTime(name="fold_time")(clips)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="conv1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = UnfoldTime(name="unfold_time")([x, clips])
    x = keras.layers.LSTM(8, return_sequences=True, name="lstm1")(x)
    return keras.Model(clips, keras.layers.Dense(num_classes, name="fc8-final")(x), name="tiny_clip_classifier")


CLIP_CONTRACT = InputContract(shape=(4, 16, 16, 3), kind="clip", channel_order="BGR", mean=(127.5,) * 3,
                              sources=("video",))


def register():
    """Register the fixtures in this process (registry state is per process)."""
    from zoo import registry
    from zoo.data import registry as data_registry

    if "test/crf_sentences" not in data_registry._DATASETS:
        data_registry.register_dataset("test/crf_sentences", CRF_INFO, load_crf)
    if "test/tiny_clip_classifier" not in registry.list_models(include_hidden=True):
        registry.register("test/tiny_clip_classifier", builder="tests.training.sequence_fixtures:tiny_clip_classifier",
                          family="testing", paper="none (test-only)", section="-", task="video_classification",
                          input_contract=CLIP_CONTRACT, hidden=True)


def recipe(kind, *, strategy="default", steps=4, **overrides):
    """A small recipe dict of one of the new tasks: "video", "captioning", "sequence"."""
    common = {"optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
              "train": {"steps": steps, "checkpoint_every": 2, "log_every": 2, "seed": 3, "strategy": strategy}}
    if kind == "video":
        specific = {"model": {"name": "test/tiny_clip_classifier"},
                    "data": {"name": "moving_shapes", "global_batch_size": 4, "shuffle_buffer": 8,
                             "options": {"image_size": 16, "num_frames": 4, "num_examples": 8}}}
    elif kind == "captioning":
        specific = {"model": {"name": "lrcn_video_description",
                              "options": {"architecture": "c", "slot_sizes": list(SLOTS), "vocab_size": 16,
                                          "hidden": 8, "embed_dim": 8}},
                    "data": {"name": "test/crf_sentences", "eval_split": "test", "global_batch_size": 4,
                             "shuffle_buffer": 24}}
    elif kind == "sequence":
        specific = {"model": {"name": "grid_lstm_addition",
                              "options": {"input_shape": [7], "units": 4, "num_layers": 1}},
                    "data": {"name": "addition", "global_batch_size": 4, "shuffle_buffer": 16,
                             "options": {"num_digits": 1, "num_examples": 16}}}
    else:
        raise ValueError(kind)
    out = {**common, **specific}
    for section, values in overrides.items():
        out[section] = {**out.get(section, {}), **values}
    return out
