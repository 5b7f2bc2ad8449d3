"""The toolkit on the JAX backend (pure keras.ops; only the input gradient dispatches), in a
subprocess because the backend is chosen at import."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

SCRIPT = r'''
import sys
import numpy as np
import keras
assert keras.backend.backend() == "jax"
sys.path.insert(0, sys.argv[1])
from test_backprop import mlp, numpy_backward
from test_methods import object_model
import zoo
from zoo.visualize import art, backprop, occlusion, optimize

model = mlp()
image = np.random.default_rng(1).standard_normal((2, 2, 2)).astype("float32")
for rule in backprop.RULES:
    got = backprop.project(model, image, unit=1, rule=rule)
    np.testing.assert_allclose(got, numpy_backward(model, image, 1, rule), rtol=1e-4, atol=1e-5)
obj = np.zeros((8, 8, 1), "float32"); obj[2:5, 2:5] = 1
maps = occlusion.occlusion(object_model(), obj, 0, size=3, stride=1, feature_layer="feat")
assert np.unravel_index(maps.p_true.argmin(), maps.p_true.shape) == (2, 2)
tiny = zoo.get("test/tiny_classifier", input_shape=(None, None, 3))
x = np.random.default_rng(0).uniform(-1, 1, (16, 16, 3)).astype("float32")
losses = []
optimize.invert(tiny, "conv1", x, beta=1.0, steps=15, lr=0.1, callback=lambda t, v: losses.append(v))
assert losses[-1] < losses[0]
out = art.dream(tiny, "conv1", x, octaves=2, steps=2)
assert out.shape == x.shape and not np.allclose(out, x)
print("jax ok")
'''


@pytest.mark.slow  # a JAX + TensorFlow import in a subprocess: ~3 min wall on the shared 2-core machine
def test_backprop_occlusion_inversion_and_dream_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    here = Path(__file__).parent
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(here)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=here.parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "jax ok" in proc.stdout
