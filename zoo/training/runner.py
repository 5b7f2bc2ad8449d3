"""The recipe runner: one step loop for every tf.distribute strategy.

Keras 3's `model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585), so the
runner has its own step: `strategy.run` over `experimental_distribute_dataset`, gradients summed
across replicas by the optimizer, each replica's loss already scaled to the global batch. The
same loop runs under the default strategy, MirroredStrategy and MultiWorkerMirroredStrategy.

Fault tolerance: model, optimizer and step are backed up every `train.checkpoint_every` steps
(tf.train.Checkpoint); a rerun of the same command in the same work directory restores the
backup and replays the data stream from that step, so a killed run ends with the weights an
uninterrupted one would have (op determinism on, data order a function of seed and step).

The task's training step (zoo.training.steps) makes the update: a gradient step runs inside that
loop; a staged step (a learner on frozen features) fits once instead, with the same recipe checks,
evaluation, sidecars and logs.

Work directory layout (written by the chief only):
    recipe.toml            the resolved recipe; a rerun must match it
    backup/                tf.train.Checkpoint for resuming
    checkpoints/           step-NNNNNN.weights.h5 at each evaluation
    snapshots/             step-NNNNNN.weights.h5 at each of train.snapshot_steps
    final.weights.h5       weights at the end, and best.weights.h5 by `train.monitor`
    *.weights.json         sidecar: model name, builder options, dataset, class names, metrics
    log.csv, tensorboard/  training curves
    eval.json              the final evaluation
    features/              a staged step's extracted features (part-NNNNN.npz chunks)
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

import keras

from zoo import progress, registry, tasks
from zoo.errors import ConfigError, NaNLossError, RunStorageError
from zoo.tasks.base import reraise_data_errors
from zoo.training import recipes as recipes_mod
from zoo.training import steps
from zoo.training.steps.base import GradientStep
from zoo.training.strategy import get_strategy, is_chief


@dataclasses.dataclass
class TrainResult:
    workdir: str
    steps: int
    resumed_from: int
    final_loss: float
    metrics: dict
    seconds: float
    weights: str
    model: object = dataclasses.field(default=None, repr=False)


def _log(msg, chief=True):
    if chief:
        progress.write(msg)  # below a progress bar, not across it


def reinitialise_kernels(model, initializer: str, seed: int):
    """Re-draw the random kernels of trainable conv/dense layers (zero-initialised ones stay zero)."""
    # One seed per layer: a Keras initializer with an int seed returns the same array on every call,
    # which would give same-shaped layers identical kernels.
    for i, layer in enumerate(model._flatten_layers(include_self=False)):
        kernel = getattr(layer, "kernel", None)
        if kernel is None or not layer.trainable or not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            continue
        if not np.any(keras.ops.convert_to_numpy(kernel)):
            continue
        init = keras.initializers.get({"class_name": initializer, "config": {"seed": seed * 100003 + i}})
        kernel.assign(init(kernel.shape, kernel.dtype))


def step_options(recipe, task):
    """The recipe's [step] table as the options of the task's training step (checked)."""
    from zoo.config_tables import build_table

    return build_table(steps.get(task.step).Options, recipe.step, ("step",))


def resolve_data_options(recipe):
    """The recipe with every `model.options.KEY = "data"` replaced by the value the dataset fixes
    (zoo.data.model_options: a captioning dataset's vocab_size, TACoS' CRF slot_sizes)."""
    from zoo import data as data_mod

    wanted = sorted(k for k, v in recipe.model.options.items() if v == "data")
    if not wanted:
        return recipe
    d = recipe.data
    paths = {k: v for k, v in (("data_dir", d.data_dir), ("manual_dir", d.manual_dir)) if v}
    given = data_mod.model_options(d.name, on_corrupt=d.on_corrupt, **paths, **d.options)
    missing = [k for k in wanted if k not in given]
    if missing:
        raise ConfigError(f"model.options {', '.join(missing)} = \"data\", but dataset {d.name!r} fixes "
                          + (", ".join(sorted(given)) if given else "no builder options"))
    _log("from the data: " + ", ".join(f"{k} = {given[k]}" for k in wanted))
    options = {**recipe.model.options, **{k: given[k] for k in wanted}}
    return dataclasses.replace(recipe, model=dataclasses.replace(recipe.model, options=options))


def build_model(recipe, card):
    """The recipe's model, with its initial weights if any. Call inside strategy.scope()."""
    from zoo import weights as weights_mod

    options = dict(recipe.model.options)
    model = card.builder(**options)
    if recipe.model.kernel_init:
        reinitialise_kernels(model, recipe.model.kernel_init, recipe.train.seed)
    if recipe.model.weights:
        if recipe.model.weights_partial:
            report = weights_mod.load_partial(model, recipe.model.weights, card=card, build_kwargs=options)
            _log(f"initialised from {recipe.model.weights}: {report}")
        else:
            weights_mod.load_into(model, recipe.model.weights, card=card, build_kwargs=options)
    for suffix, weights in recipe.model.stream_weights.items():
        report = weights_mod.load_partial(model, weights, card=card, build_kwargs=options, suffix=suffix)
        _log(f"stream {suffix!r} initialised from {weights}: {report}")
    return model


