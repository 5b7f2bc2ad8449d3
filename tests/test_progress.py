"""zoo.progress: a bar on a terminal, a line per 10% in logs, nothing under CI; and where the zoo uses it."""

import io
import sys

import pytest

from zoo import progress
from zoo.progress import Progress, stage, track


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch):
    """The mode depends on the environment: tests choose it themselves."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ZOO_PROGRESS", raising=False)


def test_terminal_shows_one_bar_redrawn_in_place_with_eta_and_metric(monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(clock)))  # 1 s per call
    tty = FakeTTY()
    with Progress(40, "train", unit="steps", stream=tty) as bar:
        assert bar.mode == "bar"
        for step in range(1, 41):
            bar.update(1, loss=1.0 / step)
    text = tty.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1  # one line, redrawn with \r
    frames = [f for f in text.rstrip("\n").split("\r\033[K") if f]
    assert len(frames) >= 40
    assert frames[0].startswith("train   2% |") and "1/40" in frames[0] and "loss 1" in frames[0]
    middle = frames[19]  # 20/40 done: half the bar, and an ETA from the rate so far
    assert " 50% |##########          | 20/40 [" in middle and "<" in middle and "steps/s" in middle
    assert "loss 0.05" in middle
    assert frames[-1].startswith("train 100% |####################| 40/40") and "loss 0.025" in frames[-1]
    assert len(Progress(10, "x" * 300, stream=FakeTTY()).bar(width=80)) == 79  # cut to the terminal


def test_a_log_gets_a_line_per_10_percent_and_a_last_one():
    log = io.StringIO()
    with Progress(200, "eval", unit="batches", stream=log) as p:
        assert p.mode == "log"
        for _ in range(200):
            p.update(1, mean_iu=0.5)
    lines = log.getvalue().splitlines()
    assert [line.split(":")[1].split("%")[0].strip() for line in lines[:-1]] == [str(10 * k) for k in range(1, 10)]
    assert lines[0].startswith("eval: 10% (20/200 batches), ") and "ETA" in lines[0] and lines[0].endswith("mean_iu 0.5")
    assert lines[-1].startswith("eval: 200 batches in ") and "\r" not in log.getvalue()
    stopped = io.StringIO()
    with Progress(100, "train", unit="steps", stream=stopped) as p:
        p.update_to(37)
    assert stopped.getvalue().splitlines()[-1].startswith("train: 37 of 100 steps in")
    quiet = io.StringIO()  # a caller that logs its own lines (the runner)
    with Progress(100, "train", stream=quiet, log_every=None) as p:
        p.update_to(100)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("stream", [FakeTTY, io.StringIO])
def test_silent_under_ci_and_overridable(monkeypatch, stream):
    monkeypatch.setenv("CI", "true")
    out = stream()
    for _ in track(range(50), "x", stream=out):
        pass
    with stage("convert", stream=out):
        pass
    assert out.getvalue() == ""
    monkeypatch.setenv("CI", "false")
    assert progress.mode_for(stream()) == ("bar" if stream is FakeTTY else "log")
    monkeypatch.setenv("ZOO_PROGRESS", "log")
    assert progress.mode_for(FakeTTY()) == "log"


def test_nested_work_reports_nothing_and_write_keeps_the_bar(capsys):
    tty, inner_stream = FakeTTY(), io.StringIO()
    with Progress(10, "train", stream=tty) as outer:
        outer.update(3)
        for _ in track(range(5), "eval", stream=inner_stream):  # the validation inside training
            pass
        with stage("export", stream=inner_stream):
            pass
        progress.write("eval at step 3: mean_iu 0.5")
        cleared, redrawn = tty.getvalue().rsplit("\r\033[K", 1)
    assert cleared.endswith("\r\033[K") and redrawn.startswith("train  30% |")  # cleared, then drawn again
    assert inner_stream.getvalue() == ""
    assert capsys.readouterr().out == "eval at step 3: mean_iu 0.5\n"
    assert progress._ACTIVE == []  # closed work leaves nothing behind


def test_stage_says_how_long_and_whether_it_finished():
    tty = FakeTTY()
    with stage("convert to TFLite int8", stream=tty):
        for _ in track(range(4), "calibrate int8", stream=tty):  # progress inside a stage shows
            pass
    text = tty.getvalue()
    assert text.startswith("\r\033[Kconvert to TFLite int8 ...") and "calibrate int8 100%" in text
    assert text.endswith("convert to TFLite int8: done in 00:00\n")
    log = io.StringIO()
    with pytest.raises(RuntimeError), stage("write SavedModel", stream=log):
        raise RuntimeError("disk full")
    assert log.getvalue() == "write SavedModel: stopped after 00:00\n"


def test_track_knows_a_datasets_length():
    class Batches:  # as tf.data: no len(), a cardinality (-2: unknown)
        def __init__(self, n):
            self.n = n

        def cardinality(self):
            return self.n

        def __iter__(self):
            return iter(range(max(self.n, 3)))

    log = io.StringIO()
    assert list(track(Batches(20), "eval", unit="batches", stream=log)) == list(range(20))
    assert "(2/20 batches)" in log.getvalue()
    log = io.StringIO()
    assert list(track(Batches(-2), "eval", unit="batches", stream=log)) == [0, 1, 2]
    assert log.getvalue().startswith("eval: 3 batches in")


# ------------------------------------------------------------------------------ where the zoo uses it


def test_training_draws_a_bar_on_a_terminal_and_logs_its_rows_elsewhere(tmp_path, monkeypatch, capsys):
    from tests.training.helpers import write_recipe
    from zoo.training import runner

    recipe = runner.load_recipe(str(write_recipe(tmp_path / "r.toml", steps=4, checkpoint_every=2)))
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    runner.train(recipe, tmp_path / "run")
    bar = tty.getvalue()
    assert "train 100% |####################| 4/4" in bar and "loss " in bar and "steps/s" in bar
    assert "eval" in bar  # the final evaluation, after training: its own bar
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a log: the runner's own rows on stdout, no bar
    runner.train(recipe, tmp_path / "run2")
    assert "step 4/4" in capsys.readouterr().out and "train 100%" not in sys.stderr.getvalue()


def test_export_reports_its_stages(tmp_path, capsys):
    import numpy as np

    import tests.tiny_models  # noqa: F401 (registers the tiny models)
    import zoo
    from zoo import export, registry

    model = zoo.get("test/tiny_classifier")
    contract = registry.card("test/tiny_classifier").input_contract
    export.export_savedmodel(model, tmp_path / "sm", input_contract=contract)
    rep = [np.random.default_rng(i).uniform(-1, 1, (2, 16, 16, 3)).astype("float32") for i in range(3)]
    export.export_tflite(model, tmp_path / "m.tflite", input_shape=(16, 16, 3), quantize="int8",
                         representative_data=rep, input_contract=contract)
    err = capsys.readouterr().err  # not a terminal: one line per stage, calibration and verification counted
    for line in ("write SavedModel: done in", "verify SavedModel: done in", "calibrate int8: 3 batches in",
                 "convert to TFLite int8: done in", "verify in LiteRT: "):
        assert line in err, line
