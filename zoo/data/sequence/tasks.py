"""Generated sequence tasks of the Grid LSTM paper (Kalchbrenner, Danihelka, Graves 2015, arXiv:1507.01526,
as Bastings' talk on it presents them) and an offline stand-in text for character-level language modelling.

- `parity`: k random bits, label = their sum mod 2. The paper's own synthetic task.
- `addition`: two n-digit integers and their sum, laid out as on the talk's addition slide:

      tokens   B a_1..a_n B b_1..b_n B B ... B          (3n + 4 tokens; B = blank = 10)
      targets  B B .. B   s_0 s_1 .. s_n B              (2n + 2 blanks, the n + 1 sum digits, B)

  e.g. 123 + 899: "B 1 2 3 B 8 9 9 B B B B B" / "B B B B B B B B 1 0 2 2 B". Operand digits are
  uniform (leading zeros allowed); the sum is written with n + 1 digits. `mask` marks the
  sum's positions (the ones scored). The paper's own synthetic task.
- `memorization`: n random symbols from an alphabet of S, echoed after them (the talk's memorization
  slide):

      tokens   B x_1..x_n B B .. B                      (2n + 2 tokens; B = blank = S)
      targets  B .. B (n + 1) x_1..x_n B

  The paper's own synthetic task (its alphabet size is not in the slides: S = 10 is ours).
- `enwik8`: the paper's data (Hutter Prize Wikipedia, first 10^8 bytes), prepared by the TFDS
  builder zoo.data.sequence.enwik8_builder from the user's enwik8.zip; the same windows and split
  fractions as `pydoc_text` (90M / 5M / 5M bytes).
- `pydoc_text`: UTF-8 bytes of CPython's bundled documentation topics (pydoc_data.topics,
  about 0.47 MB in Python 3.11), cut into windows for next-byte prediction. A stand-in for the
  Hutter Prize Wikipedia (enwik8) text, which cannot be downloaded here; it is never that text.
  Splits are contiguous: the first 90% train, then 5% validation, the last 5% test (the paper
  tests on the last 5MB of enwik8).

Every example is a pure function of (seed, split, options): a split is drawn at once by a NumPy
Generator seeded with (seed, split id, a task id), so the same call gives the same arrays on
every machine. `generate(...)` returns NumPy arrays (for training loops and experiments);
the registered loaders serve the same arrays as unbatched tf.data dicts.
"""

from __future__ import annotations

import functools

import numpy as np

from zoo.data.manual import ManualFile, manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.errors import ConfigError, unknown_name

SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 10000, "validation": 1000, "test": 1000}
_TASK_IDS = {"parity": 1, "addition": 2, "memorization": 3}
TEXT_SPLIT_FRACTIONS = {"train": (0.0, 0.9), "validation": (0.9, 0.95), "test": (0.95, 1.0)}


def _check_split(split):
    if split not in SPLITS:
        raise unknown_name("split", split, SPLITS)


def _rng(task, split, seed):
    _check_split(split)
    return np.random.default_rng([int(seed), SPLITS[split], _TASK_IDS[task]])


def _count(split, num_examples):
    _check_split(split)
    n = DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)
    if n < 1:
        raise ConfigError(f"num_examples must be positive; got {num_examples!r}")
    return n


def _positive(**values):
    for key, value in values.items():
        if int(value) != value or value < 1:
            raise ConfigError(f"{key} must be a positive integer; got {value!r}")


def parity(split, num_examples=None, seed=0, num_bits=250):
    """{"bits": float32 (N, k) of 0/1, "label": int32 (N,) = sum mod 2}."""
    _positive(num_bits=num_bits)
    rng = _rng("parity", split, seed)
    bits = rng.integers(0, 2, (_count(split, num_examples), int(num_bits)), dtype=np.int32)
    return {"bits": bits.astype(np.float32), "label": (bits.sum(axis=1) % 2).astype(np.int32)}


ADDITION_BLANK = 10