def make_datasets(recipe, card, *, start_step: int, model=None, single_pass: bool = False):
    """(train dataset of global batches starting at `start_step`, eval dataset, dataset info); `model`
    (when built) lets the task check it against the data (a captioner's vocabulary size).
    `single_pass`: the training split once, in its stored order, the last batch kept (a staged
    step's feature extraction) instead of the shuffled, repeated stream."""
    from zoo import data as data_mod

    d = recipe.data
    info = data_mod.info(d.name)
    common = dict(seed=recipe.train.seed, on_corrupt=d.on_corrupt, **d.options)
    if d.data_dir:
        common["data_dir"] = d.data_dir
    if d.manual_dir:
        common["manual_dir"] = d.manual_dir

    def load(split):
        return data_mod.load(d.name, split, **common)

    task = tasks.get(recipes_mod.task_name(recipe, card)).bind(recipe, info, load, model)
    if model is not None:
        task.check_targets(model, info)
    to_xy = task.example_to_xy(card.input_contract)

    train = load(d.train_split)
    if not single_pass:
        # Shuffle order is a function of the seed and the epoch, so skipping `start_step` batches after
        # a restart replays exactly the stream an uninterrupted run would have seen.
        train = train.shuffle(d.shuffle_buffer, seed=recipe.train.seed, reshuffle_each_iteration=True).repeat()
    train = train.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if d.pad_to:
        train = train.map(_padder(d.pad_to, recipe.loss.ignore_label), num_parallel_calls=tf.data.AUTOTUNE)
    train = train.batch(d.global_batch_size, drop_remainder=not single_pass)
    if start_step and not single_pass:
        train = train.skip(start_step)
    train = train.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    train = train.with_options(options)

    evaluation = None
    if d.eval_split:
        if d.eval_name:  # another dataset's split (FCN: train on SBD, validate on VOC2011 seg11valid)
            eval_common = {k: v for k, v in common.items() if k not in d.options}
            evaluation = data_mod.load(d.eval_name, d.eval_split, **eval_common, **d.eval_options)
        else:
            evaluation = load(d.eval_split)
        eval_xy = task.eval_example_to_xy(card.input_contract)
        evaluation = evaluation.map(eval_xy, num_parallel_calls=tf.data.AUTOTUNE)
        if d.pad_to:
            evaluation = evaluation.map(_padder(d.pad_to, recipe.loss.ignore_label), num_parallel_calls=tf.data.AUTOTUNE)
        evaluation = evaluation.batch(d.global_batch_size)
        evaluation = evaluation.prefetch(tf.data.AUTOTUNE)
    return train, evaluation, info


