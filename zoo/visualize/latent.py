"""Walks through a generator's latent space (Oquab thesis Fig. 5-14, DCGAN latent interpolation;
Radford et al. 2016 §6.1): images G(z_t) along a path from z_0 to z_1.

`mode`: "linear" (z_t = (1 - t) z_0 + t z_1) or "slerp" (along the great circle, which keeps a
Gaussian sample's norm typical; White 2016, "Sampling generative networks").
"""

from __future__ import annotations

import numpy as np

from zoo.errors import InputError, unknown_name

MODES = ("linear", "slerp")


def interpolate_latents(z0, z1, steps: int = 8, mode: str = "slerp") -> np.ndarray:
    """(steps, d) points from z0 to z1, both ends included."""
    z0, z1 = np.asarray(z0, np.float64).ravel(), np.asarray(z1, np.float64).ravel()
    if z0.shape != z1.shape:
        raise InputError(f"z0 and z1 must have the same size; got {z0.size} and {z1.size}")
    if steps < 2:
        raise InputError(f"steps must be at least 2 (the two ends), got {steps}")
    if mode not in MODES:
        raise unknown_name("mode", mode, MODES)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    cos = np.dot(z0, z1) / max(np.linalg.norm(z0) * np.linalg.norm(z1), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if mode == "linear" or omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def interpolation_images(generator, z0, z1, steps: int = 8, mode: str = "slerp") -> np.ndarray:
    """G(z_t) for the path of `interpolate_latents`, as the generator returns them (batch first)."""
    z = interpolate_latents(z0, z1, steps, mode).astype(np.float32)
    return np.asarray(generator(z, training=False))
