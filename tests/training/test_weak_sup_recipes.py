"""The weak_sup recipes (zoo/recipes/weak_sup): each loads, names its table row, and the variants set
the protocol of §4.3-4.5.2; the step rescales each minibatch by its s; the stand-in demo trains
through `python -m zoo train` and reports classification, location and CENTER PRED. APs."""

import json

import numpy as np
import pytest
import tensorflow as tf

from zoo import cli, recipe_files, registry, tasks
from zoo.training import recipes
from zoo.training.steps.weak_sup import WeakSupStep

PAPER = {
    "weak_sup_alexnet1512_voc2012": ("weak_sup", "81.8"), "weak_sup_alexnet1512_voc2012_full_images": ("full_images", "76.0"),
    "weak_sup_alexnet1512_voc2012_masked_pool": ("masked_pool", "82.3"), "weak_sup_overfeat_coco2014": ("weak_sup", "62.8"),
    "weak_sup_overfeat_coco2014_full_images": ("full_images", "51.0"),
    "weak_sup_overfeat_coco2014_masked_pool": ("masked_pool", "62.1"),
    "weak_sup_overfeat_coco2014_single_scale": ("weak_sup", "about 1%"),
}
DEMOS = ("weak_sup_shapes_demo", "weak_sup_shapes_demo_full_images", "weak_sup_shapes_demo_masked_pool")


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_recipes_name_their_row_and_protocol(name):
    r = recipes.load(name)
    variant, number = PAPER[name]
    assert r.step["variant"] == variant and number in r.recipe.paper_target
    assert (r.optimizer.name, r.optimizer.learning_rate, r.optimizer.momentum) == ("sgd", 0.001, 0.9)  # §4.5.1
    assert r.data.global_batch_size == 16 and r.step["canvas"] == 500  # §4.3.2
    if variant == "full_images":  # one scale in training and test (§4.5.2)
        assert r.step["scale_range"] == [1.0, 1.0] and r.eval["scales"] == [1.0]
    elif "single_scale" in name:
        assert r.step["scale_range"] == [1.0, 1.0] and len(r.eval["scales"]) == 6
    else:
        assert r.step["scale_range"] == [0.7, 1.4] and r.eval["scales"] == [0.5, 0.7, 1.0, 1.4, 2.0, 2.8]
    card = registry.card(r.model.name)
    assert r.data.name == ("voc2012_multilabel" if "voc" in name else "coco2014_multilabel")
    assert r.model.options["num_classes"] == card.default_num_classes
    # cells placed at their windows: 224 / 32 (AlexNet trunk, the tables' defaults), 221 / 36 (OverFeat, §4.2.1)
    geometry = (221, 36) if "overfeat" in name else (224, 32)
    assert tasks.get("weak_sup").bind(r, None, None).options.window == geometry[0]
    assert tasks.get("weak_sup").eval_options(r.eval).stride == geometry[1]


def test_demos_are_stand_ins_and_listed():
    names = recipe_files.list_recipes()
    for name in DEMOS:
        assert name in names
        r = recipes.load(name)
        assert r.data.name == "shapes_multilabel" and "stand-in" in r.recipe.paper_target
        # every input the demo makes stays at least the network's 224 window: canvas x smallest scale
        assert r.step["canvas"] * min(r.step["scale_range"] + r.eval["scales"]) >= 224


def test_the_step_rescales_each_minibatch_by_its_drawn_scale():
    r = recipes.load("weak_sup_shapes_demo", ["model.options.width=16"])
    model = registry.card(r.model.name).builder(**r.model.options)
    counter = tf.Variable(5, dtype=tf.int64)
    step = WeakSupStep(model, r, tasks.get("weak_sup"), num_replicas=1, counter=counter,
                       options=tasks.get("weak_sup").bind(r, None, None).options)
    seen = []
    step._grads = lambda x, y: (seen.append(x.shape) or tf.constant(0.0), [None] * len(step.update.variables))
    step.update.apply = lambda grads: None
    step.replica_step((tf.zeros((2, 320, 320, 3)), {}))
    s = float(tf.random.stateless_uniform([], seed=[r.train.seed, 5], minval=0.7, maxval=1.4))
    assert seen == [(2, round(320 * s), round(320 * s), 3)]
    full = recipes.load("weak_sup_shapes_demo_full_images")
    assert WeakSupStep(model, full, tasks.get("weak_sup"), num_replicas=1, counter=counter,
                       options=tasks.get("weak_sup").bind(full, None, None).options).scale() is None


def test_masked_pool_demo_trains_and_reports_location_aps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sets = ["data.options={ image_size = 64, num_examples = 4 }", "data.global_batch_size=2", "train.steps=1",
            "train.checkpoint_every=1", "train.log_every=1", "eval.scales=[1.0]"]
    assert cli.main(["train", "weak_sup_shapes_demo_masked_pool", *[a for v in sets for a in ("--set", v)]]) == 0
    result = json.loads((tmp_path / "runs" / "weak_sup_shapes_demo_masked_pool" / "eval.json").read_text())
    for key in ("mean_ap", "location_map", "center_location_map", "ap_2", "location_ap_2", "center_location_ap_2"):
        assert 0.0 <= result[key] <= 1.0 or np.isnan(result[key])
