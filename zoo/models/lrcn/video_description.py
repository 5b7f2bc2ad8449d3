"""LRCN video description on CRF outputs (Donahue thesis §4.5, Fig. 4.5, Table 4.9).

No CNN here: the input is a CRF's prediction of the ⟨activity, tool, object, location⟩ slots of
the whole video (Rohrbach et al. 2013/2014, TACoS multilevel), seen at every step. The sentence
model is "the two-layered, unfactored version of LRCN, as described for image description".

- (a) encoder-decoder on the CRF max: the MAP labels, one per slot, are read as a sequence by a
  two-layer LSTM encoder (`tuple_embedding`, `encoder1`, `encoder2`) whose final states start
  the two-layer decoder (the thesis replaces SMT by "an encoder-decoder LSTM, which encodes the
  input sequence as a fixed length vector before decoding"). Input `crf_max` (S,) int32.
- (b) decoder on the CRF max: the one-hot labels of all slots, concatenated, enter lstm1 at
  every step with the word (like the image in LRCN2u). Input `crf_max` (S,) int32.
- (c) decoder on the CRF probabilities: as (b) with the slots' probability vectors,
  concatenated (sum of slot sizes,) float32, as input `crf_prob`. Best in Table 4.9 (28.8 BLEU-4).

Every variant also takes `words` (T,) int32, [<eos>, w1 .. wn] as for the captioners, and
returns per-step logits (N, T, vocab_size); `zoo.models.lrcn.parts.decoder_parts` cuts the
encoder and one-step decoder for decoding.

The thesis states neither the vocabulary size nor the number of CRF labels per slot: the
defaults below (4 slots of 100 labels, 1,000 words) are placeholders; pass your dataset's.
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.models.lrcn.cards import CRF_SLOTS
from zoo.models.lrcn.captioning import HIDDEN, INIT, recurrent_layer, word_decoder
from zoo.models.lrcn.layers import SlotOneHot

ARCHITECTURES = ("a", "b", "c")


def lrcn_video_description(architecture="c", slot_sizes=CRF_SLOTS, vocab_size=1000, hidden=HIDDEN, embed_dim=HIDDEN,
                           max_words=None, unroll=False):
    """LRCN video description from CRF outputs, architectures (a), (b), (c) of thesis §4.5, Fig. 4.5.

    Two-layer unfactored LSTM decoder; (c) reads the CRF probabilities at every step (28.8
    BLEU-4 on TACoS multilevel, Table 4.9), (b) the one-hot CRF max (27.4), (a) encodes the CRF
    max tuple with a two-layer LSTM and decodes from its final state (25.3).

    Args:
        architecture: "a", "b" or "c".
        slot_sizes: labels per CRF slot (activity, tool, object, location); not stated in the
            thesis, 4 x 100 is a placeholder.
        vocab_size: words + <eos>; not stated in the thesis (1000 is a placeholder).
        hidden: units of every LSTM (1000, as for image description).
        embed_dim: word (and, for (a), slot label) embedding size.
        max_words: fixed caption length T of the `words` input, or None.
        unroll: unroll the recurrent layers over a fixed max_words.
    """
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"architecture must be one of {ARCHITECTURES} (thesis Fig. 4.5), got {architecture!r}")
    slot_sizes = tuple(int(s) for s in slot_sizes)
    if not slot_sizes or min(slot_sizes) < 1:
        raise ConfigError(f"slot_sizes must be positive label counts, one per CRF slot; got {slot_sizes}")
    words = keras.Input((max_words,), dtype="int32", name="words")
    common = dict(vocab_size=vocab_size, layers=2, factored=False, rnn="lstm", hidden=hidden, embed_dim=embed_dim,
                  unroll=unroll)
    if architecture == "c":
        crf = keras.Input((sum(slot_sizes),), name="crf_prob")
        feature = keras.layers.Identity(name="crf_features")(crf)
        logits = word_decoder(words, feature, **common)
    elif architecture == "b":
        crf = keras.Input((len(slot_sizes),), dtype="int32", name="crf_max")
        feature = SlotOneHot(slot_sizes, name="crf_features")(crf)
        logits = word_decoder(words, feature, **common)
    else:
        crf = keras.Input((len(slot_sizes),), dtype="int32", name="crf_max")
        uniform = keras.initializers.RandomUniform(-INIT, INIT)
        x = SlotOneHot(slot_sizes, sequence=True, name="crf_sequence")(crf)
        x = keras.layers.Dense(embed_dim, use_bias=False, kernel_initializer=uniform, name="tuple_embedding")(x)
        enc1 = recurrent_layer("lstm", hidden, "encoder1", return_sequences=True, return_state=True)
        x, h1, c1 = enc1(x)
        enc2 = recurrent_layer("lstm", hidden, "encoder2", return_state=True)
        _, h2, c2 = enc2(x)
        logits = word_decoder(words, None, initial_states=[[h1, c1], [h2, c2]], **common)
    return keras.Model([crf, words], logits, name="lrcn_video_description")
