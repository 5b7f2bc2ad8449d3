"""LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998, "Gradient-based learning applied to document
recognition", Proc. IEEE 86(11), §II.B, Fig. 2), with the usual modern simplifications.

The paper's layers and their trainable parameters (§II.B): C1 6@5×5 (156), S2 (12), C3 16@5×5
(1,516), S4 (32), C5 120@5×5 (48,120), F6 84 (10,164), then 10 Euclidean RBF units whose
parameter vectors are fixed by hand; 60,000 trainable parameters in all.

Simplifications here (each changes the parameter count as noted):
- S2 and S4 are plain 2×2 average pools: the paper multiplies each map's sum by a trainable
  coefficient, adds a trainable bias and applies a sigmoid (−12 and −32 parameters).
- C3 connects every S2 map to every C3 map instead of the paper's Table I connection table
  (2,416 parameters instead of 1,516: +900).
- The output is a trainable fully connected layer of logits instead of the fixed RBF units
  (+850 parameters).
- Units use tanh instead of the scaled tanh 1.7159·tanh(2a/3) of Appendix A.
Total: 60,000 − 44 + 900 + 850 = 61,706 trainable parameters.
"""

from __future__ import annotations

import keras


def lenet5(num_classes=10, input_shape=(32, 32, 1), activation="tanh", classifier_activation=None):
    """LeNet-5: C1 6@5×5 → S2 → C3 16@5×5 → S4 → C5 120@5×5 → F6 84 → output (logits).

    Feature maps 28×28 → 14×14 → 10×10 → 5×5 → 1×1 for the paper's 32×32 input. Simplified
    as the module docstring says (full C3, average pooling, linear output): 61,706 parameters.

    Args:
        num_classes: size of the output layer (10 digits in the paper).
        input_shape: (32, 32, 1) in the paper; C5 needs a 5×5 S4 map, so other sizes change C5's output.
        activation: of C1, C3, C5 and F6.
        classifier_activation: None for logits, or e.g. "softmax".
    """
    x = inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Conv2D(6, 5, activation=activation, name="c1")(x)
    x = keras.layers.AveragePooling2D(2, name="s2")(x)
    x = keras.layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = keras.layers.AveragePooling2D(2, name="s4")(x)
    x = keras.layers.Conv2D(120, 5, activation=activation, name="c5")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(84, activation=activation, name="f6")(x)
    x = keras.layers.Dense(num_classes, name="output")(x)
    if classifier_activation is not None:
        x = keras.layers.Activation(classifier_activation, name="prob")(x)
    return keras.Model(inputs, x, name="lenet5")
