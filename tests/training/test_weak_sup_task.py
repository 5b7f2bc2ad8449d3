"""The weak_sup task and step (Oquab thesis §4.2.3, §4.3, §4.5.2, §4.6.1), each piece against a NumPy
transcription or a hand-worked case: the 500 canvas, the per-minibatch scale, Eq. 4.1, MASKED POOL,
the multi-scale test (max over positions, mean over scales), the maximal response across scales and
its location, and the evaluator end to end on a model whose score maps are known."""

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

import keras
from zoo.errors import ConfigError
from zoo.tasks import weak_sup as ws

LOSS = SimpleNamespace(normalize=False)


def test_canvas_keeps_the_aspect_and_pads_zeros_bottom_right():
    image = tf.ones((100, 250, 3)) * 7.0
    out = ws.to_canvas(image, 500).numpy()
    assert out.shape == (500, 500, 3) and ws.canvas_ratio(100, 250) == 2.0
    np.testing.assert_allclose(out[:200], 7.0, atol=1e-5)  # 100 x 2 rows of image
    assert np.all(out[200:] == 0)  # zero padding below
    portrait = ws.to_canvas(tf.ones((400, 100, 3)), 500).numpy()
    assert np.all(portrait[:, :125] > 0.99) and np.all(portrait[:, 125:] == 0)


def test_minibatch_scale_is_uniform_in_the_range_and_replayable():
    draws = np.array([float(ws.sample_scale(3, step, 0.7, 1.4)) for step in range(400)])
    assert draws.min() >= 0.7 and draws.max() < 1.4 and abs(draws.mean() - 1.05) < 0.03
    assert float(ws.sample_scale(3, 17, 0.7, 1.4)) == draws[17]  # a resumed run draws the same s
    assert float(ws.sample_scale(4, 17, 0.7, 1.4)) != draws[17]
    assert ws.rescale_batch(tf.zeros((2, 500, 500, 3)), 0.7).shape == (2, 350, 350, 3)
    assert [ws.scaled_size(500, s) for s in ws.TEST_SCALES] == [250, 350, 500, 700, 1000, 1400]


def _eq_4_1(f, y):
    """Eq. 4.1 as written: sum_k log(1 + exp(-y_k f_k)), y in {-1, 1}."""
    return np.sum(np.log1p(np.exp(-y * f)))


def test_loss_is_the_summed_binary_logistic_loss_of_eq_4_1():
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 2, (3, 5)).astype("float32")
    labels = rng.integers(0, 2, (3, 5)).astype("float32")
    task = ws.WeakSup()
    targets = {"labels": tf.constant(labels), "boxes": tf.zeros((3, 2, 4)), "box_labels": -tf.ones((3, 2), tf.int32)}
    got = task.replica_loss([tf.constant(scores), tf.zeros((3, 2, 2, 5))], targets, loss_cfg=LOSS, global_batch_size=3)
    np.testing.assert_allclose(float(got), _eq_4_1(scores, 2 * labels - 1), rtol=1e-5)
    labels[0, 1] = -1  # a difficult-only class is left out
    targets["labels"] = tf.constant(labels)
    got = task.replica_loss([tf.constant(scores), tf.zeros((3, 2, 2, 5))], targets, loss_cfg=LOSS, global_batch_size=3)
    keep = labels >= 0
    np.testing.assert_allclose(float(got), _eq_4_1(scores[keep], 2 * labels[keep] - 1), rtol=1e-5)


def _masks_numpy(boxes, box_labels, h, w, k):
    """A cell is in a box when its centre ((j + .5) / w, (i + .5) / h) is; else the box's centre cell.
    (window 0: the cells placed by interpolation; the boxes below have no tie for the nearest centre)"""
    out = np.zeros((h, w, k))
    for box, label in zip(boxes, box_labels):
        if label < 0:
            continue
        cells = np.zeros((h, w))
        for i in range(h):
            for j in range(w):
                u, v = (j + 0.5) / w, (i + 0.5) / h
                cells[i, j] = box[0] <= u <= box[2] and box[1] <= v <= box[3]
        if not cells.any():
            cells[min(int((box[1] + box[3]) / 2 * h), h - 1), min(int((box[0] + box[2]) / 2 * w), w - 1)] = 1
        out[..., label] = np.maximum(out[..., label], cells)
    return out


