"""LRCN image captioners LRCN1u, LRCN2u and LRCN2f (Donahue thesis §4.4, Fig. 4.4).

The image goes through the CNN once; its feature φ_V(x) (CaffeNet's or VGG16's fc8, 1000-d,
linear: lrcn.prototxt feeds `fc8` to the LSTM) is an input at EVERY step. Words enter as ids,
embedded by `embedding` (no bias). The recurrent stack has 1000-unit LSTMs and the last one
feeds `predict`, a linear layer over the vocabulary (the softmax is in the loss / decoder):

- lrcn1u: lstm1([embedding(w_{t-1}) ; φ_V(x)]) -> predict
- lrcn2u: lstm1([embedding(w_{t-1}) ; φ_V(x)]) -> lstm2 -> predict          (unfactored)
- lrcn2f: lstm1(embedding(w_{t-1})) -> lstm2([h1_t ; φ_V(x)]) -> predict    (factored: the
  first LSTM models the partial caption "blind" to the image)

The training model maps (image, input words) to per-step logits: inputs `image` (H, W, 3)
BGR minus the ImageNet mean and `words` (T,) int32, `[<eos>, w1 .. wn]` padded with 0
(`zoo.text.vocab.Vocabulary.sequences`); output (N, T, vocab_size). Caffe's static input
(`W_xc_static`, no bias) is the same as concatenating φ_V(x) to the LSTM input, which is what
the Keras layers here do (`convert.caffe_lstm_to_keras` maps the weights).

For decoding outside the graph, `decoder_parts(model)` returns an image encoder
(image -> {"feature"}) and a one-step decoder ({"word", "feature", states} -> {"logits",
states}) that share the model's weights; `zoo.text.decoding` runs greedy, beam and
sampling searches around them.

`rnn="vanilla"` replaces each LSTM by Caffe's RNN layer (`zoo.layers.caffe_rnn.CaffeRNN`:
h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), output o_t = tanh(W_ho h_t + b_o); thesis §4.1),
named rnn1, rnn2; `lrcn2f_rnn` is the "RNN" row of Tables 4.5/4.6 (CaffeNet, 2 layers, factored).
Names follow lrcn.prototxt: conv1 .. fc8, embedding, lstm1, lstm2, predict.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.caffe_rnn import CaffeRNN
from zoo.models.alexnet.alexnet import caffenet
from zoo.models.lrcn.activity import caffe_lstm, clone_layers
from zoo.models.lrcn.layers import RepeatOverTime
from zoo.models.vgg.vgg import vgg16

COCO_VOCABULARY = 8801  # lrcn.prototxt: Embed input_dim and predict num_output
HIDDEN = 1000  # "each with 1000 hidden units" (thesis §4.4); lrcn.prototxt num_output 1000
INIT = 0.08  # lrcn.prototxt: uniform ±0.08 for embedding, LSTMs and predict

_ENCODERS = {"caffenet": (caffenet, (227, 227, 3)), "vgg16": (vgg16, (224, 224, 3))}


def image_encoder(image, encoder, *, input_shape, width, trainable):
    """fc8 of CaffeNet or VGG16 (ImageNet-classifier layers, names kept) on `image`."""
    if encoder not in _ENCODERS:
        raise ConfigError(f"encoder must be one of {', '.join(_ENCODERS)}, got {encoder!r}")
    builder, _ = _ENCODERS[encoder]
    return clone_layers(builder(num_classes=1000, input_shape=input_shape, width=width), image, trainable=trainable)


def recurrent_layer(rnn, units, name, *, unroll=False, **kwargs):
    """An LSTM as in Caffe, or Caffe's vanilla RNN (its output tanh layer inside), uniform ±INIT, zero bias."""
    if rnn == "lstm":
        return caffe_lstm(units, name, init=INIT, unroll=unroll, **kwargs)
    if rnn == "vanilla":
        uniform = keras.initializers.RandomUniform(-INIT, INIT)
        return CaffeRNN(units, kernel_initializer=uniform, recurrent_initializer=uniform, output_initializer=uniform,
                        bias_initializer="zeros", unroll=unroll, name=name, **kwargs)
    raise ConfigError(f"rnn must be 'lstm' or 'vanilla', got {rnn!r}")


def word_decoder(words, feature, *, vocab_size, layers, factored, rnn, hidden, embed_dim, unroll,
                 initial_states=None):
    """The language half shared by captioners and video describers: per-step logits (N, T, V).

    `feature` (N, D) or None is repeated over time into the first LSTM (unfactored) or the
    second (factored); `initial_states` (one list per layer) start the stack from an encoder.
    """
    uniform = keras.initializers.RandomUniform(-INIT, INIT)
    x = keras.layers.Embedding(vocab_size, embed_dim, embeddings_initializer=uniform, name="embedding")(words)
    static = RepeatOverTime(name="feature_over_time")([feature, x]) if feature is not None else None
    prefix = "lstm" if rnn == "lstm" else "rnn"
    for i in range(1, layers + 1):
        if static is not None and i == (2 if factored else 1):
            x = keras.layers.Concatenate(name=f"{prefix}{i}_input")([x, static])
        layer = recurrent_layer(rnn, hidden, f"{prefix}{i}", unroll=unroll, return_sequences=True)
        state = None if initial_states is None else initial_states[i - 1]
        x = layer(x, initial_state=state) if state is not None else layer(x)
    return keras.layers.Dense(vocab_size, kernel_initializer=uniform, name="predict")(x)


