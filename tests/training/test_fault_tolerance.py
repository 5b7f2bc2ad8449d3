"""A training run killed with SIGKILL mid-way resumes from its backup and ends with exactly the
weights of an uninterrupted run (op determinism on; data order a function of seed and step;
dropout's RNG state is part of the backup)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.training.helpers import REPO, read_weights, write_recipe, zoo_cmd


def _backup_step(workdir):
    """The step of the backup a rerun resumes from: the one the `checkpoint` state file names (it is updated
    after the backup's files are complete, so a kill between the two leaves the previous one named)."""
    import re

    state = workdir / "backup" / "checkpoint"
    match = re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state.read_text() if state.exists() else "", re.M)
    return int(match.group(1)) if match else 0


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


def _start_workers(script, recipe, workdir, outs, ports):
    import json
    import os

    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        log = open(f"{outs[i]}.log", "w")  # a file, not a pipe: a full pipe would stall the worker
        proc = subprocess.Popen([sys.executable, str(script), str(recipe), str(workdir), str(outs[i])], env=env,
                                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True)
        proc.log = Path(f"{outs[i]}.log")
        procs.append(proc)
    return procs


@pytest.mark.slow
@pytest.mark.distributed
def test_multi_worker_kill_one_worker_then_restart_both_equals_uninterrupted(tmp_path):
    """README, 'Restarting a multi-worker run': kill one of 2 loopback workers mid-training; the survivor
    stops (its collectives fail) or is stopped; restarting both workers with the same command resumes
    from the chief's backup and ends with the weights of an uninterrupted 2-worker run."""
    from tests.training.test_distributed import WORKER, _free_ports

    steps = 120
    recipe = write_recipe(tmp_path / "r.toml", steps=steps, batch=4, checkpoint_every=10, eval_split="")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    straight = _start_workers(script, recipe, tmp_path / "straight", [tmp_path / "s0.npz", tmp_path / "s1.npz"],
                              _free_ports(2))
    for p in straight:
        assert p.wait(timeout=600) == 0, p.log.read_text()[-3000:]

    run = tmp_path / "killed"
    outs = [tmp_path / "k0.npz", tmp_path / "k1.npz"]
    procs = _start_workers(script, recipe, run, outs, _free_ports(2))
    deadline = time.time() + 300
    while _backup_step(run) < 30 and time.time() < deadline and procs[1].poll() is None:
        time.sleep(0.05)
    assert procs[1].poll() is None, "the run ended before it could be killed; make it longer"
    procs[1].send_signal(signal.SIGKILL)
    try:
        procs[0].wait(timeout=120)  # the survivor's collectives fail
    except subprocess.TimeoutExpired:
        procs[0].send_signal(signal.SIGKILL)  # the restart procedure stops it if it does not stop by itself
        procs[0].wait()
    at_kill = _backup_step(run)
    assert 0 < at_kill < steps and not (run / "final.weights.h5").exists()

    restarted = _start_workers(script, recipe, run, outs, _free_ports(2))
    for p in restarted:
        assert p.wait(timeout=600) == 0, p.log.read_text()[-3000:]
    assert f"resuming tiny from its backup at step {at_kill}" in restarted[0].log.read_text()
    want, got = np.load(tmp_path / "s0.npz"), np.load(outs[0])
    for k in want.files:
        np.testing.assert_array_equal(want[k], got[k], err_msg=k)
    np.testing.assert_array_equal(np.load(outs[1])["arr_0"], got["arr_0"])
