"""What every registered model gets for free, in its small test configuration
(tests/model_test_configs.py): build, forward, one training step, `.keras` round trip, SavedModel
and TFLite export with parity, and the same outputs on the JAX backend from the same weights; and
the parameter counts its card states, checked on the model built with default arguments."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras
import tensorflow as tf

from tests.model_test_configs import COUNTED_IN_DEFAULT_TIER, SMALL
from zoo import registry

# The public models and the tests' tiny models that have a small configuration (fixtures that
# register further tiny models in their own tests are not part of this matrix).
CARDS = [c for c in registry.all_cards(include_hidden=True) if not c.hidden or c.name in SMALL]
IDS = [c.name for c in CARDS]
# Configurations marked slow (deep nets whose code paths a shallower sibling already covers, e.g.
# resnet101/152 beside resnet50) export and run on JAX in the slow tier only: their conversion alone takes a minute.
HEAVY = [pytest.param(c, marks=pytest.mark.slow) if SMALL[c.name].slow else c for c in CARDS]
REPO = Path(__file__).resolve().parents[1]


def _small(card):
    config = SMALL[card.name]
    shape = config.input_shape or tuple(card.input_contract.shape)
    assert all(s is not None for s in shape), f"{card.name}: give input_shape for a model of free input size"
    return dict(config.kwargs), tuple(shape)


def test_every_public_model_has_a_small_configuration_and_stated_counts():
    public = {c.name for c in registry.all_cards()}
    assert public - set(SMALL) == set(), "add the missing models to tests/model_test_configs.py"
    assert set(SMALL) - {c.name for c in registry.all_cards(include_hidden=True)} == set(), "configs of no model"
    for card in registry.all_cards(include_hidden=True):
        if card.name in SMALL:
            assert card.parameters.get("total", 0) > 0, f"{card.name}: its card states no parameter count"
    assert COUNTED_IN_DEFAULT_TIER <= set(SMALL)


# Full-size builds of the 60M-275M parameter nets take seconds to minutes each on 2 cores: they are
# counted in the slow tier, a fast representative subset (tests/model_test_configs.py) in the default tier.
COUNTED = [c if c.name in COUNTED_IN_DEFAULT_TIER else pytest.param(c, marks=pytest.mark.slow) for c in CARDS]


@pytest.mark.parametrize("card", COUNTED, ids=IDS)
def test_stated_parameter_counts_match_the_built_model(card):
    """`parameters` on the card (what `zoo info` prints without building) equals the default-size model's counts."""
    measured = card.parameter_count()
    keras.backend.clear_session()
    stated = card.parameters
    assert stated and {k: measured[k] for k in stated} == stated


def _input(card, model, shape, batch=2, seed=0):
    """A batch for the model: one array, or {input name: array} for models with several inputs
    (two-stream nets such as fcn32s_rgbhha); free dimensions take the test shape's sizes."""
    rng = np.random.default_rng(seed)

    def one(input_shape, dtype):
        full = tuple(s if s is not None else shape[i] for i, s in enumerate(input_shape[1:]))
        if card.input_contract.kind == "tokens" or "int" in str(dtype):  # token ids, e.g. a captioner's words
            return rng.integers(0, 10, (batch, *full)).astype(str(dtype) if "int" in str(dtype) else card.input_contract.dtype)
        # inputs in the scale of a mean-subtracted image, so layers see realistic magnitudes
        scale = 1.0 if card.input_contract.std is not None else 60.0
        return (scale * rng.standard_normal((batch, *full))).astype("float32")

    if len(model.inputs) == 1:
        return one((None, *shape), model.inputs[0].dtype)
    return {t.name: one(tuple(t.shape), t.dtype) for t in model.inputs}


def _first(out):
    if isinstance(out, dict):  # named outputs (a GAN's generated / real / fake): the first one
        return next(iter(out.values()))
    return out[0] if isinstance(out, (list, tuple)) else out


