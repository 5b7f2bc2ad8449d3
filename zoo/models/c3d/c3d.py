"""C3D (Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks", ICCV 2015).

§3.3 and Fig. 3: 8 convolutions, 5 max-poolings, 2 fully connected layers and a softmax:

    conv1a 64 → pool1 1x2x2 → conv2a 128 → pool2 → conv3a 256 → conv3b 256 → pool3 →
    conv4a 512 → conv4b 512 → pool4 → conv5a 512 → conv5b 512 → pool5 → fc6 4096 → fc7 4096 → fc8

every convolution 3x3x3, stride 1, padded by 1 in time and space, ReLU; pools 2x2x2 stride 2
except pool1 (1x2x2: "not to merge the temporal signal too early", §3.2); dropout 0.5 after
fc6 and fc7. Input: 16-frame clips, 112x112 crops of frames resized to 128x171 (§3.1), BGR
(OpenCV frames) minus the release's per-voxel mean clip. Sports-1M: 487 classes.

Layer names are the release's (facebook/C3D, examples/c3d_feature_extraction/prototxt/
c3d_sport1m_feature_extractor_frm.prototxt: conv1a .. conv5b, fc6-1, fc7-1, fc8-1), so the
Sports-1M caffemodel `conv3d_deepnetA_sport1m_iter_1900000` loads by name through
`zoo.convert.caffe` (its C3D dialect; pool5's (C, T, H, W) flattening is permuted for fc6).

`c3d_fc6_svm` is §4.2's "C3D + linear SVM": fc6 activations, L2-normalised, into a linear head
`svm` that the staged step fits (one-vs-rest linear SVMs).
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.pooling import CaffeMaxPooling3D

CLIP_SHAPE = (16, 112, 112, 3)
# (block, convolutions' output channels); pool<block> after each block.
BLOCKS = ((1, (64,)), (2, (128,)), (3, (256, 256)), (4, (512, 512)), (5, (512, 512)))


def _scaled(units, width):
    if width < 1 or int(width) != width:
        raise ConfigError(f"width divides every layer's channels and must be a positive int, got {width!r}")
    return max(1, int(units) // int(width))


def c3d_trunk(inputs, width=1):
    """conv1a .. pool5 of C3D (Tran et al. 2015 Fig. 3) on (N, T, H, W, 3) clips."""
    x = inputs
    for block, channels in BLOCKS:
        for i, units in enumerate(channels):
            x = keras.layers.Conv3D(_scaled(units, width), 3, padding="same", activation="relu",
                                    name=f"conv{block}{'ab'[i]}")(x)
        pool = (1, 2, 2) if block == 1 else (2, 2, 2)
        x = CaffeMaxPooling3D(pool, name=f"pool{block}")(x)
    return x


def _clip_input(input_shape):
    shape = tuple(input_shape)
    if len(shape) != 4 or shape[-1] != 3 or None in shape:
        raise ConfigError(f"input_shape must be a fixed (T, H, W, 3) clip (fc6 reads pool5 flattened), got {shape}")
    if shape[0] < 2:
        raise ConfigError(f"C3D's four 2x2x2 poolings need clips of at least 2 frames, got T={shape[0]}")
    return keras.Input(shape, name="data")


def _fc67(x, width, dropout):
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(_scaled(4096, width), activation="relu", name="fc6-1")(x)
    x = keras.layers.Dropout(dropout, name="drop6")(x)
    x = keras.layers.Dense(_scaled(4096, width), activation="relu", name="fc7-1")(x)
    return keras.layers.Dropout(dropout, name="drop7")(x)


def c3d(num_classes=487, input_shape=CLIP_SHAPE, width=1, dropout=0.5):
    """C3D (Tran et al. 2015 §3.3): 8 3x3x3 convolutions, 5 poolings, fc6/fc7 4096; per-clip logits.

    Returns (N, num_classes) logits for (N, 16, 112, 112, 3) clips; a video's prediction is the
    average of its clips' softmax (`zoo.tasks.video_protocol`; §3.3 uses 10 random clips per
    video for Sports-1M video hit@k). Sports-1M (487 classes): 44.9% clip hit@1, 60.0% video
    hit@1, 84.4% video hit@5 from scratch (Table 2).

    Args:
        num_classes: classes of fc8 (Sports-1M: 487, UCF101: 101).
        input_shape: (T, H, W, 3) clips; 16x112x112 in the paper. Must be fixed.
        width: divides every layer's width (small test configurations); 1 is the paper's net.
        dropout: after fc6 and fc7 (0.5 in the release).
    """
    inputs = _clip_input(input_shape)
    x = _fc67(c3d_trunk(inputs, width), width, dropout)
    logits = keras.layers.Dense(num_classes, name="fc8-1")(x)
    return keras.Model(inputs, logits, name="c3d")


@keras.saving.register_keras_serializable(package="zoo")
class L2Normalize(keras.layers.Layer):
    """x / ||x||_2 over the last axis (C3D §4.2: "fc6 activations ... L2-normalized")."""

    def call(self, inputs):
        return inputs / keras.ops.sqrt(keras.ops.maximum(keras.ops.sum(inputs * inputs, axis=-1, keepdims=True), 1e-12))


def c3d_fc6_svm(num_classes=101, input_shape=CLIP_SHAPE, width=1):
    """C3D + linear SVM (Tran et al. 2015 §4.2): L2-normalised fc6 of a clip into a linear head `svm`.

    The trunk is `c3d`'s up to fc6 (same layer names: Sports-1M weights load with fc7-1/fc8-1
    left out); the staged step fits one-vs-rest linear SVMs on the fc6 features and writes them
    into `svm`. The paper averages fc6 over a video's clips before normalising and fits one
    feature per video; here every training clip is an example and the video task averages the
    clips' softmax of the SVM scores at test time (a stated deviation). UCF101: 82.3% with one
    net, 85.2% with three (Table 3).

    Args:
        num_classes: classes of the SVM head (UCF101: 101).
        input_shape: (T, H, W, 3) clips; 16x112x112 in the paper.
        width: divides every layer's width (small test configurations).
    """
    inputs = _clip_input(input_shape)
    x = keras.layers.Flatten(name="flatten")(c3d_trunk(inputs, width))
    x = keras.layers.Dense(_scaled(4096, width), activation="relu", name="fc6-1")(x)
    x = L2Normalize(name="fc6_l2")(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="svm")(x), name="c3d_fc6_svm")
