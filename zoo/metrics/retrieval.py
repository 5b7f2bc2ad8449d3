"""Cross-modal retrieval metrics: recall at K and median rank (Donahue thesis Tables 4.4, 4.5).

From a score matrix (queries x items, higher = better match) and each query's correct items:

- the rank of a query is 1 + the number of WRONG items scoring at least as high as its best
  correct item (ties count against the query, so a constant scorer does not look good);
- R@K is the percentage of queries whose rank is at most K (the tables print percentages);
- Med r is the median rank, rounded down when the number of queries is even (the convention of
  the Karpathy & Fei-Fei / Kiros et al. evaluation code the LRCN tables compare with).

Caption -> image: each caption has one correct image. Image -> caption: each image has its five
captions as correct items and is ranked by the best of them. `caption_image_ranks` builds both
directions from one (images x captions) matrix and the caption -> image assignment.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import InputError

RECALL_AT = (1, 5, 10)


def ranks(scores, positives) -> np.ndarray:
    """1-based rank of each query's best correct item; `positives[q]` lists query q's correct items."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise InputError(f"scores must be a (queries, items) matrix; got shape {scores.shape}")
    if len(positives) != len(scores):
        raise InputError(f"{len(positives)} lists of correct items for {len(scores)} queries")
    if not np.all(np.isfinite(scores)):
        raise InputError("scores contain NaN or infinite values")
    out = np.empty(len(scores), np.int64)
    for q, (row, good) in enumerate(zip(scores, positives)):
        good = np.atleast_1d(np.asarray(good, dtype=np.int64))
        if good.size == 0 or good.min() < 0 or good.max() >= scores.shape[1]:
            raise InputError(f"query {q}: correct items must be non-empty indices below {scores.shape[1]}, got {good}")
        wrong = np.ones(scores.shape[1], bool)
        wrong[good] = False
        out[q] = 1 + int(np.sum(row[wrong] >= row[good].max()))
    return out


def summarize(rank_values, recall_at=RECALL_AT) -> dict:
    """{"R@1": %, "R@5": %, "R@10": %, "Med r": int} of 1-based ranks."""
    r = np.asarray(rank_values)
    if r.size == 0:
        raise InputError("no ranks to summarize")
    out = {f"R@{k}": float(100.0 * np.mean(r <= k)) for k in recall_at}
    out["Med r"] = int(np.floor(np.median(r)))
    return out


def caption_image_ranks(scores, caption_image) -> dict:
    """Both directions from scores (images x captions), `caption_image[c]` = the image of caption c.

    Returns {"caption_to_image": ranks (captions,), "image_to_caption": ranks (images,)}.
    """
    scores = np.asarray(scores)
    caption_image = np.asarray(caption_image, dtype=np.int64)
    if scores.ndim != 2 or caption_image.shape != (scores.shape[1],):
        raise InputError(f"scores {scores.shape} must be (images, captions) with one image index per caption "
                         f"(got {caption_image.shape})")
    captions_of = [np.flatnonzero(caption_image == i) for i in range(scores.shape[0])]
    empty = [i for i, c in enumerate(captions_of) if c.size == 0]
    if empty:
        raise InputError(f"images {empty[:5]} have no caption")
    return {
        "caption_to_image": ranks(scores.T, caption_image[:, None]),
        "image_to_caption": ranks(scores, captions_of),
    }