def _captioner(name, *, layers, factored, vocab_size, encoder, input_shape, freeze_encoder, rnn, hidden,
               embed_dim, max_words, width, unroll):
    if layers == 1 and factored:
        raise ConfigError("a factored captioner needs two recurrent layers")
    input_shape = tuple(input_shape or _ENCODERS.get(encoder, (None, (227, 227, 3)))[1])
    image = keras.Input(input_shape, name="image")
    words = keras.Input((max_words,), dtype="int32", name="words")
    feature = image_encoder(image, encoder, input_shape=input_shape, width=width, trainable=not freeze_encoder)
    logits = word_decoder(words, feature, vocab_size=vocab_size, layers=layers, factored=factored, rnn=rnn,
                          hidden=hidden, embed_dim=embed_dim, unroll=unroll)
    return keras.Model([image, words], logits, name=name)


def lrcn1u(vocab_size=COCO_VOCABULARY, encoder="caffenet", input_shape=None, freeze_encoder=True, rnn="lstm",
           hidden=HIDDEN, embed_dim=HIDDEN, max_words=None, width=1, unroll=False):
    """LRCN1u: one LSTM reading [word embedding ; image fc8] at every step (thesis §4.4, Fig. 4.4).

    Args: see `lrcn2f`.
    """
    return _captioner("lrcn1u", layers=1, factored=False, vocab_size=vocab_size, encoder=encoder,
                      input_shape=input_shape, freeze_encoder=freeze_encoder, rnn=rnn, hidden=hidden,
                      embed_dim=embed_dim, max_words=max_words, width=width, unroll=unroll)


def lrcn2u(vocab_size=COCO_VOCABULARY, encoder="caffenet", input_shape=None, freeze_encoder=True, rnn="lstm",
           hidden=HIDDEN, embed_dim=HIDDEN, max_words=None, width=1, unroll=False):
    """LRCN2u: two stacked LSTMs, the image fc8 with the word into the first (thesis §4.4, unfactored).

    Args: see `lrcn2f`.
    """
    return _captioner("lrcn2u", layers=2, factored=False, vocab_size=vocab_size, encoder=encoder,
                      input_shape=input_shape, freeze_encoder=freeze_encoder, rnn=rnn, hidden=hidden,
                      embed_dim=embed_dim, max_words=max_words, width=width, unroll=unroll)


def lrcn2f(vocab_size=COCO_VOCABULARY, encoder="caffenet", input_shape=None, freeze_encoder=True, rnn="lstm",
           hidden=HIDDEN, embed_dim=HIDDEN, max_words=None, width=1, unroll=False):
    """LRCN2f: two LSTMs, factored: lstm1 sees only words, lstm2 sees [h1 ; image fc8] (thesis §4.4).

    The release's default variant (lrcn.prototxt stage "factored") and the thesis's best on
    both retrieval and generation (Tables 4.5, 4.6).

    Args:
        vocab_size: words + <eos> (8801 for the released COCO vocabulary); `len(Vocabulary)`.
        encoder: "caffenet" (227x227 input) or "vgg16" (224x224); its fc8 is the image feature.
        input_shape: the image size; the encoder's own by default.
        freeze_encoder: True keeps the ImageNet CNN fixed (lrcn.prototxt stage freeze-convnet);
            False fine-tunes it ("FT" in Tables 4.5-4.6; the release uses lr_mult 0.1 there).
        rnn: "lstm", or "vanilla" for the RNN ablation.
        hidden: recurrent units (1000). embed_dim: word embedding size (1000 in lrcn.prototxt).
        max_words: fixed caption length T of the `words` input (20 in the release), or None.
        width: divides the encoder's widths (small test configurations); 1 is the paper's net.
        unroll: unroll the recurrent layers over a fixed max_words.
    """
    return _captioner("lrcn2f", layers=2, factored=True, vocab_size=vocab_size, encoder=encoder,
                      input_shape=input_shape, freeze_encoder=freeze_encoder, rnn=rnn, hidden=hidden,
                      embed_dim=embed_dim, max_words=max_words, width=width, unroll=unroll)


def lrcn2f_rnn(vocab_size=COCO_VOCABULARY, encoder="caffenet", input_shape=None, freeze_encoder=True, hidden=HIDDEN,
               embed_dim=HIDDEN, max_words=None, width=1, unroll=False):
    """LRCN2f on Caffe's vanilla RNN: the "RNN" rows of Tables 4.5 and 4.6 (thesis §4.4; the RNN of §4.1).

    rnn1 sees only words, rnn2 sees [o1_t ; image fc8], each a `CaffeRNN` (1000 units, with its
    output tanh layer); the rest is `lrcn2f`'s, so a Caffe net with `RNN` layers rnn1, rnn2 loads
    by name (zoo.models.lrcn.convert). The same network as `lrcn2f(rnn="vanilla")`.

    Args: see `lrcn2f`.
    """
    return _captioner("lrcn2f_rnn", layers=2, factored=True, vocab_size=vocab_size, encoder=encoder,
                      input_shape=input_shape, freeze_encoder=freeze_encoder, rnn="vanilla", hidden=hidden,
                      embed_dim=embed_dim, max_words=max_words, width=width, unroll=unroll)
