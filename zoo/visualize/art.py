"""DeepDream (Mordvintsev et al. 2015, "inceptionism") and neural style transfer (Gatys et al.
2015), the artistic tools of Laptev's slides §A.7.9.

DeepDream: gradient ascent on 0.5 · ||A_l(x)||² / |A_l| (amplify whatever layer l sees), with
the gradient normalised by its mean magnitude, a random jitter (circular shift) each step, and
octaves: the image is processed from the smallest scale up, the detail found at one scale
carried to the next.

Gatys: content loss 0.5 · Σ (F_l − P_l)² on a content layer; style loss Σ_l w_l E_l with
E_l = Σ (G_l − A_l)² / (4 N_l² M_l²), G_l = F_lᵀ F_l the Gram matrix of the N_l feature maps of
M_l positions; total α · content + β · style, minimised over the image by L-BFGS (as Gatys) or Adam.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from zoo.errors import ConfigError
from zoo.visualize.core import check_images, feature_model, to_numpy, value_and_grad
from zoo.visualize.optimize import noise, run_optimizer


def _resize(x, size):
    return ops.image.resize(x, size, interpolation="bilinear", antialias=False)


def dream(model, layer, image, *, octaves=3, octave_scale=1.4, steps=10, step_size=0.01, jitter=8, seed=0,
          channel=None):
    """DeepDream of `image` (H, W, C network input) on `layer` (one `channel`, or all)."""
    image = check_images(image, "image")[:1]
    fmodel = feature_model(model, layer)
    rng = np.random.default_rng(seed)

    def objective(x):
        a = fmodel(x, training=False)
        a = a[..., channel] if channel is not None else a
        return 0.5 * ops.mean(a * a)

    h, w = image.shape[1:3]
    if octaves > 1 and None not in model.inputs[0].shape[1:3]:
        raise ConfigError(f"{model.name} takes only {tuple(model.inputs[0].shape[1:3])} images; octaves need a model "
                          "built for free sizes (e.g. zoo.get(NAME, input_shape=(None, None, 3))) or octaves=1")
    sizes = [(max(1, round(h / octave_scale**i)), max(1, round(w / octave_scale**i))) for i in range(octaves)]
    base = ops.convert_to_tensor(image)
    detail = None
    for size in reversed(sizes):
        octave_base = _resize(base, size) if size != (h, w) else base
        x = octave_base if detail is None else octave_base + _resize(detail, size)
        for _ in range(steps):
            dy, dx = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2))
            shifted = ops.roll(ops.roll(x, dy, axis=1), dx, axis=2)
            _, g = value_and_grad(objective, shifted)
            g = ops.roll(ops.roll(g, -dy, axis=1), -dx, axis=2)
            x = x + step_size * g / (ops.mean(ops.abs(g)) + 1e-8)
        detail = x - octave_base
    return to_numpy(x)[0]


def gram(features):
    """G = Fᵀ F of a (N, H, W, C) map per example: (N, C, C), unnormalised (Gatys eq. 3)."""
    n, c = ops.shape(features)[0], features.shape[-1]
    flat = ops.reshape(features, (n, -1, c))
    return ops.einsum("npc,npd->ncd", flat, flat)


def style_layer_loss(features, target_gram):
    """E_l = Σ (G − A)² / (4 N² M²) (Gatys eq. 4), N maps of M positions."""
    c = features.shape[-1]
    m = float(np.prod(features.shape[1:-1]))
    d = gram(features) - target_gram
    return ops.sum(d * d) / (4.0 * c * c * m * m)


def content_loss(features, target):
    """0.5 · Σ (F − P)² (Gatys eq. 1)."""
    d = features - target
    return 0.5 * ops.sum(d * d)


def style_transfer(model, content, style, *, content_layer, style_layers, style_weights=None, alpha=1.0,
                   beta=1e3, steps=100, lr=0.05, method="lbfgs", init="content", seed=0, clip=None, callback=None):
    """An image with `content`'s `content_layer` features and `style`'s Gram matrices on
    `style_layers` (both network inputs of the same size; Gatys used VGG-19 conv4_2 and conv1_1..conv5_1)."""
    content, style = check_images(content, "content")[:1], check_images(style, "style")[:1]
    if content.shape != style.shape:
        raise ConfigError(f"content {content.shape[1:]} and style {style.shape[1:]} must have the same size; resize one")
    style_layers = list(style_layers)
    weights = list(style_weights or [1.0 / len(style_layers)] * len(style_layers))
    if len(weights) != len(style_layers):
        raise ConfigError(f"{len(weights)} style weights for {len(style_layers)} style layers")
    fmodel = feature_model(model, [content_layer, *style_layers])
    targets = [ops.convert_to_tensor(to_numpy(t)) for t in fmodel(content, training=False)]
    grams = [gram(ops.convert_to_tensor(to_numpy(t))) for t in fmodel(style, training=False)[1:]]

    def loss(x):
        feats = fmodel(x, training=False)
        total = alpha * content_loss(feats[0], targets[0])
        for w, f, g in zip(weights, feats[1:], grams):
            total = total + beta * w * style_layer_loss(f, g)
        return total

    if init == "content":
        x0 = content
    elif init == "noise":
        x0 = noise(content.shape[1:], float(content.std() or 1.0), seed)
    else:
        raise ConfigError(f"init must be 'content' or 'noise', got {init!r}")
    return run_optimizer(loss, x0, method=method, steps=steps, lr=lr, clip=clip, callback=callback)[0]


def objective_value(fn, x):
    """Evaluate one of the scalar losses here on a NumPy image batch (for tests and logs)."""
    value, _ = value_and_grad(fn, ops.convert_to_tensor(np.asarray(x, dtype="float32")))
    return float(to_numpy(value))
