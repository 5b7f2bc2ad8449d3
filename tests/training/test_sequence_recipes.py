"""The LRCN and Grid LSTM recipes (zoo/recipes/lrcn, zoo/recipes/grid_lstm).

Every recipe must validate against its model card (task, builder options, lr_mult patterns that
match real variables, initial weights that resolve), its dataset (splits, options) and its task
(the monitored metric is one the task reports); stand-ins must say so. The solver numbers are the
releases' (cited per test); the paper numbers must be the cards' (typed once from the thesis and
the slides). The offline recipes train two steps here (reduced where noted).
"""

import fnmatch
import inspect
from pathlib import Path

import numpy as np
import pytest

import keras

import zoo.data
from tests.model_test_configs import SMALL
from zoo import registry
from zoo import recipe_files, tasks
from zoo.training import recipes, runner
from zoo.training.steps.base import variable_multipliers

DIRS = ("lrcn", "grid_lstm")
NAMES = sorted(p.stem for d in DIRS for p in (recipe_files.RECIPES_DIR / d).glob("*.toml"))
# Builder options that only set sizes: replaced by the card's small test configuration to build a model cheaply.
SIZE_OPTIONS = {"width", "units", "hidden", "embed_dim", "input_shape", "num_classes", "vocab_size", "lstm_units",
                "slot_sizes", "fc_units", "patch_size"}
