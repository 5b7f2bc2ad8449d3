"""The staged FCN recipes on the `shapes` stand-in (zoo/recipes/shapes/fcn{32,16,8}s_shapes.toml, used by
notebooks/fcn.ipynb): they load and validate, say what they stand in for, chain 32s -> 16s -> 8s
through the weights the runner writes (Long thesis §3.3.2), and a stage-2 step really starts from
the stage-1 weights file with its new skip scores at zero."""

import numpy as np
import pytest

import zoo
from zoo import cli
from zoo.training import recipes

STAGES = ("fcn32s_shapes", "fcn16s_shapes", "fcn8s_shapes")
TABLE_3_2 = {"fcn32s_shapes": "59.4", "fcn16s_shapes": "62.4", "fcn8s_shapes": "62.7"}  # mean IU, seg11valid
SMALL = ["data.options={ image_size = 32, num_examples = 4 }", "data.global_batch_size=2", "train.steps=1",
         "train.checkpoint_every=1", "train.log_every=1"]


@pytest.mark.parametrize("name", STAGES)
def test_recipe_loads_and_names_what_it_stands_in_for(name):
    r = recipes.load(name)
    assert r.model.name == name.split("_")[0] and r.data.name == "shapes"
    assert "Table 3.2" in r.recipe.paper_target and TABLE_3_2[name] in r.recipe.paper_target
    assert "stand-in" in r.recipe.paper_target and "stand-in" in r.recipe.description
    # At 64 px even stride 8 loses the 1-3 px lines; the demonstration needs >= 128.
    assert r.data.options["image_size"] >= 128


def test_stages_chain_through_the_weights_the_runner_writes():
    first, *later = (recipes.load(name) for name in STAGES)
    assert not first.model.weights and first.model.kernel_init  # stage 1 trains from scratch
    for previous, stage in zip(STAGES, later):
        # `zoo train RECIPE` works in runs/RECIPE (cli.py) and writes final.weights.h5 there at the end.
        assert stage.model.weights == f"runs/{previous}/final.weights.h5" and stage.model.weights_partial
        # The same net width, classes, data and seed (the seed also picks the generated splits).
        assert (stage.model.options, stage.data, stage.train.seed) == (first.model.options, first.data, first.train.seed)
        assert stage.optimizer.learning_rate < first.optimizer.learning_rate  # lowered for the new stage (§3.3.2)


def test_a_stage_2_step_starts_from_the_stage_1_weights_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the recipes' relative paths: runs/<recipe>/ under the working directory
    sets = [a for value in SMALL for a in ("--set", value)]
    assert cli.main(["train", "fcn32s_shapes", *sets]) == 0
    stage1 = tmp_path / "runs" / "fcn32s_shapes" / "final.weights.h5"
    assert stage1.exists()
    # One stage-2 step at learning rate 1e-30 (recipes refuse 0): the weights it writes are, to
    # float32 precision, the ones it started from.
    assert cli.main(["train", "fcn16s_shapes", *sets, "--set", "optimizer.learning_rate=1e-30"]) == 0

    options = {"width": 16, "num_classes": 6, "input_shape": (32, 32, 3)}
    fcn32s, fcn16s = zoo.get("fcn32s", **options), zoo.get("fcn16s", **options)
    fcn32s.load_weights(stage1)
    fcn16s.load_weights(tmp_path / "runs" / "fcn16s_shapes" / "final.weights.h5")
    shared = [layer.name for layer in fcn32s.layers if layer.weights and layer.name != "upscore"]
    assert "conv1_1" in shared and "fc7" in shared and "score_fr" in shared
    for name in shared:
        for a, b in zip(fcn32s.get_layer(name).get_weights(), fcn16s.get_layer(name).get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-20, err_msg=name)
    assert np.abs(fcn32s.get_layer("score_fr").get_weights()[0]).sum() > 0  # stage 1 trained its scores
    assert all(np.abs(w).max() < 1e-20 for w in fcn16s.get_layer("score_pool4").get_weights())  # new: zero (§3.3.2)
