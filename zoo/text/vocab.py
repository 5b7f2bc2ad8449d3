"""The LRCN captioning vocabulary, as the release builds it (BVLC/caffe, recurrent branch,
examples/coco_caption/coco_to_hdf5_data.py).

- Captions are split by `split_sentence`: words and punctuation marks (regex `(\\W+)`),
  lower-cased, with a final "." dropped.
- Words with at least `min_count` (5) occurrences in the training captions, sorted by
  decreasing count then alphabetically, follow `<unk>` in the vocabulary file.
- The model's index 0 is `<eos>`, which the file leaves implicit: the model's ids are the
  file's line numbers + 1. `<eos>` is also the `<bos>` token fed before the first word (the
  thesis's y_0, §4.4) and the input padding; padded target positions hold -1 (`IGNORE`) and
  are left out of the loss (Caffe's `ignore_label: -1`). So the model's vocabulary is the file
  plus one: 8,801 entries on COCO 2014 train as released (`embedding` input_dim and `predict`
  num_output 8801 in lrcn.prototxt).

The file is the release's `vocabulary.txt` format, so files move between the two. Its SHA-256
is recorded beside a checkpoint (`record_in_sidecar`) and checked when a vocabulary is used
with one (`check_checkpoint`): ids from another vocabulary would decode to the wrong words.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
from pathlib import Path

import numpy as np

from zoo.errors import ConfigError, InputError, WeightsMismatchError

EOS = "<eos>"
UNK = "<unk>"
EOS_ID = 0  # also <bos> (the first input) and the input padding
UNK_ID = 1
IGNORE = -1  # padded target positions
MAX_WORDS = 20  # coco_to_hdf5_data.py: longer captions are truncated, shorter ones padded
MIN_COUNT = 5

_SPLIT = re.compile(r"(\W+)")


def split_sentence(sentence: str) -> list[str]:
    """The release's tokenizer: words and punctuation marks, lower-cased, without a final "."."""
    if not isinstance(sentence, str):
        raise InputError(f"a caption must be a string, got {type(sentence).__name__}")
    words = [s.strip().lower() for s in _SPLIT.split(sentence.strip()) if s.strip()]
    return words[:-1] if words and words[-1] == "." else words