def _padder(size, ignore_label):
    """Pad whole images to one size (bottom and right) so that several form a batch: inputs with 0
    (the mean, after preprocessing), label maps with the ignore label, so padding adds no loss and
    no metric counts. FCNs train on whole images of any size (batch 1 in the reference); this is
    how several replicas each get one image. A larger image is an error, not a crop."""
    height, width = (int(v) for v in size)

    def pad(t, value):
        if t.shape.rank not in (2, 3):  # (H, W) label maps and (H, W, C) images; not labels, clips or tokens
            return t
        shape = tf.shape(t)
        check = tf.debugging.assert_less_equal(
            shape[:2], tf.constant([height, width]),
            message=f"an example is larger than data.pad_to = [{height}, {width}]; raise pad_to",
        )
        with tf.control_dependencies([check]):
            paddings = [[0, height - shape[0]], [0, width - shape[1]]] + [[0, 0]] * (t.shape.rank - 2)
            out = tf.pad(t, paddings, constant_values=tf.cast(value, t.dtype))
        return tf.ensure_shape(out, [height, width, *t.shape[2:]])

    def fn(x, y):
        return (tf.nest.map_structure(lambda t: pad(t, 0), x), tf.nest.map_structure(lambda t: pad(t, ignore_label), y))

    return fn


def evaluate(model, dataset, card, ignore_label=255, max_batches=None, eval_cfg=None, recipe=None):
    """The task's metrics on `dataset`; `eval_cfg`: the recipe's [eval] table (None: the task's defaults);
    `recipe` picks the task (model.task, else the card's) and its test protocol ([step], `Task.for_recipe`)."""
    task = tasks.get(card.task if recipe is None else recipes_mod.task_name(recipe, card))
    if recipe is not None:
        task = task.for_recipe(recipe)
    evaluator = task.evaluator(model, ignore_label, task.eval_options(eval_cfg or {}))

    @tf.function(reduce_retracing=True)
    def forward(x):
        return model(x, training=False)

    for i, (x, y) in enumerate(progress.track(dataset, "eval", unit="batches")):
        if max_batches is not None and i >= max_batches:
            break
        evaluator.update(forward(x), y)
    return evaluator.result()


def _save_with_sidecar(model, path: Path, recipe, info, step, metrics):
    """The weights file (atomically) and its sidecar: model name, builder options, dataset, class names, metrics."""
    save_weights_atomic(model, path)
    meta = {
        "model": recipe.model.name,
        "options": recipe.model.options,
        "dataset": recipe.data.name,
        "class_names": list(getattr(info, "class_names", []) or []),
        "recipe": recipe.name,
        "step": int(step),
        "metrics": metrics,
    }
    from zoo.weights import sidecar_path

    sidecar_path(path).write_text(json.dumps(meta, indent=2))


def save_weights_atomic(model, path: Path):
    tmp = path.with_name(path.name.replace(".weights.h5", f".tmp{os.getpid()}.weights.h5"))
    model.save_weights(tmp)
    os.replace(tmp, path)


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "options":
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _check_workdir(workdir: Path, recipe, fresh: bool, chief: bool):
    """Refuse to resume a run of another recipe in the same directory."""
    import tomllib

    stored = workdir / "recipe.toml"
    if workdir.exists() and not workdir.is_dir():
        raise ConfigError(f"--workdir {workdir} is a file, not a directory: pass the directory for the run "
                          "(it is created if missing)")
    if fresh and chief and workdir.exists():
        shutil.rmtree(workdir)
    if stored.exists() and not fresh:
        old = _flatten(tomllib.loads(stored.read_text()))
        new = _flatten(tomllib.loads(recipe.to_toml()))
        # A field that a newer zoo added is absent from an older run's recipe.toml: at its default it is the same run.
        defaults = _flatten(tomllib.loads(recipes_mod.Recipe().to_toml()))
        diff = sorted(k for k in set(old) | set(new) if old.get(k, defaults.get(k)) != new.get(k))
        if diff:
            raise ConfigError(
                f"{workdir} holds a run of a different recipe (differs in {', '.join(diff)}); "
                f"pass another --workdir, or --fresh to discard that run"
            )


