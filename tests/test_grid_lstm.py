"""GridLSTMBlock against a NumPy implementation of the paper's equations (Kalchbrenner, Danihelka,
Graves 2015, §2-3; the slides' LSTM and N-LSTM equations, digest §B.1), and the generated
sequence tasks (zoo.data.sequence.tasks) against plain-Python oracles.

The NumPy reference is written from the equations, not from the layer: four separate gate
matrices W^u, W^f, W^o, W^c applied to the full H (zero vectors at grid edges included), the
non-LSTM transfer α(V H), and the priority rule H' = [h'_j (others); h_j (priority)]. The layer's
kernels are split into the four gate matrices by the documented column order [u | f | o | c].
"""

import numpy as np
import pytest

import keras

from zoo.data.sequence import tasks
from zoo.errors import ConfigError, InputError
from zoo.layers.grid_lstm import GridLSTMBlock

# ------------------------------------------------------------------------------ the reference


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ALPHA = {"identity": lambda z: z, "relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}


def np_lstm(H, m, W, b, output_form):
    """(h', m') = LSTM(H, m, W) of the slides, W = {W^u, W^f, W^o, W^c} (each H-width x d)."""
    g_u = _sigmoid(H @ W["u"] + b["u"])
    g_f = _sigmoid(H @ W["f"] + b["f"])
    g_o = _sigmoid(H @ W["o"] + b["o"])
    g_c = np.tanh(H @ W["c"] + b["c"])
    m_new = g_f * m + g_u * g_c
    h_new = np.tanh(g_o * m_new) if output_form == "paper" else g_o * np.tanh(m_new)
    return h_new, m_new


def np_block(block_weights, hidden, memory, *, units, transfer, priority_dims=(), output_form="paper", inputs=None):
    """The N-LSTM block: H = [h_1; ...; h_N (; x)], one transform per dimension, priority dims last.
    `hidden`/`memory` entries may be None: a grid edge, i.e. a zero vector."""
    batch = next(v.shape[0] for v in [*hidden, inputs] if v is not None)
    h = [np.zeros((batch, d)) if v is None else np.asarray(v, np.float64) for v, d in zip(hidden, units)]
    m = [np.zeros((batch, d)) if v is None else np.asarray(v, np.float64) for v, d in zip(memory, units)]
    extra = [] if inputs is None else [np.asarray(inputs, np.float64)]

    def transform(i, H):
        W, b = block_weights[i]
        if transfer[i] == "lstm":
            return np_lstm(H, m[i], W, b, output_form)
        return ALPHA[transfer[i]](H @ W + b), None

    n = len(units)
    out_h, out_m = [None] * n, [None] * n
    H = np.concatenate(h + extra, axis=1)
    for i in range(n):
        if i not in priority_dims:
            out_h[i], out_m[i] = transform(i, H)
    H2 = np.concatenate([h[i] if i in priority_dims else out_h[i] for i in range(n)] + extra, axis=1)
    for i in priority_dims:
        out_h[i], out_m[i] = transform(i, H2)
    return out_h, [out_m[i] for i in range(n) if transfer[i] == "lstm"]


def reference_weights(block):
    """The block's weights as the reference's per-dimension (W, b), gates split [u | f | o | c]."""
    values = {w.path.split("/")[-1]: np.asarray(w, np.float64) for w in block.weights}
    out = []
    for i, (d, t) in enumerate(zip(block.units, block.transfer)):
        if t == "lstm":
            tag = "shared" if block.tied_transforms else str(i)
            kernel = values[f"transform_{tag}_kernel"]
            bias = values.get(f"transform_{tag}_bias", np.zeros(4 * d))
            W = {g: kernel[:, k * d : (k + 1) * d] for k, g in enumerate("ufoc")}
            b = {g: bias[k * d : (k + 1) * d] for k, g in enumerate("ufoc")}
        else:
            W = values[f"transfer_{i}_kernel"]
            b = values.get(f"transfer_{i}_bias", np.zeros(d))
        out.append((W, b))
    return out


def _randomise(block, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    for w in block.weights:
        w.assign(scale * rng.standard_normal(w.shape).astype("float32"))


CASES = {
    "1d": dict(units=6, num_dims=1),
    "2d_priority": dict(units=5, num_dims=2, priority_dims=(1,)),
    "3d_mixed_units_non_lstm": dict(units=(4, 5, 3), transfer=("lstm", "relu", "identity"), priority_dims=(0,)),
    "3d_tanh_transfer_standard_form": dict(units=4, num_dims=3, transfer=("tanh", "lstm", "lstm"),
                                           output_form="standard"),
    "2d_tied_transforms_no_bias": dict(units=5, num_dims=2, tied_transforms=True, use_bias=False),
    "1d_with_input": dict(units=4, num_dims=1, input_units=3),
    "3d_two_priority": dict(units=3, num_dims=3, priority_dims=(0, 2)),
}


def _vectors(block, rng, batch=3, edges=()):
    hidden = [None if i in edges else rng.standard_normal((batch, d)).astype("float32")
              for i, d in enumerate(block.units)]
    memory = [None if (i in edges or t != "lstm") else rng.standard_normal((batch, d)).astype("float32")
              for i, (d, t) in enumerate(zip(block.units, block.transfer))]
    inputs = rng.standard_normal((batch, block.input_units)).astype("float32") if block.input_units else None
    return hidden, memory, inputs


def _compare(block, hidden, memory, inputs):
    got_h, got_m = block(hidden, memory, inputs)
    want_h, want_m = np_block(reference_weights(block), hidden, memory, units=block.units, transfer=block.transfer,
                              priority_dims=block.priority_dims, output_form=block.output_form, inputs=inputs)
    assert len(got_h) == block.num_dims and len(got_m) == len(block.lstm_dims)
    for got, want in zip(list(got_h) + list(got_m), want_h + want_m):
        np.testing.assert_allclose(np.asarray(got, np.float64), want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_block_matches_numpy_reference_of_the_equations(name):
    block = GridLSTMBlock(**CASES[name])
    _randomise(block)
    rng = np.random.default_rng(1)
    _compare(block, *_vectors(block, rng))


@pytest.mark.parametrize("name", ["2d_priority", "3d_mixed_units_non_lstm", "3d_two_priority"])
def test_grid_edges_are_zero_vectors(name):
    """None at an edge is the paper's zero state: same outputs as explicit zeros, and as the reference."""
    block = GridLSTMBlock(**CASES[name])
    _randomise(block, seed=2)
    rng = np.random.default_rng(3)
    hidden, memory, inputs = _vectors(block, rng, edges=(0,))
    _compare(block, hidden, memory, inputs)
    zeros_h = [np.zeros((3, d), "float32") if h is None else h for h, d in zip(hidden, block.units)]
    zeros_m = [np.zeros((3, d), "float32") if (m is None and t == "lstm") else m
               for m, d, t in zip(memory, block.units, block.transfer)]
    a, b = block(hidden, memory, inputs), block(zeros_h, zeros_m, inputs)
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=1e-6)


def test_priority_dimension_sees_the_other_dimensions_outputs():
    """The reference with and without priority differ: the rule is exercised, not a no-op."""
    block = GridLSTMBlock(5, num_dims=2, priority_dims=(1,))
    _randomise(block)
    hidden, memory, _ = _vectors(block, np.random.default_rng(4))
    args = dict(units=block.units, transfer=block.transfer)
    with_priority = np_block(reference_weights(block), hidden, memory, priority_dims=(1,), **args)
    without = np_block(reference_weights(block), hidden, memory, **args)
    np.testing.assert_allclose(with_priority[0][0], without[0][0])  # dimension 0 is computed first either way
    assert np.abs(with_priority[0][1] - without[0][1]).max() > 1e-3
    _compare(block, hidden, memory, None)


def test_weights_layout_and_initialisation():
    """Kernels (H width, 4d) per LSTM dimension, (H width, d) per non-LSTM dimension; forget bias 1."""
    block = GridLSTMBlock((4, 6, 2), transfer=("lstm", "lstm", "relu"), input_units=3)
    shapes = {w.path.split("/")[-1]: tuple(w.shape) for w in block.weights}
    assert shapes == {
        "transform_0_kernel": (15, 16), "transform_0_bias": (16,),
        "transform_1_kernel": (15, 24), "transform_1_bias": (24,),
        "transfer_2_kernel": (15, 2), "transfer_2_bias": (2,),
    }
    bias = np.asarray(block.weights[1])
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])  # [u | f | o | c]
    assert np.asarray(block.weights[0]).std() > 0
    tied = GridLSTMBlock(4, num_dims=3, tied_transforms=True)
    assert [w.path.split("/")[-1] for w in tied.weights] == ["transform_shared_kernel", "transform_shared_bias"]
    # One N-LSTM block: N transforms of (N d) x 4d weights and 4d biases.
    assert GridLSTMBlock(7, num_dims=3).count_params() == 3 * (3 * 7 * 4 * 7 + 4 * 7)


