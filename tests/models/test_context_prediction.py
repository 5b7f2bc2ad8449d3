"""The context-prediction pair network (Doersch et al. 2015): parameter counts from the layers,
shared towers, and its recipe on the texture_pairs stand-in."""

import keras
import numpy as np
import pytest

import zoo
from zoo.registry import card


def hand_count():
    """Parameters from the layer list (pair.py docstring): convs without bias (batch norm follows),
    4 batch-norm numbers per channel, groups halve conv2/4/5's input channels; 96x96 -> pool5 2x2."""
    convs = [(11, 3, 96, 1), (5, 96, 384, 2), (3, 384, 384, 1), (3, 384, 384, 2), (3, 384, 256, 2)]
    tower = sum(k * k * cin // g * cout + 4 * cout for k, cin, cout, g in convs)
    tower += 2 * 2 * 256 * 4096 + 4 * 4096  # fc6
    fusion = 2 * 4096 * 4096 + 4 * 4096 + 4096 * 4096 + 4 * 4096 + 4096 * 8 + 8  # fc7, fc8, fc9
    return tower, tower + fusion


def test_full_size_parameter_counts():
    tower, total = hand_count()
    assert (tower, total) == (card("context_prediction_alexnet").parameters["tower"],
                              card("context_prediction_alexnet").parameters["total"])
    model = zoo.get("context_prediction_alexnet")
    assert model.count_params() == total
    assert model.get_layer("tower").count_params() == tower
    assert model.get_layer("tower").get_layer("pool5").output.shape[1:] == (2, 2, 256)
    assert model.output.shape[1:] == (8,)


def test_the_towers_share_weights_and_the_order_of_patches_matters():
    model = zoo.get("context_prediction_alexnet", width=0.25, fc=64)  # 16 fc7/fc8 units: not all dead
    towers = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert [t.name for t in towers] == ["tower"]  # one tower, called on both patches
    rng = np.random.default_rng(0)
    a, b = (60 * rng.standard_normal((2, 96, 96, 3))).astype("float32")[:, None]
    tower = model.get_layer("tower")
    feats = keras.Model(model.inputs, model.get_layer("fc6_pair").output)({"patch_a": a, "patch_b": b})
    np.testing.assert_allclose(np.asarray(feats)[:, :tower.output.shape[-1]], np.asarray(tower(a)), rtol=1e-5,
                               atol=1e-5)
    # He-scaled random kernels and positive biases everywhere, so that no ReLU of the tiny net is dead
    # whatever the initialisation drew (an all-zero output would make both orders agree)
    for w in model.weights:
        if w.path.endswith("kernel"):
            w.assign(rng.normal(0, np.sqrt(2 / np.prod(w.shape[:-1])), w.shape).astype("float32"))
        elif w.path.endswith("bias"):
            w.assign(np.full(w.shape, 0.1, "float32"))
    ab = np.asarray(model({"patch_a": a, "patch_b": b}))
    ba = np.asarray(model({"patch_a": b, "patch_b": a}))
    assert not np.allclose(ab, ba)


def test_recipe_loads_on_the_standin():
    from zoo.training import runner

    recipe = runner.load_recipe("context_prediction_textures_standin")
    assert recipe.model.name == "context_prediction_alexnet" and recipe.data.name == "texture_pairs"
    assert "stand-in" in recipe.recipe.paper_target


@pytest.mark.slow
def test_small_pair_network_beats_chance_on_the_standin(tmp_path):
    """A width-1/8 pair net on 64x64 patches learns the 8-way task above chance (12.5%) in 300 steps."""
    from zoo.training import runner

    recipe = runner.load_recipe("context_prediction_textures_standin", [
        "model.options.width=0.125", "model.options.fc=256", "model.options.patch_size=64",
        "data.options.patch_size=64", "data.options.gap=32", "data.options.jitter=4", "train.steps=300",
        "train.eval_every=0", "data.global_batch_size=32", "optimizer.learning_rate=0.001"])
    result = runner.train(recipe, tmp_path, fresh=True)
    assert result.metrics["accuracy"] > 0.25, result.metrics
