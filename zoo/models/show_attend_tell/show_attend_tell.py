"""Show, Attend and Tell (Xu, Ba, Kiros, Cho, Courville, Salakhutdinov, Zemel, Bengio, ICML 2015).

Encoder (§3.1.1): VGG19 (configuration E) conv5_4 before max pooling, 14x14x512 at 224x224,
flattened into L = 196 annotation vectors a_i of D = 512 (the talk's "512 filter, each 14x14").
The encoder is not fine-tuned by default (the paper trains on the fixed features).

Decoder (§3.1.2), an LSTM whose input at step t is [E y_{t-1}, ẑ_t] (and h_{t-1} recurrently):

    e_ti = w_att^T tanh(W_a a_i + W_h h_{t-1} + b)          f_att, an MLP (eq. 4)
    α_t = softmax_i(e_t)                                      (eq. 5)
    β_t = σ(f_β(h_{t-1}))                                     the gating scalar (§4.2.1)
    soft: ẑ_t = β_t Σ_i α_ti a_i                              (eq. 13)
    hard: ẑ_t = β_t a_{s_t}, s_t ~ Multinoulli(α_t)           (eqs. 8-9)
    p(y_t) ∝ exp(L_o tanh(E y_{t-1} + L_h h_t + L_z ẑ_t))     deep output (eq. 7; the tanh is
                                                              arctic-captions capgen.py's)
    h_0, c_0 = tanh(f_init,h(mean_i a_i)), tanh(f_init,c(mean_i a_i))

Doubly stochastic regularisation (eq. 14): λ Σ_i (1 - Σ_t α_ti)², added with `add_loss` (mean over
the batch; over all T steps, as capgen.py does). Dropout before the output layer. Outputs: per-step
logits (N, T, V) and the attention maps α (N, T, L); the hard model also returns log p(s̃ | a) and
the entropy of α summed over steps (N,), which the `hard_attention_captioning` task turns into
the REINFORCE terms (zoo.ops.reinforce). In hard mode, when not training, ẑ_t is the expectation
Σ α_ti a_i (deterministic decoding and export); while training, each batch uses the expectation
instead of a sample with probability 1/2 (§4.1).

Sizes the paper does not state are ASSUMPTIONS taken from arctic-captions' capgen.py defaults as
we recall them: word embedding 512, LSTM 1000, attention MLP 512 (the annotation size), vocabulary
10,000, λ = 1.

`decoder_parts(model)` cuts an encoder (image -> annotations, h_0, c_0) and a one-step decoder
({word, annotations, lstm_h, lstm_c} -> {logits, lstm_h, lstm_c, alpha}) sharing the weights, the
shape `zoo.text.decoding` and `zoo.export.decoder` take.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError
from zoo.models.vgg.vgg import vgg_trunk
from zoo.text.vocab import MAX_WORDS


@keras.saving.register_keras_serializable(package="zoo")
class AttentionDecoder(keras.layers.Layer):
    """The attention LSTM decoder of Xu et al. 2015 (module docstring), unrolled over T steps."""

    def __init__(self, vocab_size, embed_dim=512, units=1000, attention_dim=512, hard=False, dropout=0.5,
                 doubly_stochastic=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embed_dim, self.units = int(vocab_size), int(embed_dim), int(units)
        self.attention_dim, self.hard, self.dropout = int(attention_dim), bool(hard), float(dropout)
        self.doubly_stochastic, self.seed = float(doubly_stochastic), seed
        self.embedding = keras.layers.Embedding(self.vocab_size, self.embed_dim, name="embedding")
        self.init_h = keras.layers.Dense(self.units, activation="tanh", name="init_h")
        self.init_c = keras.layers.Dense(self.units, activation="tanh", name="init_c")
        self.att_annotations = keras.layers.Dense(self.attention_dim, name="att_annotations")  # W_a a_i + b
        self.att_state = keras.layers.Dense(self.attention_dim, use_bias=False, name="att_state")  # W_h h
        self.att_score = keras.layers.Dense(1, name="att_score")  # w_att
        self.selector = keras.layers.Dense(1, activation="sigmoid", name="selector")  # β
        self.lstm = keras.layers.LSTMCell(self.units, name="lstm")
        self.out_state = keras.layers.Dense(self.embed_dim, name="out_state")  # L_h
        self.out_context = keras.layers.Dense(self.embed_dim, use_bias=False, name="out_context")  # L_z
        self.predict = keras.layers.Dense(self.vocab_size, name="predict")  # L_o
        self.drop = keras.layers.Dropout(self.dropout, seed=seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        annotations, _ = input_shape
        dim = annotations[-1]
        self.embedding.build((None,))
        for layer in (self.init_h, self.init_c, self.att_annotations):
            layer.build((None, dim))
        for layer in (self.att_state, self.selector, self.out_state):
            layer.build((None, self.units))
        self.att_score.build((None, None, self.attention_dim))
        self.lstm.build((None, self.embed_dim + dim))
        self.out_context.build((None, dim))
        self.predict.build((None, self.embed_dim))
        if self.hard:  # REINFORCE's moving-average baseline b of log p(y | s̃, a) (§4.1), updated by the task
            self.reward_baseline = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                   aggregation="mean", name="reward_baseline")
        self.built = True

    def initial_state(self, annotations):
        """(projected annotations W_a a + b, h_0, c_0) from the mean annotation (§3.1.2)."""
        mean = ops.mean(annotations, axis=1)
        return self.att_annotations(annotations), self.init_h(mean), self.init_c(mean)

    def attend(self, annotations, projected, h):
        """α (N, L) over the locations given h_{t-1} (eqs. 4-5) and the gate β (N, 1)."""
        scores = self.att_score(ops.tanh(projected + self.att_state(h)[:, None, :]))[..., 0]
        return ops.softmax(scores, axis=-1), self.selector(h)

    def step(self, words, annotations, projected, h, c, training=False, sample=None):
        """One word: (logits (N, V), h, c, α (N, L), log p(s̃) (N,), entropy of α (N,))."""
        emb = self.embedding(words)
        alpha, beta = self.attend(annotations, projected, h)
        expected = ops.einsum("nl,nld->nd", alpha, annotations)
        log_p = ops.zeros_like(alpha[:, 0])
        if sample is not None:  # hard attention: one location drawn from α (eqs. 8-9)
            log_alpha = ops.log(alpha + 1e-12)
            loc = keras.random.categorical(ops.stop_gradient(log_alpha), 1, seed=self.seed_generator)[:, 0]
            one_hot = ops.one_hot(loc, ops.shape(alpha)[-1], dtype=alpha.dtype)
            chosen = ops.einsum("nl,nld->nd", one_hot, annotations)
            log_p = ops.sum(one_hot * log_alpha, axis=-1)
            expected = ops.where(sample, chosen, expected)  # sample is a scalar bool: else the expectation
            log_p = ops.where(sample, log_p, ops.zeros_like(log_p))
        context = beta * expected
        h, (_, c) = self.lstm(ops.concatenate([emb, context], axis=-1), [h, c], training=training)
        out = ops.tanh(emb + self.out_state(h) + self.out_context(context))
        logits = self.predict(self.drop(out, training=training))
        entropy = -ops.sum(alpha * ops.log(alpha + 1e-12), axis=-1)
        return logits, h, c, alpha, log_p, entropy

    def call(self, inputs, training=False):
        annotations, words = inputs
        projected, h, c = self.initial_state(annotations)
        sample = None
        if self.hard and training:  # §4.1: with probability 1/2 the batch uses the expectation instead
            sample = keras.random.uniform((), seed=self.seed_generator) < 0.5
        logits, alphas, log_p, entropy = [], [], 0.0, 0.0
        for t in range(words.shape[1]):
            step_logits, h, c, alpha, step_log_p, step_entropy = self.step(
                words[:, t], annotations, projected, h, c, training=training, sample=sample)
            logits.append(step_logits)
            alphas.append(alpha)
            log_p, entropy = log_p + step_log_p, entropy + step_entropy
        alphas = ops.stack(alphas, axis=1)
        if self.doubly_stochastic:  # eq. 14: every location should get about equal attention over the caption
            self.add_loss(self.doubly_stochastic * ops.mean(ops.sum(ops.square(1.0 - ops.sum(alphas, axis=1)), axis=-1)))
        out = [ops.stack(logits, axis=1), alphas]
        if self.hard:
            out += [log_p + ops.zeros_like(alphas[:, 0, 0]), entropy + ops.zeros_like(alphas[:, 0, 0])]
        return out

    def compute_output_shape(self, input_shape):
        annotations, words = input_shape
        shapes = [(words[0], words[1], self.vocab_size), (words[0], words[1], annotations[1])]
        return shapes + [(words[0],), (words[0],)] if self.hard else shapes

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embed_dim": self.embed_dim,
                "units": self.units, "attention_dim": self.attention_dim, "hard": self.hard, "dropout": self.dropout,
                "doubly_stochastic": self.doubly_stochastic, "seed": self.seed}


def vgg19_annotations(image, width=1, trainable=False):
    """conv5_4 of VGG19 before pooling, as (N, L, D) annotation vectors (§3.1.1, §4.3)."""
    taps = vgg_trunk(image, "E", width=width)
    trunk = keras.Model(image, taps["pool5"])
    for layer in trunk.layers:
        layer.trainable = trainable
    conv = trunk.get_layer("conv5_4").output
    if None in tuple(conv.shape[1:]):
        raise ConfigError(f"the annotations need a fixed image size (224x224 gives 14x14); got conv5_4 {conv.shape[1:]}")
    return keras.layers.Reshape((conv.shape[1] * conv.shape[2], conv.shape[3]), name="annotations")(conv)


def _captioner(name, hard, vocab_size, input_shape, max_words, embed_dim, units, attention_dim, width,
               doubly_stochastic, freeze_encoder, dropout):
    image = keras.Input(tuple(input_shape), name="image")
    words = keras.Input((max_words,), dtype="int32", name="words")
    annotations = vgg19_annotations(image, width, trainable=not freeze_encoder)
    decoder = AttentionDecoder(vocab_size, embed_dim, units, attention_dim or annotations.shape[-1], hard=hard,
                               dropout=dropout, doubly_stochastic=doubly_stochastic, name="decoder")
    outputs = decoder([annotations, words])
    names = ("logits", "alpha", "log_p_locations", "attention_entropy")
    outputs = [keras.layers.Identity(name=n)(t) for n, t in zip(names, outputs)]
    return keras.Model({"image": image, "words": words}, outputs, name=name)


def show_attend_tell_soft(vocab_size=10000, input_shape=(224, 224, 3), max_words=MAX_WORDS, embed_dim=512,
                          units=1000, attention_dim=None, width=1, doubly_stochastic=1.0, freeze_encoder=True,
                          dropout=0.5):
    """Show, Attend and Tell with deterministic soft attention (Xu et al. 2015 §4.2).

    VGG19 conv5_4 annotations (14x14x512 at 224x224), an LSTM decoder attending with α over the
    196 locations, the gating scalar β and the doubly stochastic penalty (add_loss). Inputs
    {"image": BGR minus the VGG mean, "words": [<eos>, w1 .. wn] padded with 0}; outputs
    [logits (N, T, V), α (N, T, 196)]. COCO: BLEU-4 24.3, METEOR 23.90 (Table 1).

    Args:
        vocab_size: words of the output softmax and the embedding.
        input_shape: (H, W, 3), 224x224 in the paper (14x14 annotations).
        max_words: T, the length of the word input (the loop is unrolled over it).
        embed_dim, units, attention_dim: embedding, LSTM and attention MLP sizes (assumed; module docstring);
            attention_dim None takes the annotation size.
        width: divides VGG's widths (small test configurations).
        doubly_stochastic: λ of eq. 14 (0 turns the penalty off).
        freeze_encoder: keep VGG19 fixed (the paper's setting).
        dropout: before the output layer.
    """
    return _captioner("show_attend_tell_soft", False, vocab_size, input_shape, max_words, embed_dim, units,
                      attention_dim, width, doubly_stochastic, freeze_encoder, dropout)


def show_attend_tell_hard(vocab_size=10000, input_shape=(224, 224, 3), max_words=MAX_WORDS, embed_dim=512,
                          units=1000, attention_dim=None, width=1, doubly_stochastic=0.0, freeze_encoder=True,
                          dropout=0.5):
    """Show, Attend and Tell with stochastic hard attention (Xu et al. 2015 §4.1), trained with REINFORCE.

    As `show_attend_tell_soft`, but while training ẑ_t is the annotation of one location sampled
    from α_t (with probability 1/2 per batch, the expectation instead); outputs add log p(s̃ | a)
    and the entropy of α summed over steps, for the `hard_attention_captioning` task's REINFORCE
    terms (moving-average baseline, entropy bonus). Decoding uses the expectation. COCO: BLEU-4
    25.0, METEOR 23.04 (Table 1).

    Args:
        vocab_size: words of the output softmax and the embedding.
        input_shape: (H, W, 3), 224x224 in the paper.
        max_words: T, the length of the word input.
        embed_dim, units, attention_dim: as `show_attend_tell_soft`'s.
        width: divides VGG's widths (small test configurations).
        doubly_stochastic: λ of eq. 14 (off by default: §4.1 states the penalty for the soft model).
        freeze_encoder: keep VGG19 fixed.
        dropout: before the output layer.
    """
    return _captioner("show_attend_tell_hard", True, vocab_size, input_shape, max_words, embed_dim, units,
                      attention_dim, width, doubly_stochastic, freeze_encoder, dropout)


class _DecoderCall(keras.layers.Layer):
    """Calls a method of the trained model's decoder inside a functional model (weights shared)."""

    def __init__(self, decoder, method, **kwargs):
        super().__init__(**kwargs)
        self.decoder, self.method = decoder, method

    def call(self, inputs):
        if self.method == "init":
            return list(self.decoder.initial_state(inputs))
        word, annotations, h, c = inputs
        projected = self.decoder.att_annotations(annotations)
        logits, h, c, alpha, _, _ = self.decoder.step(word, annotations, projected, h, c)
        return [logits, h, c, alpha]


def decoder_parts(model) -> tuple[keras.Model, keras.Model]:
    """(encoder, step) sharing `model`'s weights: image -> {annotations, lstm_h, lstm_c}; {word,
    annotations, lstm_h, lstm_c} -> {logits, lstm_h, lstm_c, alpha} (soft attention, or the hard
    model's expectation)."""
    decoder = model.get_layer("decoder")
    annotations = model.get_layer("annotations").output
    _, h0, c0 = _DecoderCall(decoder, "init", name="initial_state")(annotations)
    encoder = keras.Model(model.get_layer("image").output, {"annotations": annotations, "lstm_h": h0, "lstm_c": c0},
                          name=f"{model.name}_encoder")
    word = keras.Input((), dtype="int32", name="word")
    ann = keras.Input(tuple(annotations.shape[1:]), name="annotations")
    h = keras.Input((decoder.units,), name="lstm_h")
    c = keras.Input((decoder.units,), name="lstm_c")
    logits, h1, c1, alpha = _DecoderCall(decoder, "step", name="step")([word, ann, h, c])
    step = keras.Model({"word": word, "annotations": ann, "lstm_h": h, "lstm_c": c},
                       {"logits": logits, "lstm_h": h1, "lstm_c": c1, "alpha": alpha}, name=f"{model.name}_step")
    return encoder, step


class Decoder:
    """The NumPy face of `decoder_parts` for `zoo.text.decoding` (as `zoo.models.lrcn.parts.Decoder`):
    the state holds the annotations (constant) and the LSTM state; `last_alpha` keeps the attention
    map of the latest step (the maps drawn over the image word by word)."""

    names = ("lstm_h", "lstm_c")

    def __init__(self, model):
        self.encoder, self.step_model = decoder_parts(model)
        self.vocab_size = int(model.get_layer("decoder").vocab_size)
        self.last_alpha = None

    def initial_state(self, inputs) -> dict:
        return {k: keras.ops.convert_to_numpy(v) for k, v in self.encoder(inputs, training=False).items()}

    def step(self, words, state: dict):
        import numpy as np

        out = self.step_model({"word": np.asarray(words, np.int32), **state}, training=False)
        self.last_alpha = keras.ops.convert_to_numpy(out["alpha"])
        new_state = {k: keras.ops.convert_to_numpy(out[k]) for k in self.names}
        new_state["annotations"] = state["annotations"]
        return keras.ops.convert_to_numpy(out["logits"]), new_state
