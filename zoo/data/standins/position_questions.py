"""`position_questions`: synthetic absolute / relative position questions (after Xu & Saenko 2016 §4.1).

The paper tests its spatial memory on generated images: "Is there a red square on the top?"
(absolute position; one hop should do) and "Is there a red square on the top of the gray square?"
(relative position; the second hop should help). Our sources give the questions' form, not the
generator's details, so the sizes here are OURS (stated, not the paper's): a size x size black
image (default 64) holds one gray square and, in half of the examples, one red square, each
size/8 wide, placed uniformly at random without overlap; the other examples have a square of a
distractor colour (green, blue or yellow) instead of the red one, so "is there a red square"
alone is not enough to answer.

Absolute questions ask about the red square's half of the image (top = its centre above the
image's middle); relative ones about its side of the gray square (top = its centre above the
gray one's). The answer is "yes" when a red square exists and is on that side, else "no": red
examples ask a direction that holds with probability 2/3, so yes and no are equally frequent and
the presence of red alone is not enough.

Vocabulary (ids; 0 pads): is there a red square on the top bottom left right of gray ? — the
question is `question` (int32, max_words 13), the answer `label` (0 no, 1 yes), `relative` 0/1.
Example i of a split is a function of (seed, split, i).
"""

from __future__ import annotations

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

WORDS = ("<pad>", "is", "there", "a", "red", "square", "on", "the", "top", "bottom", "left", "right", "of", "gray", "?")
VOCAB = {w: i for i, w in enumerate(WORDS)}
ANSWERS = ("no", "yes")
DIRECTIONS = ("top", "bottom", "left", "right")
MAX_WORDS = 13
SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 4000, "validation": 500, "test": 500}
_COLOURS = {"red": (255, 0, 0), "gray": (128, 128, 128), "green": (0, 200, 0), "blue": (0, 0, 255),
            "yellow": (255, 255, 0)}


def question_ids(direction: str, relative: bool) -> np.ndarray:
    words = ["is", "there", "a", "red", "square", "on", "the", direction]
    words += ["of", "the", "gray", "square", "?"] if relative else ["?"]
    ids = [VOCAB[w] for w in words][:MAX_WORDS]
    return np.array(ids + [0] * (MAX_WORDS - len(ids)), np.int32)


def _side(direction, centre, reference):
    (y, x), (ry, rx) = centre, reference
    return {"top": y < ry, "bottom": y > ry, "left": x < rx, "right": x > rx}[direction]


def render_example(seed: int, split: str, index: int, size: int = 64, relative_fraction: float = 0.5) -> dict:
    """{"image": uint8 (size, size, 3), "question": int32 (12,), "label": int64, "relative": int64,
    "red_mask": bool (size, size)} of example `index`."""
    if split not in SPLITS:
        raise unknown_name("'position_questions' split", split, SPLITS)
    if size < 16:
        raise ConfigError(f"size must be at least 16 pixels, got {size}")
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index), 11])
    side = max(2, size // 8)
    while True:  # two non-overlapping squares
        corners = rng.integers(0, size - side + 1, (2, 2))
        if np.abs(corners[0] - corners[1]).max() >= side:
            break
    relative = bool(rng.random() < relative_fraction)
    has_red = bool(rng.random() < 0.75)
    image = np.zeros((size, size, 3), np.uint8)
    colour = "red" if has_red else ("green", "blue", "yellow")[int(rng.integers(3))]
    (y0, x0), (y1, x1) = corners
    image[y0 : y0 + side, x0 : x0 + side] = _COLOURS[colour]
    image[y1 : y1 + side, x1 : x1 + side] = _COLOURS["gray"]
    centre = (y0 + side / 2, x0 + side / 2)
    reference = (y1 + side / 2, x1 + side / 2) if relative else (size / 2, size / 2)
    holds = [d for d in DIRECTIONS if _side(d, centre, reference)]
    # P(red) = 3/4 and P(yes | red) = 2/3: yes and no equally frequent, and "is a red square there" alone
    # answers only 2/3 of the red examples right; the direction asked decides the rest
    others = [d for d in DIRECTIONS if d not in holds]
    if has_red and holds and (not others or rng.random() < 2 / 3):
        direction, label = holds[int(rng.integers(len(holds)))], 1
    else:
        others = others if has_red else list(DIRECTIONS)
        direction, label = others[int(rng.integers(len(others)))], 0
    mask = np.zeros((size, size), bool)
    if has_red:
        mask[y0 : y0 + side, x0 : x0 + side] = True
    return {"image": image, "question": question_ids(direction, relative), "label": np.int64(label),
            "relative": np.int64(relative), "red_mask": mask}


def render_split(seed, split, num_examples, size=64, relative_fraction=0.5) -> dict:
    examples = [render_example(seed, split, i, size, relative_fraction) for i in range(int(num_examples))]
    return {k: np.stack([e[k] for e in examples]) for k in examples[0]}


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, size=64,
         num_examples=None, relative_fraction=0.5):
    """The split as a tf.data.Dataset (data_dir, manual_dir, on_corrupt: unused)."""
    import tensorflow as tf

    if split not in SPLITS:
        raise unknown_name("'position_questions' split", split, SPLITS)
    n = DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)
    data = render_split(seed, split, n, size, relative_fraction)
    data.pop("red_mask")
    return tf.data.Dataset.from_tensor_slices(data)


INFO = DatasetInfo(
    name="position_questions",
    task="vqa",
    summary="generated yes/no questions on the absolute or relative position of a red square (after Xu & Saenko 2016)",
    num_classes=2,
    class_names=ANSWERS,
    splits=dict(DEFAULT_NUM_EXAMPLES),
    features={"image": "uint8 (size, size, 3) RGB", "question": f"int32 ({MAX_WORDS},) word ids, 0 pads",
              "label": "int64 () 0 no / 1 yes", "relative": "int64 () 1 for a relative-position question"},
    is_standin=True,
    source="generated (zoo.data.standins.position_questions); the question forms of Xu & Saenko 2016 §4.1",
    instructions="Generated; nothing to download.",
    options={"size": 64, "num_examples": None, "relative_fraction": 0.5},
)

register_dataset("position_questions", INFO, load)
