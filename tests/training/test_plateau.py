"""The plateau lr policy (AlexNet §5, VGG §3.1: lr / 10 when the validation metric stops improving)
and the validation state a resumed run keeps."""

import csv

import pytest

from tests.training.helpers import write_recipe
from zoo.errors import ConfigError
from zoo.training import runner


def _lrs(workdir):
    with open(workdir / "log.csv") as f:
        return {int(r["step"]): float(r["learning_rate"]) for r in csv.DictReader(f) if r["split"] == "train"}


def test_plateau_drops_the_lr_after_patience_evaluations_without_a_new_best(tmp_path, capsys):
    # lr 1e-30: the weights (and so the metric) cannot move, so every evaluation after the first is "no better".
    path = write_recipe(tmp_path / "r.toml", steps=6, batch=2, lr=1e-30, checkpoint_every=1)
    overrides = ["schedule.policy='plateau'", "schedule.gamma=0.1", "schedule.patience=2", "schedule.max_drops=1",
                 "train.eval_every=1", "train.monitor='mean_iu'", "data.options={ image_size = 16, num_examples = 8 }"]
    runner.train(runner.load_recipe(path, overrides), tmp_path / "run")
    lrs = _lrs(tmp_path / "run")
    # evals at steps 1..5: best at 1; no better at 2, 3 -> drop after 3; at most one drop.
    assert lrs[1] == pytest.approx(1e-30) and lrs[3] == pytest.approx(1e-30)
    assert lrs[4] == pytest.approx(1e-31) and lrs[6] == pytest.approx(1e-31)
    assert capsys.readouterr().out.count("has not improved for 2 evaluation(s)") == 1


def test_plateau_needs_a_monitored_validation_metric(tmp_path):
    path = write_recipe(tmp_path / "r.toml")
    with pytest.raises(ConfigError, match="train.monitor"):
        runner.load_recipe(path, ["schedule.policy='plateau'"])


def test_final_evaluation_is_a_best_candidate(tmp_path):
    """Staged recipes start from runs/<stage>/best.weights.h5: it must exist even when the only
    evaluation is the final one."""
    path = write_recipe(tmp_path / "r.toml", steps=2, batch=2, checkpoint_every=1)
    runner.train(runner.load_recipe(path, ["train.monitor='mean_iu'"]), tmp_path / "run")
    assert (tmp_path / "run" / "best.weights.h5").exists() and (tmp_path / "run" / "eval.json").exists()
