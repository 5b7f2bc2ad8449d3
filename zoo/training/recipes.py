"""Recipes: one TOML file per paper experiment, validated into a typed config.

A recipe names the model, the data, the optimizer, the schedule, the loss and the training
length, and the paper number it targets. Unknown keys are errors that name the key (with a
'did you mean'), so a typo never silently falls back to a default. `--set a.b=value`
overrides any field; the resolved recipe is written next to the checkpoints (`recipe.toml`)
and can be rerun as it is.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from zoo.config_tables import build_table, check_keywords, parse_override
from zoo.recipe_files import find
from zoo.errors import ConfigError, closest_names, unknown_name

@dataclasses.dataclass
class RecipeInfo:
    name: str = ""
    description: str = ""
    # The paper number this recipe targets, e.g. "Long 2016 Table 3.2: FCN-8s 62.7 mean IU (VOC2011 seg11valid)",
    # or "none: demonstration on the offline stand-in" for recipes that target no paper number.
    paper_target: str = ""


@dataclasses.dataclass
class ModelConfig:
    name: str = ""
    options: dict = dataclasses.field(default_factory=dict)  # builder keyword arguments
    weights: str = ""  # initial weights: a registered tag or a path ("" = random init)
    # Stage-wise initialisation (FCN 32s -> 16s -> 8s): load the layers the file has, leave the new
    # ones at their initialisation and list them in the log. Off: the load is strict.
    weights_partial: bool = False
    # Two-stream nets: {suffix: weights} loaded like weights_partial with the suffix appended to the file's
    # layer names (FCN RGB-HHA starts each stream from a trained single-modality FCN-32s, reference solve.py).
    stream_weights: dict = dataclasses.field(default_factory=dict)
    # Training from scratch: re-draw the builder's random conv/dense kernels with this Keras
    # initializer (e.g. "he_normal", He et al. 2015, for deep ReLU nets without pretrained weights).
    # Zero-initialised kernels (FCN's score layers) and frozen layers keep theirs. "" = the builder's.
    kernel_init: str = ""
    # The task to train, when it is not the card's (BiGAN's autoencoder baselines train the bigan_mlp card
    # as an autoencoder, Donahue thesis §5.3.1); "" = the card's task.
    task: str = ""


@dataclasses.dataclass
class DataConfig:
    name: str = ""
    train_split: str = "train"
    eval_split: str = "validation"
    # The dataset eval_split is taken from, when it is not `name` (FCN trains on SBD and validates on
    # VOC2011's seg11valid; the reference solve.py). "" = `name`.
    eval_name: str = ""
    eval_options: dict = dataclasses.field(default_factory=dict)  # eval_name's own options (`options` do not carry over)
    global_batch_size: int = 1
    # [H, W]: pad every image (0 after preprocessing) and label map (ignore label) to this size so that
    # whole images of different sizes batch (FCN with several replicas); [] = no padding.
    pad_to: list = dataclasses.field(default_factory=list)
    shuffle_buffer: int = 1000
    data_dir: str = ""
    manual_dir: str = ""
    on_corrupt: str = "raise"  # raise | skip
    options: dict = dataclasses.field(default_factory=dict)  # dataset options (image_size, ...)
    # Captioning with string captions: the word list (the release's vocabulary.txt format) that encodes
    # them; "" builds it from the training split's captions (zoo.text.vocab.Vocabulary.build).
    vocabulary: str = ""


@dataclasses.dataclass
class OptimizerConfig:
    name: str = "sgd"  # sgd | adam
    learning_rate: float = 0.01
    momentum: float = 0.9  # sgd
    beta_1: float = 0.9  # adam
    beta_2: float = 0.999  # adam
    # Caffe-style L2 weight decay: weight_decay * decay_mult * w is added to the gradient.
    weight_decay: float = 0.0
    clipnorm: float = 0.0  # 0 = off


@dataclasses.dataclass
class ScheduleConfig:
    # Caffe's lr_policy: fixed | step | multistep | poly; cosine as a modern option; plateau (AlexNet, VGG);
    # exp_from_half (BiGAN: constant, then exponential decay to base_lr * gamma from half-way)
    policy: str = "fixed"
    gamma: float = 0.1
    step_size: int = 0  # step
    steps: list = dataclasses.field(default_factory=list)  # multistep boundaries
    power: float = 1.0  # poly
    warmup_steps: int = 0
    patience: int = 1  # plateau: evaluations without improvement of train.monitor before a drop
    max_drops: int = 0  # plateau: at most this many drops (0 = no limit)


@dataclasses.dataclass
class LrMultConfig:
    pattern: str = ""  # fnmatch over variable paths, e.g. "*/bias", "upscore*"
    lr_mult: float = 1.0
    decay_mult: float = 1.0


@dataclasses.dataclass
class LossConfig:
    # normalize = false sums the loss over pixels/examples (the FCN reference: SoftmaxWithLoss
    # normalize: false, hence lr 1e-10); true averages over the valid ones.
    normalize: bool = True
    ignore_label: int = 255
    # Segmentation: patch sampling as loss sampling (Long thesis §3.2.4, §3.3.8): every training step
    # keeps each final-layer cell (a sample_cell x sample_cell block of output pixels, 32 for the
    # stride-32 FCNs) in the loss with probability sample_fraction (p) and ignores the rest. The
    # thesis multiplies the images per batch by 1/p alongside: set data.global_batch_size for that.
    sample_fraction: float = 1.0
    sample_cell: int = 32


@dataclasses.dataclass
class TrainConfig:
    steps: int = 1000
    eval_every: int = 0  # 0 = only at the end
    checkpoint_every: int = 100  # backup interval (steps)
    log_every: int = 10
    steps_per_execution: int = 1
    seed: int = 0
    mixed_precision: str = ""  # "" | mixed_float16 | mixed_bfloat16
    xla: bool = False
    strategy: str = "default"
    deterministic: bool = True  # tf.config.experimental.enable_op_determinism()
    monitor: str = ""  # eval metric for best.weights.h5, e.g. "mean_iu"
    # Steps whose weights are kept as snapshots/step-NNNNNN.weights.h5 (the DCGAN grid keeps epochs 1, 10, 50,
    # 100 and 200 of each run for the two-sample tests, Oquab thesis §5.3.3); [] = none.
    snapshot_steps: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ExportConfig:
    input_shape: list = dataclasses.field(default_factory=list)  # fixed TFLite input (H, W, C)
    calibration_examples: int = 64  # int8 representative data from the train split


@dataclasses.dataclass
class Recipe:
    recipe: RecipeInfo = dataclasses.field(default_factory=RecipeInfo)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    lr_mult: list = dataclasses.field(default_factory=list, metadata={"items": LrMultConfig})
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    # The task's evaluation options (its EvalOptions dataclass, zoo.tasks), checked when the recipe loads.
    eval: dict = dataclasses.field(default_factory=dict)
    # The options of the task's training step (its Options dataclass, zoo.training.steps), likewise.
    step: dict = dataclasses.field(default_factory=dict)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)

    @property
    def name(self) -> str:
        return self.recipe.name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        return dump_toml(self.to_dict())


STRATEGIES = ("default", "mirrored", "multi_worker", "parameter_server", "tpu")
SCHEDULES = ("fixed", "step", "multistep", "poly", "cosine", "plateau", "exp_from_half")
OPTIMIZERS = ("sgd", "adam")


def task_name(r: Recipe, card) -> str:
    """The task the recipe trains: model.task, or the card's."""
    return r.model.task or card.task