def test_masked_pool_masks_and_max_against_numpy():
    rng = np.random.default_rng(1)
    boxes = np.array([[[0.1, 0.1, 0.6, 0.5], [0.70, 0.70, 0.72, 0.71], [0, 0, 0, 0]]], "float32")  # 2nd: no centre
    labels = np.array([[2, 0, -1]], "int32")
    masks = ws.box_cell_masks(boxes, labels, 4, 5, 3).numpy()[0]
    np.testing.assert_array_equal(masks, _masks_numpy(boxes[0], labels[0], 4, 5, 3))
    assert masks[..., 0].sum() == 1 and masks[..., 1].sum() == 0 and masks[..., 2].sum() == 6  # u centres .1 .3 .5, v .125 .375
    score_map = rng.normal(size=(1, 4, 5, 3)).astype("float32")
    got = ws.masked_global_max(score_map, masks[None]).numpy()[0]
    want = [score_map[0, ..., c][masks[..., c] > 0].max() if masks[..., c].any() else score_map[0, ..., c].max()
            for c in range(3)]
    np.testing.assert_allclose(got, want)


def test_masked_pool_loss_uses_the_box_cells_of_present_classes_only():
    task = ws.WeakSup(ws.WeakSupOptions(variant="masked_pool"))
    score_map = np.zeros((1, 2, 2, 2), "float32")
    score_map[0, 0, 0] = [5.0, 3.0]  # the global max of both classes is the top-left cell
    score_map[0, 1, 1] = [-2.0, 1.0]
    targets = {"labels": tf.constant([[1.0, 0.0]]), "boxes": tf.constant([[[0.5, 0.5, 1.0, 1.0]]]),
               "box_labels": tf.constant([[0]])}
    pooled = task.pooled_scores([tf.constant(score_map.max(axis=(1, 2))), tf.constant(score_map)], targets).numpy()
    np.testing.assert_allclose(pooled, [[-2.0, 3.0]])  # class 0: its box's cell; absent class 1: the global max
    loss = task.replica_loss([tf.zeros((1, 2)), tf.constant(score_map)], targets, loss_cfg=LOSS, global_batch_size=1)
    np.testing.assert_allclose(float(loss), _eq_4_1(np.array([-2.0, 3.0]), np.array([1, -1])), rtol=1e-5)


def test_maximal_response_across_scales_and_its_place():
    small, large = np.zeros((2, 2, 2)), np.zeros((4, 3, 2))
    small[1, 0] = [3.0, 1.0]
    large[2, 2] = [2.0, 4.0]
    values, points = ws.max_response([small, large])
    np.testing.assert_allclose(values, [3.0, 4.0])
    # class 0 at the small map's cell (row 1, col 0): centre (0.25, 0.75); class 1 at (2.5 / 3, 2.5 / 4)
    np.testing.assert_allclose(points, [[0.25, 0.75], [2.5 / 3, 0.625]])


def test_cells_sit_at_their_window_centres():
    # §4.2.1: a 256x256 input gives 2x2 windows of 224 at stride 32: centres 112 and 144
    u, v = ws.cell_centres(2, 2, 224, 32, size=(256, 256))
    np.testing.assert_allclose(u * 256, [112, 144]) and np.testing.assert_allclose(v * 256, [112, 144])
    u, _ = ws.cell_centres(2, 26 + 32, 224, 32)  # input taken as 224 + 32 * 57 = 2048 wide
    np.testing.assert_allclose(u[[0, -1]] * 2048, [112, 2048 - 112])
    u, v = ws.cell_centres(2, 4)  # window 0: the map rescaled to the input by interpolation
    np.testing.assert_allclose(u, [0.125, 0.375, 0.625, 0.875]) and np.testing.assert_allclose(v, [0.25, 0.75])
    masks = ws.box_cell_masks([[[0.0, 0.0, 0.5, 0.5]]], [[0]], 2, 2, 1, window=224, stride=32).numpy()
    np.testing.assert_array_equal(masks[0, ..., 0], [[1, 0], [0, 0]])  # only the window centred at 112 / 256


