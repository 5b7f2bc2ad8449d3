"""Pairwise region networks on VGG-16 (Long thesis ch. 4, §4.3.1-4.3.4, §4.4.1, Table 4.1).

One VGG-16 trunk (configuration D, Caffe pooling, convolutions padded "same") with fc6 as a
7x7 convolution over pool5 (footnote 4: fully connected layers as convolutions, as in FCN). A
region pathway splits off each layer right before a pooling layer except the first, plus fc6
(§4.4.1): conv2_2, conv3_3, conv4_3, conv5_3, fc6, with Table 4.1's region stride (= the
layer's stride = the upsampling factor), kernel size and window. Each pathway:

1. `region_<layer>`: one convolution of Table 4.1's kernel size with k*k outputs, k = window /
   upsampling factor (14 at conv2_2/conv3_3, 18 above): the pairwise map p(x, Δ) (§4.3.1),
   channel i*k + j holding offset Δ = (i - k//2, j - k//2) in grid cells (zoo.ops.pairwise);
2. `transpose_<layer>`: p^T(x, Δ) = p(x + Δ, -Δ) (§4.3.2-4.3.3; no weights);
3. `matmul_<layer>`: one k*k x k*k matrix applied to every region of the pathway (§4.3.3),
   i.e. a Dense layer on the channel axis, initialised to the identity (our choice; not stated)
   with a bias (not stated);
4. `masks_<layer>`: the pathway's coarse mask logits (B, H/s, W/s, k*k); the k x k mask of
   region (y, x) covers the image window rows [(y - k//2) s, (y + k - k//2) s), each cell s x s
   pixels. Bilinear upsampling to full resolution (k*s x k*s) happens in the loss and the
   decoder (zoo.ops.pairwise.upsample_regions), as the thesis upsamples on the fly (§4.3.6).

The scoring pathway is "a simple scoring pathway trained jointly" (§4.4.5) whose architecture
the thesis does not state; ours is a 1x1 convolution `score_<layer>` on each pathway's feature
layer, one objectness logit per region (B, H/s, W/s, 1).

Outputs, in this order: the masks of each pathway, then the scores of each pathway (names
`masks_<layer>` / `score_<layer>`). `region_single_conv` is the single-convolution baseline
(§4.3.1, Fig. 4.2a: no transpose, no matrix multiply); `transpose` and `matmul` switch the two
steps of the Fig. 4.4 ablation; `pathways` picks a subset (Fig. 4.4's nets are single-pathway).
"""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.layers.pairwise import PairwiseTranspose
from zoo.models.region.cards import PATHWAYS, TABLE_4_1, coarse_size
from zoo.models.vgg.vgg import FC_UNITS, channels, vgg_trunk


def _pathway(features, layer, *, transpose, matmul):
    stride, kernel, window, factor = TABLE_4_1[layer]
    k = coarse_size(layer)
    p = keras.layers.Conv2D(k * k, kernel, padding="same", name=f"region_{layer}")(features)
    if transpose:
        p = PairwiseTranspose(k, name=f"transpose_{layer}")(p)
    if matmul:
        p = keras.layers.Dense(k * k, kernel_initializer=keras.initializers.Identity(), name=f"matmul_{layer}")(p)
    masks = keras.layers.Identity(name=f"masks_{layer}")(p)
    score = keras.layers.Conv2D(1, 1, name=f"score_{layer}")(features)
    return masks, score


def region_net(*, name, pathways=PATHWAYS, transpose=True, matmul=True, width=1, input_shape=(None, None, 3)):
    """The region network on VGG-16 with the given pathways and pathway structure (module docstring)."""
    pathways = tuple(pathways)
    unknown = [p for p in pathways if p not in TABLE_4_1]
    if not pathways or unknown or len(set(pathways)) != len(pathways):
        raise ConfigError(f"pathways must be distinct names from {PATHWAYS} (Table 4.1); got {pathways}")
    pathways = tuple(p for p in PATHWAYS if p in pathways)  # shallow to deep, as the outputs are ordered
    inputs = keras.Input(input_shape, name="data")
    taps = vgg_trunk(inputs, "D", width=width)
    if "fc6" in pathways:
        fc6 = keras.layers.Conv2D(channels(FC_UNITS, width), 7, padding="same", activation="relu", name="fc6")
        fc6 = fc6(taps["pool5"])
        taps["fc6"] = keras.layers.Dropout(0.5, name="drop6")(fc6)
    masks, scores = zip(*(_pathway(taps[layer], layer, transpose=transpose, matmul=matmul) for layer in pathways))
    return keras.Model(inputs, [*masks, *scores], name=name)


def region_pairwise_vgg16(pathways=PATHWAYS, transpose=True, matmul=True, width=1, input_shape=(None, None, 3)):
    """Long's five-pathway pairwise region network on VGG-16 (thesis §4.3.3-4.3.4, §4.4.1, Table 4.1):
    conv -> pairwise transpose -> shared matrix multiply per pathway, plus a jointly trained score
    per region. `transpose` / `matmul` False give Fig. 4.4's ablation nets; `width` divides the
    trunk's channels (small test configurations only)."""
    return region_net(name="region_pairwise_vgg16", pathways=pathways, transpose=transpose, matmul=matmul,
                      width=width, input_shape=input_shape)


def region_single_conv(pathways=PATHWAYS, width=1, input_shape=(None, None, 3)):
    """The single-convolution region baseline (Long thesis §4.3.1, Fig. 4.2a; DeepMask's essential
    structure): p(x, Δ) = Σ_x' w(x', Δ) · f(x + x') on each Table 4.1 pathway, no transpose, no
    matrix multiply, with the same scoring pathway."""
    return region_net(name="region_single_conv", pathways=pathways, transpose=False, matmul=False, width=width,
                      input_shape=input_shape)
