"""Oquab et al. 2014, mid-level feature transfer (Oquab thesis ch. 3, Fig. 3-2): the ImageNet source
network and the target network with its adaptation layers.

Source (`oquab_alexnet`): Krizhevsky et al. 2012 as App. B.6.2 tabulates it, C1-C5, FC6-FC8, 224x224
input, FC6/FC7 of 4096 units (PRE-1000C, PRE-1000R: 1000 classes) or 6144 (PRE-1512: 1512 classes, "we
increase the size of FC6 and FC7 to 6144"). The layers are BVLC AlexNet's (LRN before pooling, conv2/4/5
in two groups, Caffe's ceil pooling): at 224 conv1 gives 54x54 rather than the table's 55x55 (the table
needs a 227 input or padding, which it does not give), and ceil pooling still ends at 6x6x256 = 9216.

Target (`midlevel_alexnet`, §3.2.1): C1...C5, FC6, FC7 copied from the source, FC8 removed, and the
adaptation layers FCa (2048, ReLU) and FCb (the target classes; softmax in the loss) added: Ya =
σ(Wa Y7 + Ba), Yb = ψ(Wb Ya + Bb). Layers named as the source's, so a source model's weights load by
name (`weights_partial`: fc8 left out). `freeze` picks what stays fixed:
- "fc7": C1-C5, FC6, FC7 (PRE-1000C / PRE-1000R / PRE-1512: "only the adaptation layer is trained");
- "conv5": C1-C5 only (PRE-1512U, the action task: FC6, FC7, FCa, FCb retrained);
- "none": nothing (NO PRETRAIN: "an identical network directly trained on the Pascal VOC").
`adaptation_depth` 1 / 2 / 3 is §3.3's ablation: FCb alone, FCa + FCb (the method), or FCa, FCa2 (2048
each) + FCb ("about 1% drop" for both 1 and 3). Dropout 0.5 follows FC6, FC7 and the hidden adaptation
layers (the thesis replicates Krizhevsky's "exact dropout"; placing it after FCa is our reading).
"""

from __future__ import annotations

import functools

import keras

from zoo.errors import ConfigError
from zoo.models.alexnet.alexnet import _bvlc, scaled

FREEZE = ("fc7", "conv5", "none")


def oquab_alexnet(num_classes=1000, fc_units=4096, input_shape=(224, 224, 3), width=1, classifier_activation=None):
    """The source network of Oquab thesis §3.2.1 / App. B.6.2: AlexNet with FC6/FC7 of `fc_units`.

    Args:
        num_classes: FC8 (1000 for PRE-1000C/R, 1512 for PRE-1512).
        fc_units: FC6/FC7 width, 4096 or 6144 (the 1512-class net).
        input_shape: (H, W, 3), 224x224 in App. B.6.2.
        width: divides every layer's width (small test configurations); 1 is the paper's net.
        classifier_activation: None for FC8 logits, "softmax" for probabilities.
    """
    if fc_units not in (4096, 6144) and width == 1:
        raise ConfigError(f"fc_units must be 4096 or 6144 (App. B.6.2, §3.3), got {fc_units}")
    return _bvlc("oquab_alexnet", True, num_classes, input_shape, True, width, classifier_activation,
                 fc_units=(fc_units, fc_units))


def midlevel_alexnet(num_classes=21, fc_units=4096, adaptation_depth=2, freeze="fc7", input_shape=(224, 224, 3),
                     width=1):
    """The transfer network of Oquab thesis §3.2.1: the source's C1-FC7, then FCa 2048 + FCb (logits).

    Args:
        num_classes: FCb's size, the target classes: 21 for VOC objects (20 + background).
        fc_units: FC6/FC7 of the source, 4096 (PRE-1000C/R) or 6144 (PRE-1512, PRE-1512U).
        adaptation_depth: 1 (FCb), 2 (FCa + FCb, the method) or 3 (FCa, FCa2 + FCb).
        freeze: "fc7" (C1-FC7 fixed), "conv5" (PRE-1512U: C1-C5 fixed) or "none" (NO PRETRAIN).
        input_shape: (H, W, 3) patches rescaled to 224x224.
        width: divides every layer's width (small test configurations).
    """
    if adaptation_depth not in (1, 2, 3):
        raise ConfigError(f"adaptation_depth must be 1, 2 or 3 (§3.3), got {adaptation_depth!r}")
    if freeze not in FREEZE:
        raise ConfigError(f"freeze must be one of {', '.join(FREEZE)}, got {freeze!r}")
    source = oquab_alexnet(num_classes=1000, fc_units=fc_units, input_shape=input_shape, width=width)
    x = source.get_layer("drop7").output
    w = functools.partial(scaled, width=width)
    for name in ("fca", "fca2")[: adaptation_depth - 1]:
        x = keras.layers.Dense(w(2048), activation="relu", name=name)(x)
        x = keras.layers.Dropout(0.5, name=f"drop_{name}")(x)
    logits = keras.layers.Dense(num_classes, name="fcb")(x)
    model = keras.Model(source.input, logits, name="midlevel_alexnet")
    fixed = {"fc7": ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"),
             "conv5": ("conv1", "conv2", "conv3", "conv4", "conv5"), "none": ()}[freeze]
    for name in fixed:
        model.get_layer(name).trainable = False
    return model
