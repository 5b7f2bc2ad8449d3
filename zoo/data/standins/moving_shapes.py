"""`moving_shapes`: generated clips whose class is a motion (offline stand-in for UCF101).

A stand-in for the activity-recognition videos of LRCN (Donahue thesis §4.3, UCF101), which
cannot be downloaded here; it is never reported as UCF101. Each clip shows one shape (an
isosceles triangle, a bar or an L, bright and of a random colour, on a dark noisy background)
that either translates or rotates in place. The class is the motion:

    0 left   1 right   2 up   3 down      translation by 0.06-0.1 of the frame size per frame
    4 clockwise   5 anticlockwise          rotation by 20-40 degrees per frame (as seen on screen)

The motions are fast (a clip of 8 frames crosses half the frame or more) so that a CNN with
stride-32 features, as LRCN's, sees the shape change cells within a clip.

Every single frame is ambiguous by construction: the shape's position is uniform on the frame
(translations wrap around the borders, so the frame is a torus), its orientation is uniform, and
its kind, size and colours do not depend on the class. Frame t of any clip is therefore drawn
from the same distribution whatever the class; only the change between frames tells the class.
This is our design point for a synthetic analogue of Table 4.1's claim (Donahue thesis §4.3; the
analogue is ours, not the thesis's): some classes cannot be told from any single frame, where a
single-frame model must fail.

Each example is a pure function of (seed, split, index, options): `render_example` seeds a NumPy
Generator with (seed, split id, index). The loader renders examples on demand.

Loaded examples (unbatched):
    video     uint8 (T, S, S, 3) RGB frames
    label     int64 () class id (CLASS_NAMES)
    video_id  string () "<split>_<index:06d>"

Options: image_size (S, default 64), num_frames (T, default 16), num_examples (default per split:
train 1200, validation 300, test 300).
"""

from __future__ import annotations

import functools

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

CLASS_NAMES = ("left", "right", "up", "down", "clockwise", "anticlockwise")
LEFT, RIGHT, UP, DOWN, CLOCKWISE, ANTICLOCKWISE = range(6)
SHAPE_KINDS = ("triangle", "bar", "ell")  # none is symmetric under the rotations of one frame
SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 1200, "validation": 300, "test": 300}
# Pixel steps (dx, dy) of the translation classes; image rows grow downwards.
_DIRECTIONS = {LEFT: (-1.0, 0.0), RIGHT: (1.0, 0.0), UP: (0.0, -1.0), DOWN: (0.0, 1.0)}
SPEED = (0.06, 0.1)  # translation per frame, fraction of the frame size
ANGULAR_SPEED = (20.0, 40.0)  # rotation per frame, degrees (below 90: the bar's half-turn symmetry stays unseen)
RADIUS = (0.15, 0.22)  # shape size, fraction of the frame size
# A bright shape on a dark background: every channel of the shape is at least MIN_CONTRAST above the
# background's. (With either sign of contrast a small net took many times longer to learn the motion.)
BACKGROUND, SHAPE_COLOUR = (0.0, 90.0), (150.0, 255.0)
MIN_CONTRAST = SHAPE_COLOUR[0] - BACKGROUND[1]
NOISE = 6.0  # background pixel noise (standard deviation), fresh in every frame
_SUPERSAMPLE = 2  # anti-aliasing: coverage from 2x2 samples per pixel


@functools.lru_cache(maxsize=32)
def _patch_samples(half):
    """Sample offsets (x, y) of the supersampled pixels of a (2 half + 1)^2 patch, from its centre pixel."""
    step = 1.0 / _SUPERSAMPLE
    offsets = np.arange(-half, half + 1, step, dtype=np.float32) + step / 2 - 0.5
    yy, xx = np.meshgrid(offsets, offsets, indexing="ij")
    return xx, yy


def _inside(kind, u, v, r):
    """Whether shape-frame points (u, v) are inside a shape of size r (apex / long axis along u)."""
    if kind == "triangle":  # apex at u = r, base at u = -0.6 r, half-width 0.55 r at the base
        return (u >= -0.6 * r) & (np.abs(v) <= 0.55 * r * (r - u) / (1.6 * r))
    if kind == "bar":
        return (np.abs(u) <= r) & (np.abs(v) <= 0.3 * r)
    # ell: a long arm along u and a short one along v, meeting at (-r, -r)
    long_arm = (np.abs(u) <= r) & (v >= -r) & (v <= -0.45 * r)
    short_arm = (u >= -r) & (u <= -0.45 * r) & (v >= -r) & (v <= 0.3 * r)
    return long_arm | short_arm


def _coverage(kind, centres, angles, r, size):
    """Fraction of each pixel covered by the shape, (T, S, S), for centres (T, 2) as (x, y) and angles (T,)
    in radians. The frame is a torus: a shape leaving one side enters the other."""
    half = int(np.ceil(1.45 * r)) + 1  # the shapes reach at most sqrt(2) r from their centre
    xx, yy = _patch_samples(half)
    alpha = np.zeros((len(angles), size, size), np.float32)
    for t, ((x, y), angle) in enumerate(zip(centres, angles)):
        px, py = int(np.floor(x)), int(np.floor(y))  # the pixel holding the centre
        dx, dy = xx - (x - px - 0.5), yy - (y - py - 0.5)  # sample offsets from the centre
        # The shape turned by `angle`: shape point (u, v) sits at offset (u cos a - v sin a, u sin a + v cos a);
        # with rows growing downwards a growing angle turns it clockwise on screen.
        c, s = np.cos(angle), np.sin(angle)
        mask = _inside(kind, dx * c + dy * s, -dx * s + dy * c, r).astype(np.float32)
        patch = mask.reshape(2 * half + 1, _SUPERSAMPLE, 2 * half + 1, _SUPERSAMPLE).mean(axis=(1, 3))
        rows, cols = np.arange(py - half, py + half + 1) % size, np.arange(px - half, px + half + 1) % size
        alpha[t][np.ix_(rows, cols)] = patch
    return alpha


