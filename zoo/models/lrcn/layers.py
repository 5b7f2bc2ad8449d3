"""Small shape layers LRCN needs: time folded into the batch, a static input repeated over time,
CRF slot labels as one-hot vectors. Pure `keras.ops`, serializable, builtin TFLite ops only."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class FoldTime(keras.layers.Layer):
    """(N, T, ...) -> (N*T, ...): one CNN run over every frame, its weights shared across time
    (Donahue thesis §4.2, "the convnet weights are tied across time")."""

    def call(self, inputs):
        return ops.reshape(inputs, (-1, *inputs.shape[2:]))

    def compute_output_shape(self, input_shape):
        n, t = input_shape[:2]
        return (None if n is None or t is None else n * t, *input_shape[2:])


@keras.saving.register_keras_serializable(package="zoo")
class UnfoldTime(keras.layers.Layer):
    """(N*T, ...) back to (N, T, ...), with N and T read from the clip the frames came from
    (`call([frames, clip])`), so clips of any length work."""

    def call(self, inputs):
        frames, clip = inputs
        shape = ops.shape(clip)
        steps = clip.shape[1] if clip.shape[1] is not None else shape[1]
        return ops.reshape(frames, (-1, steps, *frames.shape[1:]))

    def compute_output_shape(self, input_shape):
        frames, clip = input_shape
        return (clip[0], clip[1], *frames[1:])


@keras.saving.register_keras_serializable(package="zoo")
class RepeatOverTime(keras.layers.Layer):
    """`call([vector (N, D), sequence (N, T, ...)])` -> (N, T, D): a static input (the image
    feature, the CRF output) given at every step, as LRCN's captioner does (thesis §4.4)."""

    def call(self, inputs):
        vector, sequence = inputs
        steps = sequence.shape[1] if sequence.shape[1] is not None else ops.shape(sequence)[1]
        return ops.repeat(ops.expand_dims(vector, 1), steps, axis=1)

    def compute_output_shape(self, input_shape):
        vector, sequence = input_shape
        return (vector[0], sequence[1], vector[-1])


@keras.saving.register_keras_serializable(package="zoo")
class SlotOneHot(keras.layers.Layer):
    """CRF MAP labels (N, S) int, one per slot -> one-hot vectors of all slots, concatenated.

    The "CRF max" input of the video description decoders (thesis §4.5, Fig. 4.5 (b)):
    (N, sum(sizes)). With `sequence=True`, (N, S, sum(sizes)) where step s holds only slot s's
    one-hot label at that slot's offset: the tuple read as a word sequence (Fig. 4.5 (a)).
    """

    def __init__(self, slot_sizes, sequence=False, **kwargs):
        super().__init__(**kwargs)
        self.slot_sizes = tuple(int(s) for s in slot_sizes)
        self.sequence = bool(sequence)

    def call(self, labels):
        labels = ops.cast(labels, "int32")
        total, offset, parts = sum(self.slot_sizes), 0, []
        for i, size in enumerate(self.slot_sizes):
            one_hot = ops.one_hot(labels[:, i], size, dtype=self.compute_dtype)
            if self.sequence:
                one_hot = ops.pad(one_hot, [[0, 0], [offset, total - offset - size]])
            parts.append(one_hot)
            offset += size
        return ops.stack(parts, axis=1) if self.sequence else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        total = sum(self.slot_sizes)
        return (input_shape[0], len(self.slot_sizes), total) if self.sequence else (input_shape[0], total)

    def get_config(self):
        return {**super().get_config(), "slot_sizes": list(self.slot_sizes), "sequence": self.sequence}
