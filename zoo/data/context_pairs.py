"""Patch pairs for context prediction (Doersch, Gupta & Efros, ICCV 2015; C. Doersch's talk on
the paper, the relative-position task): patch A, and patch B at one of the 8 positions around it; the
label is B's position.

The talk names the shortcuts to avoid: "Include a gap", "Jitter the patch locations", and the
"not-so-trivial" chromatic aberration, whose remedies (not stated in the talk; Doersch et al.
ICCV 2015, §3.1) are colour *projection* (remove the green-magenta component, which
chromatic aberration shifts) and colour *dropping* (keep one random channel, replace the other
two by Gaussian noise of 1/100 its standard deviation). The defaults patch 96, gap 48, jitter 7
are the paper's (Doersch et al. ICCV 2015, §3.1).

Pure NumPy functions of an RNG, so that a dataset loader can call them per example.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError

# label -> (row, column) step of patch B from patch A: the 3x3 grid without its centre, row-major
OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
COLOUR_MODES = ("none", "project", "drop")
# unit vector of the green-magenta axis; orthogonal to grey (1, 1, 1)
GREEN_MAGENTA = np.array([-1.0, 2.0, -1.0]) / np.sqrt(6.0)


def min_image_size(patch=96, gap=48, jitter=7) -> int:
    """The smallest image side that holds the 3x3 grid of patches with gaps and jitter."""
    return 3 * patch + 2 * gap + 2 * jitter


def pair_corners(image_shape, label, rng, *, patch=96, gap=48, jitter=7):
    """Top-left corners ((ya, xa), (yb, xb)) of patch A and of patch B at position `label`.

    A is placed uniformly where the whole 3x3 grid (plus jitter) fits, so the position itself
    says nothing about the label; B is one grid step (patch + gap) away, each patch jittered by
    up to `jitter` pixels per axis.
    """
    if not 0 <= label < len(OFFSETS):
        raise ConfigError(f"label {label} is not one of the 8 relative positions 0-7")
    h, w = image_shape[:2]
    need = min_image_size(patch, gap, jitter)
    if h < need or w < need:
        raise ConfigError(f"a {h}x{w} image is too small for patch {patch}, gap {gap}, jitter {jitter}: "
                          f"it needs {need}x{need}; resize it or use smaller patches")
    step = patch + gap
    lo = step + jitter
    ya, xa = (int(rng.integers(lo, n - step - patch - jitter + 1)) for n in (h, w))
    dy, dx = OFFSETS[label]
    ja, jb = rng.integers(-jitter, jitter + 1, size=(2, 2))
    a = (ya + int(ja[0]), xa + int(ja[1]))
    b = (ya + dy * step + int(jb[0]), xa + dx * step + int(jb[1]))
    return a, b


def project_colour(patch):
    """Colour projection: remove each pixel's green-magenta component (x − (x·u) u)."""
    x = np.asarray(patch, np.float64)
    return x - (x @ GREEN_MAGENTA)[..., None] * GREEN_MAGENTA


def drop_colour(patch, rng, noise_fraction=0.01):
    """Colour dropping: keep one random channel; the other two become Gaussian noise with
    `noise_fraction` of the kept channel's standard deviation (around the kept channel's mean)."""
    x = np.asarray(patch, np.float64)
    keep = int(rng.integers(x.shape[-1]))
    kept = x[..., keep]
    out = rng.normal(kept.mean(), noise_fraction * (kept.std() + 1e-12), x.shape)
    out[..., keep] = kept
    return out


def sample_pair(image, rng, *, patch=96, gap=48, jitter=7, colour="none", label=None):
    """(patch_a, patch_b, label) from `image` (H, W, 3); the label uniform over 0-7 unless given.

    Patches come back float64 in the image's units (uint8 images: 0-255, clipped after colour
    processing).
    """
    if colour not in COLOUR_MODES:
        raise ConfigError(f"colour must be one of {COLOUR_MODES}, got {colour!r}")
    label = int(rng.integers(len(OFFSETS))) if label is None else int(label)
    (ya, xa), (yb, xb) = pair_corners(np.shape(image), label, rng, patch=patch, gap=gap, jitter=jitter)
    pa = np.asarray(image[ya:ya + patch, xa:xa + patch], np.float64)
    pb = np.asarray(image[yb:yb + patch, xb:xb + patch], np.float64)
    if colour == "project":
        pa, pb = project_colour(pa), project_colour(pb)
    elif colour == "drop":
        pa, pb = drop_colour(pa, rng), drop_colour(pb, rng)
    if np.asarray(image).dtype == np.uint8:
        pa, pb = np.clip(pa, 0, 255), np.clip(pb, 0, 255)
    return pa, pb, label