def test_tied_grid_shares_one_block_and_untied_has_one_per_layer():
    """Tied: the block's weights are shared along depth, so the count does not grow with depth."""
    def depth_net(num_layers, tied):
        x = keras.Input((4,))
        h = keras.layers.Dense(5, use_bias=False)(x)
        m = None
        shared = GridLSTMBlock(5, num_dims=1)
        for layer in range(num_layers):
            block = shared if tied else GridLSTMBlock(5, num_dims=1)
            (h,), (m,) = block([h], [m])
        return keras.Model(x, h)

    one = GridLSTMBlock(5, num_dims=1).count_params()
    assert depth_net(6, tied=True).count_params() == depth_net(2, tied=True).count_params() == 20 + one
    assert depth_net(6, tied=False).count_params() == 20 + 6 * one


def test_config_round_trip():
    block = GridLSTMBlock((3, 4), transfer=("lstm", "identity"), priority_dims=(1,), input_units=2,
                          output_form="standard", use_bias=False, name="b")
    again = GridLSTMBlock.from_config(block.get_config())
    assert again.get_config() == block.get_config()
    assert [tuple(w.shape) for w in again.weights] == [tuple(w.shape) for w in block.weights]


# ------------------------------------------------------------------------------- bad inputs


def test_wrong_number_of_grid_vectors_is_a_clear_error():
    block = GridLSTMBlock(4, num_dims=3, name="grid3")
    h = np.zeros((2, 4), "float32")
    with pytest.raises(InputError, match=r"grid3 is a 3-dimensional Grid LSTM block and takes 3 hidden vectors.*got 2"):
        block([h, h], [h, h, h])
    with pytest.raises(InputError, match=r"takes 3 memory vectors.*got 4"):
        block([h, h, h], [h, h, h, h])
    with pytest.raises(InputError, match=r"takes 3 hidden vectors.*got one "):
        block(h, [h, h, h])