def motion(label: int, rng: np.random.Generator, size: int) -> tuple:
    """(velocity (dx, dy) in pixels per frame, angular velocity in radians per frame) of a class."""
    if label in _DIRECTIONS:
        speed = rng.uniform(*SPEED) * size
        return (speed * _DIRECTIONS[label][0], speed * _DIRECTIONS[label][1]), 0.0
    omega = np.deg2rad(rng.uniform(*ANGULAR_SPEED))
    return (0.0, 0.0), (omega if label == CLOCKWISE else -omega)


def render_example(seed: int, split: str, index: int, image_size: int = 64, num_frames: int = 16) -> dict:
    """Example `index` of `split` for `seed`: {"video": uint8 (T, S, S, 3), "label": int64, "video_id": str}."""
    if split not in SPLITS:
        raise unknown_name("'moving_shapes' split", split, SPLITS)
    size, frames = int(image_size), int(num_frames)
    if size < 16:
        raise ConfigError(f"image_size must be at least 16; got {image_size}")
    if frames < 2:
        raise ConfigError(f"num_frames must be at least 2 (a motion needs two frames); got {num_frames}")
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index)])
    label = int(rng.integers(len(CLASS_NAMES)))
    kind = SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))]
    r = rng.uniform(*RADIUS) * size
    start = rng.uniform(0, size, 2)  # uniform on the torus, whatever the class
    start_angle = rng.uniform(0, 2 * np.pi)  # uniform, whatever the class
    velocity, omega = motion(label, rng, size)
    background = rng.uniform(*BACKGROUND, 3)
    colour = rng.uniform(*SHAPE_COLOUR, 3)
    steps = np.arange(frames, dtype=np.float32)
    centres = (start + steps[:, None] * np.asarray(velocity)) % size
    alpha = _coverage(kind, centres, start_angle + steps * omega, r, size)[..., None]
    frame = rng.standard_normal((frames, size, size, 3), dtype=np.float32)
    frame *= NOISE
    frame += background.astype(np.float32)
    frame += alpha * (colour.astype(np.float32) - frame)  # (1 - alpha) background + alpha colour
    video = np.clip(np.rint(frame, out=frame), 0, 255, out=frame).astype(np.uint8)
    return {"video": video, "label": np.int64(label), "video_id": f"{split}_{int(index):06d}"}


def render_split(seed: int, split: str, num_examples: int, image_size: int = 64, num_frames: int = 16) -> dict:
    """Examples 0 .. num_examples - 1 of a split as stacked NumPy arrays (for notebooks and tests)."""
    examples = [render_example(seed, split, i, image_size, num_frames) for i in range(int(num_examples))]
    return {
        "video": np.stack([e["video"] for e in examples]),
        "label": np.array([e["label"] for e in examples], np.int64),
        "video_id": np.array([e["video_id"] for e in examples]),
    }


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, image_size=64,
         num_frames=16, num_examples=None):
    """The split as a tf.data.Dataset, rendered on demand (data_dir, manual_dir, on_corrupt: unused)."""
    import tensorflow as tf

    if split not in SPLITS:
        raise ConfigError(
            f"moving_shapes takes a plain split name {tuple(SPLITS)}, not {split!r}; use num_examples= or .take()"
        )
    size, frames = int(image_size), int(num_frames)
    render_example(seed, split, 0, size, frames)  # option errors now, not inside tf.data
    n = DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)

    def lookup(i):
        video, label, video_id = tf.numpy_function(
            lambda j: tuple(render_example(seed, split, int(j), size, frames).values()), [i],
            (tf.uint8, tf.int64, tf.string), stateful=False,
        )
        return {"video": tf.ensure_shape(video, (frames, size, size, 3)), "label": tf.ensure_shape(label, ()),
                "video_id": tf.ensure_shape(video_id, ())}

    return tf.data.Dataset.range(n).map(lookup, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


INFO = DatasetInfo(
    name="moving_shapes",
    task="video_classification",
    summary="Generated clips of one shape moving left/right/up/down or rotating (offline stand-in for UCF101)",
    num_classes=len(CLASS_NAMES),
    class_names=CLASS_NAMES,
    splits=dict(DEFAULT_NUM_EXAMPLES),
    features={
        "video": "uint8 (T, S, S, 3) RGB frames; no single frame tells the class",
        "label": "int64 () 0 left, 1 right, 2 up, 3 down, 4 clockwise, 5 anticlockwise",
        "video_id": "string () '<split>_<index:06d>'",
    },
    is_standin=True,
    stands_in_for="ucf101",
    source="generated by zoo.data.standins.moving_shapes (this repository); "
           "example i is a function of (seed, split, i)",
    options={"image_size": 64, "num_frames": 16, "num_examples": None},
)

register_dataset("moving_shapes", INFO, load)
