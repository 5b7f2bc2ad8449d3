"""Images found by optimisation (Laptev slides §A.7.7–8): the pre-image that reproduces a layer's
code (Mahendran & Vedaldi 2015) and the image that most excites a unit (Erhan et al. 2009,
Simonyan et al. 2014, Yosinski et al. 2015).

    inversion    min_x ||Φ(x) − Φ0||² / ||Φ0||² + λ_TV R_TV^β(x) + λ_α R_α(x)
    maximisation min_x −<e_k, Φ(x)> + λ_TV R_TV^β(x) + λ_α R_α(x)

with R_TV^β(x) = Σ_ij ((x_i,j+1 − x_ij)² + (x_i+1,j − x_ij)²)^(β/2) and R_α(x) = Σ |x|^α
(both divided by the number of pixels here, so the weights do not depend on the image size).
"Start from random noise; optimize using stochastic gradient descent" (slide): Adam by
default, or L-BFGS (SciPy) on the same loss and gradient.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from zoo.errors import ConfigError
from zoo.visualize.core import check_images, feature_model, input_shape, to_numpy, value_and_grad

TV_EPS = 1e-8  # keeps β = 1 (a square root) differentiable where the image is flat


def tv_norm(x, beta=2.0):
    """R_TV^β of a (N, H, W, C) batch, summed over the batch, averaged over pixels."""
    dy = x[:, 1:, :-1, :] - x[:, :-1, :-1, :]
    dx = x[:, :-1, 1:, :] - x[:, :-1, :-1, :]
    sq = dy * dy + dx * dx
    per = sq if beta == 2 else ops.power(sq + TV_EPS, beta / 2.0)
    return ops.sum(per) / float(x.shape[1] * x.shape[2])


def alpha_norm(x, alpha=6.0):
    """R_α = Σ |x|^α averaged over pixels (Mahendran & Vedaldi use α = 6)."""
    return ops.sum(ops.power(ops.abs(x) + 1e-12, alpha)) / float(x.shape[1] * x.shape[2])


def regulariser(tv_weight=0.0, beta=2.0, alpha_weight=0.0, alpha=6.0):
    def reg(x):
        total = 0.0
        if tv_weight:
            total = total + tv_weight * tv_norm(x, beta)
        if alpha_weight:
            total = total + alpha_weight * alpha_norm(x, alpha)
        return total

    return reg


def adam(loss, x0, *, steps, lr, clip=None, callback=None):
    """Minimise `loss` (a scalar function of the image batch) from `x0` with Adam; returns x."""
    x = ops.convert_to_tensor(np.asarray(x0, dtype="float32"))
    m, v = ops.zeros_like(x), ops.zeros_like(x)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        value, g = value_and_grad(loss, x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1**t)) / (ops.sqrt(v / (1 - b2**t)) + eps)
        if clip is not None:
            x = ops.clip(x, *clip)
        if callback:
            callback(t, float(to_numpy(value)))
    return to_numpy(x)


def lbfgs(loss, x0, *, steps, clip=None, callback=None):
    """Minimise `loss` from `x0` with SciPy's L-BFGS-B (bounds from `clip`); returns x."""
    from scipy.optimize import minimize

    x0 = np.asarray(x0, dtype="float32")

    def fun(flat):
        value, g = value_and_grad(loss, ops.convert_to_tensor(flat.reshape(x0.shape).astype("float32")))
        return float(to_numpy(value)), to_numpy(g).astype(np.float64).ravel()

    bounds = None if clip is None else [clip] * x0.size
    res = minimize(fun, x0.ravel().astype(np.float64), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": steps})
    if callback:
        callback(res.nit, float(res.fun))
    return res.x.reshape(x0.shape).astype("float32")


def run_optimizer(loss, x0, *, method="adam", steps=200, lr=0.05, clip=None, callback=None):
    if method == "adam":
        return adam(loss, x0, steps=steps, lr=lr, clip=clip, callback=callback)
    if method == "lbfgs":
        return lbfgs(loss, x0, steps=steps, clip=clip, callback=callback)
    raise ConfigError(f"unknown optimizer {method!r}; choose 'adam' or 'lbfgs'")


def noise(shape, scale=1.0, seed=0):
    return (np.random.default_rng(seed).standard_normal((1, *shape)) * scale).astype("float32")


def inversion_loss(fmodel, target, reg):
    target = ops.convert_to_tensor(np.asarray(target, dtype="float32"))
    norm = float(np.sum(np.square(to_numpy(target)))) or 1.0

    def loss(x):
        diff = fmodel(x, training=False) - target
        return ops.sum(diff * diff) / norm + reg(x)

    return loss


def invert(model, layer, image, *, beta=2.0, tv_weight=1.0, alpha_weight=0.0, alpha=6.0, steps=200, lr=0.05,
           method="adam", seed=0, noise_scale=1.0, clip=None, callback=None):
    """The pre-image of `image`'s `layer` code, from random noise: returns (x (H, W, C), Φ0)."""
    image = check_images(image, "image")[:1]
    fmodel = feature_model(model, layer)
    target = to_numpy(fmodel(image, training=False))
    loss = inversion_loss(fmodel, target, regulariser(tv_weight, beta, alpha_weight, alpha))
    x0 = noise(image.shape[1:], noise_scale * float(image.std() or 1.0), seed)
    return run_optimizer(loss, x0, method=method, steps=steps, lr=lr, clip=clip, callback=callback)[0], target


def unit_score(out, channel, position=None):
    """<e_k, Φ(x)>: channel k's activation at `position` (y, x), or its spatial mean, or a vector entry."""
    if len(out.shape) == 2:
        return ops.sum(out[:, channel])
    if position is None:
        return ops.sum(ops.mean(out[..., channel], axis=tuple(range(1, len(out.shape) - 1))))
    return ops.sum(out[:, position[0], position[1], channel])


def maximize(model, layer, channel, *, position=None, tv_weight=0.1, beta=2.0, alpha_weight=0.0, alpha=6.0,
             steps=200, lr=0.05, method="adam", image_shape=None, seed=0, noise_scale=0.1, clip=None,
             callback=None):
    """An input that maximises unit `channel` of `layer` under the TV and α-norm priors."""
    shape = input_shape(model, image_shape)
    fmodel = feature_model(model, layer)
    reg = regulariser(tv_weight, beta, alpha_weight, alpha)

    def loss(x):
        return -unit_score(fmodel(x, training=False), channel, position) + reg(x)

    x0 = noise(shape, noise_scale, seed)
    return run_optimizer(loss, x0, method=method, steps=steps, lr=lr, clip=clip, callback=callback)[0]