def train(recipe, workdir, *, cpu_replicas: int = 2, fresh: bool = False, max_steps: int | None = None) -> TrainResult:
    """Train `recipe` in `workdir`, resuming from its backup if one is there.

    `max_steps` stops early after that many steps (the backup is written), for tests and smoke runs;
    the run resumes from there when called again.
    """
    t_start = time.time()
    if max_steps is not None and max_steps < 1:
        raise ConfigError(f"--max-steps must be >= 1 (the number of steps to run now), got {max_steps}")
    workdir = Path(workdir)
    card = registry.card(recipe.model.name)
    recipe = resolve_data_options(recipe)
    strategy = get_strategy(recipe.train.strategy, cpu_replicas=cpu_replicas)
    chief = is_chief(strategy)
    _log(f"strategy {recipe.train.strategy}: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s)", chief)
    _check_workdir(workdir, recipe, fresh, chief)
    # Non-chief workers of a multi-worker job write their (required) checkpoint copies to a scratch dir.
    writedir = workdir if chief else Path(tempfile.mkdtemp(prefix="zoo-worker-"))
    with _storage_errors(workdir):
        writedir.mkdir(parents=True, exist_ok=True)
        if chief:
            (workdir / "recipe.toml").write_text(recipe.to_toml())

    keras.utils.set_random_seed(recipe.train.seed)
    if recipe.train.deterministic and not recipe.train.xla:
        tf.config.experimental.enable_op_determinism()
    else:
        if recipe.train.deterministic:
            _log("train.xla: op determinism is off (XLA has no deterministic max-pool gradient), so a resumed "
                 "run matches an uninterrupted one only to round-off", chief)
        from tensorflow.python.framework import config as tf_config  # no public switch back off

        tf_config.disable_op_determinism()
    previous_policy = keras.config.dtype_policy()
    if recipe.train.mixed_precision:
        keras.mixed_precision.set_dtype_policy(recipe.train.mixed_precision)
    try:
        with reraise_data_errors(), _storage_errors(workdir):
            return _train(recipe, workdir, writedir, card, strategy, chief, max_steps, t_start)
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)
        if not chief:
            shutil.rmtree(writedir, ignore_errors=True)


FULL_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT)  # only writes fail so
DENIED_ERRNOS = (errno.EACCES, errno.EPERM)  # reads too: the run's only when the path is in the run directory
STORAGE_MESSAGES = ("No space left", "Read-only file system", "Disk quota")


def _is_storage_error(e, workdir) -> bool:
    text = str(getattr(e, "message", "") or e)
    code = getattr(e, "errno", None)
    if code in FULL_ERRNOS or any(m in text for m in STORAGE_MESSAGES):
        return True
    return (code in DENIED_ERRNOS or "Permission denied" in text) and str(workdir) in text


@contextlib.contextmanager
def _storage_errors(workdir):
    """A full disk or a read-only / unwritable run directory while training: a RunStorageError that says what
    was kept (the last backup, which a rerun resumes from) instead of a traceback."""
    try:
        yield
    except (OSError, tf.errors.OpError) as e:
        if not _is_storage_error(e, workdir):
            raise
        text = str(getattr(e, "message", "") or e)
        latest = tf.train.latest_checkpoint(str(Path(workdir) / "backup"))
        kept = (f"the backup at step {latest.rsplit('-', 1)[-1]} ({latest}) is kept" if latest
                else "no backup had been written")
        raise RunStorageError(
            f"writing the run in {workdir} failed ({text.splitlines()[0][:200]}); {kept}. Free space or make the "
            "directory writable and rerun the same command to resume, or pass another --workdir") from e