def test_wrong_vector_shapes_are_clear_errors():
    block = GridLSTMBlock((4, 3), transfer=("lstm", "relu"), name="g")
    h4, h3 = np.zeros((2, 4), "float32"), np.zeros((2, 3), "float32")
    with pytest.raises(InputError, match=r"hidden vector of dimension 1 must be \(batch, 3\); got \(2, 4\)"):
        block([h4, h4], [h4, None])
    with pytest.raises(InputError, match=r"must be \(batch, 4\); got \(2, 1, 4\)"):
        block([h4[:, None], h3], [None, None])
    with pytest.raises(InputError, match="dimension 1 is a non-LSTM \\(relu\\) dimension and has no memory"):
        block([h4, h3], [h4, h3])
    with pytest.raises(InputError, match="every hidden vector is None"):
        block([None, None], [None, None])
    with pytest.raises(InputError, match="takes no input vector"):
        block([h4, h3], [h4, None], h3)


def test_symbolic_call_checks_too():
    block = GridLSTMBlock(4, num_dims=2)
    with pytest.raises(InputError, match="takes 2 hidden vectors"):
        block([keras.Input((4,))], [None])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(units=4), "give num_dims"),
        (dict(units=(4, 4), num_dims=3), "units has 2 entries for a block of 3 dimensions"),
        (dict(units=0, num_dims=2), "positive integers"),
        (dict(units=4, num_dims=2, transfer=("lstm",)), "one of .* for each of the 2 dimensions"),
        (dict(units=4, num_dims=2, transfer=("lstm", "gru")), "for each of the 2 dimensions"),
        (dict(units=4, num_dims=2, priority_dims=(0, 1)), "at least one dimension must not be a priority"),
        (dict(units=4, num_dims=2, priority_dims=(2,)), r"distinct dimensions in \[0, 2\)"),
        (dict(units=(4, 5), tied_transforms=True), "tied_transforms needs equal units"),
        (dict(units=4, num_dims=1, output_form="keras"), "output_form must be one of"),
    ],
)
def test_bad_configurations(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GridLSTMBlock(**kwargs)


# ------------------------------------------------------------------- models against the reference


def test_tied_parity_network_is_the_reference_block_applied_n_times():
    from zoo.models.grid_lstm.grid_lstm import grid_lstm_parity

    keras.utils.set_random_seed(0)
    model = grid_lstm_parity(input_shape=(9,), units=6, num_layers=7)
    block = model.get_layer("block")
    _randomise(block, scale=0.4)
    bits = np.random.default_rng(0).integers(0, 2, (4, 9)).astype("float32")
    signed = 2.0 * bits - 1.0  # signed_bits: 0/1 -> -1/+1
    h = signed @ np.asarray(model.get_layer("project_h").kernel, np.float64)
    m = signed @ np.asarray(model.get_layer("project_m").kernel, np.float64)
    weights = reference_weights(block)
    for _ in range(7):
        (h,), (m,) = np_block(weights, [h], [m], units=(6,), transfer=("lstm",))
    out = model.get_layer("output")
    want = np.concatenate([h, m], 1) @ np.asarray(out.kernel, np.float64) + np.asarray(out.bias)
    np.testing.assert_allclose(np.asarray(model(bits), np.float64), want, atol=1e-5)


@pytest.mark.parametrize("variant", ["tied", "untied", "stacked"])
def test_sequence_network_is_the_reference_grid(variant):
    """grid_lstm_addition as the reference grid over (time, depth), depth prioritised; or a stacked LSTM."""
    from zoo.models.grid_lstm.grid_lstm import grid_lstm_addition

    steps, layers, d = 4, 3, 5
    keras.utils.set_random_seed(0)
    model = grid_lstm_addition(input_shape=(steps,), units=d, num_layers=layers, variant=variant)
    blocks = [layer for layer in model.layers if isinstance(layer, GridLSTMBlock)]
    assert len(blocks) == (1 if variant == "tied" else layers)
    for i, block in enumerate(blocks):
        _randomise(block, seed=i, scale=0.4)
    weights = [reference_weights(b) for b in blocks] * (layers if variant == "tied" else 1)
    tokens = np.random.default_rng(5).integers(0, 11, (2, steps)).astype("int32")
    feats = []
    if variant == "stacked":
        emb = np.asarray(model.get_layer("embed").embeddings, np.float64)[tokens]
        h, m = [None] * layers, [None] * layers
        for t in range(steps):
            below = emb[:, t]
            for l in range(layers):
                (h[l],), (m[l],) = np_block(weights[l], [h[l]], [m[l]], units=(d,), transfer=("lstm",), inputs=below)
                below = h[l]
            feats.append(below)
    else:
        eh = np.asarray(model.get_layer("embed_h").embeddings, np.float64)[tokens]
        em = np.asarray(model.get_layer("embed_m").embeddings, np.float64)[tokens]
        ht, mt = [None] * layers, [None] * layers
        for t in range(steps):
            hd, md = eh[:, t], em[:, t]
            for l in range(layers):
                (ht[l], hd), (mt[l], md) = np_block(weights[l], [ht[l], hd], [mt[l], md], units=(d, d),
                                                    transfer=("lstm", "lstm"), priority_dims=(1,))
            feats.append(np.concatenate([hd, md], 1))
    out = model.get_layer("output")
    want = np.stack(feats, 1) @ np.asarray(out.kernel, np.float64) + np.asarray(out.bias)
    np.testing.assert_allclose(np.asarray(model(tokens), np.float64), want, atol=1e-5)


# -------------------------------------------------------------------------- generated tasks


def test_parity_labels_and_determinism():
    a = tasks.parity("train", num_examples=200, seed=3, num_bits=11)
    assert a["bits"].shape == (200, 11) and a["bits"].dtype == np.float32
    assert set(np.unique(a["bits"])) == {0.0, 1.0}
    assert all(int(lab) == int(sum(int(b) for b in row)) % 2 for row, lab in zip(a["bits"], a["label"]))
    assert 0.35 < a["label"].mean() < 0.65
    again = tasks.parity("train", num_examples=200, seed=3, num_bits=11)
    np.testing.assert_array_equal(a["bits"], again["bits"])
    other = tasks.parity("test", num_examples=200, seed=3, num_bits=11)
    assert not np.array_equal(a["bits"], other["bits"])
    assert not np.array_equal(a["bits"], tasks.parity("train", num_examples=200, seed=4, num_bits=11)["bits"])


def test_addition_layout_matches_the_slide_and_python_arithmetic():
    d = tasks.addition("train", num_examples=300, seed=0, num_digits=15)
    assert d["tokens"].shape == (300, 49)  # 3n + 4 for the paper's 15 digits
    blank = tasks.ADDITION_BLANK
    for tokens, targets, mask in zip(d["tokens"], d["targets"], d["mask"]):
        a = int("".join(map(str, tokens[1:16])))
        b = int("".join(map(str, tokens[17:32])))
        assert tokens[0] == tokens[16] == blank and (tokens[32:] == blank).all()
        answer = targets[mask == 1]
        assert len(answer) == 16 and int("".join(map(str, answer))) == a + b  # Python ints: exact
        assert (targets[mask == 0] == blank).all() and np.flatnonzero(mask)[0] == 32
    # the slide's example, 123 + 899 = 1022, in the same layout
    example = tasks.addition("train", num_examples=1, num_digits=3)
    assert example["tokens"].shape == (1, 13) and np.flatnonzero(example["mask"][0]).tolist() == [8, 9, 10, 11]


def test_memorization_echoes_the_symbols():
    d = tasks.memorization("validation", num_examples=50, seed=1, num_symbols=20, alphabet_size=10)
    assert d["tokens"].shape == (50, 42)
    for tokens, targets, mask in zip(d["tokens"], d["targets"], d["mask"]):
        np.testing.assert_array_equal(targets[mask == 1], tokens[1:21])
        assert (tokens[21:] == 10).all() and tokens[0] == 10 and (targets[mask == 0] == 10).all()


def test_pydoc_text_splits_are_contiguous_next_byte_windows():
    data = tasks.pydoc_bytes()
    assert len(data) > 100_000
    train = tasks.pydoc_text("train", sequence_length=20)
    test = tasks.pydoc_text("test", sequence_length=20)
    np.testing.assert_array_equal(train["tokens"][:, 1:], train["targets"][:, :-1])
    np.testing.assert_array_equal(train["tokens"][0], data[:20])
    start = int(0.95 * len(data))
    np.testing.assert_array_equal(test["tokens"][0], data[start : start + 20])
    assert len(train["tokens"]) == int(0.9 * len(data)) // 20  # the first validation byte is the last target
    assert test["targets"][-1, -1] == data[start + 20 * len(test["tokens"])]
    assert len(tasks.pydoc_text("validation", num_examples=7)["tokens"]) == 7


def test_tasks_are_registered_datasets_with_honest_infos():
    import zoo.data

    for name in ("parity", "addition", "memorization"):
        info = zoo.data.info(name)
        assert not info.is_standin and "paper's own synthetic task" in info.summary and info.instructions
    text = zoo.data.info("pydoc_text")
    assert text.is_standin and "enwik8" in text.stands_in_for
    ds = zoo.data.load("addition", "test", num_examples=4, num_digits=2)
    first = next(iter(ds))
    assert first["tokens"].shape == (10,) and set(first) == {"tokens", "targets", "mask"}


def test_task_option_errors():
    with pytest.raises(ConfigError, match="num_bits must be a positive integer"):
        tasks.parity("train", num_bits=0)
    with pytest.raises(KeyError, match="unknown split 'dev'"):
        tasks.addition("dev")
    with pytest.raises(KeyError, match="unknown sequence task"):
        tasks.generate("sorting", "train")


# ------------------------------------------------------------------------------ enwik8 builder


def _write_enwik8_zip(path, data, member="enwik8"):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, data)


