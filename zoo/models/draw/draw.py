"""DRAW: A Recurrent Neural Network For Image Generation (Gregor, Danihelka, Graves, Rezende,
Wierstra, ICML 2015; arXiv:1502.04623v2).

A sequential variational auto-encoder (§2, eqs. 3-8): at each of T steps

    x̂_t = x - σ(c_{t-1})                              error image
    r_t = read(x, x̂_t, h^dec_{t-1})
    h^enc_t = RNN^enc(h^enc_{t-1}, [r_t, h^dec_{t-1}])
    z_t ~ Q(Z_t | h^enc_t) = N(μ_t, σ_t)              μ_t, log σ_t linear in h^enc_t (eqs. 1-2)
    h^dec_t = RNN^dec(h^dec_{t-1}, z_t)
    c_t = c_{t-1} + write(h^dec_t)

with LSTM encoder and decoder. The loss is the variational bound (eqs. 9-12): the Bernoulli
reconstruction -log D(x | c_T) with D = σ(c_T), plus the KL of every step,
L^z = Σ_t ½ (μ_t² + σ_t² - log σ_t²) - T/2, which the model adds through `add_loss` (mean over
the batch) and also returns per example, so the task's evaluator reports the bound in nats.

Attention (§3.2, eqs. 19-26): a linear map of h^dec gives (g̃_X, g̃_Y, log σ², log δ̃, log γ); an
N x N grid of Gaussian filters with centre g_X = (A+1)/2 (g̃_X+1), g_Y = (B+1)/2 (g̃_Y+1), stride
δ = (max(A, B) - 1)/(N - 1) δ̃, means μ^i_X = g_X + (i - N/2 - 0.5) δ (i = 1..N) and variance σ²;
F_X[i, a] ∝ exp(-(a - μ^i_X)² / 2σ²), rows normalised to sum 1 (pixels a = 1..A, i.e. 1-based as
the paper's centre formula implies). read = γ [F_Y x F_X^T, F_Y x̂ F_X^T]; write = (1/γ̂) F̂_Y^T w F̂_X
with w an N x N patch linear in h^dec. Without attention (§3.1) read is [x, x̂] and write a linear
map of h^dec to the whole canvas.

Sampling: with `training=True` (the variational bound's Monte-Carlo estimate) z_t uses fresh
noise; otherwise the `noise` input ε (N, T, z) gives z_t = μ_t + σ_t ε_t, so evaluation and export
are deterministic functions of their inputs (the task draws ε from each example's content).
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError

def attention_parameters(params, image_size, n):
    """(g_X, g_Y, δ, σ², γ) from the 5 linear outputs (g̃_X, g̃_Y, log σ², log δ̃, log γ) (eqs. 21-24).

    `image_size` is (B, A) = (height, width); each result has shape (N_batch, 1).
    """
    height, width = image_size
    gx_, gy_, log_sigma2, log_delta, log_gamma = (params[:, i : i + 1] for i in range(5))
    gx = (width + 1) / 2 * (gx_ + 1)
    gy = (height + 1) / 2 * (gy_ + 1)
    delta = (max(width, height) - 1) / max(n - 1, 1) * ops.exp(log_delta)
    return gx, gy, delta, ops.exp(log_sigma2), ops.exp(log_gamma)


def filterbank(g, delta, sigma2, n, size):
    """F (N_batch, n, size): row i is the Gaussian at μ_i = g + (i - n/2 - 0.5) δ over pixels 1..size,
    normalised to sum 1 (eqs. 19-20, 25-26)."""
    grid = ops.arange(1, n + 1, dtype="float32")[None, :]
    mu = g + (grid - n / 2 - 0.5) * delta  # (batch, n)
    pixels = ops.arange(1, size + 1, dtype="float32")[None, None, :]
    # exp(-(a - μ)²/2σ²) / Σ_a exp(...) is a softmax over a: computed as one, a filter far outside the
    # image (all its exponentials below float32's range) stays normalised instead of dividing 0 by 0
    return ops.softmax(-ops.square(pixels - mu[:, :, None]) / (2 * sigma2[:, :, None]), axis=-1)


@keras.saving.register_keras_serializable(package="zoo")
class DrawCore(keras.layers.Layer):
    """The DRAW recurrence over T steps (module docstring). call([image (N, B, A, C), noise (N, T, z)])
    -> [canvas logits c_T (N, B·A·C), KL per example (N,), canvases c_1..c_T (N, T, B·A·C),
    attention windows (N, T, 6): read g_X, g_Y, δ and write g_X, g_Y, δ (zeros without attention)].
    Colour images (C = 3) use the same read and write filters for every channel (§4.3: "each point in the
    input and error image (and hence in the reading and writing patches) is an RGB triple")."""

    def __init__(self, image_size, steps, enc_units, dec_units, z_dim, read_n, write_n, attention=True, seed=None,
                 channels=1, **kwargs):
        super().__init__(**kwargs)
        self.image_size = tuple(int(v) for v in image_size)
        self.steps, self.enc_units, self.dec_units, self.z_dim = int(steps), int(enc_units), int(dec_units), int(z_dim)
        self.read_n, self.write_n, self.attention, self.seed = int(read_n), int(write_n), bool(attention), seed
        self.channels = int(channels)
        self.shape = (*self.image_size, self.channels)
        pixels = self.image_size[0] * self.image_size[1] * self.channels
        self.read_dim = 2 * self.read_n**2 * self.channels if self.attention else 2 * pixels
        self.encoder = keras.layers.LSTMCell(self.enc_units, name="encoder")
        self.decoder = keras.layers.LSTMCell(self.dec_units, name="decoder")
        self.mu = keras.layers.Dense(self.z_dim, name="mu")
        self.log_sigma = keras.layers.Dense(self.z_dim, name="log_sigma")
        self.write_patch = keras.layers.Dense(self.write_n**2 * self.channels if self.attention else pixels,
                                              name="write")
        if self.attention:
            self.read_window = keras.layers.Dense(5, name="read_window")
            self.write_window = keras.layers.Dense(5, name="write_window")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.encoder.build((None, self.read_dim + self.dec_units))
        self.decoder.build((None, self.z_dim))
        for layer in (self.mu, self.log_sigma):
            layer.build((None, self.enc_units))
        self.write_patch.build((None, self.dec_units))
        if self.attention:
            self.read_window.build((None, self.dec_units))
            self.write_window.build((None, self.dec_units))
        self.built = True

    def read(self, x, x_hat, h_dec):
        """r_t: γ [F_Y x F_X^T, F_Y x̂ F_X^T] flattened (eq. 27), or [x, x̂] without attention (eq. 17)."""
        batch = ops.shape(x)[0]
        if not self.attention:
            return ops.concatenate([ops.reshape(x, (batch, -1)), ops.reshape(x_hat, (batch, -1))], axis=-1), None
        gx, gy, delta, sigma2, gamma = attention_parameters(self.read_window(h_dec), self.image_size, self.read_n)
        fx = filterbank(gx, delta, sigma2, self.read_n, self.image_size[1])
        fy = filterbank(gy, delta, sigma2, self.read_n, self.image_size[0])
        glimpses = [ops.einsum("nib,nbac,nja->nijc", fy, image, fx) for image in (x, x_hat)]
        r = ops.concatenate([ops.reshape(g, (batch, -1)) for g in glimpses], axis=-1)
        return gamma * r, ops.concatenate([gx, gy, delta], axis=-1)

    def write(self, h_dec):
        """(1/γ̂) F̂_Y^T w F̂_X (eq. 29) as (N, B·A·C), or a linear map of h^dec (eq. 18)."""
        w = self.write_patch(h_dec)
        if not self.attention:
            return w, None
        batch = ops.shape(h_dec)[0]
        gx, gy, delta, sigma2, gamma = attention_parameters(self.write_window(h_dec), self.image_size, self.write_n)
        fx = filterbank(gx, delta, sigma2, self.write_n, self.image_size[1])
        fy = filterbank(gy, delta, sigma2, self.write_n, self.image_size[0])
        patch = ops.reshape(w, (batch, self.write_n, self.write_n, self.channels))
        canvas = ops.einsum("njb,njic,nia->nbac", fy, patch, fx)
        return ops.reshape(canvas, (batch, -1)) / gamma, ops.concatenate([gx, gy, delta], axis=-1)

    def call(self, inputs, training=False):
        image, noise = inputs
        batch = ops.shape(image)[0]
        x = ops.reshape(ops.cast(image, self.compute_dtype), (batch, *self.shape))
        canvas = ops.zeros((batch, self.image_size[0] * self.image_size[1] * self.channels), self.compute_dtype)
        h_dec = ops.zeros((batch, self.dec_units), self.compute_dtype)
        enc_state = [ops.zeros((batch, self.enc_units), self.compute_dtype)] * 2
        dec_state = [h_dec, h_dec]
        kl, canvases, windows = 0.0, [], []
        no_window = ops.zeros((batch, 3), self.compute_dtype)
        for t in range(self.steps):
            x_hat = x - ops.reshape(ops.sigmoid(canvas), (batch, *self.shape))
            r, read_window = self.read(x, x_hat, h_dec)
            h_enc, enc_state = self.encoder(ops.concatenate([r, h_dec], axis=-1), enc_state)
            mu, log_sigma = self.mu(h_enc), self.log_sigma(h_enc)
            eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator) if training else noise[:, t]
            z = mu + ops.exp(log_sigma) * eps
            h_dec, dec_state = self.decoder(z, dec_state)
            delta_canvas, write_window = self.write(h_dec)
            canvas = canvas + delta_canvas
            # eq. 11 per step: ½ (μ² + σ² - log σ²) - ½, summed over z
            kl = kl + ops.sum(0.5 * (ops.square(mu) + ops.exp(2 * log_sigma) - 2 * log_sigma) - 0.5, axis=-1)
            canvases.append(canvas)
            windows.append(ops.concatenate([read_window if read_window is not None else no_window,
                                            write_window if write_window is not None else no_window], axis=-1))
        self.add_loss(ops.mean(kl))
        return [canvas, kl, ops.stack(canvases, axis=1), ops.stack(windows, axis=1)]

    def generate(self, noise):
        """Canvases σ(c_1..c_T) (N, T, B, A, C) drawn from the prior: z_t = ε_t, the decoder and write only (§2.3)."""
        batch = ops.shape(noise)[0]
        canvas = ops.zeros((batch, self.image_size[0] * self.image_size[1] * self.channels))
        state = [ops.zeros((batch, self.dec_units))] * 2
        out = []
        for t in range(self.steps):
            h_dec, state = self.decoder(noise[:, t], state)
            canvas = canvas + self.write(h_dec)[0]
            out.append(ops.reshape(ops.sigmoid(canvas), (batch, *self.shape)))
        return ops.stack(out, axis=1)

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        pixels = self.image_size[0] * self.image_size[1] * self.channels
        return [(batch, pixels), (batch,), (batch, self.steps, pixels), (batch, self.steps, 6)]

    def get_config(self):
        return {**super().get_config(), "image_size": list(self.image_size), "steps": self.steps,
                "enc_units": self.enc_units, "dec_units": self.dec_units, "z_dim": self.z_dim, "read_n": self.read_n,
                "write_n": self.write_n, "attention": self.attention, "seed": self.seed, "channels": self.channels}