class _Run:
    """One run's state: the model and its training step (built in the strategy's scope, restored from
    the backup), the validation state, the data and the logs. The training phases (`_gradient_loop`
    or a staged step's `fit`) share it; `finish` evaluates and writes the final weights."""

    def __init__(self, recipe, workdir, writedir, card, strategy, chief):
        self.recipe, self.workdir, self.writedir, self.card, self.chief = recipe, workdir, writedir, card, chief
        task = tasks.get(recipes_mod.task_name(recipe, card))
        step_cls = steps.get(task.step)
        with strategy.scope():
            self.model = build_model(recipe, card)
            # Validation state kept in the backup, so a resumed run neither overwrites a better best.weights.h5
            # nor forgets the plateau schedule's drops.
            self.best = tf.Variable(-math.inf, dtype=tf.float64, trainable=False, name="best_metric")
            self.waited = tf.Variable(0, dtype=tf.int64, trainable=False, name="evals_without_improvement")
            self.drops = tf.Variable(0, dtype=tf.int64, trainable=False, name="lr_drops")
            self.step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.updater = step_cls(self.model, recipe, task, num_replicas=strategy.num_replicas_in_sync,
                                    drops=self.drops, counter=self.step_var, options=step_options(recipe, task))
        self.start_step = self._restore()
        self.gradient = isinstance(self.updater, GradientStep)
        self.train_ds, self.eval_ds, self.info = make_datasets(recipe, card, start_step=self.start_step,
                                                               model=self.model, single_pass=not self.gradient)
        self.tb = tf.summary.create_file_writer(str(writedir / "tensorboard"))
        csv_path = writedir / "log.csv"
        new_csv = not csv_path.exists()
        self.csv_file = open(csv_path, "a", newline="")
        self.log = csv.writer(self.csv_file)
        if new_csv:
            self.log.writerow(["step", "loss", "learning_rate", "seconds", "split", "metrics"])
        self.metrics = {}
        self.t_window = time.time()

    def _restore(self) -> int:
        """The step the backup was written at (0 without one), its state restored."""
        validation_state = {"best": self.best, "waited": self.waited, "drops": self.drops}
        weights = {**{f"model_{i}": v for i, v in enumerate(self.model.variables)}, **self.updater.variables()}
        checkpoint = tf.train.Checkpoint(step=self.step_var, **validation_state, **weights)
        self.manager = tf.train.CheckpointManager(checkpoint, str(self.writedir / "backup"), max_to_keep=2)
        # Every worker restores from the chief's backup (a filesystem all workers see, as for Keras' BackupAndRestore).
        latest = tf.train.latest_checkpoint(str(self.workdir / "backup"))
        if latest:
            stored = {name.split("/")[0] for name, _ in tf.train.list_variables(latest)}
            older = [k for k in validation_state if k not in stored]  # a backup written before zoo kept them
            if older:
                _log(f"the backup has no {', '.join(older)} (an older zoo wrote it): the validation state starts "
                     "afresh", self.chief)
            restore = tf.train.Checkpoint(step=self.step_var, **weights,
                                          **{k: v for k, v in validation_state.items() if k in stored})
            try:
                restore.read(latest).assert_existing_objects_matched()
            except (tf.errors.OpError, IndexError, ValueError, AssertionError) as e:
                raise ConfigError(
                    f"the backup {latest} cannot be read ({type(e).__name__}: {str(e).splitlines()[0][:200]}): it is "
                    f"truncated or damaged. Pass --fresh to start the run again, or delete {latest}.* and the "
                    f"'checkpoint' file in {Path(latest).parent} to resume from the backup before it, if any") from None
        start_step = int(self.step_var.numpy())
        if start_step:
            _log(f"resuming {self.recipe.name} from its backup at step {start_step}", self.chief)
        return start_step

    def log_train(self, step, loss_value, stop_at):
        """The training row of the CSV and TensorBoard logs at `step` (every `log_every` steps and the last)."""
        if not self.chief or not (step % max(self.recipe.train.log_every, 1) == 0 or step == stop_at):
            return
        rates = self.updater.learning_rates(step)
        lr = next(iter(rates.values()), float("nan"))
        seconds = time.time() - self.t_window
        self.log.writerow([step, f"{loss_value:.6g}", f"{lr:.6g}", f"{seconds:.3f}", "train", ""])
        self.csv_file.flush()
        with self.tb.as_default():
            tf.summary.scalar("loss", loss_value, step=step)
            for name, rate in rates.items():
                tf.summary.scalar(name, rate, step=step)
        if not sys.stdout.isatty():
            _log(f"step {step}/{self.recipe.train.steps}  loss {loss_value:.5g}  lr {lr:.3g}  ({seconds:.1f}s)")
        self.t_window = time.time()

    def validate(self, step, *, final=False) -> bool:
        """Evaluate on the eval split, record it, keep best.weights.h5; whether the monitored metric improved."""
        r = self.recipe
        self.metrics = evaluate(self.model, self.eval_ds, self.card, r.loss.ignore_label, eval_cfg=r.eval, recipe=r)
        improved = _improved(r, self.metrics, self.best)  # every worker: the same model, the same split
        if self.chief:
            _record_eval(self.writedir, self.model, r, self.info, step, self.metrics, self.log, self.csv_file, self.tb)
            if final:
                (self.workdir / "eval.json").write_text(
                    json.dumps({"step": step, "split": r.data.eval_split, **self.metrics}, indent=2))
            if improved:
                _save_with_sidecar(self.model, self.writedir / "best.weights.h5", r, self.info, step, self.metrics)
        return improved

    def finish(self, step):
        """The backup at `step`; at the end of training the final evaluation and final.weights.h5."""
        self.manager.save(checkpoint_number=step)
        if step < self.recipe.train.steps:
            return
        if self.eval_ds is not None:
            self.validate(step, final=True)  # the final evaluation is a candidate for best.weights.h5 too
        if self.chief:
            r = self.recipe
            _save_with_sidecar(self.model, self.writedir / "final.weights.h5", r, self.info, step, self.metrics)


