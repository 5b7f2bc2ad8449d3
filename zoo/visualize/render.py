"""From network inputs to pictures: undo a model's preprocessing, normalise projections, and write
figures of panels as PNGs (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import ConfigError


def load_input(path, contract, size=None) -> np.ndarray:
    """The image file at `path` as the network's input (H, W, C) per its contract, resized to `size`."""
    from PIL import Image

    from zoo.data.images import read_image

    rgb = read_image(path)
    if size is not None and tuple(rgb.shape[:2]) != tuple(size):
        rgb = np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), Image.BILINEAR))
    x = rgb.astype(np.float32)
    if contract.channel_order == "BGR":
        x = x[..., ::-1]
    if contract.mean is not None:
        x = x - np.asarray(contract.mean, np.float32)
    if contract.std is not None:
        x = x / np.asarray(contract.std, np.float32)
    return np.ascontiguousarray(x)


def to_rgb(x, contract) -> np.ndarray:
    """A network input (H, W, C) back to a displayable RGB float image in [0, 1]."""
    x = np.asarray(x, np.float64)
    if contract.std is not None:
        x = x * np.asarray(contract.std)
    if contract.mean is not None:
        x = x + np.asarray(contract.mean)
    if contract.channel_order == "BGR":
        x = x[..., ::-1]
    return np.clip(x / 255.0, 0, 1) if x.shape[-1] == 3 else np.clip(x[..., :1] / 255.0, 0, 1)[..., 0]


def normalise(g) -> np.ndarray:
    """A signed projection (gradient, deconvnet output) as a [0, 1] picture: centred, 0.1 per std."""
    g = np.asarray(g, np.float64)
    g = (g - g.mean()) / (g.std() + 1e-12)
    return np.clip(0.5 + 0.15 * g, 0, 1)


def write_panels(path, panels, *, title=None) -> Path:
    """A row of panels, each (title, array, cmap or None), to a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"--out must be a .png file, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2), squeeze=False)
    for ax, (name, array, cmap) in zip(axes[0], panels):
        array = np.asarray(array)
        array = array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array
        im = ax.imshow(array, cmap=cmap, interpolation="nearest")
        if cmap not in (None, "gray") and np.asarray(array).ndim == 2:
            fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def tile(images, cols=None) -> np.ndarray:
    """(N, H, W, C) pictures in a grid with 1-pixel gaps."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1, *images.shape[3:]))
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img
    return out
