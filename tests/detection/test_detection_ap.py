"""zoo.metrics.detection against a literal NumPy transcription of the VOC devkit (VOCevaldet.m,
VOCap.m and the VOC2007 11-point loop), written here with MATLAB's NaN semantics, on random
detections with difficult flags, duplicates and ties."""

import math

import numpy as np
import pytest

from zoo.metrics.detection import DetectionAP


def _matlab_max(values):
    """MATLAB's max over a vector: NaNs ignored, NaN when all are NaN, [] -> None."""
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return None
    good = values[~np.isnan(values)]
    return float(good.max()) if good.size else float("nan")


def devkit_ap(dets, gts, cls, use_07):
    """VOCevaldet for class `cls`: dets = [(image, class, score, box)], gts = {image: [(class, box, diff)]}."""
    gt = {}
    npos = 0
    for image, objects in gts.items():
        boxes = [o[1] for o in objects if o[0] == cls]
        diff = [o[2] for o in objects if o[0] == cls]
        gt[image] = {"BB": np.array(boxes, np.float64).reshape(-1, 4).T, "diff": np.array(diff, bool),
                     "det": np.zeros(len(boxes), bool)}
        npos += int(np.sum(~np.array(diff, bool)))
    mine = [d for d in dets if d[1] == cls]
    ids = [d[0] for d in mine]
    confidence = np.array([d[2] for d in mine], np.float64)
    BB = np.array([d[3] for d in mine], np.float64).reshape(-1, 4).T
    si = np.argsort(-confidence, kind="stable")  # [sc,si]=sort(-confidence): stable
    ids = [ids[i] for i in si]
    BB = BB[:, si]
    nd = len(confidence)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        i = ids[d]
        bb = BB[:, d]
        ovmax, jmax = -math.inf, -1
        for j in range(gt[i]["BB"].shape[1]):
            bbgt = gt[i]["BB"][:, j]
            bi = [max(bb[0], bbgt[0]), max(bb[1], bbgt[1]), min(bb[2], bbgt[2]), min(bb[3], bbgt[3])]
            iw = bi[2] - bi[0] + 1
            ih = bi[3] - bi[1] + 1
            if iw > 0 and ih > 0:
                ua = ((bb[2] - bb[0] + 1) * (bb[3] - bb[1] + 1) + (bbgt[2] - bbgt[0] + 1) * (bbgt[3] - bbgt[1] + 1)
                      - iw * ih)
                ov = iw * ih / ua
                if ov > ovmax:
                    ovmax, jmax = ov, j
        if ovmax >= 0.5:
            if not gt[i]["diff"][jmax]:
                if not gt[i]["det"][jmax]:
                    tp[d] = 1
                    gt[i]["det"][jmax] = True
                else:
                    fp[d] = 1
        else:
            fp[d] = 1
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / npos
    with np.errstate(invalid="ignore"):
        prec = tp / (fp + tp)
    if use_07:
        ap = 0.0
        n = 10  # MATLAB's colon 0:0.1:1: a + k*d for the first half, b - (n-k)*d for the second
        for t in [k * 0.1 for k in range(n // 2 + 1)] + [1 - (n - k) * 0.1 for k in range(n // 2 + 1, n + 1)]:
            p = _matlab_max(prec[rec >= t])
            ap += (0.0 if p is None else p) / 11
        return ap
    mrec = np.concatenate([[0], rec, [1]])
    mpre = np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = _matlab_max([mpre[i], mpre[i + 1]])
    i = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def _random_split(rng, images=12, classes=3):
    gts, dets = {}, []
    for image in range(images):
        objects = []
        for _ in range(rng.integers(0, 5)):
            x1, y1 = rng.integers(0, 80, 2)
            w, h = rng.integers(8, 40, 2)
            objects.append((int(rng.integers(1, classes + 1)), [x1, y1, x1 + w, y1 + h], bool(rng.random() < 0.25)))
        gts[image] = objects
        for cls, box, _ in objects:  # jittered hits and duplicates around each object
            for _ in range(rng.integers(0, 4)):
                jitter = rng.integers(-6, 7, 4)
                c = cls if rng.random() < 0.85 else int(rng.integers(1, classes + 1))
                dets.append((image, c, float(rng.integers(0, 20)) / 4, list(np.array(box) + jitter)))
        for _ in range(rng.integers(0, 4)):  # background detections; scores with ties (quarters)
            x1, y1 = rng.integers(0, 90, 2)
            dets.append((image, int(rng.integers(1, classes + 1)), float(rng.integers(0, 20)) / 4,
                         [x1, y1, x1 + rng.integers(4, 30), y1 + rng.integers(4, 30)]))
    rng.shuffle(dets)
    return gts, dets


def _metric(gts, dets, classes):
    metric = DetectionAP(classes)
    for image, objects in gts.items():
        mine = [d for d in dets if d[0] == image]
        metric.add_image([d[3] for d in mine], [d[2] for d in mine], [d[1] for d in mine],
                         [o[1] for o in objects], [o[0] for o in objects], [o[2] for o in objects])
    return metric


@pytest.mark.parametrize("seed", range(8))
def test_ap_equals_the_devkit_on_random_detections(seed):
    rng = np.random.default_rng(seed)
    gts, dets = _random_split(rng)
    # the metric sees detections image by image: give the devkit the same tie order
    dets = sorted(dets, key=lambda d: d[0])
    result = _metric(gts, dets, 3).result()
    for cls in (1, 2, 3):
        npos = sum(1 for objs in gts.values() for o in objs if o[0] == cls and not o[2])
        for definition, use_07 in (("area", False), ("11point", True)):
            got = result[f"ap_{definition}/{cls}"]
            if npos == 0:
                assert math.isnan(got)
                continue
            assert got == pytest.approx(devkit_ap(dets, gts, cls, use_07), abs=1e-12), (cls, definition)
    for definition in ("area", "11point"):
        aps = [result[f"ap_{definition}/{c}"] for c in (1, 2, 3)]
        assert result[f"map_{definition}"] == pytest.approx(np.nanmean(aps))


def test_difficult_duplicates_and_misses_by_hand():
    metric = DetectionAP(1)
    gt = [[0, 0, 9, 9], [50, 50, 59, 59], [100, 100, 109, 109]]
    dets = [[0, 0, 9, 9], [0, 0, 9, 9], [50, 50, 59, 59], [200, 200, 209, 209]]
    # scores: hit (tp), duplicate (fp), difficult (ignored), background (fp)
    metric.add_image(dets, [0.9, 0.8, 0.7, 0.6], [1, 1, 1, 1], gt, [1, 1, 1], [False, True, False])
    # two positives (one difficult left out); ranking tp, fp, fp -> precision 1, 1/2, 1/3, recall 1/2
    assert metric.class_aps("area")[0] == pytest.approx(0.5)
    assert metric.class_aps("11point")[0] == pytest.approx(6 / 11)  # recalls 0 .. 0.5 reach precision 1


def test_bad_inputs_raise():
    metric = DetectionAP(2)
    with pytest.raises(ValueError, match="one box"):
        metric.add_image([[0, 0, 1, 1]], [0.5, 0.2], [1], [], [])
    with pytest.raises(ValueError, match="definition"):
        metric.class_aps("voc")


def test_eleven_point_thresholds_are_matlabs_colon():
    from zoo.metrics.ranking import ap_from_precision_recall

    # recall exactly 7/10 at precision 1, then nothing: MATLAB's 0:0.1:1 has 0.7 <= 7/10, so 8 of
    # the 11 thresholds (0 .. 0.7) see precision 1 (np.linspace's 0.7000000000000001 sees 7)
    assert ap_from_precision_recall([1.0], [7 / 10], "11point") == pytest.approx(8 / 11)
    assert ap_from_precision_recall([1.0], [3 / 5], "11point") == pytest.approx(7 / 11)
