"""The dataset registry: one `DatasetInfo` and one loader per dataset name.

A dataset module registers each dataset with `register_dataset(name, info, loader)`;
`zoo.data.load`, `zoo.data.info`, the recipe runner and the CLI read from here.

Discovery (`dataset_modules()`, run on first access): every subpackage of `zoo.data` is a task
group (segmentation/, classification/, video/, text/, sequence/, standins/, ...), and every
module in a group is imported, except
- modules whose name ends in `_builder`: TFDS builders, which import tensorflow_datasets at top
  level; their loader names them in `TfdsLoader(builder="module:Class")` and imports them only
  when data is loaded or prepared;
- modules whose name starts with `_` (private helpers).
So adding a dataset is adding a module to a group folder (and a group is a folder with an
`__init__.py`). Imported modules must stay light: TensorFlow, TensorFlow Datasets and Keras are
imported only inside loaders, so that listing datasets and printing their infos is quick. Helper
modules that register nothing (hha, flow) are imported too and follow the same rule.

A loader is a callable

    loader(split, *, data_dir, manual_dir, seed, on_corrupt, counter, **options) -> tf.data.Dataset

returning unbatched dicts in a deterministic order for a given seed (no shuffling: the
runner shuffles). It may have a `prepare(data_dir=, manual_dir=, on_corrupt=, counter=)`
method that builds the on-disk copy (TFDS datasets); generated datasets have none.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import re
from typing import Any, Callable

from zoo.data.images import check_on_corrupt
from zoo.errors import ConfigError, DuplicateNameError, unknown_name

@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What the zoo knows about one dataset.

    `splits` maps each split name to its number of examples (None where it depends on the
    user's files or on options). `features` maps each key of the loaded dicts to its dtype,
    shape and meaning. `options` lists the loader's keyword options with their defaults.
    `instructions` says how to get the data onto disk (URLs, file names, manual_dir,
    the prepare command); empty for generated datasets.
    """

    name: str
    task: str  # segmentation | classification | detection | captioning | ...
    summary: str
    num_classes: int | None = None
    class_names: tuple = ()
    splits: dict = dataclasses.field(default_factory=dict)
    features: dict = dataclasses.field(default_factory=dict)
    ignore_label: int | None = None
    is_standin: bool = False
    stands_in_for: str | None = None  # the paper dataset a stand-in replaces, if any
    source: str = ""  # who made it, homepage
    citation: str = ""
    license: str = ""
    instructions: str = ""
    options: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.class_names and self.num_classes is not None and len(self.class_names) != self.num_classes:
            raise ValueError(f"{self.name}: {len(self.class_names)} class names for {self.num_classes} classes")

    def __str__(self):
        lines = [f"{self.name}: {self.summary}", f"  task:      {self.task}"]
        if self.is_standin:
            target = f" for {self.stands_in_for}" if self.stands_in_for else " (its own dataset, not a paper's)"
            lines.append(f"  stand-in:  generated offline{target}")
        if self.num_classes is not None:
            lines.append(f"  classes:   {self.num_classes}: {', '.join(self.class_names)}")
        if self.ignore_label is not None:
            lines.append(f"  ignore:    label {self.ignore_label}")
        lines.append(
            "  splits:    " + ", ".join(f"{s} ({n if n is not None else '?'})" for s, n in self.splits.items())
        )
        lines.append("  features:")
        lines += [f"    {k}: {v}" for k, v in self.features.items()]
        if self.options:
            lines.append("  options:   " + ", ".join(f"{k}={v!r}" for k, v in self.options.items()))
        if self.source:
            lines.append(f"  source:    {self.source}")
        if self.instructions:
            lines.append("  getting the data:")
            lines += ["    " + line for line in self.instructions.strip().splitlines()]
        return "\n".join(lines)


@dataclasses.dataclass
class _Entry:
    info: DatasetInfo
    loader: Callable[..., Any]


_DATASETS: dict[str, _Entry] = {}
_loaded = False


def _ensure_loaded():
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in dataset_modules():
        importlib.import_module(module)


def dataset_modules() -> list[str]:
    """The modules discovery imports (see the module docstring), sorted; none is imported here."""
    package = __name__.rpartition(".")[0]  # zoo.data
    found = []
    for group in pkgutil.iter_modules([os.path.dirname(__file__)]):
        if not group.ispkg or group.name.startswith("_"):
            continue
        for module in pkgutil.iter_modules([os.path.join(os.path.dirname(__file__), group.name)]):
            if module.ispkg or module.name.startswith("_") or module.name.endswith("_builder"):
                continue
            found.append(f"{package}.{group.name}.{module.name}")
    return sorted(found)


