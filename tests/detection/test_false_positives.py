"""Hoiem et al.'s false-positive types (zoo.metrics.false_positives) on hand-built detections whose
type is known by construction, the trend's arithmetic, and the stacked-area PNG."""

import numpy as np
import pytest

from zoo.metrics.false_positives import (FP_TYPES, VOC_SIMILAR, FalsePositiveAnalysis, classify_detections,
                                         plot_fp_trend, similar_to)

CAT, DOG, CHAIR = 8, 12, 9  # VOC indices: cat and dog are similar (animals), chair is not


def test_similar_sets_are_the_tools():
    assert similar_to(CAT, VOC_SIMILAR) == [3, 10, 12, 13, 15, 17]
    assert similar_to(1, VOC_SIMILAR) == [2, 3, 4, 6, 7, 14, 19]  # aeroplane: vehicles and bird
    assert CHAIR not in similar_to(CAT, VOC_SIMILAR)


def _scene():
    """Image 0: a cat at (0, 0, 99, 99), a dog at (200, 0, 299, 99), a chair at (400, 0, 499, 99).
    Cat detections, scores descending, with their type by construction."""
    gt = {CAT: ({0: np.array([[0, 0, 99, 99.]])}, {0: np.array([False])}),
          DOG: ({0: np.array([[200, 0, 299, 99.]])}, {0: np.array([False])}),
          CHAIR: ({0: np.array([[400, 0, 499, 99.]])}, {0: np.array([False])})}
    dets = [
        ((0, 0, 99, 99), "correct"),        # exact cat
        ((2, 2, 99, 99), "Loc"),            # duplicate of the detected cat (IoU 0.96)
        ((50, 0, 149, 99), "Loc"),          # IoU 5000 / 15000 = 0.33 with the cat: poor localisation
        ((60, 60, 159, 159), "BG"),         # IoU 1600 / 18400 = 0.087 < 0.1 with the cat, nothing else
        ((200, 0, 299, 99), "Sim"),         # exactly on the dog
        ((400, 0, 499, 99), "Oth"),         # exactly on the chair
        ((600, 0, 699, 99), "BG"),          # nothing there
        ((230, 0, 299, 99), "Sim"),         # IoU 0.7 with the dog
    ]
    return gt, dets


def test_each_detection_gets_its_type():
    gt, dets = _scene()
    boxes = np.array([d[0] for d in dets], np.float64)
    scores = np.linspace(1, 0, len(dets))
    out = classify_detections(scores, boxes, [0] * len(dets), CAT, gt, similar_to(CAT, VOC_SIMILAR))
    expected = [d[1] for d in dets]
    got = [next(k for k in ("correct",) + FP_TYPES if out[k][r]) for r in range(len(dets))]
    assert got == expected
    # every detection has exactly one type
    assert (np.sum([out[k] for k in ("correct",) + FP_TYPES], axis=0) == 1).all()


def test_ranking_decides_which_is_the_duplicate_and_difficult_counts_as_correct():
    gt = {CAT: ({0: np.array([[0, 0, 99, 99.]]), 1: np.array([[0, 0, 99, 99.]])},
                {0: np.array([False]), 1: np.array([True])})}
    boxes = np.array([[0, 0, 99, 99], [1, 1, 99, 99], [0, 0, 99, 99]], np.float64)
    # the lower-scored exact box comes second in rank: it is the duplicate (Loc), the first is correct
    out = classify_detections([0.2, 0.9, 0.5], boxes, [0, 0, 1], CAT, gt, [])
    np.testing.assert_array_equal(out["order"], [1, 2, 0])
    np.testing.assert_array_equal(out["correct"], [True, True, False])  # image 1's difficult cat: correct
    np.testing.assert_array_equal(out["Loc"], [False, False, True])