def test_step_options_are_checked():
    with pytest.raises(ConfigError, match="variant"):
        ws.step_options({"variant": "strong"})
    with pytest.raises(ConfigError, match="scale_range"):
        ws.step_options({"scale_range": [1.4, 0.7]})
    with pytest.raises(ConfigError, match="confidence"):
        ws.WeakSup().eval_options({"confidence": "mean"})


def _known_maps(k):
    """A 'network' whose score map is the input's first K channels average-pooled by 32 (stride 32)."""
    inputs = keras.Input((None, None, 3))
    score_map = keras.layers.AveragePooling2D(32)(inputs[..., :k])
    return keras.Model(inputs, [keras.layers.GlobalMaxPooling2D()(score_map), score_map])


def test_evaluator_end_to_end_against_hand_worked_numbers():
    """Two 64x64 images on a 64 canvas, scales 1 and 2 (maps 2x2 and 4x4), two classes."""
    model = _known_maps(2)
    canvas = np.zeros((2, 64, 64, 3), "float32")
    canvas[0, 32:, 32:, 0] = 4.0  # image 0, class 0: the bottom-right quarter
    canvas[0, :32, :32, 1] = 1.0  # image 0, class 1: top-left, weak
    canvas[1, :32, 32:, 1] = 3.0  # image 1, class 1: top-right
    targets = {"labels": np.array([[1, 0], [0, 1]], "float32"), "image_size": np.array([[64, 64], [64, 64]], "float32"),
               "boxes": np.array([[[40, 40, 60, 60]], [[0, 0, 20, 20]]], "float32"), "box_labels": np.array([[0], [1]]),
               "input": canvas}
    evaluator = ws.WeakSupEvaluator(model, [1.0, 2.0], ws.WeakSupEvalOptions(tolerance=4.0, window=32, stride=32))
    evaluator.update(model(canvas), targets)
    out = evaluator.result()
    # image scores: the max per scale (bilinear x2 keeps the plateau values), averaged over the scales
    assert out["ap_0"] == 1.0 and out["ap_1"] == 1.0 and out["mean_ap"] == 1.0
    # class 0, image 0: the response peaks in the bottom-right quarter, inside the box [40, 60] -> hit
    assert out["location_ap_0"] == 1.0
    # class 1, image 1: the peak is top-right, the box top-left (20 + 1 + 4 < 32): a miss -> AP 0
    assert out["location_ap_1"] == 0.0 and out["location_map"] == 0.5
    # CENTER PRED.: (32, 32) is inside [40 - 4, 61 + 4]? no; inside [0 - 4, 21 + 4]? no -> both 0
    assert out["center_location_map"] == 0.0


def test_runner_evaluation_follows_the_recipes_step_table(monkeypatch):
    """FULL IMAGES tests at one scale (§4.5.2) from its [step] table, even where [eval] lists more: the
    runner's evaluate() configures the task from the recipe (before, it saw the card's default task)."""
    from zoo import registry
    from zoo.training import recipes, runner

    seen = []
    evaluator = ws.WeakSup.evaluator

    def spy(self, model, ignore_label=255, eval_cfg=None):
        built = evaluator(self, model, ignore_label, eval_cfg)
        seen.append(built.scales)
        return built

    monkeypatch.setattr(ws.WeakSup, "evaluator", spy)
    model, card = _known_maps(3), registry.card("weak_sup_alexnet1512")
    canvas = np.zeros((1, 64, 64, 3), "float32")
    batch = [(canvas, {"labels": np.ones((1, 3), "float32"), "image_size": np.array([[64, 64]], "float32"),
                       "boxes": np.array([[[0, 0, 63, 63]]], "float32"), "box_labels": np.array([[0]]),
                       "input": canvas})]
    for name, scales in [("weak_sup_shapes_demo_full_images", (1.0,)), ("weak_sup_shapes_demo", (0.7, 1.0, 1.4))]:
        r = recipes.load(name, ["eval.scales=[0.7, 1.0, 1.4]"])
        runner.evaluate(model, batch, card, eval_cfg=r.eval, recipe=r)
        assert seen[-1] == scales
    runner.evaluate(model, batch, card, eval_cfg={"scales": [0.7, 1.0]})  # no recipe: the card's task, [eval]
    assert seen[-1] == (0.7, 1.0)
