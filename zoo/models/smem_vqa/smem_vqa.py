"""Ask, Attend and Answer: the Spatial Memory Network for VQA (Xu & Saenko, ECCV 2016), 1 and 2 hops.

Spatial features S (L locations x M channels): GoogLeNet's inception_5b output (7x7x1024 at
224x224; the paper's exact input size is not in our sources: an ASSUMPTION). Question words
v_1..v_T are embedded (N-d); the question is their sum Q (bag of words).

Hop 1, word-guided attention (§3.1 as we recall it; check against the paper):

    C = V (S W_A + b_A)^T                 (T x L) the correlation of every word with every location
    W_att = softmax_L(max_T C)            the attention weights over the L locations
    S_att = W_att (S W_E + b_E)           the attended visual evidence (N)
    O_1 = S_att + Q

Hop 2 (§3.2): the first hop's evidence embedding attends with O_1, and a second evidence
embedding is read:

    W_att2 = softmax_L((S W_E + b_E) O_1)      S_att2 = W_att2 (S W_E2 + b_E2)      O_2 = O_1 + S_att2

Answer: softmax(W_P O + b_P) over the answer vocabulary. Outputs: [answer logits, W_att (N, L)
(and W_att2 for two hops)] for the paper's attention figures. Sizes not in our sources (N = 512,
3,000 answers) are ASSUMPTIONS. Padding words (id 0) are masked out of Q and of the max over words.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError
from zoo.models.googlenet.googlenet import googlenet


@keras.saving.register_keras_serializable(package="zoo")
class SpatialMemory(keras.layers.Layer):
    """The 1- or 2-hop spatial memory network over (features (N, L, M), question ids (N, T))."""

    def __init__(self, vocab_size, num_answers, embed_dim=512, hops=1, **kwargs):
        super().__init__(**kwargs)
        if hops not in (1, 2):
            raise ConfigError(f"the spatial memory network has 1 or 2 hops, got {hops}")
        self.vocab_size, self.num_answers, self.embed_dim, self.hops = int(vocab_size), int(num_answers), int(embed_dim), int(hops)
        self.words = keras.layers.Embedding(self.vocab_size, self.embed_dim, name="word_embedding")
        self.attention_embedding = keras.layers.Dense(self.embed_dim, name="W_A")
        self.evidence_embedding = keras.layers.Dense(self.embed_dim, name="W_E")
        self.evidence_embedding2 = keras.layers.Dense(self.embed_dim, name="W_E2") if hops == 2 else None
        self.answer = keras.layers.Dense(self.num_answers, name="W_P")

    def build(self, input_shape):
        features, _ = input_shape
        self.words.build((None, None))
        for layer in (self.attention_embedding, self.evidence_embedding, self.evidence_embedding2):
            if layer is not None:
                layer.build((None, None, features[-1]))
        self.answer.build((None, self.embed_dim))
        self.built = True

    def call(self, inputs):
        features, question = inputs
        mask = ops.cast(ops.not_equal(question, 0), self.compute_dtype)  # (N, T): id 0 pads
        v = self.words(question) * mask[..., None]
        q = ops.sum(v, axis=1)
        corr = ops.einsum("ntd,nld->ntl", v, self.attention_embedding(features))
        corr = corr - (1.0 - mask[..., None]) * 1e9  # padding words never win the max
        w_att = ops.softmax(ops.max(corr, axis=1), axis=-1)
        evidence = self.evidence_embedding(features)
        o = ops.einsum("nl,nld->nd", w_att, evidence) + q
        outputs = [w_att]
        if self.hops == 2:
            w_att2 = ops.softmax(ops.einsum("nld,nd->nl", evidence, o), axis=-1)
            o = o + ops.einsum("nl,nld->nd", w_att2, self.evidence_embedding2(features))
            outputs.append(w_att2)
        return [self.answer(o), *outputs]

    def compute_output_shape(self, input_shape):
        features, question = input_shape
        return [(features[0], self.num_answers)] + [(features[0], features[1])] * self.hops

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "num_answers": self.num_answers,
                "embed_dim": self.embed_dim, "hops": self.hops}


def _smem(name, hops, vocab_size, num_answers, input_shape, max_words, embed_dim, width, trunk_trainable):
    image = keras.Input(tuple(input_shape), name="image")
    question = keras.Input((max_words,), dtype="int32", name="question")
    trunk = googlenet(include_top=False, input_shape=tuple(input_shape), width=width)
    trunk.trainable = trunk_trainable
    maps = trunk(image)
    if None in tuple(maps.shape[1:]):
        raise ConfigError(f"the spatial memory needs a fixed image size; got features {maps.shape[1:]}")
    features = keras.layers.Reshape((maps.shape[1] * maps.shape[2], maps.shape[3]), name="spatial_features")(maps)
    outputs = SpatialMemory(vocab_size, num_answers, embed_dim, hops, name="memory")([features, question])
    names = ("answer", "W_att", "W_att2")
    return keras.Model({"image": image, "question": question},
                       [keras.layers.Identity(name=n)(t) for n, t in zip(names, outputs)], name=name)


def smem_vqa_1hop(vocab_size=10000, num_answers=3000, input_shape=(224, 224, 3), max_words=20, embed_dim=512, width=1,
                  trunk_trainable=False):
    """One-hop spatial memory network for VQA (Xu & Saenko 2016 §3.1): word-guided attention W_att
    over GoogLeNet's spatial features, evidence plus question into the answer softmax.

    Inputs {"image": BGR minus the mean, "question": word ids padded with 0}; outputs [answer
    logits, W_att (N, L)].

    Args:
        vocab_size: question words (id 0 pads).
        num_answers: the answer classes.
        input_shape: (H, W, 3); GoogLeNet's inception_5b gives 7x7 locations at 224.
        max_words: question length T.
        embed_dim: N, the word and evidence embedding size.
        width: divides GoogLeNet's widths (small test configurations).
        trunk_trainable: fine-tune GoogLeNet (frozen by default).
    """
    return _smem("smem_vqa_1hop", 1, vocab_size, num_answers, input_shape, max_words, embed_dim, width, trunk_trainable)


def smem_vqa_2hop(vocab_size=10000, num_answers=3000, input_shape=(224, 224, 3), max_words=20, embed_dim=512, width=1,
                  trunk_trainable=False):
    """Two-hop spatial memory network (Xu & Saenko 2016 §3.2): a second attention W_att2 conditioned
    on the first hop's output, for questions about relative positions.

    Outputs [answer logits, W_att, W_att2]. Args as `smem_vqa_1hop`'s.

    Args:
        vocab_size: question words (id 0 pads).
        num_answers: the answer classes.
        input_shape: (H, W, 3).
        max_words: question length T.
        embed_dim: N.
        width: divides GoogLeNet's widths.
        trunk_trainable: fine-tune GoogLeNet.
    """
    return _smem("smem_vqa_2hop", 2, vocab_size, num_answers, input_shape, max_words, embed_dim, width, trunk_trainable)
