"""Shared helpers for the runner tests: a tiny recipe on the `shapes` stand-in, and a subprocess `zoo`."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

TINY_RECIPE = """
[recipe]
name = "{name}"
description = "test: tiny segmenter on shapes"
paper_target = "none: test"

[model]
name = "test/tiny_segmenter"
options = {{ num_classes = 6, dropout = {dropout} }}

[data]
name = "shapes"
global_batch_size = {batch}
eval_split = "{eval_split}"
shuffle_buffer = 64
options = {{ image_size = 16, num_examples = 96 }}

[optimizer]
name = "sgd"
learning_rate = {lr}
momentum = 0.9
weight_decay = 0.0005

[[lr_mult]]
pattern = "*bias"
lr_mult = 2.0
decay_mult = 0.0

[train]
steps = {steps}
checkpoint_every = {checkpoint_every}
eval_every = 0
log_every = {checkpoint_every}
seed = 3
strategy = "{strategy}"
"""


def write_recipe(path, *, name="tiny", steps=12, batch=4, lr=0.05, strategy="default", checkpoint_every=4, dropout=0.0,
                 eval_split="validation"):
    path = Path(path)
    path.write_text(TINY_RECIPE.format(name=name, steps=steps, batch=batch, lr=lr, strategy=strategy,
                                       checkpoint_every=checkpoint_every, dropout=dropout, eval_split=eval_split))
    return path


def zoo_cmd(*args, env=None, **kwargs):
    """Run `python -m zoo ARGS` in a fresh process (TensorFlow's device setup is per process)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "zoo", *map(str, args)], cwd=REPO, env=full_env,
                          capture_output=True, text=True, **kwargs)


def read_weights(path):
    """All arrays of a Keras .weights.h5 file, in file order."""
    import h5py

    out = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.append((name, np.array(obj))) if isinstance(obj, h5py.Dataset) else None)
    return out
