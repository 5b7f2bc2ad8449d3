"""t-SNE of a named layer's features, coloured by a label (van der Maaten & Hinton 2008; the
DeCAF paper's Fig. 1 shows such embeddings of its layers). scikit-learn does the embedding."""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError
from zoo.visualize.core import batched, check_images, feature_model


def layer_features(model, layer, images, *, batch_size=32) -> np.ndarray:
    """(N, D) features of `layer` for `images`, spatial maps flattened."""
    images = check_images(images)
    fmodel = feature_model(model, layer)
    feats = batched(lambda x: fmodel(x, training=False), images, batch_size)
    return feats.reshape(len(feats), -1)


def tsne(model, layer, images, *, perplexity=30.0, seed=0, batch_size=32) -> np.ndarray:
    """(N, 2) t-SNE embedding of `layer`'s features (perplexity capped below N as scikit-learn needs)."""
    return tsne_points(layer_features(model, layer, images, batch_size=batch_size), perplexity=perplexity, seed=seed)


def tsne_points(feats, *, perplexity=30.0, seed=0) -> np.ndarray:
    """(N, 2) t-SNE embedding of an (N, D) feature matrix.

    Up to 500 points use the exact gradient (more accurate, and on these shared machines faster
    than Barnes-Hut's threads: 1.8 s against 43 s for 24 points, measured with 2 busy cores).
    """
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise ConfigError("t-SNE needs scikit-learn: pip install 'zoo[visualize]'") from None

    feats = np.asarray(feats, np.float64)
    if len(feats) < 3:
        raise ConfigError(f"t-SNE needs at least 3 images, got {len(feats)}")
    perplexity = min(perplexity, (len(feats) - 1) / 3.0)
    return TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca",
                method="exact" if len(feats) <= 500 else "barnes_hut").fit_transform(feats)


def random_projection(feats, dim=512, seed=0) -> np.ndarray:
    """Features wider than `dim` projected by a seeded Gaussian matrix (entries N(0, 1/dim)) to `dim` columns;
    narrower ones unchanged. DeCAF footnote 2: "randomly projecting them down to 512 dimensions ... random
    projections are cheap to apply and tend to preserve distances well, which is all t-SNE cares about"."""
    feats = np.asarray(feats, np.float32)
    if feats.shape[1] <= dim:
        return feats
    matrix = np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(dim), (feats.shape[1], dim)).astype(np.float32)
    return feats @ matrix


def nearest_neighbour_agreement(points, labels) -> float:
    """Leave-one-out 1-NN accuracy of `labels` in `points`: how well an embedding groups a labelling (the
    thesis shows Fig. 2.1 without numbers; this is the zoo's measure of its "semantic clustering")."""
    points, labels = np.asarray(points, np.float64), np.asarray(labels)
    d = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(labels[d.argmin(axis=1)] == labels))


def supercategory_tsne(features: dict, superlabels, *, project_to=512, perplexity=30.0, seed=0) -> dict:
    """DeCAF's supercategory analysis (Donahue thesis §2.2.1, Fig. 2.1-2.2) on {name: (N, D) features}:
    each projected to `project_to` dimensions when wider, embedded by t-SNE, and scored by the 1-NN agreement
    of the higher-level labels `superlabels` (in the embedding and in the feature space).
    Returns {name: {"points": (N, 2), "tsne_1nn": float, "feature_1nn": float}}."""
    out = {}
    for name, feats in features.items():
        reduced = random_projection(np.reshape(feats, (len(feats), -1)), project_to, seed)
        points = tsne_points(reduced, perplexity=perplexity, seed=seed)
        out[name] = {"points": points, "tsne_1nn": nearest_neighbour_agreement(points, superlabels),
                     "feature_1nn": nearest_neighbour_agreement(reduced, superlabels)}
    return out


def decaf_supercategories(trained, control, images, superlabels, *, seed=0, batch_size=32) -> dict:
    """Fig. 2.1's comparison on `images`: DeCAF1 (pool1) and DeCAF6 (fc6) of the `trained` network and
    DeCAF6 of `control`, the same architecture with random weights (footnote 3), through `supercategory_tsne`."""
    features = {"DeCAF1": layer_features(trained, "pool1", images, batch_size=batch_size),
                "DeCAF6": layer_features(trained, "fc6", images, batch_size=batch_size),
                "DeCAF6, random weights": layer_features(control, "fc6", images, batch_size=batch_size)}
    return supercategory_tsne(features, superlabels, seed=seed)


def plot_supercategories(results: dict, superlabels, path, *, label_names=None):
    """One t-SNE panel per feature of `supercategory_tsne`'s results, coloured by supercategory, into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(superlabels)
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 5), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        for value in np.unique(labels):
            sel = labels == value
            ax.scatter(r["points"][sel, 0], r["points"][sel, 1], s=8,
                       label=label_names[int(value)] if label_names is not None else str(value))
        ax.set_title(f"{name} (supercategory 1-NN {r['tsne_1nn']:.2f})")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7, markerscale=2)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_embedding(points, labels, path, *, label_names=None, title=None):
    """Scatter the 2-d `points` coloured by `labels` into a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(labels)
    fig, ax = plt.subplots(figsize=(6, 6))
    for value in np.unique(labels):
        sel = labels == value
        name = label_names[int(value)] if label_names is not None else str(value)
        ax.scatter(points[sel, 0], points[sel, 1], s=8, label=name)
    ax.legend(fontsize=7, markerscale=2)
    ax.set_title(title or "t-SNE")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