def _draw(name, image_shape, steps, units, z_dim, read_n, write_n, attention):
    if len(image_shape) != 3 or image_shape[-1] not in (1, 3) or None in image_shape:
        raise ConfigError(f"image_shape must be a fixed (H, W, 1) or (H, W, 3) image with values in [0, 1], got "
                          f"{tuple(image_shape)}")
    if attention and (read_n < 1 or write_n < 1):
        raise ConfigError(f"read_n and write_n must be >= 1, got {read_n} and {write_n}")
    image = keras.Input(tuple(image_shape), name="image")
    noise = keras.Input((steps, z_dim), name="noise")
    core = DrawCore(image_shape[:2], steps, units, units, z_dim, read_n, write_n, attention, name="draw",
                    channels=image_shape[-1])
    canvas, kl, canvases, windows = core([image, noise])
    outputs = [keras.layers.Identity(name=n)(t) for n, t in
               (("canvas", canvas), ("kl", kl), ("canvases", canvases), ("windows", windows))]
    return keras.Model({"image": image, "noise": noise}, outputs, name=name)


def draw(image_shape=(28, 28, 1), steps=64, units=256, z_dim=100, read_n=2, write_n=5):
    """DRAW with selective attention (Gregor et al. 2015 §3.2): N x N Gaussian read and write grids.

    MNIST model of Table 3: 64 glimpses, LSTMs of 256, z of 100, read 2x2, write 5x5; negative
    log-likelihood bound ≤ 80.97 nats on binarized MNIST (Table 2). Inputs {"image": (H, W, 1) in
    {0, 1}, "noise": (T, z) ε used when not training}; outputs [canvas logits (N, H·W), KL per
    example (N,), canvases (N, T, H·W), attention windows (N, T, 6)].

    Args:
        image_shape: (H, W, 1), 28x28 for MNIST.
        steps: T, the number of glimpses.
        units: encoder and decoder LSTM sizes.
        z_dim: latent size per step.
        read_n, write_n: the N of the read and write grids.
    """
    return _draw("draw", image_shape, steps, units, z_dim, read_n, write_n, True)


def draw_no_attention(image_shape=(28, 28, 1), steps=64, units=256, z_dim=100):
    """DRAW without attention (Gregor et al. 2015 §3.1): read the whole image and error image, write
    a full canvas update each step; 87.40 nats on binarized MNIST (Table 2).

    Table 2 gives no sizes for this row; Table 3's MNIST sizes (64 steps, LSTMs of 256, z of 100)
    are assumed. Inputs and outputs as `draw`'s (the windows are zeros).

    Args:
        image_shape: (H, W, 1).
        steps: T.
        units: encoder and decoder LSTM sizes.
        z_dim: latent size per step.
    """
    return _draw("draw_no_attention", image_shape, steps, units, z_dim, 0, 0, False)
