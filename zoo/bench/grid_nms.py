"""Grid NMS time against the number of regions (Long thesis §4.3.5: linear, not quadratic).

    python -m zoo.bench.grid_nms [--sizes 32,64,128,256] [--brute-max 64] [--threshold 0.5]

Random region grids on square images of each size with three pathways of Table 4.1's first
strides and coarse mask sizes (stride 2 / 14x14, stride 4 / 14x14, stride 8 / 18x18) and random
rectangular masks; prints, per size, the region count, the seconds of `grid_nms` and (up to
`--brute-max` pixels) of the brute-force `mask_nms` on the rendered masks, and seconds per 1,000
regions. A measurement on this machine, not a number of the thesis.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from zoo.ops.grid_nms import RegionGrid, clip_to_image, grid_nms, mask_nms, render_regions

PATHWAYS = ((2, 14), (4, 14), (8, 18))


def random_grids(rng, size, pathways=PATHWAYS):
    grids = []
    for stride, k in pathways:
        n = -(-size // stride)
        lo = rng.integers(0, k // 2, (n, n, 2))
        hi = lo + rng.integers(1, k // 2 + 1, (n, n, 2))
        cells = np.arange(k)
        rows = (cells >= lo[..., :1]) & (cells < hi[..., :1])
        cols = (cells >= lo[..., 1:]) & (cells < hi[..., 1:])
        grids.append(RegionGrid(rows[..., :, None] & cols[..., None, :], rng.uniform(size=(n, n)), stride))
    return clip_to_image(grids, size, size)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,64,128,256")
    parser.add_argument("--brute-max", type=int, default=64)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    print("size  regions  grid_nms_s  grid_s_per_1k  brute_nms_s  kept")
    for size in (int(s) for s in args.sizes.split(",")):
        grids = random_grids(np.random.default_rng(size), size)
        n = sum(g.scores.size for g in grids)
        kept, t_grid = _timed(lambda: grid_nms(grids, args.threshold))
        brute = "-"
        if size <= args.brute_max:
            masks, rows = render_regions(grids, size, size)
            scores = np.concatenate([g.scores.reshape(-1) for g in grids])
            want, t_brute = _timed(lambda: rows[mask_nms(masks, scores, args.threshold)])
            assert np.array_equal(want, kept), "grid NMS and brute-force NMS disagree"
            brute = f"{t_brute:.3f}"
        print(f"{size:4d}  {n:7d}  {t_grid:10.3f}  {1000 * t_grid / n:13.4f}  {brute:>11}  {len(kept)}")


if __name__ == "__main__":
    main()