def _train(recipe, workdir, writedir, card, strategy, chief, max_steps, t_start) -> TrainResult:
    run = _Run(recipe, workdir, writedir, card, strategy, chief)
    total = recipe.train.steps
    try:
        if run.gradient:
            stop_at = total if max_steps is None else min(total, run.start_step + max_steps)
            with progress.Progress(stop_at, "train", unit="steps", initial=run.start_step, log_every=None,
                                   mode=None if chief else "off") as run.progress:  # logs: log_train's lines
                step, loss_value = _gradient_loop(run, strategy, stop_at)
        else:
            step, loss_value = _staged_fit(run)
        run.finish(step)
    finally:
        run.csv_file.close()
    return TrainResult(
        workdir=str(workdir), steps=step, resumed_from=run.start_step, final_loss=loss_value, metrics=run.metrics,
        seconds=time.time() - t_start, weights=str(workdir / "final.weights.h5") if step >= total else "",
        model=run.model,
    )


def _staged_fit(run):
    """A staged step fits in one piece (resuming its own work, e.g. the feature chunks); the step
    counter then jumps to train.steps. A finished run is not fitted again."""
    total = run.recipe.train.steps
    if run.start_step >= total:
        return run.start_step, float("nan")
    loss_value = run.updater.fit(run.model, run.train_ds, run.writedir, run.chief)
    run.step_var.assign(total)
    run.log_train(total, loss_value, total)
    return total, loss_value


