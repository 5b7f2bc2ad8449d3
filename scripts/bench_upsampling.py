"""Time FCN-8s' final up-sampling layer (upscore8: 73x73x21 -> 584x584x21, a 500x500 input) three ways.

    python scripts/bench_upsampling.py

The fixed bilinear layer as zoo computes it (Deconvolution2D(fixed_bilinear=True): two matrix
products on NHWC reshapes), the same products as two einsums (the previous implementation), and
the dense transposed convolution of a learned layer (Conv2DTranspose, 16x16x21x21). Each in a
tf.function, 3 warm-up calls, the mean of 20; the outputs are checked to agree.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from zoo.layers.upsampling import Deconvolution2D  # noqa: E402


def main():
    x = np.random.default_rng(0).random((1, 73, 73, 21), dtype=np.float32)
    fixed = Deconvolution2D(21, 16, 8, fixed_bilinear=True)
    learned = Deconvolution2D(21, 16, 8)
    fixed.build(x.shape)
    learned.build(x.shape)
    a = fixed._interp_matrix(73)

    def two_einsums(t):
        return ops.einsum("nywc,xw->nyxc", ops.einsum("yh,nhwc->nywc", a, t), a)

    candidates = {"fixed bilinear, matmuls on reshapes (zoo)": fixed, "fixed bilinear, two einsums": two_einsums,
                  "learned, Conv2DTranspose": learned}
    reference = None
    for name, fn in candidates.items():
        f = tf.function(fn, autograph=False)
        out = f(x).numpy()
        reference = out if reference is None else reference
        np.testing.assert_allclose(out, reference, atol=1e-5)
        for _ in range(3):
            f(x).numpy()
        t = time.perf_counter()
        for _ in range(20):
            f(x).numpy()
        print(f"{name:44s} {1e3 * (time.perf_counter() - t) / 20:7.2f} ms")


if __name__ == "__main__":
    main()
