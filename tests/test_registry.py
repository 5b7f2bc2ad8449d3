"""The registry and the Python API: names, errors, model cards, heads, weights loading."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import registry
from zoo.errors import ConfigError, DuplicateNameError, UnknownNameError, WeightsFormatError, WeightsMismatchError

from tests.citations import INTERNAL  # shared with tests/test_citations.py


def test_list_models_pattern_and_hidden_test_models():
    assert zoo.list_models("test/*") == []
    assert "test/tiny_segmenter" in zoo.list_models("test/*", include_hidden=True)
    for name in zoo.list_models():
        assert not name.startswith("test/")


def test_unknown_model_names_the_closest():
    with pytest.raises(UnknownNameError, match="tiny_segmenter"):
        registry.card("test/tiny_segmentr")
    with pytest.raises(KeyError):  # also catchable as a KeyError
        zoo.get("no_such_model_anywhere")


def test_registering_twice_raises():
    with pytest.raises(DuplicateNameError):
        registry.register("test/tiny_segmenter", builder="tests.tiny_models:tiny_segmenter", family="t",
                          paper="p", section="s", task="segmentation", input_contract=registry.InputContract(shape=(None, None, 3)))


def test_unknown_builder_option_is_named():
    with pytest.raises(ConfigError, match="'widht'"):
        zoo.get("test/tiny_segmenter", widht=3)


def test_info_has_the_card():
    info = zoo.info("test/tiny_segmenter")
    assert info.task == "segmentation" and info.parameters["total"] > 0
    text = str(info)
    assert "parameters" in text and "input" in text


def _save(model, path):
    model.save_weights(path)
    return path


def test_keras_weights_round_trip_and_head_reinitialised(tmp_path):
    src = zoo.get("test/tiny_segmenter", num_classes=3)
    path = _save(src, tmp_path / "a.weights.h5")
    same = zoo.get("test/tiny_segmenter", num_classes=3, weights=str(path))
    for a, b in zip(src.weights, same.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # another head size: the body loads, the head ("score") keeps a fresh initialisation
    other = zoo.get("test/tiny_segmenter", num_classes=7, weights=str(path))
    np.testing.assert_array_equal(other.get_layer("conv2").get_weights()[0], src.get_layer("conv2").get_weights()[0])
    assert other.get_layer("score").get_weights()[0].shape[-1] == 7


def test_weights_of_another_architecture_fail_and_load_nothing(tmp_path):
    path = _save(zoo.get("test/tiny_classifier"), tmp_path / "c.weights.h5")
    model = zoo.get("test/tiny_segmenter")
    before = [np.asarray(w).copy() for w in model.weights]
    from zoo import weights

    with pytest.raises(WeightsMismatchError, match="nothing was loaded"):
        weights.load_into(model, str(path), card=registry.card("test/tiny_segmenter"), build_kwargs={})
    for b, w in zip(before, model.weights):
        np.testing.assert_array_equal(b, np.asarray(w))


def test_assign_named_lists_every_mismatch():
    from zoo.weights import assign_named, model_to_named

    model = zoo.get("test/tiny_segmenter")
    named = model_to_named(model)
    named["extra_layer"] = [np.zeros(3)]
    del named["conv1"]
    named["conv2"] = [np.zeros((3, 3, 8, 9)), np.zeros(9)]
    with pytest.raises(WeightsMismatchError) as e:
        assign_named(model, named)
    msg = str(e.value)
    assert "conv1" in msg and "extra_layer" in msg and "conv2" in msg


def test_partial_stagewise_load(tmp_path):
    from zoo.weights import assign_named, model_to_named

    model = zoo.get("test/tiny_segmenter", dropout=0.0)
    named = model_to_named(zoo.get("test/tiny_segmenter"))
    del named["score"]
    report = assign_named(model, named, partial=True)
    assert report["initialised"] == ["score"] and "conv1" in report["loaded"]


def test_missing_and_unknown_weights_files(tmp_path):
    with pytest.raises(WeightsFormatError, match="does not exist"):
        zoo.get("test/tiny_segmenter", weights=str(tmp_path / "nope.weights.h5"))
    bad = tmp_path / "w.bin"
    bad.write_bytes(b"xx")
    with pytest.raises(WeightsFormatError, match="cannot tell the format"):
        zoo.get("test/tiny_segmenter", weights=str(bad))
    corrupt = tmp_path / "broken.weights.h5"
    corrupt.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(WeightsMismatchError):
        zoo.get("test/tiny_segmenter", weights=str(corrupt))
    with pytest.raises(UnknownNameError, match="weights tag"):
        zoo.get("test/tiny_segmenter", weights="imagenet")


# --- the shape of a family and the cost of discovery ---------------------------------------------------------

MODELS_DIR = Path(__file__).resolve().parents[1] / "zoo" / "models"
REPO = MODELS_DIR.parents[1]


@pytest.mark.parametrize("family", sorted(p.name for p in MODELS_DIR.iterdir() if (p / "__init__.py").exists()))
def test_every_family_has_one_shape(family):
    """`__init__.py` is a docstring only; `cards.py` registers every card of the family with metadata only
    (it imports the registry and nothing else of the zoo, never Keras); builders live beside it."""
    folder = MODELS_DIR / family
    init = ast.parse((folder / "__init__.py").read_text())
    assert len(init.body) == 1 and isinstance(init.body[0], ast.Expr), f"{family}/__init__.py: a docstring only"
    assert (folder / "cards.py").exists(), f"{family}: cards.py registers the family's models"
    imported = set()
    for node in ast.walk(ast.parse((folder / "cards.py").read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= {"zoo.registry", "__future__"}, f"{family}/cards.py imports {sorted(imported)}"
    cards = [c for c in registry.all_cards() if c.family == family]
    assert cards, f"{family}: no card"
    for card in cards:
        module = card.builder_path.partition(":")[0]
        assert module.startswith(f"zoo.models.{family}.") and module != f"zoo.models.{family}.cards", card.name


def test_register_takes_a_builder_path_only():
    common = dict(family="t", paper="p", section="s", task="segmentation",
                  input_contract=registry.InputContract(shape=(None, None, 3)))
    with pytest.raises(ValueError, match="module:function"):
        registry.register("test/nowhere", builder="tests.tiny_models.tiny_segmenter", **common)
    with pytest.raises(TypeError):  # no decorator form: the builder is named, never passed
        registry.register("test/nowhere", **common)
    assert "test/nowhere" not in registry.list_models(include_hidden=True)
    assert registry.card("test/tiny_segmenter").builder_path == "tests.tiny_models:tiny_segmenter"  # ZOO_PLUGINS


def test_info_states_the_cards_counts_and_counts_a_built_model_on_request():
    card = registry.card("vgg16")
    assert zoo.info("vgg_d").parameters == card.parameters == {"total": 138_357_544, "trainable": 138_357_544}
    small = zoo.info("test/tiny_segmenter", num_classes=5)  # build kwargs: built and counted
    assert small.parameters["total"] == 982 - 27 - 147 + (8 * 5 + 5) + (4 * 4 * 5 * 5 + 5)


LIGHT = """
import sys
import zoo
from zoo import recipe_files, registry
import zoo.data