def _gradient_loop(run, strategy, stop_at):
    """The gradient steps from the backup's step to `stop_at`: backups, logs and validation at their intervals."""
    recipe, updater, step_var = run.recipe, run.updater, run.step_var
    iterator = iter(strategy.experimental_distribute_dataset(run.train_ds))

    @tf.function
    def run_steps(it, n):
        loss = tf.constant(0.0)
        finite = tf.constant(True)
        for _ in tf.range(n):
            loss = updater.run(strategy, next(it))
            finite = tf.logical_and(finite, tf.math.is_finite(loss))
            step_var.assign_add(1)
        return loss, finite

    t = recipe.train
    spe = max(1, t.steps_per_execution)
    loss_value = float("nan")
    step = run.start_step
    last_backup = step or None
    while step < stop_at:
        boundaries = [b for b in (t.checkpoint_every, t.eval_every, t.log_every) if b]
        next_stop = min([stop_at, step + spe] + [(step // b + 1) * b for b in boundaries]
                        + [s for s in t.snapshot_steps if s > step])
        loss_t, finite = run_steps(iterator, tf.constant(next_stop - step, tf.int64))
        loss_value = float(loss_t.numpy())
        if not bool(finite.numpy()):
            raise NaNLossError(
                f"the loss became {loss_value} between steps {step} and {next_stop} of {recipe.name}. Try a lower "
                f"learning rate (--set optimizer.learning_rate=...), check that the targets are in range ("
                f"labels in [0, classes) or {recipe.loss.ignore_label}), or turn off mixed precision. "
                + (f"The backup at step {last_backup} is kept; rerunning resumes from it." if last_backup is not None
                   else "No backup was written yet.")
            )
        step = next_stop
        run.progress.update_to(step, loss=loss_value)
        run.log_train(step, loss_value, stop_at)
        # The evaluation before the backup of the same step: a run killed while evaluating resumes from the
        # backup before and evaluates again; the backup holds the validation state after it.
        if run.eval_ds is not None and t.eval_every and step % t.eval_every == 0 and step < t.steps:
            improved = run.validate(step)
            _plateau_step(recipe, improved, run.waited, run.drops, step, run.chief)
        if step in t.snapshot_steps and run.chief:  # before the backup: a kill in between redoes it
            (run.writedir / "snapshots").mkdir(exist_ok=True)
            _save_with_sidecar(run.model, run.writedir / "snapshots" / f"step-{step:06d}.weights.h5", recipe, run.info,
                               step, {})
        if step % t.checkpoint_every == 0:
            run.manager.save(checkpoint_number=step)
            last_backup = step
    return step, loss_value


def _improved(recipe, metrics, best_var) -> bool:
    """Whether the monitored metric beat the best so far (which it then becomes)."""
    monitor = recipe.train.monitor
    value = metrics.get(monitor, -math.inf) if monitor else -math.inf
    if value > float(best_var.numpy()):
        best_var.assign(value)
        return True
    return False


def _plateau_step(recipe, improved, waited_var, drops_var, step, chief):
    """The plateau policy: one more lr drop after `patience` evaluations without a new best."""
    s = recipe.schedule
    if s.policy != "plateau":
        return
    if improved:
        waited_var.assign(0)
        return
    waited_var.assign_add(1)
    if int(waited_var.numpy()) >= s.patience and (s.max_drops == 0 or int(drops_var.numpy()) < s.max_drops):
        drops_var.assign_add(1)
        waited_var.assign(0)
        _log(f"step {step}: {recipe.train.monitor} has not improved for {s.patience} evaluation(s); "
             f"learning rate x{s.gamma} (drop {int(drops_var.numpy())})", chief)


def _record_eval(writedir, model, recipe, info, step, metrics, log, csv_file, tb):
    log.writerow([step, "", "", "", recipe.data.eval_split, json.dumps(metrics)])
    csv_file.flush()
    with tb.as_default():
        for k, v in metrics.items():
            tf.summary.scalar(f"eval/{k}", v, step=step)
    ckpt_dir = writedir / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)
    _save_with_sidecar(model, ckpt_dir / f"step-{step:06d}.weights.h5", recipe, info, step, metrics)
    _log(f"eval at step {step} on {recipe.data.eval_split}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))


def load_recipe(name_or_path, overrides=(), strategy=None):
    extra = list(overrides)
    if strategy:
        extra.append(f"train.strategy={json.dumps(strategy)}")
    return recipes_mod.load(name_or_path, extra)