def addition(split, num_examples=None, seed=0, num_digits=15):
    """{"tokens", "targets": int32 (N, 3n+4), "mask": float32 (N, 3n+4), 1 on the sum's digits}."""
    _positive(num_digits=num_digits)
    n, count = int(num_digits), _count(split, num_examples)
    rng = _rng("addition", split, seed)
    a, b = rng.integers(0, 10, (2, count, n))
    digits = np.zeros((count, n + 1), np.int32)  # the sum, most significant digit first
    carry = np.zeros(count, np.int64)
    for i in range(n - 1, -1, -1):
        column = a[:, i] + b[:, i] + carry
        digits[:, i + 1], carry = column % 10, column // 10
    digits[:, 0] = carry
    length = 3 * n + 4
    tokens = np.full((count, length), ADDITION_BLANK, np.int32)
    tokens[:, 1 : n + 1] = a
    tokens[:, n + 2 : 2 * n + 2] = b
    targets = np.full((count, length), ADDITION_BLANK, np.int32)
    targets[:, 2 * n + 2 : 3 * n + 3] = digits
    mask = np.zeros((count, length), np.float32)
    mask[:, 2 * n + 2 : 3 * n + 3] = 1.0
    return {"tokens": tokens, "targets": targets, "mask": mask}


def memorization(split, num_examples=None, seed=0, num_symbols=20, alphabet_size=10):
    """{"tokens", "targets": int32 (N, 2n+2), "mask": float32 (N, 2n+2), 1 on the echo}."""
    _positive(num_symbols=num_symbols, alphabet_size=alphabet_size)
    n, s, count = int(num_symbols), int(alphabet_size), _count(split, num_examples)
    symbols = _rng("memorization", split, seed).integers(0, s, (count, n), dtype=np.int32)
    length = 2 * n + 2
    tokens = np.full((count, length), s, np.int32)
    tokens[:, 1 : n + 1] = symbols
    targets = np.full((count, length), s, np.int32)
    targets[:, n + 1 : 2 * n + 1] = symbols
    mask = np.zeros((count, length), np.float32)
    mask[:, n + 1 : 2 * n + 1] = 1.0
    return {"tokens": tokens, "targets": targets, "mask": mask}


@functools.lru_cache(maxsize=1)
def pydoc_bytes() -> np.ndarray:
    """The stand-in corpus: the pydoc topics of this Python, sorted by topic name, UTF-8, uint8."""
    from pydoc_data.topics import topics

    text = "\n".join(topics[k] for k in sorted(topics))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def text_split_bounds(num_bytes) -> dict:
    """{split: (first byte, end)} of a text of `num_bytes`: 90% train, 5% validation, the last 5% test."""
    return {split: tuple(int(f * num_bytes) for f in fractions) for split, fractions in TEXT_SPLIT_FRACTIONS.items()}


def pydoc_text(split, num_examples=None, seed=0, sequence_length=50):
    """{"tokens", "targets": int32 (N, T)}: consecutive non-overlapping windows of the split's
    bytes; targets are the tokens shifted by one byte. `num_examples` None: every window."""
    _positive(sequence_length=sequence_length)
    _check_split(split)
    data = pydoc_bytes()
    lo, hi = text_split_bounds(len(data))[split]
    part = data[lo : hi + 1].astype(np.int32)  # the byte after the split is the last target
    t = int(sequence_length)
    windows = (hi - lo) // t if hi < len(data) else (hi - lo - 1) // t
    if num_examples is not None:
        windows = min(windows, _count(split, num_examples))
    idx = np.arange(windows)[:, None] * t + np.arange(t)[None, :]
    return {"tokens": part[idx], "targets": part[idx + 1]}


ENWIK8_HOMEPAGE = "http://mattmahoney.net/dc/textdata.html"
ENWIK8_MEMBER = "enwik8"
ENWIK8_ARCHIVE = ManualFile(
    "enwik8.zip", "http://mattmahoney.net/dc/enwik8.zip", "36 MB; holds the 100,000,000-byte file enwik8"
)


class Enwik8Loader(TfdsLoader):
    """enwik8 as (tokens, targets) windows of `sequence_length` bytes, cut from the prepared
    10,000-byte chunks (zoo.data.sequence.enwik8_builder) in text order; a chunk's tail shorter than a
    window is dropped (nothing is dropped when the length divides 10,000)."""

    def __call__(self, split, *, sequence_length=50, **kwargs):
        import tensorflow as tf

        _positive(sequence_length=sequence_length)
        t = int(sequence_length)

        def windows(example):
            data = tf.cast(example["bytes"], tf.int32)
            n = (tf.shape(data)[0] - 1) // t
            return tf.data.Dataset.from_tensor_slices(
                {"tokens": tf.reshape(data[: n * t], (n, t)), "targets": tf.reshape(data[1 : n * t + 1], (n, t))}
            )

        return super().__call__(split, **kwargs).flat_map(windows)