names = zoo.list_models()
assert len(names) > 40 and "vgg16" in names
for name in names + zoo.list_models(pretrained=True):
    text = str(zoo.info(name))
    assert registry.card(name).summary and "parameters:" in text, name
for name in recipe_files.list_recipes():
    recipe_files.describe(name)
for name in zoo.data.list_datasets():
    str(zoo.data.info(name))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
assert not heavy, heavy[:5]
print("light", len(names))
"""


def test_listing_and_describing_models_recipes_and_datasets_imports_neither_tensorflow_nor_keras():
    p = subprocess.run([sys.executable, "-c", LIGHT], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "light" in p.stdout, p.stderr[-3000:]


CLI_LIGHT = """
import runpy, sys
sys.argv = ["zoo", *sys.argv[1:]]
try:
    runpy.run_module("zoo", run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
assert not heavy, heavy[:5]
"""


@pytest.mark.parametrize("args", [["list"], ["info", "vgg16"], ["recipes"], ["--help"]], ids=" ".join)
def test_light_commands_import_neither_tensorflow_nor_keras(args):
    p = subprocess.run([sys.executable, "-c", CLI_LIGHT, *args], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip()


def test_list_models_finds_a_card_by_its_alias_and_zoo_list_names_the_aliases(capsys):
    """VGG's letters (the paper's names for configurations A, B, D, E) are aliases of vgg11..vgg19."""
    from zoo import cli

    assert zoo.list_models("vgg_a") == ["vgg11"] and zoo.registry.card("vgg_e").name == "vgg19"
    assert "vgg_a" not in zoo.list_models("vgg*")  # one row per card
    assert cli.main(["list", "vgg_d"]) == 0
    out = capsys.readouterr().out
    assert out.split()[0] == "vgg16" and "(also vgg_d)" in out


def test_the_fcn_reference_release_is_registered_with_its_class_counts():
    """12 of the 14 caffemodel-url files of shelhamer/fcn.berkeleyvision.org (siftflow-fcn32s and -fcn8s have no
    card yet; nyud-fcn32s-color-d has no release), each on the card of the net.py it was trained with, at that
    net's class count; no hash was published."""
    release = {spec.url.rsplit("/", 1)[1]: (card, spec) for card in registry.all_cards() if card.family == "fcn"
               for spec in card.weights.values()}
    assert len(release) == 12
    for file, (card, spec) in release.items():
        assert spec.url == f"http://dl.caffe.berkeleyvision.org/{file}" and spec.file_hash is None
        assert spec.num_classes == (40 if file.startswith("nyud") else card.default_num_classes), file
    assert release["fcn8s-heavy-pascal.caffemodel"][1].metrics == {
        "mean IU (released: reference README)": {"seg11valid": 65.5, "seg12test": 67.2}}