def check_task_tables(r: Recipe) -> None:
    """The [eval] and [step] tables checked against the options of the model's task and of its training
    step (ConfigError naming the key), and train.monitor against the metrics the task's evaluator reports."""
    import fnmatch

    from zoo import registry, tasks
    from zoo.training import steps

    card = registry.card(r.model.name)
    check_keywords(card.builder, r.model.options, card.name, prefix="model.options.")
    task = tasks.get(task_name(r, card))
    names = task.metric_names(task.eval_options(r.eval))
    build_table(steps.get(task.step).Options, r.step, ("step",))
    if r.train.monitor and names and not any(fnmatch.fnmatchcase(r.train.monitor, p) for p in names):
        close = closest_names(r.train.monitor, [n for n in names if "*" not in n])
        hint = f"; did you mean {close[0]!r} (--set train.monitor='{close[0]}')?" if close else ""
        raise ConfigError(f"train.monitor = {r.train.monitor!r} is not a metric of the {task.name} task, so no "
                          f"best weights would be kept: its evaluation reports {', '.join(names)}{hint}")


# (field, least value, whether the least value itself is refused): checked when the recipe loads, so that a
# negative interval or rate is an error naming the field instead of a run that never ends or silently diverges.
BOUNDS = (
    ("data.global_batch_size", 1, False), ("data.shuffle_buffer", 1, False), ("train.steps", 1, False),
    ("train.checkpoint_every", 1, False), ("train.eval_every", 0, False), ("train.log_every", 1, False),
    ("train.steps_per_execution", 1, False), ("train.seed", 0, False), ("optimizer.learning_rate", 0, True),
    ("optimizer.momentum", 0, False), ("optimizer.beta_1", 0, False), ("optimizer.beta_2", 0, False),
    ("optimizer.weight_decay", 0, False), ("optimizer.clipnorm", 0, False), ("schedule.gamma", 0, True),
    ("schedule.step_size", 0, False), ("schedule.power", 0, True), ("schedule.warmup_steps", 0, False),
    ("export.calibration_examples", 1, False),
)
BELOW_ONE = ("optimizer.momentum", "optimizer.beta_1", "optimizer.beta_2")
# Builder options that are counts: a positive integer (or "data": the dataset fixes it).
COUNT_OPTIONS = ("num_classes", "vocab_size")