class Vocabulary:
    """Words <-> ids for the LRCN captioners; `len(vocab)` is the model's vocabulary size.

    `words` are the file's lines: `<unk>` first, then the known words.
    """

    def __init__(self, words):
        words = list(words)
        if not words or words[0] != UNK:
            raise ConfigError(f"a vocabulary starts with {UNK!r} (the release's vocabulary.txt format)")
        if any(not w or w != w.strip() or "\n" in w for w in words):
            raise ConfigError("vocabulary words must be non-empty and have no surrounding whitespace")
        duplicates = [w for w, n in collections.Counter(words).items() if n > 1]
        if duplicates:
            raise ConfigError(f"the vocabulary lists {', '.join(map(repr, duplicates[:5]))} more than once")
        if EOS in words:
            raise ConfigError(f"{EOS!r} is implicit (id 0) and must not be in the vocabulary file")
        self.words = words
        self.tokens = [EOS] + words
        self._ids = {w: i for i, w in enumerate(self.tokens)}

    # ------------------------------------------------------------------ building, files

    @classmethod
    def build(cls, captions, min_count: int = MIN_COUNT) -> "Vocabulary":
        """The vocabulary of the training `captions` (strings): words seen at least `min_count` times.

        Empty captions contribute no words (the release's splitter would fail on them).
        """
        counts = collections.Counter(w for c in captions for w in split_sentence(c))
        counts.pop(UNK, None)
        counts.pop(EOS, None)
        known = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls([UNK, *known])

    @classmethod
    def load(cls, path) -> "Vocabulary":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read vocabulary file {path}: {e.strerror or e}") from e
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines)

    def text(self) -> str:
        return "".join(f"{w}\n" for w in self.words)

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(self.text(), encoding="utf-8")
        return path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.words == other.words

    # ------------------------------------------------------------------ ids

    def id(self, word: str) -> int:
        return self._ids.get(word, UNK_ID)

    def encode(self, caption) -> list[int]:
        """A caption (string, or list of words) -> word ids without `<eos>`; unknown words -> `<unk>`."""
        words = split_sentence(caption) if isinstance(caption, str) else list(caption)
        if not words:
            raise InputError(f"the caption {caption!r} has no words; a caption needs at least one")
        return [self.id(w) for w in words]

    def decode(self, ids) -> str:
        """Word ids -> a sentence, stopping at the first `<eos>`; unknown words read `<unk>`."""
        words = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if i == EOS_ID:
                break
            if not 0 <= i < len(self.tokens):
                raise InputError(f"word id {i} is outside this {len(self.tokens)}-entry vocabulary")
            words.append(self.tokens[i])
        return " ".join(words)

    def sequences(self, captions, max_words: int = MAX_WORDS) -> dict:
        """Teacher-forcing arrays for `captions`, as coco_to_hdf5_data.py writes them.

        input:  [<eos>, w1 .. wn] padded with <eos> (id 0)       (N, max_words) int32
        target: [w1 .. wn, <eos>] padded with IGNORE (-1)        (N, max_words) int32
        Sequences longer than `max_words` are truncated (the target then has no <eos>, as in the
        release). An empty caption raises InputError naming its index.
        """
        n = len(captions)
        inputs = np.full((n, max_words), EOS_ID, np.int32)
        targets = np.full((n, max_words), IGNORE, np.int32)
        for row, caption in enumerate(captions):
            try:
                ids = self.encode(caption)
            except InputError as e:
                raise InputError(f"caption {row}: {e}") from e
            seq_in, seq_out = [EOS_ID, *ids][:max_words], [*ids, EOS_ID][:max_words]
            inputs[row, : len(seq_in)] = seq_in
            targets[row, : len(seq_out)] = seq_out
        return {"input": inputs, "target": targets}

    # ------------------------------------------------------------------ checks

    def sidecar_entry(self) -> dict:
        return {"sha256": self.sha256, "size": len(self)}

    def record_in_sidecar(self, weights_path) -> Path:
        """Write this vocabulary's hash and size into the sidecar JSON of a weights file."""
        from zoo.weights import sidecar_path

        path = sidecar_path(weights_path)
        meta = json.loads(path.read_text()) if path.exists() else {}
        meta["vocabulary"] = self.sidecar_entry()
        path.write_text(json.dumps(meta, indent=2))
        return path

    def check_model(self, model) -> None:
        """WeightsMismatchError unless the model's `embedding` and `predict` layers have len(self) entries."""
        sizes = {}
        for name, attr in (("embedding", "input_dim"), ("predict", "units")):
            try:
                sizes[name] = int(getattr(model.get_layer(name), attr))
            except ValueError:
                continue
        wrong = {k: v for k, v in sizes.items() if v != len(self)}
        if wrong:
            raise WeightsMismatchError(
                f"this vocabulary has {len(self)} entries (with <eos>); {model.name}'s "
                + " and ".join(f"{k} has {v}" for k, v in wrong.items())
            )

    def check_checkpoint(self, weights_path, model=None) -> None:
        """WeightsMismatchError if the checkpoint's sidecar records another vocabulary (by SHA-256),
        or if `model` has another vocabulary size."""
        from zoo.weights import read_sidecar

        if model is not None:
            self.check_model(model)
        recorded = (read_sidecar(weights_path) or {}).get("vocabulary")
        if recorded and recorded.get("sha256") != self.sha256:
            raise WeightsMismatchError(
                f"{weights_path} was trained with another vocabulary (sha256 {recorded.get('sha256', '?')[:12]}..., "
                f"{recorded.get('size')} entries); this one has sha256 {self.sha256[:12]}... and {len(self)} entries"
            )
