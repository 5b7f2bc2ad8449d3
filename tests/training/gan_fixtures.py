"""A toy GAN for the adversarial step's tests (test_steps.py): 2-D points from a mixture of 8
Gaussians on a circle, and a tiny generator/discriminator MLP pair (task adversarial_generation).

Registered by `register()` in the process that needs them (a subprocess, or under a
monkeypatched registry), never by importing this module.
"""

from __future__ import annotations

import numpy as np

from zoo.data.registry import DatasetInfo
from zoo.registry import InputContract

MODES = 8
RADIUS = 2.0
STD = 0.05
RING_INFO = DatasetInfo(
    name="test/ring_of_gaussians", task="adversarial_generation",
    summary="test fixture: 2-D points from 8 Gaussians on a circle", splits={"train": 2048, "validation": 256},
    features={"image": "float32 (2,): a point"}, is_standin=True, options={"std": STD},
)
POINT = InputContract(shape=(2,), kind="vector", channel_order=None, mean=None)


def mode_centres() -> np.ndarray:
    angles = 2 * np.pi * np.arange(MODES) / MODES
    return RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_points(split, seed=0, std=STD):
    rng = np.random.default_rng([seed, list(RING_INFO.splits).index(split)])
    n = RING_INFO.splits[split]
    return (mode_centres()[rng.integers(0, MODES, n)] + std * rng.standard_normal((n, 2))).astype(np.float32)


def load_ring(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, std=STD):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices({"image": ring_points(split, seed, std)})


def tiny_gan(noise_dim=4, hidden=64):
    """Generator and discriminator MLPs (two ReLU layers each) in one model."""
    import keras

    def mlp(name, inputs, outputs):
        x = source = keras.Input((inputs,), name=f"{name}_input")
        for i in range(2):
            x = keras.layers.Dense(hidden, activation="relu", name=f"{name}_fc{i}")(x)
        return keras.Model(source, keras.layers.Dense(outputs, name=f"{name}_out")(x), name=name)

    generator, discriminator = mlp("generator", noise_dim, 2), mlp("discriminator", 2, 1)
    z, x = keras.Input((noise_dim,), name="noise"), keras.Input((2,), name="image")
    fake = generator(z)
    return keras.Model({"image": x, "noise": z}, {"generated": fake, "real": discriminator(x), "fake": discriminator(fake)},
                       name="tiny_gan")


def register():
    """Register the fixtures in this process (registry state is per process)."""
    from zoo import registry
    from zoo.data import registry as data_registry

    if "test/ring_of_gaussians" not in data_registry.list_datasets():
        data_registry.register_dataset("test/ring_of_gaussians", RING_INFO, load_ring)
    if "test/tiny_gan" not in registry.list_models(include_hidden=True):
        registry.register("test/tiny_gan", builder="tests.training.gan_fixtures:tiny_gan", family="testing",
                          paper="none (test-only)", section="-", task="adversarial_generation", input_contract=POINT,
                          hidden=True)


def recipe(*, steps=300, updates="simultaneous", critic_steps=1, seed=0, checkpoint_every=100, lr=1e-3, **overrides):
    """A recipe dict for the toy GAN."""
    out = {
        "recipe": {"name": "tiny_gan"},
        "model": {"name": "test/tiny_gan"},
        "data": {"name": "test/ring_of_gaussians", "global_batch_size": 64, "shuffle_buffer": 2048},
        "optimizer": {"name": "adam", "learning_rate": lr, "beta_1": 0.5},
        "step": {"updates": updates, "critic_steps": critic_steps},
        "train": {"steps": steps, "checkpoint_every": checkpoint_every, "log_every": checkpoint_every, "seed": seed},
    }
    for section, values in overrides.items():
        out[section] = {**out.get(section, {}), **values}
    return out


def mode_coverage(samples, far=0.5, std=STD):
    """(number of modes with a sample within 3 std, fraction of samples farther than `far` from every mode)."""
    d = np.linalg.norm(samples[:, None, :] - mode_centres()[None], axis=-1)
    return int((d < 3 * std).any(axis=0).sum()), float((d.min(axis=1) > far).mean())