def test_two_objects_the_undetected_one_is_taken():
    """Hoiem's strong match takes the best *undetected* object (the devkit takes the best overall)."""
    gt = {CAT: ({0: np.array([[0, 0, 99, 99.], [10, 0, 109, 99]])}, {0: np.array([False, False])})}
    boxes = np.array([[0, 0, 99, 99], [0, 0, 99, 99]], np.float64)
    out = classify_detections([1.0, 0.9], boxes, [0, 0], CAT, gt, [])
    np.testing.assert_array_equal(out["correct"], [True, True])  # the second matches the other cat (IoU 0.82)


def _analysis(rng, n_images=30):
    fpa = FalsePositiveAnalysis(20)
    truth = {c: [] for c in (CAT, DOG)}
    for image in range(n_images):
        gt_boxes = np.array([[0, 0, 99, 99], [200, 0, 299, 99], [400, 0, 499, 99]], np.float64)
        gt_classes = np.array([CAT, DOG, CHAIR])
        kinds = rng.choice(["correct", "Loc", "Sim", "Oth", "BG"], size=4)
        boxes, classes, scores = [], [], []
        for c, other in ((CAT, 200), (DOG, 0)):
            for kind in kinds:
                box = {"correct": [0, 0, 99, 99], "Loc": [50, 0, 149, 99], "Sim": [200, 0, 299, 99],
                       "Oth": [400, 0, 499, 99], "BG": [600, 0, 699, 99]}[kind]
                box = np.array(box, np.float64)
                if c == DOG:  # the dog's own object is at x = 200, the cat (similar) at 0
                    box[[0, 2]] = {"correct": [200, 299], "Loc": [250, 349], "Sim": [0, 99]}.get(kind, box[[0, 2]])
                boxes.append(box), classes.append(c), scores.append(rng.uniform())
        fpa.add_image(boxes, scores, classes, gt_boxes, gt_classes, image_id=image)
    return fpa


def test_counts_and_trend_follow_the_flags():
    fpa = _analysis(np.random.default_rng(0))
    per_class = {c: fpa.class_types(c) for c in (CAT, DOG)}
    totals = {k: sum(int(per_class[c][k].sum()) for c in per_class) for k in FP_TYPES}
    assert fpa.counts([CAT, DOG]) == totals
    assert all(v > 0 for v in totals.values())
    trend = fpa.trend([CAT, DOG], points=(10, 25, 50, 1000))
    assert list(trend["points"]) == [10, 25, 50]  # fewer than 1000 false positives in all
    np.testing.assert_allclose(trend["fractions"].sum(axis=0), 1.0)
    # the last point holds every false positive up to the rank where the total first reaches 50
    rank_fp = sum((~per_class[c]["correct"]).astype(int) for c in per_class)
    k = int(np.flatnonzero(np.cumsum(rank_fp) >= 50)[0])
    want = np.array([sum(per_class[c][t][:k + 1].sum() for c in per_class) for t in FP_TYPES], float)
    np.testing.assert_allclose(trend["fractions"][:, -1], want / want.sum())


def test_bad_input_and_empty_trend():
    fpa = FalsePositiveAnalysis(20)
    with pytest.raises(ValueError):
        fpa.add_image(np.zeros((2, 4)), [1.0], [CAT, CAT], np.zeros((0, 4)), [])
    fpa.add_image([[0, 0, 9, 9]], [1.0], [CAT], np.zeros((0, 4)), [])
    assert fpa.trend([CAT])["points"].size == 0
    with pytest.raises(ValueError):
        plot_fp_trend(fpa.trend([CAT]))


def test_plot_writes_the_stacked_areas(tmp_path):
    fpa = _analysis(np.random.default_rng(1))
    path = tmp_path / "fp.png"
    ax = plot_fp_trend(fpa.trend([CAT, DOG], points=(5, 10, 25, 50)), title="animals", path=path)
    assert path.stat().st_size > 1000
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(FP_TYPES)
    assert ax.get_xlabel() == "total false positives"
