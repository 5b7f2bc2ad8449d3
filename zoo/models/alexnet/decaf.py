"""DeCAF: the CaffeNet release frozen as a feature extractor, with a linear head (Donahue thesis ch. 2).

DeCAF_n is the activation of the n-th hidden layer (§2.3): DeCAF5 = pool5 (the first activations
fully propagated through the convolutions, 6x6x256 = 9216), DeCAF6 = fc6 and DeCAF7 = fc7 (4096
each, after their ReLU, as Caffe's in-place ReLU leaves the blobs), and DeCAF1 = pool1 (the first
pooling layer, used only for the t-SNE of Fig. 2.1). "All of its weights are frozen" (§2.3): every
layer up to the tap has `trainable=False` and the tap has no dropout; only the head `classifier`
(a Dense on the flattened feature) is learned, by the staged step's logistic regression or linear
SVM (feature dropout and the cross-validated C are options of that step).

Input: "the center 224x224 crop of the 256x256 resized image" (§2.3), BGR minus the ILSVRC mean as
CaffeNet expects; with Caffe's ceil-mode pooling a 224 input still gives pool5 6x6x256
(224 -> 54 -> 27 -> 13 -> 6), so the released fc6 applies unchanged. The DeCAF release itself ran
on 227 crops of a cuda-convnet net (UCBAIR/decaf-release, `decaf/scripts/imagenet.py`); the zoo uses the
BVLC CaffeNet release (`bvlc_reference_caffenet.caffemodel`, loaded by layer name, fc8 left out),
trained by the same author with the same recipe: a stated substitution.
"""

from __future__ import annotations

import functools

import keras

from zoo.errors import ConfigError
from zoo.models.alexnet.alexnet import caffenet, scaled

# DeCAF_n -> the CaffeNet layer whose output it is (§2.3, Fig. 2.1).
DECAF_LAYERS = {1: "pool1", 5: "pool5", 6: "fc6", 7: "fc7"}


def decaf(layer=6, num_classes=102, input_shape=(224, 224, 3), width=1):
    """DeCAF_`layer` of the frozen CaffeNet into a linear head `classifier` (Donahue thesis §2.3).

    Args:
        layer: 1, 5, 6 or 7 (DeCAF1 = pool1, DeCAF5 = pool5, DeCAF6 = fc6, DeCAF7 = fc7).
        num_classes: outputs of the head (Caltech-101 with its background class: 102; Office: 31;
            SUN-397: 397; CUB-200-2011: 200).
        input_shape: (H, W, 3) BGR minus the ILSVRC mean; 224x224 in the thesis.
        width: divides every layer's width (small test configurations); 1 is the released net.
    """
    if layer not in DECAF_LAYERS:
        raise ConfigError(f"layer must be one of {sorted(DECAF_LAYERS)} (DeCAF1/5/6/7), got {layer!r}")
    w = functools.partial(scaled, width=width)
    convs = caffenet(input_shape=input_shape, include_top=False, width=width)
    inputs = convs.input
    x = convs.get_layer(DECAF_LAYERS[layer] if layer in (1, 5) else "pool5").output
    x = keras.layers.Flatten(name="flatten" if layer != 1 else "flatten_pool1")(x)
    for n in (6, 7):
        if layer < n:
            break
        # No dropout: the extractor is frozen and deterministic (DeCAF6/7 are the released activations).
        x = keras.layers.Dense(w(4096), activation="relu", name=f"fc{n}")(x)
    feature = keras.layers.Identity(name=f"decaf{layer}")(x)
    logits = keras.layers.Dense(num_classes, name="classifier")(feature)
    model = keras.Model(inputs, logits, name=f"decaf{layer}")
    for frozen in model.layers[:-1]:  # everything but the head (§2.3: "all of its weights are frozen")
        frozen.trainable = False
    return model
