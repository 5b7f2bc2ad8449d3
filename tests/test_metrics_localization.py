"""Location prediction AP of Oquab thesis §4.6.1, CENTER PRED., R-CNN* points and the §4.6.2 extent
evaluation through proposals: hand-worked cases and a literal NumPy transcription of the VOC devkit's
AP loop (VOCevalcls.m / VOCevaldet.m: cumulative tp / fp, rec = tp / npos, the monotone precision)."""

import numpy as np
import pytest

from zoo.metrics.localization import (
    LocationAP,
    best_box_points,
    center_points,
    location_ap,
    point_hits,
    rcnn_star_location_aps,
)


def _devkit_ap(confidence, tp_flags, npos):
    order = np.argsort(-np.asarray(confidence), kind="stable")
    tp = np.asarray(tp_flags, float)[order]
    fp = 1 - tp
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec, prec = tp / npos, tp / (fp + tp)
    mrec, mpre = np.concatenate([[0], rec, [1]]), np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def test_hand_worked_location_ap():
    # ranked: present + hit (TP), present + miss (FP and a lost positive), absent (FP), present + hit (TP)
    conf, present, hits = [0.9, 0.8, 0.7, 0.6], [1, 1, 0, 1], [1, 0, 1, 1]
    # precision 1, 1/2, 1/3, 1/2 at recall 1/3, 1/3, 1/3, 2/3: AP = 1/3 * 1 + 1/3 * 1/2
    assert location_ap(conf, hits, present) == pytest.approx(0.5)
    assert location_ap(conf, [1, 1, 1, 1], present) == pytest.approx(_devkit_ap(conf, [1, 1, 0, 1], 3))
    # a difficult-only image is left out; a class nowhere present has no AP
    assert location_ap(conf, hits, present, difficult=[0, 1, 0, 0]) == pytest.approx(_devkit_ap([.9, .7, .6],
                                                                                                 [1, 0, 1], 2))
    assert np.isnan(location_ap(conf, hits, [0, 0, 0, 0]))


def test_random_rankings_match_the_devkit_transcription():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 40))
        conf, present, hits = rng.normal(size=n), rng.random(n) < 0.4, rng.random(n) < 0.6
        if not present.any():
            continue
        assert location_ap(conf, hits, present) == pytest.approx(_devkit_ap(conf, hits & present, present.sum()))


def test_tolerance_widens_the_boxes_by_18_pixels():
    box = [[100, 50, 199, 149]]  # covers x in [100, 200), y in [50, 150)
    assert point_hits((150, 100), box) and point_hits((200 + 18, 100), box) and point_hits((100 - 18, 50 - 18), box)
    assert not point_hits((200 + 18.5, 100), box) and not point_hits((150, 150 + 19), box)
    assert not point_hits((150, 100), np.zeros((0, 4))) and not point_hits((np.nan, np.nan), box)
    assert point_hits((10, 10), [[500, 500, 600, 600], [0, 0, 5, 5]], tolerance=5)


def test_location_ap_over_images_and_the_centre_baseline():
    metric = LocationAP(2, tolerance=0)
    # image 1 (100 x 200): class 0 box on the left, class 1 absent
    metric.add_image([2.0, 1.0], [[20, 50], [150, 50]], [1, 0], [[0, 0, 49, 99]], [0])
    # image 2: class 0 present but predicted in the wrong place, class 1 present and hit
    metric.add_image([3.0, 0.5], [[180, 10], [100, 50]], [1, 1], [[0, 0, 49, 99], [90, 40, 110, 60]], [0, 1])
    aps = metric.class_aps()
    # class 0: ranked image 2 (miss: FP), image 1 (TP) of 2 positives -> precision 1/2 at recall 1/2
    assert aps[0] == pytest.approx(0.25)
    # class 1: image 1 (absent, FP, 1.0) above image 2 (TP, 0.5) -> precision 1/2 at recall 1
    assert aps[1] == pytest.approx(0.5)
    np.testing.assert_allclose(center_points([[100, 200], [480, 640]]), [[100, 50], [320, 240]])