def test_zoo_list_columns_are_aligned_for_long_task_names(capsys):
    from zoo import cli

    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    cards = [registry.card(line.split()[0]) for line in lines]
    assert max(len(c.task) for c in cards) > 14  # a task name longer than the old fixed width is listed
    starts = {(line.index(f" {c.task} ", len(c.name)) + 1, line.index(c.paper, len(c.name) + len(c.task)))
              for line, c in zip(lines, cards)}
    assert len(starts) == 1, starts  # the task and paper columns start at one offset on every row


def _card_texts(value):
    """Every string a card carries (paper, section, description, numbers, input contract, weights)."""
    import dataclasses

    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            if not field.name.startswith("_"):
                yield from _card_texts(getattr(value, field.name))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _card_texts(k)
            yield from _card_texts(v)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _card_texts(v)


def test_cards_cite_papers_and_sections_never_internal_notes():
    """What `zoo info` and `zoo list` show comes from published papers, talks and releases only."""
    assert INTERNAL.search("talk in seed 003 (digest laptev_cnn_slides_and_grid_lstm_talks.md §B.4 (c))")
    found = []
    for card in registry.all_cards(include_hidden=True):
        texts = [*_card_texts(card), card.summary, str(zoo.info(card.name))]
        found += [f"{card.name}: {m.group(0)!r} in {t[:120]!r}" for t in texts for m in [INTERNAL.search(t)] if m]
    from zoo import recipe_files  # and what `zoo recipes` shows (each recipe's paper target)

    found += [f"recipe {name}: {m.group(0)!r}" for name in recipe_files.list_recipes()
              for m in [INTERNAL.search(recipe_files.describe(name))] if m]
    assert not found, "\n".join(found)
