"""Long's nonparametric feature visualisation (Long thesis §2.1, Figs. 2.1 and 2.2).

Image-centric view (Fig. 2.1): compute a layer's features densely; each feature vector owns the
image patch at the centre of its receptive field whose side is the layer's stride (16×16 for
AlexNet conv3–5); every patch of a query image is replaced by the average of the patches of
its k nearest neighbours (cosine similarity) in a database of densely computed features. The
"uniform rf" baseline replaces each patch by patches drawn uniformly at random from the unit's
own receptive-field neighbourhood in the query image: the best one could do if the features
kept no spatial information inside their field.

Feature-centric view (Fig. 2.2): the k nearest neighbours of one seed feature, their *entire*
receptive fields averaged and the contrast expanded.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError
from zoo.visualize.core import batched, check_images, feature_model
from zoo.visualize.fields import field, unit_patch


def dense_features(model, layer, images, *, batch_size=16):
    """(features (N, h, w, D), the layer's ReceptiveField) for a batch of network inputs."""
    images = check_images(images)
    fmodel = feature_model(model, layer)
    feats = batched(lambda x: fmodel(x, training=False), images, batch_size)
    if feats.ndim != 4:
        raise ConfigError(f"{layer} outputs shape {feats.shape[1:]}; dense features need a (h, w, D) map")
    return feats, field(model, layer, images.shape[1:])


def centre_patches(images, rf, grid, size=None):
    """(N, h, w, s, s, C): each unit's patch of side `size` (default the stride) at its field centre."""
    side = size or rf.stride[0]
    small = dataclasses.replace(rf, size=(side, side))
    return np.stack([np.stack([np.stack([unit_patch(img, small, (y, x)) for x in range(grid[1])])
                               for y in range(grid[0])]) for img in images])


def _unit(v):
    v = v.reshape(-1, v.shape[-1]).astype(np.float64)
    return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)


def cosine_neighbours(queries, database, k, *, chunk=4096):
    """Indices (Q, k) of each query's k most cosine-similar database rows, most similar first."""
    q, d = _unit(queries), _unit(database)
    if k > len(d):
        raise ConfigError(f"k={k} neighbours need at least {k} database features, got {len(d)}")
    out = []
    for i in range(0, len(q), chunk):
        sim = q[i:i + chunk] @ d.T
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sim, part, axis=1), axis=1, kind="stable")
        out.append(np.take_along_axis(part, order, axis=1))
    return np.concatenate(out)


def _tile(patches):
    """(h, w, s, s, C) patches -> (h*s, w*s, C) image."""
    h, w, s1, s2, c = patches.shape
    return patches.transpose(0, 2, 1, 3, 4).reshape(h * s1, w * s2, c)


def reconstruct(model, layer, image, database, *, k=1, database_features=None):
    """Fig. 2.1: (reconstruction, the query's own patches tiled), both (h*s, w*s, C).

    `database` are network inputs of the query's size; `database_features` may pass their
    precomputed (features, rf) from `dense_features`.
    """
    image = check_images(image, "image")[:1]
    qf, rf = dense_features(model, layer, image)
    df, _ = database_features or dense_features(model, layer, database)
    grid = qf.shape[1:3]
    db_patches = centre_patches(check_images(database), rf, df.shape[1:3]).reshape(-1, rf.stride[0], rf.stride[1],
                                                                                    image.shape[-1])
    nn = cosine_neighbours(qf[0], df.reshape(-1, df.shape[-1]), k)
    rec = db_patches[nn].mean(axis=1).reshape(*grid, *db_patches.shape[1:])
    return _tile(rec), _tile(centre_patches(image, rf, grid)[0])


def uniform_rf(image, rf, grid, *, k=1, neighbourhood=None, seed=0):
    """The "uniform rf" baseline: each stride-sized patch replaced by the mean of k patches centred
    uniformly at random inside the unit's `neighbourhood` (default its own field size; the paper
    used conv3's) in the same image."""
    image = check_images(image, "image")[0]
    rng = np.random.default_rng(seed)
    side, hood = rf.stride[0], neighbourhood or rf.size[0]
    small = dataclasses.replace(rf, size=(side, side))
    out = np.zeros((*grid, side, side, image.shape[-1]), image.dtype)
    for y in range(grid[0]):
        for x in range(grid[1]):
            picks = []
            for _ in range(k):
                dy, dx = rng.integers(-(hood - side) // 2, (hood - side) // 2 + 1, size=2)
                moved = dataclasses.replace(small, offset=(small.offset[0] + dy, small.offset[1] + dx))
                picks.append(unit_patch(image, moved, (y, x)))
            out[y, x] = np.mean(picks, axis=0)
    return _tile(out)


def feature_centric(model, layer, database, seed, *, k=5, database_features=None):
    """Fig. 2.2: the mean of the entire fields of the k nearest neighbours of the feature at
    `seed` = (image index, y, x), contrast expanded to [0, 1]."""
    database = check_images(database)
    df, rf = database_features or dense_features(model, layer, database)
    n, h, w, d = df.shape
    i, y, x = seed
    nn = cosine_neighbours(df[i, y, x][None], df.reshape(-1, d), k)[0]
    fields = [unit_patch(database[j // (h * w)], rf, divmod(j % (h * w), w)) for j in nn]
    mean = np.mean(fields, axis=0)
    lo, hi = mean.min(), mean.max()
    return (mean - lo) / (hi - lo + 1e-12), nn
