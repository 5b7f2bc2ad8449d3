"""Grid LSTM models (Kalchbrenner, Danihelka, Graves 2015; digest §B.2-B.3): structure, weight
sharing, parameter counts, information flow through the grids, export, builder errors, and the
scaled-down experiments (slow tier).

Information-flow tests are the grids' oracles: an output may change only when an input it is
wired to changes (causality along time, the re-encoder's target prefix, MNIST's full view).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import ConfigError
from zoo.layers.grid_lstm import GridLSTMBlock
from zoo.models.grid_lstm import grid_lstm as gl

REPO = Path(__file__).resolve().parents[2]
NAMES = ["grid_lstm_parity", "grid_lstm_addition", "grid_lstm_memorization", "grid_lstm_charlm",
         "grid_lstm_mnist", "grid_lstm_translation"]


def blocks(model):
    return [layer for layer in model.layers if isinstance(layer, GridLSTMBlock)]


def block_params(units, num_dims):
    """One N-LSTM block with biases: N transforms of (N d) x 4d + 4d."""
    return num_dims * (num_dims * units * 4 * units + 4 * units)


def test_registered_with_the_issue_names():
    assert set(NAMES) <= set(zoo.list_models("grid_lstm_*"))
    for name in NAMES:
        card = zoo.registry.card(name)
        assert card.family == "grid_lstm" and "1507.01526" in card.paper and card.paper_numbers


# --- parameter counts ---------------------------------------------------------------------------


def test_charlm_parameter_count_reads_as_the_papers_16_8m():
    """Slides (digest §B.2 item 4): tied 2-LSTM, 16.8M parameters, alphabet 205; the size is not
    given. Derived: with 1000 units the tied block (2 transforms of 2000 x 4000 + 4000), the two
    205 x 1000 input embeddings and the 2000 x 205 + 205 output give 16,828,205, whatever the depth."""
    expected = block_params(1000, 2) + 2 * 205 * 1000 + 2000 * 205 + 205
    assert expected == 16_828_205
    for layers in (1, 3):
        model = gl.grid_lstm_charlm(input_shape=(2,), num_layers=layers)
        assert model.count_params() == expected
    assert round(expected / 1e6, 1) == 16.8


def test_tied_parity_count_does_not_grow_with_depth_and_ffn_baselines():
    """Paper configurations (digest §B.2 item 1): 1-LSTM 500 hidden / 148 layers, 1500 / 72."""
    for units, layers in ((500, 148), (1500, 72)):
        model = gl.grid_lstm_parity(input_shape=(4,), units=units, num_layers=layers)
        want = 2 * 4 * units + block_params(units, 1) + 2 * units * 2 + 2
        assert model.count_params() == want and len(blocks(model)) == 1
    shallow = gl.grid_lstm_parity(input_shape=(4,), units=16, num_layers=2)
    deep = gl.grid_lstm_parity(input_shape=(4,), units=16, num_layers=40)
    assert shallow.count_params() == deep.count_params()
    for cell in ("tanh", "relu"):
        ffn = gl.grid_lstm_parity(input_shape=(30,), units=1500, num_layers=5, cell=cell)
        assert ffn.count_params() == 30 * 1500 + (1500 * 1500 + 1500) + (1500 * 2 + 2)
        assert ffn.get_layer("ffn").activation.__name__ == cell and not blocks(ffn)


def test_addition_variants_share_weights_as_named():
    d, layers = 12, 5
    tied = gl.grid_lstm_addition(input_shape=(7,), units=d, num_layers=layers)
    untied = gl.grid_lstm_addition(input_shape=(7,), units=d, num_layers=layers, variant="untied")
    stacked = gl.grid_lstm_addition(input_shape=(7,), units=d, num_layers=layers, variant="stacked")
    io = 2 * 11 * d + (2 * d * 11 + 11)
    assert tied.count_params() == io + block_params(d, 2)
    assert untied.count_params() == io + layers * block_params(d, 2)
    assert [b.name for b in blocks(untied)] == [f"block_{i}" for i in range(1, 6)]
    # stacked LSTM: one embedding, per layer a 1-D block with H = [x; h] (2d rows), output from h
    assert stacked.count_params() == 11 * d + layers * (2 * d * 4 * d + 4 * d) + (d * 11 + 11)
    assert all(b.priority_dims == (1,) for b in blocks(tied) + blocks(untied))


def test_mnist_relu_variant_and_translation_structure():
    mnist = gl.grid_lstm_mnist(input_shape=(8, 8, 1), patch_size=2, units=5, num_layers=3)
    assert [b.name for b in blocks(mnist)] == ["block_1", "block_2", "block_3"]
    assert all(b.transfer == ("lstm", "lstm", "lstm") and b.priority_dims == (2,) for b in blocks(mnist))
    relu = gl.grid_lstm_mnist(input_shape=(8, 8, 1), patch_size=2, units=5, num_layers=3, depth_transfer="relu")
    assert all(b.transfer == ("lstm", "lstm", "relu") for b in blocks(relu))
    assert "project_m" not in [layer.name for layer in relu.layers]
    assert relu.get_layer("fc").activation.__name__ == "relu"
    mt = gl.grid_lstm_translation(num_classes=20, input_shape=(7,), source_length=4, units=6, num_layers=2)
    assert all(b.transfer == ("lstm", "lstm", "identity") and b.tied_transforms for b in blocks(mt))
    assert mt.output.shape[1:] == (3, 20)


# --- information flow ---------------------------------------------------------------------------


def _changed_positions(model, tokens, position, vocab):
    """Output positions whose logits change when the token at `position` changes (one batched call)."""
    other = tokens.copy()
    other[:, position] = (other[:, position] + 1) % vocab
    out = np.asarray(model(np.concatenate([tokens, other])))
    a, b = out[: len(tokens)], out[len(tokens) :]
    return np.flatnonzero(np.abs(a - b).max(axis=(0, 2)) > 1e-6).tolist()


@pytest.mark.parametrize("variant", ["tied", "untied", "stacked"])
def test_sequence_models_are_causal(variant):
    """Logits at step t depend on tokens 0..t only (the answer is produced after the inputs)."""
    keras.utils.set_random_seed(0)
    model = gl.grid_lstm_charlm(num_classes=13, input_shape=(6,), units=6, num_layers=2, variant=variant)
    tokens = np.random.default_rng(0).integers(0, 13, (2, 6)).astype("int32")
    for position in (0, 3, 5):
        assert _changed_positions(model, tokens, position, 13) == list(range(position, 6))


def test_translation_reencodes_the_whole_source_for_every_target_step():
    """Every target prediction sees the whole source sentence, and target inputs 0..j only."""
    keras.utils.set_random_seed(0)
    src, tgt, vocab = 3, 4, 15
    model = gl.grid_lstm_translation(num_classes=vocab, input_shape=(src + tgt,), source_length=src, units=6,
                                     num_layers=2)
    tokens = np.random.default_rng(1).integers(0, vocab, (2, src + tgt)).astype("int32")
    for position in range(src):  # a source token
        assert _changed_positions(model, tokens, position, vocab) == list(range(tgt))
    for j in range(tgt):  # the j-th target input
        assert _changed_positions(model, tokens, src + j, vocab) == list(range(j, tgt))


def test_mnist_output_sees_every_patch():
    keras.utils.set_random_seed(0)
    model = gl.grid_lstm_mnist(input_shape=(6, 6, 1), patch_size=2, units=5, num_layers=2, fc_units=7)
    image = np.random.default_rng(0).random((1, 6, 6, 1)).astype("float32")
    batch = np.repeat(image, 37, axis=0)
    for k in range(36):  # example k + 1 has pixel k changed
        batch[k + 1, k // 6, k % 6, 0] += 1.0
    out = np.asarray(model(batch))
    assert (np.abs(out[1:] - out[0]).max(axis=1) > 1e-7).all()


# --- export ------------------------------------------------------------------------------------


def test_parity_exports_to_savedmodel_and_builtin_only_tflite(tmp_path):
    """The issue's export check: grid_lstm_parity -> SavedModel and TFLite with builtin ops only
    (no Flex, no WHILE: the depth loop is unrolled), parity with Keras checked in LiteRT on bit strings."""
    from zoo.export import export_savedmodel, export_tflite
    from zoo.export.tflite import tflite_ops

    keras.utils.set_random_seed(0)
    card = zoo.registry.card("grid_lstm_parity")
    model = gl.grid_lstm_parity(input_shape=(16,), units=24, num_layers=12)
    bits = np.random.default_rng(0).integers(0, 2, (8, 16)).astype("float32")
    sm = export_savedmodel(model, tmp_path / "sm", input_shape=(16,), check_inputs=bits,
                           input_contract=card.input_contract)
    assert sm.max_abs_diff <= sm.tolerance
    report = export_tflite(model, tmp_path / "parity.tflite", input_shape=(16,), check_inputs=bits,
                           input_contract=card.input_contract)
    assert report.max_abs_diff is not None and report.max_abs_diff <= max(report.tolerance, 1e-5)
    ops = tflite_ops(str(tmp_path / "parity.tflite"))
    assert not any(op.startswith("Flex") for op in ops) and "WHILE" not in ops
    assert {"FULLY_CONNECTED", "LOGISTIC", "TANH"} <= set(ops)


# --- builder errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: gl.grid_lstm_parity(input_shape=(4, 4)), r"vector of k bits \(k,\); got input_shape=\(4, 4\)"),
        (lambda: gl.grid_lstm_parity(cell="gru"), "cell must be one of"),
        (lambda: gl.grid_lstm_addition(input_shape=(7, 2)), r"token sequence of fixed length \(T,\)"),
        (lambda: gl.grid_lstm_addition(variant="deep"), "variant must be one of"),
        (lambda: gl.grid_lstm_mnist(input_shape=(28, 28)), r"image \(H, W, C\); got input_shape=\(28, 28\)"),
        (lambda: gl.grid_lstm_mnist(input_shape=(10, 10, 1), patch_size=4), "not a whole number of 4x4 patches"),
        (lambda: gl.grid_lstm_mnist(depth_transfer="tanh"), "depth_transfer must be"),
        (lambda: gl.grid_lstm_translation(input_shape=(4,), source_length=4), "leaves no target tokens"),
        (lambda: gl.grid_lstm_charlm(num_layers=0), "num_layers must be a positive integer"),
    ],
)
def test_builder_errors(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


# --- experiments (slow tier) --------------------------------------------------------------------


def _experiment(name, tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    p = subprocess.run([sys.executable, "-m", "zoo.experiments.grid_lstm", name, "--quick", "--out", str(out)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(out.read_text())[f"{name}_quick"]


@pytest.mark.slow
def test_parity_tied_1lstm_solves_larger_k_than_tied_ffns(tmp_path):
    """Digest §B.2 item 1, scaled down: the tied 1-LSTM solves a larger k than tied FFNs of the same width."""
    result = _experiment("parity", tmp_path)["models"]
    lstm = result["tied_1lstm"]["largest_k_solved"]
    assert lstm > result["tied_tanh_ffn"]["largest_k_solved"]
    assert lstm > result["tied_relu_ffn"]["largest_k_solved"]


@pytest.mark.slow
def test_addition_2lstms_beat_the_stacked_lstm(tmp_path):
    """Digest §B.2 item 2, scaled down (2 digits, 64 units, 60k samples each): both 2-LSTMs beat the
    1-layer stacked LSTM, as in the paper (67% and >99% vs 51%). The paper's tied > untied is NOT
    asserted: at this scale the untied 2-LSTM was ahead (results/grid_lstm.json, "addition")."""
    result = _experiment("addition", tmp_path)["models"]
    stacked = result["stacked_lstm"]["sequence_accuracy"]
    assert result["tied_2lstm"]["sequence_accuracy"] > stacked
    assert result["untied_2lstm"]["sequence_accuracy"] > stacked


@pytest.mark.slow
def test_memorization_grid_reaches_the_threshold_first(tmp_path):
    """Digest §B.2 item 3, 5 symbols, 100 units: the tied 2-LSTM reaches 90% per-symbol accuracy in
    fewer samples than the stacked LSTM (which may not reach it within the budget at all)."""
    result = _experiment("memorization", tmp_path)["models"]
    grid = result["tied_2lstm"]["samples_to_threshold"]
    stacked = result["stacked_lstm"]["samples_to_threshold"]
    assert grid is not None and (stacked is None or grid < stacked)


# ------------------------------------------------------------------------------ summary()


def test_summary_is_one_row_per_named_layer_and_the_weights_keep_their_names(capsys):
    """summary() lists each layer once, with how many grid positions call it, instead of Keras'
    line per block call; the weights keep the names (and order) a weights file holds."""
    model = zoo.get("grid_lstm_translation", num_classes=12, input_shape=(7,), source_length=3, units=6, num_layers=2)
    model.summary()
    text = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in text.splitlines()[3:3 + len(model.layers)]}
    assert list(rows) == [layer.name for layer in model.layers]
    assert [layer.name for layer in model.layers] == ["tokens", "embed_h", "embed_m", "embed_h_cells", "embed_m_cells",
                                                      "block_1", "block_2", "features", "output"]
    for name in ("block_1", "block_2"):  # 3 source x 4 target positions share each layer's block
        assert rows[name][-1] == "12" and rows[name][-2] == f"{model.get_layer(name).count_params():,}"
    assert "h 3 x (None, 6); m 2 x (None, 6)" in text and "(None, 4, 18)" in text  # 4 steps of [h; m; depth]
    assert f"Total params: {model.count_params():,}" in text and len(text.splitlines()) < 20
    keras_table = []
    keras.Model.summary(model, print_fn=lambda line, **_: keras_table.append(line))
    assert len("\n".join(keras_table).splitlines()) > 3 * len(text.splitlines())  # Keras' own, still available
    assert [w.path for w in model.weights] == [
        "embed_h/embeddings", "embed_m/embeddings",
        *(f"block_{l}/{w}" for l in (1, 2) for w in ("transform_shared_kernel", "transform_shared_bias",
                                                     "transfer_2_kernel", "transfer_2_bias")),
        "output/kernel", "output/bias"]


def test_mnist_patches_enter_the_grid_row_by_row():
    """GridCells(2) hands the blocks the patch at (row i, column j) as cell i * columns + j."""
    from zoo.layers.grid_parts import GridCells

    x = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)
    cells = GridCells(2)(x)
    assert len(cells) == 12
    for i in range(3):
        for j in range(4):
            np.testing.assert_array_equal(np.asarray(cells[i * 4 + j]), x[:, i, j])
