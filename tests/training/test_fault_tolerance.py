"""A training run killed with SIGKILL mid-way resumes from its backup and ends with exactly the
weights of an uninterrupted run (op determinism on; data order a function of seed and step;
dropout's RNG state is part of the backup)."""

import signal
import subprocess
import sys
import time

import numpy as np

from tests.training.helpers import REPO, read_weights, write_recipe, zoo_cmd


def _backup_step(workdir):
    import re

    steps = [int(m.group(1)) for f in (workdir / "backup").glob("ckpt-*.index") if (m := re.match(r"ckpt-(\d+)", f.name))]
    return max(steps, default=0)


def test_sigkill_then_rerun_equals_uninterrupted(tmp_path):
    steps = 300
    recipe = write_recipe(tmp_path / "r.toml", steps=steps, batch=8, checkpoint_every=20, dropout=0.5, eval_split="")
    ok = zoo_cmd("train", recipe, "--workdir", tmp_path / "straight")
    assert ok.returncode == 0, ok.stderr[-3000:]

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "zoo", "train", str(recipe), "--workdir", str(killed)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.time() + 240
    while _backup_step(killed) < 60 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = _backup_step(killed)
    assert 0 < at_kill < steps and not (killed / "final.weights.h5").exists()

    resumed = zoo_cmd("train", recipe, "--workdir", killed)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming tiny from its backup at step {at_kill}" in resumed.stdout
    for (name_a, a), (name_b, b) in zip(read_weights(tmp_path / "straight" / "final.weights.h5"),
                                        read_weights(killed / "final.weights.h5")):
        assert name_a == name_b
        np.testing.assert_array_equal(a, b, err_msg=name_a)