def test_enwik8_builder_from_a_fixture_zip(tmp_path):
    """A 60,000-byte stand-in of enwik8.zip in manual_dir: the 90/5/5 split, windows in text order."""
    import zoo.data

    data = np.random.default_rng(0).integers(32, 127, 60_000).astype(np.uint8).tobytes()
    manual = tmp_path / "manual"
    manual.mkdir()
    _write_enwik8_zip(manual / "enwik8.zip", data)
    arr = np.frombuffer(data, np.uint8).astype(np.int32)
    for split, (lo, hi) in {"train": (0, 54_000), "validation": (54_000, 57_000), "test": (57_000, 60_000)}.items():
        ds = zoo.data.load("enwik8", split, data_dir=tmp_path / "tfds", manual_dir=manual, sequence_length=50)
        tokens = np.stack([ex["tokens"].numpy() for ex in ds])
        targets = np.stack([ex["targets"].numpy() for ex in ds])
        n = tokens.size
        assert n == (hi - lo if hi < 60_000 else hi - lo - 50)  # test: no byte after the last window
        np.testing.assert_array_equal(tokens.ravel(), arr[lo : lo + n])
        np.testing.assert_array_equal(targets.ravel(), arr[lo + 1 : lo + n + 1])


def test_enwik8_missing_or_wrong_archive(tmp_path):
    import zoo.data
    from zoo.errors import CorruptRecordError, DatasetNotFoundError

    manual = tmp_path / "manual"
    manual.mkdir()
    with pytest.raises(DatasetNotFoundError, match="enwik8.zip.*mattmahoney.net/dc/enwik8.zip"):
        zoo.data.load("enwik8", "train", data_dir=tmp_path / "tfds", manual_dir=manual)
    _write_enwik8_zip(manual / "enwik8.zip", b"abc", member="enwik9")
    with pytest.raises(CorruptRecordError, match="has no member 'enwik8'"):
        zoo.data.load("enwik8", "train", data_dir=tmp_path / "tfds2", manual_dir=manual)