def _out_of_range(field, value, why):
    return ConfigError(f"{field} {why}, got {value!r}: fix the recipe or pass --set {field}=VALUE")


def check_ranges(r: Recipe) -> None:
    """Every numeric field in its range (BOUNDS), builder counts positive integers (ConfigError naming the field)."""
    for field, least, strict in BOUNDS:
        table, key = field.split(".")
        value = getattr(getattr(r, table), key)
        if value < least or (strict and value == least):
            raise _out_of_range(field, value, f"must be {'>' if strict else '>='} {least}")
        if field in BELOW_ONE and value >= 1:
            raise _out_of_range(field, value, "must be below 1")
    for key in COUNT_OPTIONS:
        value = r.model.options.get(key)
        if value is not None and value != "data" and (type(value) is not int or value < 1):
            raise _out_of_range(f"model.options.{key}", value, "must be a positive integer")
    steps = r.schedule.steps
    if any(type(s) is not int or s < 1 for s in steps) or steps != sorted(steps):
        raise _out_of_range("schedule.steps", steps, "must be increasing positive step numbers")
    snaps = list(r.train.snapshot_steps)
    if any(type(s) is not int or not 1 <= s <= r.train.steps for s in snaps) or snaps != sorted(set(snaps)):
        raise _out_of_range("train.snapshot_steps", snaps, f"must be increasing step numbers in 1..train.steps "
                                                           f"({r.train.steps})")
    for i, m in enumerate(r.lr_mult):
        if m.lr_mult < 0 or m.decay_mult < 0:
            raise _out_of_range(f"lr_mult[{i}]", (m.lr_mult, m.decay_mult), "lr_mult and decay_mult must be >= 0")


def _validate(r: Recipe):
    if not r.model.name:
        raise ConfigError("the recipe names no model ([model] name = ...)")
    if not r.data.name:
        raise ConfigError("the recipe names no dataset ([data] name = ...)")
    if r.train.strategy not in STRATEGIES:
        raise unknown_name("strategy", r.train.strategy, STRATEGIES)
    if r.schedule.policy not in SCHEDULES:
        raise unknown_name("schedule policy", r.schedule.policy, SCHEDULES)
    if r.optimizer.name not in OPTIMIZERS:
        raise unknown_name("optimizer", r.optimizer.name, OPTIMIZERS)
    if r.schedule.policy == "step" and r.schedule.step_size <= 0:
        raise ConfigError("schedule.policy = 'step' needs schedule.step_size > 0")
    if r.schedule.policy == "plateau" and not (r.train.monitor and r.data.eval_split and r.train.eval_every > 0):
        raise ConfigError("schedule.policy = 'plateau' watches a validation metric: it needs train.monitor, "
                          "data.eval_split and train.eval_every > 0")
    if r.schedule.patience < 1 or r.schedule.max_drops < 0:
        raise ConfigError("schedule.patience must be >= 1 and schedule.max_drops >= 0")
    check_ranges(r)
    check_task_tables(r)
    if not 0.0 < r.loss.sample_fraction <= 1.0 or r.loss.sample_cell < 1:
        raise ConfigError(f"loss.sample_fraction must be in (0, 1] and loss.sample_cell >= 1, got "
                          f"{r.loss.sample_fraction} and {r.loss.sample_cell}")
    if r.data.pad_to and (len(r.data.pad_to) != 2 or min(r.data.pad_to) < 1):
        raise ConfigError(f"data.pad_to is [height, width]; got {r.data.pad_to}")
    if r.data.on_corrupt not in ("raise", "skip"):
        raise ConfigError(f"data.on_corrupt must be 'raise' or 'skip', got {r.data.on_corrupt!r}")
    if r.train.mixed_precision not in ("", "mixed_float16", "mixed_bfloat16"):
        raise ConfigError(f"train.mixed_precision must be '', 'mixed_float16' or 'mixed_bfloat16', got {r.train.mixed_precision!r}")


def from_dict(data: dict, overrides: list[str] = (), default_name: str = "") -> Recipe:
    data = _deep_copy(data)
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text}: {k} is not a table")
        node[keys[-1]] = value
    r = build_table(Recipe, data)
    if not r.recipe.name:
        r.recipe.name = default_name
    _validate(r)
    return r


def _deep_copy(d):
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


def load(name_or_path: str, overrides: list[str] = ()) -> Recipe:
    path = find(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    return from_dict(data, overrides, default_name=path.stem)


def dump_toml(data: dict) -> str:
    """A TOML writer for the recipe's shape (tables, arrays of tables, scalars, lists, inline dicts)."""

    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {scalar(x)}" for k, x in v.items()) + "}"
        raise TypeError(f"cannot write {v!r} as TOML")

    lines = []
    for section, body in data.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{section}]]")
                lines += [f"{k} = {scalar(v)}" for k, v in item.items()]
                lines.append("")
            continue
        lines.append(f"[{section}]")
        lines += [f"{k} = {scalar(v)}" for k, v in body.items()]
        lines.append("")
    return "\n".join(lines)