METRICS = {
    "video_classification": {"accuracy", "clip_accuracy", "video_accuracy", "clip_hit@5", "video_hit@5"},
    "captioning": {"cross_entropy", "perplexity", "word_accuracy"},
    "captioning+decode": {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D"},
    "sequence_prediction": {"accuracy", "sequence_accuracy", "cross_entropy", "bits_per_character"},
    "classification": {"accuracy"},
}


def _base(split):
    return split.split("[")[0]


def test_every_table_row_has_its_recipe():
    lrcn = [n for n in NAMES if n.startswith("lrcn")]
    # Table 4.1: single frame and LRCN-fc6, RGB and flow; Tables 4.4-4.7: the captioners; Table 4.9: (a), (b), (c)
    assert {f"lrcn_{m}_{x}_ucf101" for m in ("singleframe", "activity") for x in ("rgb", "flow")} <= set(lrcn)
    assert {f"lrcn_video_description_{a}_tacos" for a in "abc"} <= set(lrcn)
    assert sum(recipes.load(n).data.name == "coco_captions" for n in lrcn) == 9
    grid = [n for n in NAMES if n.startswith("grid_lstm")]
    assert {f"grid_lstm_addition_{v}" for v in ("tied", "untied", "stacked")} <= set(grid)
    assert {"grid_lstm_parity", "grid_lstm_memorization_tied", "grid_lstm_charlm_enwik8",
            "grid_lstm_mnist_digits_standin"} <= set(grid)


@pytest.mark.parametrize("name", NAMES)
def test_recipe_fits_its_model_dataset_and_task(name):
    r = recipes.load(name)
    card = registry.card(r.model.name)
    task = tasks.get(card.task)  # the runner trains it
    assert name in card.recipes()
    params = inspect.signature(card.builder).parameters
    assert set(r.model.options) <= set(params), set(r.model.options) - set(params)

    info = zoo.data.info(r.data.name)
    assert _base(r.data.train_split) in info.splits and set(r.data.options) <= set(info.options)
    eval_info = zoo.data.info(r.data.eval_name or r.data.name)
    assert _base(r.data.eval_split) in eval_info.splits
    assert set(r.data.eval_options) <= set(eval_info.options)
    if info.is_standin:  # a stand-in is never passed off as the paper's data
        assert "standin" in name and r.recipe.paper_target.startswith("none:"), r.recipe.paper_target
    else:
        assert not r.recipe.paper_target.startswith("none") and ("2017" in r.recipe.paper_target
                                                                 or "Kalchbrenner 2015" in r.recipe.paper_target)

    reported = METRICS[card.task] | (METRICS["captioning+decode"] if r.eval.get("decode") else set())
    assert r.train.monitor in reported | {""}
    assert task.name == card.task

    if r.model.weights:
        path = Path(r.model.weights)
        if path.suffix == ".h5":  # another recipe's run, e.g. runs/<recipe>/final.weights.h5
            assert path.parts[0] == "runs" and path.parts[1] in recipe_files.list_recipes(), path
        else:  # another model's released weights, "model.tag"
            donor, tag = registry.split_name(r.model.weights)
            assert tag in registry.card(donor).weights, r.model.weights


LR_MULT_RECIPES = [n for n in NAMES if recipes.load(n).lr_mult]


@pytest.mark.parametrize("name", LR_MULT_RECIPES)
def test_every_lr_mult_pattern_matches_variables_of_the_model(name):
    r = recipes.load(name)
    card = registry.card(r.model.name)
    small = {k: v for k, v in SMALL[card.name].kwargs.items() if k in SIZE_OPTIONS}
    keras.utils.set_random_seed(0)
    model = card.builder(**{**r.model.options, **small})
    paths = [v.path for v in model.trainable_variables]
    for rule in r.lr_mult:
        assert any(fnmatch.fnmatch(p, rule.pattern) for p in paths), (rule.pattern, paths)
    mults = dict(zip(paths, variable_multipliers(model.trainable_variables, r.lr_mult)))
    if r.model.name.startswith("lrcn_activity"):  # train_test_lstm_*.prototxt: the LSTM bias keeps lr 1, decay 1
        assert mults["lstm1/lstm_cell/bias"] == (1.0, 1.0) and mults["conv1/bias"] == (2.0, 0.0)
        assert mults["fc8-final/kernel"] == (10.0, 1.0) and mults["fc8-final/bias"] == (20.0, 0.0)
    if r.data.name == "coco_captions":  # lrcn.prototxt: freeze-convnet freezes conv1 .. fc7, fc8 always at 0.1 / 0.2
        frozen = "_ft_" not in name
        assert mults["conv1/kernel" if "caffenet" in name else "conv1_1/kernel"][0] == (0.0 if frozen else 0.1)
        assert mults["fc7/bias"][0] == (0.0 if frozen else 0.2)
        assert mults["fc8/kernel"][0] == 0.1 and mults["fc8/bias"][0] == 0.2 and mults["predict/bias"][0] == 2.0
        assert all(m[0] == 1.0 for p, m in mults.items() if p.startswith(("embedding", "lstm", "rnn")))


def test_lrcn_recipes_state_the_release_solvers():
    # LisaAnne/lisa-caffe-public lstm_video_deploy, examples/LRCN_activity_recognition/*solver*.prototxt
    rgb, flow = recipes.load("lrcn_activity_rgb_ucf101"), recipes.load("lrcn_activity_flow_ucf101")
    for r in (rgb, flow):
        assert (r.optimizer.learning_rate, r.optimizer.momentum, r.optimizer.weight_decay) == (0.001, 0.9, 0.005)
        assert (r.schedule.policy, r.schedule.gamma, r.data.global_batch_size, r.train.seed) == ("step", 0.1, 24, 1701)
    assert (rgb.schedule.step_size, rgb.train.steps, rgb.optimizer.clipnorm) == (10_000, 30_000, 5.0)
    assert (flow.schedule.step_size, flow.train.steps, flow.optimizer.clipnorm) == (20_000, 70_000, 15.0)
    single = recipes.load("lrcn_singleframe_rgb_ucf101")  # singleFrame_solver_RGB.prototxt
    assert (single.schedule.step_size, single.train.steps, single.optimizer.clipnorm) == (3000, 5000, 0.0)
    assert rgb.model.weights == "runs/lrcn_singleframe_rgb_ucf101/final.weights.h5" and rgb.model.weights_partial
    # BVLC/caffe examples/coco_caption/lrcn_solver.prototxt and lrcn_finetune_solver.prototxt
    frozen, ft = recipes.load("lrcn2f_caffenet_coco"), recipes.load("lrcn2f_caffenet_ft_coco")
    assert (frozen.optimizer.learning_rate, frozen.train.steps, frozen.optimizer.clipnorm) == (0.01, 110_000, 10.0)
    assert (ft.optimizer.learning_rate, ft.train.steps, ft.optimizer.clipnorm) == (0.001, 50_000, 25.0)
    for r in (frozen, ft):
        assert (r.schedule.step_size, r.schedule.gamma, r.optimizer.weight_decay) == (20_000, 0.5, 0.0)
        # lrcn.prototxt: 100 captions a batch; 8,801 words, which the dataset's vocabulary gives ("data")
        assert (r.data.global_batch_size, r.model.options["vocab_size"]) == (100, "data")
    assert ft.model.weights == "runs/lrcn2f_caffenet_coco/final.weights.h5" and not ft.model.weights_partial


@pytest.mark.parametrize("name,card_key", [
    ("lrcn_activity_rgb_ucf101", "LRCN-fc6 RGB"), ("lrcn_activity_flow_ucf101", "LRCN-fc6 flow"),
    ("lrcn_singleframe_rgb_ucf101", "single frame RGB"), ("lrcn_singleframe_flow_ucf101", "single frame flow"),
])
def test_activity_targets_are_the_cards_table_4_1_numbers(name, card_key):
    r = recipes.load(name)
    (value,) = [v for k, v in registry.card(r.model.name).paper_numbers.items() if k.endswith(", " + card_key)]
    assert f"{value:.2f}%" in r.recipe.paper_target


@pytest.mark.parametrize("arch,bleu", [("a", 25.3), ("b", 27.4), ("c", 28.8)])
def test_video_description_targets_are_the_cards_table_4_9_numbers(arch, bleu):
    r = recipes.load(f"lrcn_video_description_{arch}_tacos")
    card = registry.card("lrcn_video_description")
    assert [v for k, v in card.paper_numbers.items() if f"({arch})" in k] == [bleu]
    assert f"{bleu} BLEU-4" in r.recipe.paper_target and r.model.options["architecture"] == arch


def test_grid_lstm_recipes_are_experiments_py_settings():
    # zoo/experiments/grid_lstm.py run_addition / run_memorization / run_charlm / run_digits / run_parity
    for v, layers in (("tied", 8), ("untied", 4), ("stacked", 1)):
        r = recipes.load(f"grid_lstm_addition_{v}")
        assert r.model.options == {"input_shape": [10], "units": 64, "num_layers": layers, "variant": v}
        assert (r.data.options, r.data.global_batch_size, r.train.steps) == (
            {"num_digits": 2, "num_examples": 60_000}, 64, 60_000 // 64)
    charlm = recipes.load("grid_lstm_charlm_pydoc_standin")
    options = charlm.model.options
    assert (options["units"], options["num_layers"], charlm.data.global_batch_size) == (64, 2, 32)
    from zoo.data.sequence import tasks as sequence_tasks

    windows = len(sequence_tasks.pydoc_text("train")["tokens"])
    assert charlm.train.steps == 3 * (windows // 32)  # 3 epochs of full batches
    digits = recipes.load("grid_lstm_mnist_digits_standin")
    assert digits.train.steps == 30 * (zoo.data.info("digits").splits["train"] // 32)
    enwik8 = recipes.load("grid_lstm_charlm_enwik8")
    assert enwik8.model.options["units"] == 1000 and "1.47" in enwik8.recipe.paper_target  # digest §B.2 item 4


def test_digits_standin_is_sklearn_digits_rescaled_to_uint8():
    from sklearn.datasets import load_digits

    train = list(zoo.data.load("digits", "train").as_numpy_iterator())
    test = list(zoo.data.load("digits", "test").as_numpy_iterator())
    assert (len(train), len(test)) == (1437, 360)
    digits = load_digits()
    order = np.random.default_rng(0).permutation(1797)  # zoo.experiments.grid_lstm's split
    np.testing.assert_array_equal([e["label"] for e in test], digits.target[order[:360]])
    np.testing.assert_allclose(test[0]["image"][..., 0] / 255.0, digits.images[order[0]] / 16.0, atol=1 / 510 + 1e-9)
    assert zoo.data.info("digits").stands_in_for == "mnist"


def _vocabulary_file(tmp_path):
    from zoo.data.standins import shape_captions
    from zoo.text.vocab import Vocabulary

    return str(Vocabulary(["<unk>", *shape_captions.vocabulary_words()]).save(tmp_path / "vocabulary.txt"))


OFFLINE = {
    # recipe: overrides that keep it short on 2 CPU cores (none: the recipe as it is)
    "grid_lstm_parity": [],
    "grid_lstm_mnist_digits_standin": ["model.options.num_layers=1"],  # the full 2-layer grid takes 25 s to trace
    "grid_lstm_charlm_pydoc_standin": ["model.options.input_shape=[5]", "data.options.sequence_length=5"],
    "grid_lstm_addition_stacked": ["data.options.num_examples=64"],
    "lrcn_activity_rgb_moving_shapes_standin": ["data.global_batch_size=2", "data.options.num_examples=4"],
    "lrcn_singleframe_rgb_moving_shapes_standin": ["data.global_batch_size=2", "data.options.num_examples=4"],
    "lrcn2f_shape_captions_standin": ["data.global_batch_size=4", "data.options.num_examples=8", "VOCABULARY"],
}
SLOW = ["grid_lstm_addition_tied", "grid_lstm_memorization_tied", "grid_lstm_charlm_pydoc_standin",  # as they are
        "grid_lstm_mnist_digits_standin", "grid_lstm_mnist_relu_digits_standin"]


@pytest.mark.parametrize("name,overrides", [pytest.param(n, o, id=n) for n, o in OFFLINE.items()]
                         + [pytest.param(n, [], marks=pytest.mark.slow, id=f"{n}-full") for n in SLOW])
def test_offline_recipe_trains_two_steps(tmp_path, name, overrides):
    overrides = [f"data.vocabulary='{_vocabulary_file(tmp_path)}'" if o == "VOCABULARY" else o for o in overrides]
    recipe = recipes.load(name, overrides + ["data.shuffle_buffer=16"])
    res = runner.train(recipe, tmp_path / "run", max_steps=2)
    assert res.steps == 2 and np.isfinite(res.final_loss)
    assert list((tmp_path / "run" / "backup").glob("ckpt-2*"))
