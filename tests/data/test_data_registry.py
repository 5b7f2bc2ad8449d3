"""The dataset registry: names, infos, option and split checks, registering new datasets."""

import ast
import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

import zoo.data
from zoo.data import registry
from zoo.errors import ConfigError, DuplicateNameError, UnknownNameError


def test_builtin_datasets_listed_with_complete_infos():
    names = zoo.data.list_datasets()
    assert {"shapes", "voc2012_segmentation", "voc2011_segmentation"} <= set(names)
    assert names == sorted(names)
    for name in names:
        info = zoo.data.info(name)
        assert info.name == name and info.splits and info.features and info.summary
        assert info.num_classes is None or len(info.class_names) == info.num_classes
        # A stand-in says so; a real dataset says where to get it.
        assert info.is_standin or info.instructions
        text = str(info)
        assert name in text and "splits" in text


def _top_level_imports(module):
    """Modules imported at import time of `module` (not inside functions), followed through zoo.data."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not name.startswith("zoo.data"):
            continue  # recorded, not followed
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # `from zoo.data.x import function`
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(open(spec.origin).read())
        for node in tree.body:  # module level only
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            todo += found
    return seen


def test_listing_and_infos_do_not_import_tfds():
    # TFDS adds seconds to start-up; only loading a TFDS-backed dataset needs it.
    for module in ["zoo.data", *registry.dataset_modules()]:
        imported = _top_level_imports(module)
        assert not any(m.split(".")[0] == "tensorflow_datasets" for m in imported), module
        assert "zoo.data.tfds_manual" not in imported
    assert "tensorflow_datasets" in _top_level_imports("zoo.data.segmentation.voc_builder")  # the check sees imports


def test_listing_and_infos_do_not_import_tensorflow_or_keras():
    # In a fresh interpreter: discovery imports every dataset module, and none of them, nor zoo,
    # imports TensorFlow, TensorFlow Datasets or Keras before a dataset is loaded.
    code = (
        "import sys, zoo.data\n"
        "for name in zoo.data.list_datasets():\n"
        "    str(zoo.data.info(name))\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'tensorflow_datasets', 'keras'})\n"
        "print(len(zoo.data.list_datasets()), heavy)\n"
    )
    root = str(pathlib.Path(zoo.data.__file__).parents[2])  # the checkout under test, not an installed zoo
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    count, heavy = out.stdout.strip().split(" ", 1)
    # this process may hold datasets that earlier tests registered; the fresh one holds the package's
    assert heavy == "[]" and 0 < int(count) <= len(zoo.data.list_datasets()), out.stdout + out.stderr


def test_discovery_finds_every_registering_module_and_no_builder():
    # Adding a dataset is adding a module to a group folder: discovery must see every module that
    # registers one, and skip the TFDS builders (they import tensorflow_datasets at top level).
    modules = registry.dataset_modules()
    root = pathlib.Path(registry.__file__).parent
    registering = {
        "zoo.data." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.glob("*/*.py")
        if "register_dataset(" in path.read_text()
    }
    assert registering and registering <= set(modules)
    assert not [m for m in modules if m.endswith("_builder")]
    assert "zoo.data.segmentation.voc" in modules and "zoo.data.standins.shapes" in modules
    assert not [m for m in modules if m.count(".") != 3]  # zoo.data.<group>.<module>: top-level files are shared code


def test_unknown_names_suggest_close_ones():
    with pytest.raises(UnknownNameError, match="did you mean 'shapes'"):
        zoo.data.info("shapse")
    with pytest.raises(UnknownNameError, match="'voc2012_segmentation' split 'val'"):
        zoo.data.load("voc2012_segmentation", "val")


def test_unknown_option_and_on_corrupt_rejected_before_loading():
    with pytest.raises(ConfigError, match="does not take 'image_size'"):
        zoo.data.load("voc2012_segmentation", "train", image_size=64)
    with pytest.raises(ConfigError, match="on_corrupt"):
        zoo.data.load("shapes", "train", on_corrupt="ignore")


def test_tfds_split_syntax_is_checked_by_its_base_names():
    registry._check_split(zoo.data.info("voc2012_segmentation"), "train[:10%]+validation")
    with pytest.raises(UnknownNameError, match="'test'"):
        registry._check_split(zoo.data.info("voc2012_segmentation"), "train+test[:5]")


def test_register_dataset_and_load_through_it(monkeypatch):
    monkeypatch.setattr(registry, "_DATASETS", dict(registry._DATASETS))
    calls = []

    def loader(split, **kwargs):
        calls.append((split, kwargs))
        return "dataset"

    info = zoo.data.DatasetInfo(
        name="toy",
        task="classification",
        summary="a toy",
        num_classes=2,
        class_names=("a", "b"),
        splits={"train": 3},
        options={"size": 1},
    )
    zoo.data.register_dataset("toy", info, loader)
    assert "toy" in zoo.data.list_datasets()
    assert zoo.data.load("toy", "train", seed=4, size=2) == "dataset"
    assert calls == [
        ("train", {"data_dir": None, "manual_dir": None, "seed": 4, "on_corrupt": "raise", "counter": None, "size": 2})
    ]
    with pytest.raises(DuplicateNameError):
        zoo.data.register_dataset("toy", info, loader)
    with pytest.raises(ValueError, match="info.name"):
        zoo.data.register_dataset("other", info, loader)
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        zoo.data.DatasetInfo(name="t", task="c", summary="", num_classes=2, class_names=("a", "b", "c"))
