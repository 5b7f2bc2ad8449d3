"""`zoo predict`: run a model on image files and draw what it sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import ConfigError


def voc_palette(n: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (VOCdevkit's labelcolormap): the bits of each class id spread over R, G, B."""
    colors = np.zeros((n, 3), np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colors[i] = (r, g, b)
    return colors


def palette(n: int) -> np.ndarray:
    """Class colours: background black, then matplotlib's tab20 for up to 21 classes, else the VOC colour map."""
    if n <= 21:
        import matplotlib

        tab = (np.asarray(matplotlib.colormaps["tab20"].colors) * 255).astype(np.uint8)
        return np.concatenate([np.zeros((1, 3), np.uint8), tab[: n - 1]])
    return voc_palette(n)


def overlay(image: np.ndarray, labels: np.ndarray, colors: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """The picture with each pixel tinted by its class colour; background (class 0) left as it is."""
    tinted = (1 - alpha) * image.astype(np.float32) + alpha * colors[labels].astype(np.float32)
    return np.where((labels > 0)[..., None], tinted, image).round().astype(np.uint8)


def classifier_view(image, contract):
    """A picture as a fixed-size classifier sees it: the shorter side scaled to 256/224 of the input size,
    then the central crop (the single center-crop evaluation, zoo.data.classification.imagenet)."""
    from zoo.data.classification.imagenet import center_crop

    height, width = contract.shape[:2]
    if height is None or width is None or height != width or image.shape[:2] == (height, width):
        return image
    return np.asarray(center_crop(image, height, round(height * 256 / 224)))


def class_names_of(card, weights=None, meta=None):
    """The names of the classes the model scores: the dataset's recorded in a run's sidecar; for registered
    weights (which name no dataset), those of the registered datasets of the same number of classes when
    they all agree (ImageNet's 1000 WordNet ids, VOC's 21 names); None when unknown."""
    if meta and meta.get("class_names"):
        return list(meta["class_names"])
    spec = card.weights.get(str(weights)) if weights is not None else None
    if spec is None or not spec.num_classes:
        return None
    from zoo import data as data_mod

    found = set()
    for name in data_mod.list_datasets():
        names = tuple(getattr(data_mod.info(name), "class_names", None) or ())
        if len(names) == spec.num_classes:
            found.add(names)
    return list(found.pop()) if len(found) == 1 else None


def predict_to_png(model, card, image_paths, out, *, class_names=None, report=None):
    """Segmentation: image | colour overlay | predicted label map, with a legend of the classes present
    (a two-head net, FCN SIFT Flow, shows its first, semantic, head). Classification: image | top-5
    probabilities, the picture resized and centre-cropped to the classifier's fixed input (`classifier_view`).
    `report`: a list that receives one line per image (its top class, or the classes it shows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from zoo.data.images import read_image
    from zoo.preprocessing import ImagePreprocessing, check_image_batch

    if card.input_contract.streams or card.input_contract.kind != "image":
        raise ConfigError(
            f"zoo predict draws single-image models; {card.name} takes {card.input_contract.describe()}. "
            "Call the model from Python with its inputs instead."
        )
    segmentation = card.task in ("segmentation", "multitask_segmentation")
    pre = ImagePreprocessing.from_contract(card.input_contract)
    images = [read_image(p) for p in image_paths]
    if not segmentation:
        images = [classifier_view(img, card.input_contract) for img in images]
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out must be a .png file, got {out.name}")
    n = len(images)
    cols = 3 if segmentation else 2
    fig, axes = plt.subplots(n, cols, figsize=(4.2 * cols + 1.5, 4 * n), squeeze=False)
    for row, (path, img) in enumerate(zip(image_paths, images)):
        batch = img[None]
        check_image_batch(batch, card.input_contract, what=str(path))
        scores = model(pre(batch), training=False)
        scores = np.asarray(scores[0] if isinstance(scores, (list, tuple)) else scores)
        names = class_names if class_names and len(class_names) == scores.shape[-1] else \
            [f"class {i}" for i in range(scores.shape[-1])]
        axes[row, 0].imshow(img)
        axes[row, 0].set_title(Path(path).name)
        if segmentation:
            labels = scores[0].argmax(-1)
            colors = palette(scores.shape[-1])
            axes[row, 1].imshow(overlay(img, labels, colors), interpolation="nearest")
            axes[row, 1].set_title("overlay")
            axes[row, 2].imshow(colors[labels], interpolation="nearest")
            present = [int(c) for c in np.unique(labels)]
            line = f"{Path(path).name}: " + ", ".join(f"{names[c]} {np.mean(labels == c):.1%}" for c in present)
            axes[row, 2].legend(
                handles=[Patch(color=colors[c] / 255.0, label=names[c]) for c in present],
                loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
            )
            axes[row, 2].set_title("predicted labels")
        else:
            logits = scores.reshape(-1)
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            top = np.argsort(probs)[::-1][:5]
            line = f"{Path(path).name}: " + ", ".join(f"{names[i]} {probs[i]:.3f}" for i in top)
            axes[row, 1].barh([names[i] for i in top][::-1], probs[top][::-1])
            axes[row, 1].set_title("top-5 probabilities")
        if report is not None:
            report.append(line)
        for col in range(cols if segmentation else 1):
            axes[row, col].axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
