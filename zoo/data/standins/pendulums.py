"""`pendulums`: rendered frames of two pendulums hanging below a randomly moving bar (after Oquab thesis
§5.4.1, Fig. 5-13: "two red pendulums hanging below a randomly moving blue bar, attached with green
bars"), the data of the DCGAN latent-interpolation study (Fig. 5-14).

The thesis renders a 3-D scene and gives no dynamics; this generator is OURS and 2-D (stated, not the
paper's): a bar whose centre follows a damped random walk (an Ornstein-Uhlenbeck velocity, reflected at the walls) inside
x in [-0.45, 0.45], y in [0.35, 0.75] of the [-1, 1]^2 world, and two pendulums of lengths L ~ U(0.45, 0.65)
pivoting at the bar's ends (x -/+ 0.3) with the equation of a pendulum on an accelerating pivot,

    L theta'' = -(g + a_y) sin(theta) - a_x cos(theta) - c L theta',

theta measured from the downward vertical, g = 9.81, damping c = 0.8 / s, integrated by semi-implicit
Euler at dt = 0.01 s for 3 s (the frame is the last state, so the pendulums carry the bar's recent
motion). Rendering at 4x resolution, averaged down: a blue bar, green rods and red bobs on a white
background. Example i of a split is a function of (seed, split, i).

Examples: image uint8 (image_size, image_size, 3); label 0 (unlabelled); state float32 (4,): the bar's
x, y and the two angles in radians (for checking what a generator's latent space captures).
"""

from __future__ import annotations

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, unknown_name

SPLITS = {"train": 0, "validation": 1, "test": 2}
DEFAULT_NUM_EXAMPLES = {"train": 5000, "validation": 500, "test": 500}
G, DAMPING, DT, SECONDS = 9.81, 0.8, 0.01, 3.0
BAR_HALF_WIDTH, BAR_X, BAR_Y = 0.3, (-0.45, 0.45), (0.35, 0.75)
COLOURS = {"bar": (40, 70, 220), "rod": (30, 170, 60), "bob": (220, 40, 40)}


def pendulum_step(theta, omega, pivot_accel, length, dt=DT, damping=DAMPING):
    """One semi-implicit Euler step of L theta'' = -(g + a_y) sin(theta) - a_x cos(theta) - c L theta'."""
    alpha = (-(G + pivot_accel[1]) * np.sin(theta) - pivot_accel[0] * np.cos(theta)) / length - damping * omega
    omega = omega + dt * alpha
    return theta + dt * omega, omega


def simulate(rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bar centre (2,), pivot-to-bob angles (2,), lengths (2,)) after SECONDS of the dynamics above."""
    position = np.array([rng.uniform(*BAR_X), rng.uniform(*BAR_Y)])
    velocity = rng.normal(0, 0.3, 2)
    theta, omega = rng.uniform(-0.6, 0.6, 2), rng.normal(0, 1.0, 2)
    length = rng.uniform(0.45, 0.65, 2)
    for _ in range(int(SECONDS / DT)):
        # OU velocity, reflected at the box's walls; the acceleration drives the pendulums
        accel = -1.5 * velocity + rng.normal(0, 6.0, 2)
        velocity = velocity + DT * accel
        position = position + DT * velocity
        for k, (low, high) in enumerate((BAR_X, BAR_Y)):
            if not low <= position[k] <= high:
                position[k] = 2 * (low if position[k] < low else high) - position[k]
                velocity[k] = -velocity[k]
        theta, omega = pendulum_step(theta, omega, accel, length)
    return position, theta, length


def _segment_distance(px, py, a, b):
    d = b - a
    t = np.clip(((px - a[0]) * d[0] + (py - a[1]) * d[1]) / max(float(d @ d), 1e-12), 0, 1)
    return np.hypot(px - (a[0] + t * d[0]), py - (a[1] + t * d[1]))


def render(position, theta, length, image_size=64, oversample=4) -> np.ndarray:
    """The frame as uint8 (image_size, image_size, 3): world [-1, 1]^2, y up."""
    n = image_size * oversample
    coords = (np.arange(n) + 0.5) / n * 2 - 1
    px, py = np.meshgrid(coords, -coords)
    image = np.full((n, n, 3), 255.0)
    pivots = [position + [-BAR_HALF_WIDTH, 0.0], position + [BAR_HALF_WIDTH, 0.0]]
    bobs = [p + L * np.array([np.sin(t), -np.cos(t)]) for p, t, L in zip(pivots, theta, length)]
    for p, b in zip(pivots, bobs):
        image[_segment_distance(px, py, p, b) < 0.025] = COLOURS["rod"]
    image[_segment_distance(px, py, pivots[0], pivots[1]) < 0.05] = COLOURS["bar"]
    for b in bobs:
        image[np.hypot(px - b[0], py - b[1]) < 0.09] = COLOURS["bob"]
    small = image.reshape(image_size, oversample, image_size, oversample, 3).mean(axis=(1, 3))
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def example(seed: int, split: str, index: int, image_size: int = 64) -> dict:
    if split not in SPLITS:
        raise unknown_name("'pendulums' split", split, SPLITS)
    rng = np.random.default_rng([int(seed), SPLITS[split], int(index), 11])
    position, theta, length = simulate(rng)
    return {"image": render(position, theta, length, image_size), "label": np.int64(0),
            "state": np.array([*position, *theta], np.float32)}


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, num_examples=None,
         image_size=64):
    import tensorflow as tf

    if split not in SPLITS:
        raise ConfigError(f"pendulums takes a plain split name {tuple(SPLITS)}, not {split!r}; use num_examples=")
    n = DEFAULT_NUM_EXAMPLES[split] if num_examples is None else int(num_examples)
    if n < 1 or not 8 <= int(image_size) <= 512:
        raise ConfigError(f"need num_examples >= 1 and image_size in 8..512; got {num_examples}, {image_size}")
    size = int(image_size)
    spec = {"image": tf.TensorSpec((size, size, 3), tf.uint8), "label": tf.TensorSpec((), tf.int64),
            "state": tf.TensorSpec((4,), tf.float32)}
    # simulated once (60 ms an example), then read from memory on later epochs
    return tf.data.Dataset.from_generator(lambda: (example(seed, split, i, size) for i in range(n)),
                                          output_signature=spec).cache()


register_dataset("pendulums", DatasetInfo(
    name="pendulums", task="adversarial_generation",
    summary="rendered two-pendulum frames below a randomly moving bar (2-D stand-in for Oquab §5.4.1's scene)",
    splits=dict(DEFAULT_NUM_EXAMPLES),
    features={"image": "uint8 (image_size, image_size, 3) RGB", "label": "int64 () 0",
              "state": "float32 (4,) bar x, bar y, angle 1, angle 2 (radians from the downward vertical)"},
    is_standin=True, stands_in_for=None, options={"num_examples": None, "image_size": 64},
), load)