def test_rcnn_star_keeps_the_best_box_per_class_and_its_centre():
    boxes = [[0, 0, 9, 9], [10, 20, 29, 59], [100, 100, 101, 101]]
    conf, points = best_box_points(boxes, [0.2, 0.9, 0.5], [1, 1, 0], 3)
    np.testing.assert_allclose(conf[:2], [0.5, 0.9])
    np.testing.assert_allclose(points[:2], [[101, 101], [20, 40]])
    assert conf[2] == -np.inf and np.isnan(points[2]).all()
    # two images, class 1 (detector class 2): image a's best box centred on its object, image b's
    # best box elsewhere; class 0: no detection at all in image a where it is present
    detections = [([[0, 0, 9, 9], [40, 40, 59, 59]], [0.3, 0.8], [1, 2]), ([[0, 0, 19, 19]], [0.6], [2])]
    examples = [{"labels": [1, 1], "boxes": [[0, 0, 9, 9], [45, 45, 55, 55]], "box_labels": [0, 1]},
                {"labels": [0, 1], "boxes": [[60, 60, 80, 80]], "box_labels": [1]}]
    aps = rcnn_star_location_aps(detections, examples, 2, tolerance=0)
    # class 0: image a hit (0.3), image b has no detection (-inf, absent) -> AP 1
    # class 1: a (0.8) hit, b (0.6) miss of 2 positives -> precision 1 at recall 1/2 -> AP 0.5
    np.testing.assert_allclose(aps, [1.0, 0.5])


def test_extent_proposal_scores_against_brute_force():
    from zoo.tasks.weak_sup_extent import extent_detections, image_score_map, proposal_scores

    rng = np.random.default_rng(1)
    image_map = rng.normal(size=(30, 40, 3))
    proposals = np.array([[0, 0, 39, 29], [5, 7, 12, 20], [38, 28, 60, 50], [3, 3, 3, 3]], np.float32)
    clipped = [(0, 0, 39, 29), (5, 7, 12, 20), (38, 28, 39, 29), (3, 3, 3, 3)]
    want_mean = [image_map[y1:y2 + 1, x1:x2 + 1].mean(axis=(0, 1)) for x1, y1, x2, y2 in clipped]
    want_max = [image_map[y1:y2 + 1, x1:x2 + 1].max(axis=(0, 1)) for x1, y1, x2, y2 in clipped]
    np.testing.assert_allclose(proposal_scores(image_map, proposals), want_mean)
    np.testing.assert_allclose(proposal_scores(image_map, proposals, "max"), want_max)
    # a 2x2 map rescaled to a 60 x 40 image (canvas side 60), cropped, averaged over two scales
    maps = [np.array([[[1.0], [1.0]], [[1.0], [1.0]]]), np.full((3, 3, 1), 3.0)]
    np.testing.assert_allclose(image_score_map(maps, (40, 60)), np.full((40, 60, 1), 2.0))
    # detections: the class-0 box where the map is high wins; NMS removes its overlapping twin
    hot = np.zeros((50, 50, 1))
    hot[10:20, 10:20] = 5.0
    boxes, scores, classes = extent_detections(hot, [[10, 10, 19, 19], [11, 10, 19, 19], [30, 30, 45, 45]])
    np.testing.assert_allclose(boxes[0], [10, 10, 19, 19])
    assert scores[0] == 5.0 and list(classes) == [1, 1] and len(boxes) == 2


def test_evaluate_extent_end_to_end_on_known_maps():
    import keras

    from zoo.registry import InputContract
    from zoo.tasks.weak_sup_extent import evaluate_extent

    inputs = keras.Input((None, None, 3))
    score_map = keras.layers.AveragePooling2D(32)(inputs[..., :2])  # class k's map: channel k pooled by 32
    model = keras.Model(inputs, [keras.layers.GlobalMaxPooling2D()(score_map), score_map])
    image = np.zeros((64, 64, 3), np.uint8)
    image[32:, 32:, 0] = 200  # class 1 (model class 0) fills the bottom-right quarter
    example = {"image": image, "boxes": np.array([[32, 32, 63, 63]], np.float32), "labels": np.array([1]),
               "difficult": np.array([False]),
               "proposals": np.array([[0, 0, 31, 31], [32, 32, 63, 63], [16, 16, 47, 47]], np.float32)}
    contract = InputContract(shape=(None, None, 3), channel_order=None, mean=None)
    out = evaluate_extent(model, [example], contract, canvas=64, scales=(1.0,))
    assert out["map@0.5"] == 1.0 and out["ap@0.5/0"] == 1.0 and np.isnan(out["ap@0.5/1"])  # class 2: no objects
    assert set(out) >= {"map@0.3", "map@0.1"}