GENERATORS = {"parity": parity, "addition": addition, "memorization": memorization, "pydoc_text": pydoc_text}


def generate(name, split, num_examples=None, seed=0, **options) -> dict:
    """The arrays of `split` of task `name`, as NumPy arrays with the examples on axis 0."""
    if name not in GENERATORS:
        raise unknown_name("sequence task", name, GENERATORS)
    return GENERATORS[name](split, num_examples=num_examples, seed=seed, **options)


def _loader(name):
    def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, **options):
        """Generated in memory (data_dir, manual_dir, on_corrupt: unused)."""
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices(generate(name, split, seed=seed, **options))

    return load


_GENERATED = "Generated on the fly by zoo.data.sequence.tasks; nothing to download."
_SOURCE = "generated by zoo.data.sequence.tasks (this repository), after Kalchbrenner et al. 2015"
_CITATION = "Kalchbrenner, Danihelka, Graves 2015, Grid Long Short-Term Memory, arXiv:1507.01526"

INFOS = {
    "parity": DatasetInfo(
        name="parity", task="classification",
        summary="k random bits labelled with their parity: the Grid LSTM paper's own synthetic task",
        num_classes=2, class_names=("even", "odd"), splits=dict(DEFAULT_NUM_EXAMPLES),
        features={"bits": "float32 (k,) of 0.0/1.0", "label": "int32 () sum of the bits mod 2"},
        source=_SOURCE, citation=_CITATION, instructions=_GENERATED,
        options={"num_examples": None, "num_bits": 250},
    ),
    "addition": DatasetInfo(
        name="addition", task="sequence",
        summary="Two n-digit integers and their sum, slide layout: the Grid LSTM paper's own synthetic task",
        num_classes=11, class_names=tuple("0123456789") + ("blank",), splits=dict(DEFAULT_NUM_EXAMPLES),
        features={"tokens": "int32 (3n+4,) digits, 10 = blank", "targets": "int32 (3n+4,) the sum after the inputs",
                  "mask": "float32 (3n+4,) 1 on the n+1 sum digits"},
        source=_SOURCE, citation=_CITATION, instructions=_GENERATED,
        options={"num_examples": None, "num_digits": 15},
    ),
    "memorization": DatasetInfo(
        name="memorization", task="sequence",
        summary="n random symbols echoed after the sequence: the Grid LSTM paper's own synthetic task",
        splits=dict(DEFAULT_NUM_EXAMPLES),
        features={"tokens": "int32 (2n+2,) symbols 0..S-1, S = blank", "targets": "int32 (2n+2,) the echo",
                  "mask": "float32 (2n+2,) 1 on the echoed symbols"},
        source=_SOURCE, citation=_CITATION, instructions=_GENERATED,
        options={"num_examples": None, "num_symbols": 20, "alphabet_size": 10},
    ),
    "pydoc_text": DatasetInfo(
        name="pydoc_text", task="language_modelling",
        summary="Bytes of CPython's bundled documentation topics for next-byte prediction (offline stand-in)",
        splits={"train": None, "validation": None, "test": None},
        features={"tokens": "int32 (T,) bytes 0-255", "targets": "int32 (T,) the next bytes"},
        is_standin=True, stands_in_for="enwik8 (Hutter Prize Wikipedia, 100M bytes)",
        source="pydoc_data.topics of the running Python (its text changes between Python releases)",
        options={"num_examples": None, "sequence_length": 50},
    ),
}

for _name, _info in INFOS.items():
    register_dataset(_name, _info, _loader(_name))

ENWIK8_INFO = DatasetInfo(
    name="enwik8", task="language_modelling",
    summary="The first 10^8 bytes of English Wikipedia (Hutter Prize): the Grid LSTM paper's char-LM data",
    splits={"train": None, "validation": None, "test": None},
    features={"tokens": "int32 (T,) bytes 0-255", "targets": "int32 (T,) the next bytes"},
    source=ENWIK8_HOMEPAGE,
    citation="Hutter, M., The Human Knowledge Compression Prize (2006); Kalchbrenner et al. 2015 test on its last 5MB",
    instructions=manual_instructions("enwik8", (ENWIK8_ARCHIVE,)),
    options={"sequence_length": 50},
)
register_dataset(
    "enwik8", ENWIK8_INFO,
    Enwik8Loader("enwik8", builder="zoo.data.sequence.enwik8_builder:Enwik8", instructions=ENWIK8_INFO.instructions),
)