def register_dataset(name: str, info: DatasetInfo, loader: Callable[..., Any]) -> None:
    """Register `loader` under `name` (which must be `info.name`)."""
    if info.name != name:
        raise ValueError(f"register_dataset({name!r}): info.name is {info.name!r}")
    if name in _DATASETS:
        raise DuplicateNameError(f"dataset {name!r} is already registered")
    _DATASETS[name] = _Entry(info, loader)


def _entry(name: str) -> _Entry:
    _ensure_loaded()
    if name not in _DATASETS:
        raise unknown_name("dataset", name, _DATASETS)
    return _DATASETS[name]


def list_datasets() -> list[str]:
    """Registered dataset names, sorted."""
    _ensure_loaded()
    return sorted(_DATASETS)


def info(name: str) -> DatasetInfo:
    return _entry(name).info


def _check_split(info: DatasetInfo, split: str) -> None:
    # TFDS split syntax is accepted: "train[:10%]", "train+validation".
    for part in split.split("+"):
        base = re.sub(r"\[.*\]$", "", part.strip())
        if base not in info.splits:
            raise unknown_name(f"{info.name!r} split", base, info.splits)


def _check_options(info: DatasetInfo, options: dict) -> None:
    unknown = [k for k in options if k not in info.options]
    if unknown:
        takes = ", ".join(info.options) or "no options"
        raise ConfigError(f"dataset {info.name!r} does not take {', '.join(map(repr, unknown))}; it takes: {takes}")


def load(name, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, **options):
    """Dataset `name`, split `split`, as an unbatched tf.data.Dataset of dicts.

    - Order is deterministic for a given `seed`; nothing is shuffled here.
    - `data_dir`: where prepared data lives (TFDS data_dir; default TFDS's, ~/tensorflow_datasets).
    - `manual_dir`: where the user's downloaded archives are (default <data_dir>/downloads/manual).
    - `on_corrupt`: "raise" (CorruptRecordError naming the record) or "skip" (leave it out and
      count it in `counter`, a `zoo.data.CorruptCounter`).
    - `options`: the dataset's own options (`info(name).options`).
    A dataset that is not on disk raises DatasetNotFoundError saying where to get it.
    """
    entry = _entry(name)
    _check_split(entry.info, split)
    _check_options(entry.info, options)
    check_on_corrupt(on_corrupt)
    return entry.loader(
        split, data_dir=data_dir, manual_dir=manual_dir, seed=seed, on_corrupt=on_corrupt, counter=counter, **options
    )


def model_options(name, *, data_dir=None, manual_dir=None, on_corrupt="raise", **options) -> dict:
    """Builder options that dataset `name` fixes (e.g. {"vocab_size": 8801} for a captioning dataset's
    vocabulary, the CRF's slot_sizes for tacos_multilevel), computed from the prepared data; a recipe
    asks for them with `model.options.KEY = "data"`. {} for datasets that fix none."""
    entry = _entry(name)
    _check_options(entry.info, options)
    check_on_corrupt(on_corrupt)
    fn = getattr(entry.loader, "model_options", None)
    return {} if fn is None else dict(fn(data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt, **options))


def prepare(name, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None) -> None:
    """Build the on-disk copy of dataset `name` from the user's archives (no-op if generated)."""
    entry = _entry(name)
    check_on_corrupt(on_corrupt)
    prepare_fn = getattr(entry.loader, "prepare", None)
    if prepare_fn is not None:
        prepare_fn(data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt, counter=counter)


class TfdsLoader:
    """Loader of a TFDS dataset: TFDS's own (`tfds_name`) or a zoo builder (`builder`).

    `builder` is "module:ClassName" of a `tfds_manual.ManualArchiveBuilder` subclass,
    imported only when data is loaded. `postprocess(example) -> example` maps the decoded
    TFDS records to the zoo's keys and shapes (inside tf.data).
    """

    def __init__(self, tfds_name: str, *, builder: str | None = None, postprocess=None, instructions: str = ""):
        self.tfds_name = tfds_name
        self.builder = builder
        self.postprocess = postprocess
        self.instructions = instructions

    def _import(self):
        if self.builder:
            importlib.import_module(self.builder.split(":")[0])  # registers the builder with TFDS
        from zoo.data import tfds_manual

        return tfds_manual

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None):
        ds = self._import().load_tfds(
            self.tfds_name,
            split,
            data_dir=data_dir,
            manual_dir=manual_dir,
            on_corrupt=on_corrupt,
            counter=counter,
            zoo_builder=self.builder is not None,
            instructions=self.instructions,
        )
        return ds.map(self.postprocess) if self.postprocess else ds

    def prepare(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None):
        self._import().prepare_tfds(
            self.tfds_name,
            data_dir=data_dir,
            manual_dir=manual_dir,
            on_corrupt=on_corrupt,
            counter=counter,
            zoo_builder=self.builder is not None,
            instructions=self.instructions,
        )
