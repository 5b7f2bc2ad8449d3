import math

import numpy as np
import pytest

from zoo.errors import ConfigError, UnknownNameError
from zoo import recipe_files
from zoo.training import recipes, schedules


def _minimal(**extra):
    d = {"model": {"name": "test/tiny_segmenter"}, "data": {"name": "shapes"}}
    for k, v in extra.items():
        d.setdefault(k, {}).update(v)
    return d


def test_unknown_key_is_named_with_suggestion():
    with pytest.raises(ConfigError, match=r"optimizer\.momentun.*did you mean optimizer\.momentum"):
        recipes.from_dict(_minimal(optimizer={"momentun": 0.9}))


def test_unknown_top_level_section():
    with pytest.raises(ConfigError, match="unknown recipe key 'optimiser'"):
        recipes.from_dict({**_minimal(), "optimiser": {}})


def test_wrong_type_is_an_error():
    with pytest.raises(ConfigError, match="train.steps must be int"):
        recipes.from_dict(_minimal(train={"steps": "ten"}))


def test_unknown_strategy_suggests():
    with pytest.raises(UnknownNameError, match="mirrored"):
        recipes.from_dict(_minimal(train={"strategy": "mirored"}))


def test_overrides_are_toml_literals():
    r = recipes.from_dict(_minimal(), ["optimizer.learning_rate=1e-4", "train.strategy=mirrored", "model.options.dropout=0.25"])
    assert r.optimizer.learning_rate == 1e-4
    assert r.train.strategy == "mirrored"
    assert r.model.options == {"dropout": 0.25}


def test_resolved_recipe_round_trips_through_toml():
    import tomllib

    r = recipes.from_dict({**_minimal(), "lr_mult": [{"pattern": "*bias", "lr_mult": 2.0}]})
    again = recipes.from_dict(tomllib.loads(r.to_toml()))
    assert again == r


def test_every_shipped_recipe_validates():
    names = recipe_files.list_recipes()
    assert "fcn8s_shapes_demo" in names
    for name in names:
        r = recipes.load(name)
        assert r.recipe.paper_target, f"{name} must say which paper number it targets (or that it targets none)"


@pytest.mark.parametrize(
    "policy,kw,expect",
    [
        ("fixed", {}, lambda it: 0.1),
        ("step", {"step_size": 30, "gamma": 0.1}, lambda it: 0.1 * 0.1 ** math.floor(it / 30)),
        ("multistep", {"steps": (20, 50), "gamma": 0.5}, lambda it: 0.1 * 0.5 ** ((it >= 20) + (it >= 50))),
        ("poly", {"power": 0.9}, lambda it: 0.1 * (1 - it / 100) ** 0.9),
    ],
)
def test_caffe_lr_policies(policy, kw, expect):
    # sgd_solver.cpp GetLearningRate, written out independently here.
    s = schedules.CaffeSchedule(policy, 0.1, 100, **kw)
    for it in (0, 1, 19, 20, 29, 30, 49, 50, 99):
        assert float(s(it)) == pytest.approx(expect(it), rel=1e-5), (policy, it)
