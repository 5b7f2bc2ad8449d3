"""Nearest-neighbour retrieval by a named layer's features (C. Doersch's talk on Doersch et al. ICCV 2015: the context
-prediction tower's nearest neighbours "connect across instances"; Long §2.2 retrieves with fc7)."""

from __future__ import annotations

import numpy as np

from zoo.visualize.core import batched, check_images, feature_model, get_layer
from zoo.visualize.reconstruct import cosine_neighbours


def embed(model, images, *, layer=None, batch_size=32):
    """(N, D) flattened features of network inputs: `model`'s output, or the named layer's (a nested
    sub-model such as the context-prediction "tower" is run on the images directly)."""
    images = check_images(images)
    if layer is None:
        fn = model
    else:
        target = get_layer(model, layer)
        fn = target if hasattr(target, "inputs") and len(target.inputs) == 1 and target is not model \
            and tuple(target.inputs[0].shape[1:]) == images.shape[1:] else feature_model(model, layer)
    feats = batched(lambda x: fn(x, training=False), images, batch_size)
    return feats.reshape(len(feats), -1)


def nearest_neighbours(model, queries, database, k=5, *, layer=None, batch_size=32):
    """(Q, k) indices of each query's k most cosine-similar database images by `layer`'s features,
    most similar first, and the (Q, k) similarities."""
    q, d = embed(model, queries, layer=layer, batch_size=batch_size), embed(model, database, layer=layer,
                                                                            batch_size=batch_size)
    nn = cosine_neighbours(q, d, k)
    qn = q / (np.linalg.norm(q, axis=1, keepdims=True) + 1e-12)
    dn = d / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-12)
    return nn, np.take_along_axis(qn @ dn.T, nn, axis=1)
