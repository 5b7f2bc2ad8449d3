"""OverFeat fast and accurate models (Sermanet et al. 2014, ICLR, Tables 1 and 3).

Layer sizes are the paper's (the theses we build on only say OverFeat is "9 layers, 13% top-5 error" and
has a global stride of 36 pixels, Oquab thesis §2 and §4.2): no LRN, non-overlapping max
pooling, dropout 0.5 on the first two fully connected layers. Layers are numbered as in the
tables (the accurate model's fully connected layers are fc7, fc8, fc9). Both return logits.

No OverFeat weights are registered, so the input normalisation (`cards.py`) is this zoo's choice
for training from scratch (RGB minus the ILSVRC mean), not the original release's.
"""

from __future__ import annotations

import keras

from zoo.models.alexnet.alexnet import classifier, scaled


def _body(x, layers, width):
    """layers: (channels, kernel, stride, pad, pool) per conv layer, numbered from 1."""
    for i, (channels, kernel, stride, pad, pool) in enumerate(layers, start=1):
        x = keras.layers.Conv2D(
            scaled(channels, width), kernel, strides=stride, padding="same" if pad else "valid",
            activation="relu", name=f"conv{i}",
        )(x)
        if pool:
            x = keras.layers.MaxPooling2D(pool, name=f"pool{i}")(x)
    return x


def overfeat_fast(num_classes=1000, input_shape=(231, 231, 3), include_top=True, width=1, classifier_activation=None):
    """OverFeat fast model: 5 conv + 3 fully connected layers, output stride 32 (Table 1).

    231×231 → conv1 96×11×11/4 (56) → pool 2/2 (28) → conv2 256×5×5 (24) → pool 2/2 (12) →
    conv3 512, conv4 1024, conv5 1024, all 3×3 pad 1 (12) → pool 2/2 (6×6×1024) → fc6 3072 →
    fc7 4096 → fc8. Table 1 lists 24×24 as layer 2's spatial size, which is its conv output.

    Args: as `alexnet` (num_classes, input_shape: 231×231 in the paper, include_top: False ends at
    pool5, width, classifier_activation).
    """
    x = inputs = keras.Input(input_shape, name="data")
    x = _body(x, [(96, 11, 4, 0, 2), (256, 5, 1, 0, 2), (512, 3, 1, 1, 0), (1024, 3, 1, 1, 0), (1024, 3, 1, 1, 2)],
              width)
    if include_top:
        x = classifier(x, num_classes, (3072, 4096), width, classifier_activation)
    return keras.Model(inputs, x, name="overfeat_fast")


def overfeat_accurate(
    num_classes=1000, input_shape=(221, 221, 3), include_top=True, width=1, classifier_activation=None
):
    """OverFeat accurate model: 6 conv + 3 fully connected layers, output stride 36 (Table 3).

    221×221 → conv1 96×7×7/2 (108) → pool 3/3 (36) → conv2 256×7×7 (30) → pool 2/2 (15) →
    conv3 512, conv4 512, conv5 1024, conv6 1024, all 3×3 pad 1 (15) → pool 3/3 (5×5×1024) →
    fc7 4096 → fc8 4096 → fc9. Stride 2·3·2·3 = 36 (Oquab thesis §4.2).

    Args: as `overfeat_fast`; the input is 221×221 in the paper.
    """
    x = inputs = keras.Input(input_shape, name="data")
    x = _body(
        x, [(96, 7, 2, 0, 3), (256, 7, 1, 0, 2), (512, 3, 1, 1, 0), (512, 3, 1, 1, 0), (1024, 3, 1, 1, 0),
            (1024, 3, 1, 1, 3)], width,
    )
    if include_top:
        x = classifier(x, num_classes, (4096, 4096), width, classifier_activation, first_fc=7)
    return keras.Model(inputs, x, name="overfeat_accurate")
