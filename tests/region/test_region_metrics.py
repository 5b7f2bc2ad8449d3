"""R@x, ABO, AR and AR@N (Long thesis §4.4.5) against NumPy transcriptions with loops."""

import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.metrics.proposals import ProposalRecall, average_recall, best_overlaps


def _iou(a, b):
    inter = np.logical_and(a, b).sum()
    union = np.logical_or(a, b).sum()
    return inter / union if union else 0.0


def _reference(images, x_values, limits):
    """Loops: every GT region's best I/U over (the top-N of) its image's predictions."""
    best, best_at = [], {n: [] for n in limits}
    for gts, preds, scores in images:
        order = sorted(range(len(preds)), key=lambda i: -scores[i])
        for g in gts:
            ious = [_iou(g, preds[i]) for i in order]
            best.append(max(ious, default=0.0))
            for n in limits:
                best_at[n].append(max(ious[:n], default=0.0))
    grid = np.linspace(0.5, 1.0, 20001)  # AR as the average of R@x over [0.5, 1], numerically

    def ar(b):
        return float(np.mean([np.mean(np.asarray(b) >= x) for x in grid]))

    out = {f"R@{x:g}": float(np.mean(np.asarray(best) >= x)) for x in x_values}
    out["ABO"] = float(np.mean(best))
    out["AR"] = ar(best)
    out.update({f"AR@{n}": ar(best_at[n]) for n in limits})
    return out


def _images(rng, n):
    images = []
    for _ in range(n):
        g, p = rng.integers(1, 5), rng.integers(0, 9)
        gts = rng.uniform(size=(g, 12, 12)) < 0.3
        # predictions: perturbed ground truths (high overlaps) and random masks
        preds = [np.where(rng.uniform(size=(12, 12)) < rng.uniform(0, 0.5), ~gts[rng.integers(g)], gts[rng.integers(g)])
                 if rng.uniform() < 0.6 else rng.uniform(size=(12, 12)) < 0.3 for _ in range(p)]
        images.append((gts, np.asarray(preds, bool).reshape(-1, 12, 12), rng.uniform(size=p)))
    return images


def test_metrics_match_the_loop_reference():
    rng = np.random.default_rng(0)
    images = _images(rng, 12)
    metric = ProposalRecall(thresholds=(0.5, 0.7), limits=(1, 3))
    for gts, preds, scores in images:
        metric.update(gts, preds, scores)
    got = metric.result()
    want = _reference(images, (0.5, 0.7), (1, 3))
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-3 if key.startswith("AR") else 1e-12), key
    assert 0.0 < got["R@0.7"] < got["R@0.5"] < 1.0  # the random data exercises both sides
    assert got["AR@1"] <= got["AR@3"] <= got["AR"]


def test_steps_average_and_by_hand():
    best = np.array([0.5, 0.75, 1.0, 0.2])
    # integral: 2 * mean(0, 0.25, 0.5, 0) = 0.375; steps: R@x at 0.5..0.95 -> (3,2*5,...)/4
    assert average_recall(best) == pytest.approx(0.375)
    want = np.mean([np.mean(best >= x) for x in np.linspace(0.5, 0.95, 10)])
    assert average_recall(best, "steps") == pytest.approx(want)
    gt = np.zeros((1, 4, 4), bool)
    gt[0, :2] = True
    pred = np.zeros((1, 4, 4), bool)
    pred[0, :1] = True
    np.testing.assert_allclose(best_overlaps(gt, pred), [0.5])
    with pytest.raises(ConfigError, match="ar must"):
        average_recall(best, "coco")
