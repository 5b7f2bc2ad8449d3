"""`zoo bench-input RECIPE`: the recipe's tf.data training stream measured alone.

    zoo bench-input fcn8s_voc --set data.manual_dir=~/downloads --batches 300

Builds the stream exactly as the runner does (zoo.training.runner.make_datasets: read the TFDS
records, decode, the task's example -> (inputs, targets) map with its preprocessing and
augmentation, batch, prefetch) and times how fast it delivers global batches with no model
consuming them: `--warmup` batches first (the first one also timed alone: opening files, filling
the shuffle buffer), then `--batches` batches. Compare its items/s with the training step's from
`zoo bench NAME --mode train` at the same batch and input size: the pipeline should deliver at
least twice what the step consumes (docs/ARCHITECTURE.md, Performance), or training waits on data.

The row is printed and appended to `<out>/benchmark-input-tensorflow-<device>.csv` (`--out DIR`,
by default the user's cache, as `zoo bench`); `--record` also appends it to the repository's results/.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from pathlib import Path

COLUMNS = ("timestamp", "recipe", "dataset", "split", "global_batch_size", "batches", "items_per_s", "batches_per_s",
           "batch_ms_median", "batch_ms_max", "first_batch_s", "example_shape", "cpus", "tensorflow", "python")


def measure(recipe_name: str, overrides=(), *, batches: int = 200, warmup: int = 10) -> dict:
    """Time `batches` global batches of the recipe's training stream after `warmup` (dict: COLUMNS)."""
    import dataclasses

    import numpy as np
    import tensorflow as tf

    from zoo import registry
    from zoo.errors import ConfigError
    from zoo.training import recipes, runner

    if batches < 1 or warmup < 1:
        raise ConfigError(f"--batches and --warmup must be at least 1, got {batches} and {warmup}")
    recipe = recipes.load(recipe_name, list(overrides))
    # The training stream only: the evaluation split may live in another dataset that is not prepared.
    recipe = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, eval_split=""))
    card = registry.card(recipe.model.name)
    train, _, _ = runner.make_datasets(recipe, card, start_step=0)
    stream = iter(train)

    t = time.perf_counter()
    first = next(stream)
    first_batch_s = time.perf_counter() - t
    for _ in range(warmup - 1):
        next(stream)
    times = []
    start = time.perf_counter()
    for _ in range(batches):
        t = time.perf_counter()
        next(stream)
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    inputs = first[0]
    example = inputs if not isinstance(inputs, dict) else next(iter(inputs.values()))
    size = recipe.data.global_batch_size
    return {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "recipe": recipe_name, "dataset": recipe.data.name, "split": recipe.data.train_split,
        "global_batch_size": size, "batches": batches,
        "items_per_s": round(batches * size / total, 3), "batches_per_s": round(batches / total, 3),
        "batch_ms_median": round(1e3 * statistics.median(times), 2), "batch_ms_max": round(1e3 * max(times), 2),
        "first_batch_s": round(first_batch_s, 3),
        "example_shape": "x".join(str(d) for d in np.shape(example)[1:]),
        "cpus": os.cpu_count(), "tensorflow": tf.__version__, "python": platform.python_version(),
    }


def write(row: dict, results_dir) -> Path:
    from zoo.bench import append_csv
    from zoo.bench.worker import _cpu_device

    path = Path(results_dir) / f"benchmark-input-tensorflow-{_cpu_device().replace(' ', '_')}.csv"
    append_csv(path, [row], COLUMNS)
    return path


def run(args) -> int:
    """`zoo bench-input` (zoo.cli)."""
    from zoo.bench import destinations

    dirs = destinations(args.out, args.record)
    row = measure(args.recipe, args.overrides, batches=args.batches, warmup=args.warmup)
    print(f"{row['recipe']}: {row['items_per_s']} items/s ({row['batches_per_s']} batches of {row['global_batch_size']}"
          f" per s; median {row['batch_ms_median']} ms, max {row['batch_ms_max']} ms per batch; first batch "
          f"{row['first_batch_s']} s; examples {row['example_shape']})")
    for folder in dirs:
        print(f"appended 1 row to {write(row, folder)}")
    return 0