def _randomise_zero_kernels(model):
    """Zero-initialised score layers (FCN, as in the reference) make every output 0, and a parity
    check between zeros cannot fail; give such kernels random values of a He-like scale."""
    rng = np.random.default_rng(0)
    for w in model.trainable_weights:
        value = np.asarray(w)
        if value.ndim >= 2 and not value.any():
            fan_in = int(np.prod(value.shape[:-1]))
            w.assign((rng.standard_normal(value.shape) * np.sqrt(2.0 / fan_in)).astype(value.dtype))


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(card):
        if card.name not in cache:
            kwargs, shape = _small(card)
            keras.utils.set_random_seed(0)
            model = card.builder(**kwargs)
            _randomise_zero_kernels(model)
            cache[card.name] = (model, kwargs, shape)
        return cache[card.name]

    return get


@pytest.mark.parametrize("card", CARDS, ids=IDS)
def test_build_and_forward(card, built):
    model, kwargs, shape = built(card)
    x = _input(card, model, shape)
    y = _first(model(x, training=False))
    y = np.asarray(y)
    assert np.all(np.isfinite(y))
    assert y.shape[0] == 2
    if card.task == "segmentation":
        assert y.shape[1:3] == shape[:2], "a segmenter's output has its input's height and width"
    if card.summary == "":
        pytest.fail(f"{card.name}: the builder needs a docstring citing its paper and section")


@pytest.mark.parametrize("card", CARDS, ids=IDS)
def test_one_training_step(card, built):
    model, kwargs, shape = built(card)
    x = tf.nest.map_structure(tf.constant, _input(card, model, shape, seed=1))
    out = _first(model(x, training=False))
    targets = tf.zeros(out.shape[:-1], tf.int32)
    before = [np.asarray(v).copy() for v in model.trainable_variables]
    opt = keras.optimizers.SGD(1e-3)
    with tf.GradientTape() as tape:
        logits = _first(model(x, training=True))
        if logits.shape[-1] == 1:  # one logit (a GAN discriminator): sigmoid cross-entropy, softmax over one class is 0
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(logits, tf.float32),
                                                                          tf.cast(logits, tf.float32)))
        else:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, tf.cast(logits, tf.float32)))
    grads = tape.gradient(loss, model.trainable_variables)
    assert np.isfinite(float(loss))
    assert any(g is not None for g in grads), "no gradient reaches any trainable variable"
    opt.apply_gradients([(g, v) for g, v in zip(grads, model.trainable_variables) if g is not None])
    moved = sum(not np.array_equal(b, np.asarray(v)) for b, v in zip(before, model.trainable_variables))
    assert moved > 0
    for b, v in zip(before, model.trainable_variables):  # put the weights back for the next tests
        v.assign(b)


