"""Numerically stable softmax and log-softmax in NumPy (float64), for host-side evaluation and decoding.

The one implementation the package uses: evaluators (tasks), caption decoding (zoo.text) and
the video protocol's probability averaging all call these.
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits, scale: float = 1.0) -> np.ndarray:
    """log softmax(scale * logits) over the last axis, in float64."""
    z = scale * np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits, scale: float = 1.0) -> np.ndarray:
    """softmax(scale * logits) over the last axis, in float64."""
    return np.exp(log_softmax(logits, scale))
