"""The distributed path for real: MirroredStrategy over 2 logical CPU devices, and
MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.training.helpers import REPO, read_weights, write_recipe, zoo_cmd

pytestmark = pytest.mark.distributed


def test_mirrored_matches_default_with_the_same_global_batch(tmp_path):
    recipe = write_recipe(tmp_path / "r.toml", steps=10, batch=4, checkpoint_every=5, eval_split="")
    runs = {}
    for strategy in ("default", "mirrored"):
        p = zoo_cmd("train", recipe, "--strategy", strategy, "--workdir", tmp_path / strategy, "--cpu-replicas", 2)
        assert p.returncode == 0, p.stderr[-3000:]
        assert ("strategy mirrored: MirroredStrategy with 2 replica(s)" in p.stdout) == (strategy == "mirrored"), p.stdout
        runs[strategy] = read_weights(tmp_path / strategy / "final.weights.h5")
    start = None
    for (name_a, a), (name_b, b) in zip(runs["default"], runs["mirrored"]):
        assert name_a == name_b
        # Same data, same init; only the order of floating-point sums differs (per-replica
        # gradients summed across 2 replicas): agreement to float32 round-off.
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=name_a)
    # and training did move the weights (the comparison is not between two untouched inits)
    p = zoo_cmd("train", recipe, "--workdir", tmp_path / "short", "--set", "train.steps=1")
    short = read_weights(tmp_path / "short" / "final.weights.h5")
    assert any(not np.allclose(a, b) for (_, a), (_, b) in zip(short, runs["default"]))


WORKER = """
import json, sys, numpy as np
from zoo.training import recipes, runner
recipe = recipes.load(sys.argv[1], ["train.strategy='multi_worker'"])
res = runner.train(recipe, sys.argv[2])
np.savez(sys.argv[3], *[np.asarray(w) for w in res.model.weights])
print("steps", res.steps)
"""


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_two_processes_end_with_identical_weights(tmp_path):
    recipe = write_recipe(tmp_path / "r.toml", steps=8, batch=4, checkpoint_every=4, eval_split="")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        procs.append(subprocess.Popen([sys.executable, str(script), str(recipe), str(tmp_path / "run"),
                                       str(tmp_path / f"w{i}.npz")], env=env, cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
        assert "steps 8" in out
    assert "strategy multi_worker: " in outs[0][0] and "with 2 replica(s)" in outs[0][0]
    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    assert len(w0.files) == len(w1.files) > 0
    for k in w0.files:
        np.testing.assert_array_equal(w0[k], w1[k], err_msg=k)
    # the chief (worker 0) wrote the run; the other worker left nothing of its own behind
    assert (tmp_path / "run" / "final.weights.h5").exists()