@pytest.mark.parametrize("card", CARDS, ids=IDS)
def test_keras_file_round_trip(card, built, tmp_path):
    model, kwargs, shape = built(card)
    x = _input(card, model, shape, seed=2)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(_first(again(x, training=False)), _first(model(x, training=False)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("card", HEAVY, ids=IDS)
def test_export_savedmodel_and_tflite_parity(card, built, tmp_path):
    from zoo import export

    model, kwargs, shape = built(card)
    check = _input(card, model, shape, batch=1, seed=3)
    if isinstance(check, dict):  # several inputs (two-stream FCNs, captioners): shapes and inputs by name
        shape = {name: x.shape[1:] for name, x in check.items()}
    sm = export.export_savedmodel(model, tmp_path / "sm", input_contract=card.input_contract, input_shape=shape,
                                  check_inputs=check)
    assert sm.max_abs_diff <= sm.tolerance
    lite = export.export_tflite(model, tmp_path / "m.tflite", input_shape=shape, check_inputs=check,
                                input_contract=card.input_contract)
    assert lite.max_abs_diff <= lite.tolerance and lite.size_bytes > 0
    assert [o["name"] for o in lite.outputs] == list(model.output_names)  # every output compared


JAX_SCRIPT = """
import json, sys, numpy as np
import keras
from zoo import registry
assert keras.backend.backend() == "jax"
jobs = json.load(open(sys.argv[1]))
for job in jobs:
    card = registry.card(job["name"])
    model = card.builder(**job["kwargs"])
    model.load_weights(job["weights"])
    data = np.load(job["input"])
    x = data["x"] if data.files == ["x"] else {k: data[k] for k in data.files}
    out = model(x, training=False)
    out = next(iter(out.values())) if isinstance(out, dict) else out
    out = out[0] if isinstance(out, (list, tuple)) else out
    np.save(job["output"], np.asarray(out))
print("jax ok", len(jobs))
"""


def _jax_default_tier():
    """The first default-tier card of each family: JAX compiles every model anew (7 minutes for all of
    them on 2 cores), and one per family already runs each family's layers; the rest run in the slow tier."""
    first = {}
    for card in CARDS:
        if not SMALL[card.name].slow:
            first.setdefault(card.family, card.name)
    # and the families' members with their own layer kinds: the 3-d Grid LSTM, the LRCN captioner, Caffe's RNN
    return set(first.values()) | {"grid_lstm_translation", "lrcn1u", "lrcn2f_rnn"}


JAX_DEFAULT_TIER = _jax_default_tier()


@pytest.mark.parametrize("tier", ["default", pytest.param("slow", marks=pytest.mark.slow)])
def test_every_model_gives_the_same_outputs_on_jax(built, tmp_path, tier):
    """One JAX subprocess for all models of a tier (backend choice is per process): same weights, same outputs."""
    jobs, expected = [], {}
    for card in [c for c in CARDS if (c.name in JAX_DEFAULT_TIER) == (tier == "default")]:
        model, kwargs, shape = built(card)
        x = _input(card, model, shape, batch=1, seed=4)
        safe = card.name.replace("/", "_")
        np.savez(tmp_path / f"{safe}_x.npz", **(x if isinstance(x, dict) else {"x": x}))
        model.save_weights(tmp_path / f"{safe}.weights.h5")
        expected[card.name] = np.asarray(_first(model(x, training=False)))
        jobs.append({"name": card.name, "kwargs": kwargs, "weights": str(tmp_path / f"{safe}.weights.h5"),
                     "input": str(tmp_path / f"{safe}_x.npz"), "output": str(tmp_path / f"{safe}_y.npy")})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    (tmp_path / "jax_run.py").write_text(JAX_SCRIPT)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    p = subprocess.run([sys.executable, str(tmp_path / "jax_run.py"), str(tmp_path / "jobs.json")], env=env,
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-4000:]
    for job in jobs:
        got = np.load(job["output"])
        want = expected[job["name"]]
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, atol=1e-4 * scale, rtol=1e-4, err_msg=job["name"])


def _onnx_params():
    """One card per family in the default tier (as for JAX below), the rest in the slow tier."""
    return [c if c.name in JAX_DEFAULT_TIER else pytest.param(c, marks=pytest.mark.slow) for c in CARDS]


@pytest.mark.parametrize("card", _onnx_params(), ids=IDS)
def test_export_onnx_parity(card, built, tmp_path):
    """Keras's ONNX exporter, run in ONNX Runtime: every output within the fp32 tolerance of Keras."""
    pytest.importorskip("onnxruntime")
    from zoo import export

    model, kwargs, shape = built(card)
    check = _input(card, model, shape, batch=2, seed=6)
    if isinstance(check, dict):
        shape = {name: x.shape[1:] for name, x in check.items()}
    report = export.export_onnx(model, tmp_path / "m.onnx", input_contract=card.input_contract, input_shape=shape,
                                check_inputs=check)
    assert report.max_abs_diff <= report.tolerance and report.size_bytes > 0
    assert [o["name"] for o in report.outputs] == list(model.output_names)


FULL_SIZE = [c for c in CARDS if not c.hidden and c.task == "classification" and c.input_contract.kind == "image"
             and c.family not in ("lrcn", "grid_lstm")]


@pytest.mark.slow
@pytest.mark.parametrize("card", FULL_SIZE, ids=[c.name for c in FULL_SIZE])
def test_full_size_export_parity(card, tmp_path):
    """The paper-size network (default arguments) exports to SavedModel and TFLite fp32 with parity."""
    from zoo import export

    keras.utils.set_random_seed(0)
    model = card.builder()
    shape = tuple(s if s is not None else 224 for s in card.input_contract.shape)
    check = _input(card, model, shape, batch=1, seed=5)
    sm = export.export_savedmodel(model, tmp_path / "sm", input_contract=card.input_contract, input_shape=shape,
                                  check_inputs=check)
    assert sm.max_abs_diff <= sm.tolerance
    lite = export.export_tflite(model, tmp_path / "m.tflite", input_shape=shape, check_inputs=check,
                                input_contract=card.input_contract)
    assert lite.max_abs_diff <= lite.tolerance
