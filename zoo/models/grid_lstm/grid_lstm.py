"""Grid LSTM networks (Kalchbrenner, Danihelka, Graves 2015, arXiv:1507.01526, as J. Bastings
presents it in his 2016 talk) and their baselines, built from `zoo.layers.grid_lstm.GridLSTMBlock`.

Every grid here has a fixed size and is unrolled in Python: one block call per grid position,
in the order a position's predecessors come first. That keeps the models backend-neutral and
lets TFLite convert them with builtin ops only (no WHILE or TensorList ops). Weight sharing is
block reuse: a tied grid calls one block everywhere, an untied one a block per layer along depth.

Where the input enters: "Input is projected along the edge(s): character 'C' initializes h_1
and m_1" (the talk), so each input vector x is projected by I_h, I_m (no bias) into the
hidden and memory vectors of the grid edge it enters (`project_h`/`project_m`, or
`embed_h`/`embed_m` for tokens: an embedding is the projection of a one-hot vector).
"Predictions based on both the state and memory of edge cells": the output layer reads
[h; m] of the last block along depth.

Sizes the slides do not give (hidden units of addition, char-LM layers, MNIST patch size, depth
and widths, the translation model's sizes) are our defaults and say so in the docstrings.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.grid_lstm import GridLSTMBlock
from zoo.layers.grid_parts import GridCells, GridModel, StackSteps

SEQUENCE_VARIANTS = ("tied", "untied", "stacked")
PARITY_CELLS = ("lstm", "tanh", "relu")


def _positive(**values):
    for key, value in values.items():
        if int(value) != value or value < 1:
            raise ConfigError(f"{key} must be a positive integer; got {value!r}")


def _readout(vectors, name):
    return keras.layers.Concatenate(name=name)(vectors) if len(vectors) > 1 else vectors[0]


def _token_input(input_shape):
    if len(tuple(input_shape)) != 1 or input_shape[0] is None:
        raise ConfigError(f"the input is a token sequence of fixed length (T,); got input_shape={tuple(input_shape)}")
    return keras.Input(tuple(input_shape), dtype="int32", name="tokens")


# --------------------------------------------------------------------------------------- parity


def grid_lstm_parity(
    num_classes=2, input_shape=(250,), units=500, num_layers=148, cell="lstm", output_form="paper", use_bias=True,
    kernel_initializer="he_normal", signed_bits=True,
):
    """Parity of k bits with a tied 1-LSTM (Kalchbrenner et al. 2015, parity experiment).

    The k-bit string is projected into the hidden and memory vectors of the first block
    (`project_h`, `project_m`); one block (`block`) is then applied `num_layers` times along
    depth, the grid's only dimension; `output` reads [h; m] of the last layer. Defaults are the
    slides' 500 hidden / 148 layers configuration, which reached k = 250.

    Args:
        num_classes: 2 (even, odd).
        input_shape: (k,).
        units: hidden size (500 or 1500 in the paper).
        num_layers: depth, i.e. how many times the tied block is applied (148 or 72).
        cell: "lstm" (tied 1-LSTM), or the baselines "tanh" / "relu": tied feed-forward nets,
            h <- act(W h + b) with one shared `ffn` layer after the input projection `project_h`
            (the slides' tanh FFN had 5 layers, the ReLU FFN 4).
        output_form, use_bias: of the block (see GridLSTMBlock).
        kernel_initializer: of the input projections and of the block or `ffn` (not given in the
            slides). The scale matters at small widths: in our runs (64 units, 8 bits) the tied
            1-LSTM and the FFNs learnt parity with "he_normal" and not with Glorot-uniform, which
            keeps the gates near their linear regime.
        signed_bits: map the 0/1 bits to -1/+1 (`signed_bits` layer, 2x - 1) before the
            projections. The slides do not say how bits are coded; with 64 units the tied 1-LSTM
            learnt 8-bit parity about 6 times faster from ±1 than from 0/1 in our runs.
    """
    if cell not in PARITY_CELLS:
        raise ConfigError(f"cell must be one of {PARITY_CELLS}; got {cell!r}")
    if len(tuple(input_shape)) != 1:
        raise ConfigError(f"the input is a vector of k bits (k,); got input_shape={tuple(input_shape)}")
    _positive(units=units, num_layers=num_layers)
    bits = x = keras.Input(tuple(input_shape), name="bits")
    if signed_bits:
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="signed_bits")(x)
    h = keras.layers.Dense(units, use_bias=False, kernel_initializer=kernel_initializer, name="project_h")(x)
    if cell == "lstm":
        m = keras.layers.Dense(units, use_bias=False, kernel_initializer=kernel_initializer, name="project_m")(x)
        block = GridLSTMBlock(units, num_dims=1, output_form=output_form, use_bias=use_bias,
                              kernel_initializer=kernel_initializer, name="block")
        for _ in range(num_layers):
            (h,), (m,) = block([h], [m])
        features = _readout([h, m], "readout")
    else:
        ffn = keras.layers.Dense(units, activation=cell, kernel_initializer=kernel_initializer, name="ffn")
        for _ in range(num_layers):
            h = ffn(h)
        features = h
    y = keras.layers.Dense(num_classes, name="output")(features)
    return GridModel(bits, y, name="grid_lstm_parity")


# ----------------------------------------------------------------------- sequences (time x depth)


def _sequence_network(name, *, num_classes, input_shape, units, num_layers, variant, output_form, use_bias,
                      depth_priority):
    """Logits (T, num_classes) for each position of a token sequence, from a 2-LSTM over
    (time, depth) or a stacked LSTM."""
    if variant not in SEQUENCE_VARIANTS:
        raise ConfigError(f"variant must be one of {SEQUENCE_VARIANTS}; got {variant!r}")
    _positive(units=units, num_layers=num_layers, num_classes=num_classes)
    tokens = _token_input(input_shape)
    steps = tokens.shape[1]
    common = dict(output_form=output_form, use_bias=use_bias)
    outputs = []
    if variant == "stacked":
        # A stacked LSTM (the talk's figure "Stacked LSTM vs 2d Grid LSTM"): memory only along time;
        # layer l reads the hidden vector of layer l-1 as its input, H = [x; h] (the slides' LSTM).
        embedded = GridCells(name="embed_cells")(keras.layers.Embedding(num_classes, units, name="embed")(tokens))
        blocks = [GridLSTMBlock(units, num_dims=1, input_units=units, name=f"lstm_{l + 1}", **common)
                  for l in range(num_layers)]
        h, m = [None] * num_layers, [None] * num_layers
        for t in range(steps):
            below = embedded[t]
            for l, block in enumerate(blocks):
                (h[l],), (m[l],) = block([h[l]], [m[l]], below)
                below = h[l]
            outputs.append(below)
    else:
        # 2-LSTM: dimension 0 is time, dimension 1 is depth; the token at step t is projected into
        # the depth edge below the first layer, and `output` reads [h; m] leaving the top layer.
        embed_h = GridCells(name="embed_h_cells")(keras.layers.Embedding(num_classes, units, name="embed_h")(tokens))
        embed_m = GridCells(name="embed_m_cells")(keras.layers.Embedding(num_classes, units, name="embed_m")(tokens))
        priority = (1,) if depth_priority else ()
        if variant == "tied":
            blocks = [GridLSTMBlock(units, num_dims=2, priority_dims=priority, name="block", **common)] * num_layers
        else:
            blocks = [GridLSTMBlock(units, num_dims=2, priority_dims=priority, name=f"block_{l + 1}", **common)
                      for l in range(num_layers)]
        h_time, m_time = [None] * num_layers, [None] * num_layers
        for t in range(steps):
            h_depth, m_depth = embed_h[t], embed_m[t]
            for l, block in enumerate(blocks):
                (h_time[l], h_depth), (m_time[l], m_depth) = block([h_time[l], h_depth], [m_time[l], m_depth])
            outputs.append([h_depth, m_depth])
    features = StackSteps(name="features")(outputs)  # (T, [h; m] of the top layer)
    logits = keras.layers.Dense(num_classes, name="output")(features)
    return GridModel(tokens, logits, name=name)


def grid_lstm_addition(
    num_classes=11, input_shape=(49,), units=128, num_layers=18, variant="tied", output_form="paper", use_bias=True,
    depth_priority=True,
):
    """Addition of two n-digit integers with a tied 2-LSTM (Kalchbrenner et al. 2015, addition experiment).

    Dimension 0 of the grid runs along the token sequence, dimension 1 along depth; the token
    at step t enters the depth edge (`embed_h`, `embed_m`), and `output` gives per-step logits
    over the 11 symbols from [h; m] of the top layer, read where the answer is due.

    Args:
        num_classes: vocabulary (10 digits and the blank).
        input_shape: (3n + 4,) for n-digit operands: 49 for the paper's n = 15.
        units: hidden size of every dimension (not given in the slides; 128 is ours).
        num_layers: depth (the slides: tied 2-LSTM 18, untied 2-LSTM 5, stacked LSTM 1).
        variant: "tied" (one block everywhere), "untied" (one block per layer, `block_1`...,
            shared along time), or "stacked" (a stacked LSTM, layers `lstm_1`...).
        output_form, use_bias: of the blocks.
        depth_priority: depth is the priority dimension (computed after time, from its output).
    """
    return _sequence_network(
        "grid_lstm_addition", num_classes=num_classes, input_shape=input_shape, units=units, num_layers=num_layers,
        variant=variant, output_form=output_form, use_bias=use_bias, depth_priority=depth_priority,
    )


def grid_lstm_memorization(
    num_classes=11, input_shape=(42,), units=100, num_layers=2, variant="tied", output_form="paper", use_bias=True,
    depth_priority=True,
):
    """Echo a random sequence of n symbols with a 2-LSTM (Kalchbrenner et al. 2015, memorization experiment).

    Same network as `grid_lstm_addition`. "All networks have 100 hidden units"; the alphabet
    size and depth are not in the slides (10 symbols and the blank, and 2 layers, are ours).

    Args:
        num_classes: alphabet size + 1 (the blank).
        input_shape: (2n + 2,): 42 for the paper's n = 20.
        units, num_layers, variant, output_form, use_bias, depth_priority: as grid_lstm_addition.
    """
    return _sequence_network(
        "grid_lstm_memorization", num_classes=num_classes, input_shape=input_shape, units=units,
        num_layers=num_layers, variant=variant, output_form=output_form, use_bias=use_bias,
        depth_priority=depth_priority,
    )


def grid_lstm_charlm(
    num_classes=205, input_shape=(50,), units=1000, num_layers=3, variant="tied", output_form="paper", use_bias=True,
    depth_priority=True,
):
    """Next-character prediction with a tied 2-LSTM (Kalchbrenner et al. 2015, character-level language modelling).

    The logits at step t predict character t + 1. The slides give 1.47 bpc with 16.8M
    parameters but not the size; 1000 units give 16,828,205 parameters with the 205-symbol
    alphabet (2 LSTM transforms of 2000 x 4000 + biases, two 205 x 1000 embeddings, a 2000 x 205
    output), whatever the depth, since the tied block is shared: our reading of "16.8M". The
    depth is not in the slides (3 is ours).

    Args:
        num_classes: alphabet size (205 symbols in the paper's Hutter data).
        input_shape: (T,): the unrolled window length.
        units, num_layers, variant, output_form, use_bias, depth_priority: as grid_lstm_addition.
    """
    return _sequence_network(
        "grid_lstm_charlm", num_classes=num_classes, input_shape=input_shape, units=units, num_layers=num_layers,
        variant=variant, output_form=output_form, use_bias=use_bias, depth_priority=depth_priority,
    )


# ------------------------------------------------------------------------------ images (3-LSTM)


def grid_lstm_mnist(
    num_classes=10, input_shape=(28, 28, 1), patch_size=4, units=100, num_layers=2, depth_transfer="lstm",
    fc_units=256, output_form="paper", use_bias=True,
):
    """Digit classification with an untied 3-LSTM on image patches (Kalchbrenner et al. 2015, MNIST experiment).

    "A 3-LSTM processes non-overlapping patches of image pixels; the input is a 2D grid of
    patches; the 3rd dimension is the depth of the network; final ReLU layer + softmax."
    Dimensions 0 and 1 run down the rows and across the columns of patches, dimension 2 up the
    layers (the priority dimension). Each patch is projected into the depth edge below the
    first layer; one block per layer (`block_1`, ...: untied along depth, shared across the
    patch grid). The last block of the top layer, which has seen every patch, feeds `fc` (ReLU)
    and `output` (logits). Patch size, depth and widths are not in the slides (ours).

    Args:
        num_classes: 10 digits.
        input_shape: (H, W, C), H and W multiples of `patch_size`.
        patch_size: side of the square patches.
        units: hidden size of every dimension.
        num_layers: depth.
        depth_transfer: "lstm", or "relu" for the "3-LSTM with ReLU" variant, read here as a
            non-LSTM ReLU depth dimension (the slides name the variant without detail).
        fc_units: width of the final ReLU layer.
        output_form, use_bias: of the blocks.
    """
    if len(tuple(input_shape)) != 3:
        raise ConfigError(f"the input is an image (H, W, C); got input_shape={tuple(input_shape)}")
    rows, cols, channels = input_shape
    _positive(patch_size=patch_size, units=units, num_layers=num_layers, fc_units=fc_units)
    if rows % patch_size or cols % patch_size:
        raise ConfigError(f"input {rows}x{cols} is not a whole number of {patch_size}x{patch_size} patches")
    if depth_transfer not in ("lstm", "relu"):
        raise ConfigError(f"depth_transfer must be 'lstm' or 'relu'; got {depth_transfer!r}")
    p, gh, gw = patch_size, rows // patch_size, cols // patch_size
    image = keras.Input(tuple(input_shape), name="image")
    x = keras.layers.Reshape((gh, p, gw, p * channels), name="split_rows")(image)
    x = keras.layers.Permute((1, 3, 2, 4), name="gather_patches")(x)
    patches = keras.layers.Reshape((gh, gw, p * p * channels), name="patches")(x)
    depth_lstm = depth_transfer == "lstm"
    embed_h = keras.layers.Dense(units, use_bias=False, name="project_h")(patches)
    embed_m = keras.layers.Dense(units, use_bias=False, name="project_m")(patches) if depth_lstm else None
    transfer = ("lstm", "lstm", depth_transfer)
    blocks = [
        GridLSTMBlock(units, num_dims=3, transfer=transfer, priority_dims=(2,), output_form=output_form,
                      use_bias=use_bias, name=f"block_{l + 1}")
        for l in range(num_layers)
    ]
    cells_h = GridCells(2, name="project_h_cells")(embed_h)  # the patches row by row
    cells_m = GridCells(2, name="project_m_cells")(embed_m) if depth_lstm else None
    below_h = [[cells_h[i * gw + j] for j in range(gw)] for i in range(gh)]
    below_m = [[cells_m[i * gw + j] if depth_lstm else None for j in range(gw)] for i in range(gh)]
    for block in blocks:
        down_h, down_m = [[None] * gw for _ in range(gh)], [[None] * gw for _ in range(gh)]
        for i in range(gh):
            across_h, across_m = None, None
            for j in range(gw):
                above_h, above_m = (down_h[i - 1][j], down_m[i - 1][j]) if i else (None, None)
                hidden, memory = block([above_h, across_h, below_h[i][j]], [above_m, across_m, below_m[i][j]])
                down_h[i][j], across_h, below_h[i][j] = hidden
                down_m[i][j], across_m = memory[:2]
                below_m[i][j] = memory[2] if depth_lstm else None
    top = [below_h[-1][-1]] + ([below_m[-1][-1]] if depth_lstm else [])
    x = keras.layers.Dense(fc_units, activation="relu", name="fc")(_readout(top, "readout"))
    y = keras.layers.Dense(num_classes, name="output")(x)
    return GridModel(image, y, name="grid_lstm_mnist")


# -------------------------------------------------------------------------- translation (3-LSTM)


def grid_lstm_translation(
    num_classes=1000, input_shape=(24,), source_length=12, units=128, num_layers=2, output_form="paper", use_bias=True
):
    """The re-encoder: translation as a 2-D mapping by a 3-LSTM (Kalchbrenner et al. 2015, translation experiment).

    "One dimension processes the source sentence, another produces the target sentence; the
    network repeatedly re-encodes the source sentence based on the part of the target generated
    so far; weights are shared across source and target dimensions; regular identity
    connections along the 3rd dimension." Dimension 0 runs along the source, 1 along the
    target, 2 up the layers. In the first layer, source token i enters the target-dimension edge
    below column i and target token j the source-dimension edge left of row j; the source and
    target transforms are one (`tied_transforms`); depth is a non-LSTM identity dimension
    (h' = V H). The block at (last source position, j) of the top layer predicts target token
    j + 1 from its [h; m] along the source and its depth output. One block per layer, shared
    over the (source, target) grid. Sizes are ours (the slides give none).

    Args:
        num_classes: the shared vocabulary (source and target tokens).
        input_shape: (S + T,): the S source tokens, then the T target inputs.
        source_length: S.
        units: hidden size of every dimension.
        num_layers: depth.
        output_form, use_bias: of the blocks.
    """
    tokens = _token_input(input_shape)
    _positive(units=units, num_layers=num_layers, num_classes=num_classes, source_length=source_length)
    src_len = int(source_length)
    tgt_len = tokens.shape[1] - src_len
    if tgt_len < 1:
        raise ConfigError(f"input_shape {tuple(input_shape)} leaves no target tokens after {src_len} source tokens")
    embed_h = GridCells(name="embed_h_cells")(keras.layers.Embedding(num_classes, units, name="embed_h")(tokens))
    embed_m = GridCells(name="embed_m_cells")(keras.layers.Embedding(num_classes, units, name="embed_m")(tokens))
    blocks = [
        GridLSTMBlock(units, num_dims=3, transfer=("lstm", "lstm", "identity"), tied_transforms=True,
                      output_form=output_form, use_bias=use_bias, name=f"block_{l + 1}")
        for l in range(num_layers)
    ]
    below = [[None] * src_len for _ in range(tgt_len)]  # depth input of the block at (source i, target j)
    readout = [None] * tgt_len
    for l, block in enumerate(blocks):
        first = l == 0
        # (h, m) entering each column along the target dimension: source token i under layer 0.
        up = [(embed_h[i], embed_m[i]) if first else (None, None) for i in range(src_len)]
        for j in range(tgt_len):
            t = src_len + j  # target input token j enters row j from the left in layer 0
            left = (embed_h[t], embed_m[t]) if first else (None, None)
            for i in range(src_len):
                hidden, memory = block([left[0], up[i][0], below[j][i]], [left[1], up[i][1], None])
                h_src, h_tgt, below[j][i] = hidden
                m_src, m_tgt = memory
                left, up[i] = (h_src, m_src), (h_tgt, m_tgt)
            if l == num_layers - 1:
                readout[j] = [h_src, m_src, below[j][-1]]
    features = StackSteps(name="features")(readout)  # (T, [h; m] along the source, depth output)
    logits = keras.layers.Dense(num_classes, name="output")(features)
    return GridModel(tokens, logits, name="grid_lstm_translation")
