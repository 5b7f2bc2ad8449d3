"""The FCN recipes (zoo/recipes/fcn): one per row of Long 2016 Tables 3.1, 3.2, 3.5-3.7, each loads and
names its target; their initialisation chains (32s -> 16s -> 8s, RGB + HHA -> RGB-HHA) point at runs
of recipes that exist; and the staged chain runs offline under MirroredStrategy on the `shapes`
stand-in with the recipes' own optimiser settings (only data, width and length overridden)."""

import re
from pathlib import Path

import pytest

from tests.training.helpers import REPO, zoo_cmd
from zoo import data, registry
from zoo.training import runner

FCN_RECIPES = sorted((REPO / "zoo" / "recipes" / "fcn").glob("*.toml"))
NAMES = {p.stem for p in FCN_RECIPES}
RUN_WEIGHTS = re.compile(r"^runs/(?P<recipe>[^/]+)/best\.weights\.h5$")

# Every row of the thesis' FCN tables has a recipe (Table 3.4 is fcn8s_voc on the test server).
TABLE_ROWS = {
    "Table 3.1": {"fcn_alexnet_voc2011", "fcn32s_vgg16_voc2011", "fcn_googlenet_voc2011"},
    "Table 3.2": {"fcn32s_fixed_voc", "fcn32s_voc", "fcn16s_voc", "fcn8s_voc"},
    "Table 3.4": {"fcn8s_voc"},
    "Table 3.5": {"fcn32s_rgb_nyud", "fcn32s_rgbd_nyud", "fcn32s_hha_nyud", "fcn32s_rgbhha_nyud", "fcn16s_rgbhha_nyud"},
    "Table 3.6": {"fcn16s_siftflow"},
    "Table 3.7": {"fcn32s_context", "fcn16s_context", "fcn8s_context"},
}


def test_every_table_row_has_a_recipe_that_names_it():
    for table, names in TABLE_ROWS.items():
        for name in names:
            assert name in NAMES, f"{table}: no recipe {name}"
            assert table in runner.load_recipe(REPO / "zoo" / "recipes" / "fcn" / f"{name}.toml").recipe.paper_target


@pytest.mark.parametrize("path", FCN_RECIPES, ids=[p.stem for p in FCN_RECIPES])
def test_recipe_loads_and_its_initialisation_exists(path):
    recipe = runner.load_recipe(path)
    card = registry.card(recipe.model.name)
    assert card.task in ("segmentation", "multitask_segmentation")
    for name in filter(None, (recipe.data.name, recipe.data.eval_name)):
        data.info(name)  # registered
    sources = [recipe.model.weights, *recipe.model.stream_weights.values()]
    assert any(sources), "every FCN starts from ImageNet weights or an earlier stage (thesis §3.3)"
    for weights in filter(None, sources):
        run = RUN_WEIGHTS.match(weights)
        if run:  # an earlier stage: a recipe of this folder whose model shares layers with this one
            assert run["recipe"] in NAMES, f"{weights}: no recipe {run['recipe']}"
            earlier = runner.load_recipe(REPO / "zoo" / "recipes" / "fcn" / f"{run['recipe']}.toml")
            assert recipe.model.weights_partial or recipe.model.stream_weights
            assert earlier.model.options.get("num_classes") == recipe.model.options.get("num_classes")
        else:  # a registered release: `model.tag`
            donor, tag = registry.split_name(weights)
            assert tag in registry.card(donor).weights, weights
    if recipe.loss.normalize is False:  # summed loss: the reference's tiny learning rates
        assert recipe.optimizer.learning_rate <= 1e-10 and recipe.optimizer.momentum == 0.99


STAND_IN = [
    "data.name='shapes'", "data.eval_name=''", "data.eval_split='validation'", "data.global_batch_size=2",
    "data.options={ image_size = 48, num_examples = 8 }", "train.steps=2", "train.eval_every=0",
    "train.checkpoint_every=1", "train.log_every=1", "model.options={ num_classes = 6, width = 32 }",
]


@pytest.mark.slow  # three processes, ~1.5 min on 2 idle cores
@pytest.mark.distributed
def test_staged_chain_runs_under_mirrored_strategy(tmp_path):
    """fcn32s_voc -> fcn16s_voc -> fcn8s_voc, each initialised from the previous stage's weights, two replicas."""
    previous = None
    for stage in ("fcn32s_voc", "fcn16s_voc", "fcn8s_voc"):
        init = f"model.weights='{previous}'" if previous else "model.weights=''"
        args = [a for value in (*STAND_IN, init) for a in ("--set", value)] + ["--strategy", "mirrored", "--cpu-replicas", 2]
        p = zoo_cmd("train", REPO / "zoo" / "recipes" / "fcn" / f"{stage}.toml", "--workdir", tmp_path / stage, *args)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "MirroredStrategy with 2 replica(s)" in p.stdout
        if previous:
            assert f"initialised from {previous}" in p.stdout  # the partial-load report is logged
        previous = tmp_path / stage / "final.weights.h5"
        assert previous.exists()
