"""The region network's targets and loss (Long thesis §4.3.6, §4.4.1) against a NumPy transcription
with loops over regions and window pixels, and the evaluator's decoding."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.ops.pairwise import bilinear_matrix
from zoo.tasks.instance_proposals import (ProposalEvalOptions, ProposalEvaluator, decode_regions, instance_map,
                                          region_loss, region_targets)


def _scene(rng, size=16):
    """Two touching rectangles of one id each, a small blob, background elsewhere."""
    inst = np.zeros((size, size), np.int32)
    inst[2:7, 2:6] = 1
    inst[2:7, 6:9] = 2  # touches segment 1
    inst[10:12, 11:13] = 3
    inst[rng.integers(0, size, 3), rng.integers(0, size, 3)] = 3  # scattered pixels: a segment that rarely fits
    return inst


def _targets_reference(inst, s, k):
    h, w = -(-inst.shape[0] // s), -(-inst.shape[1] // s)
    c, win = k // 2, k * s
    target = np.zeros((h, w, win * win), bool)
    valid = np.zeros((h, w), bool)
    for y in range(h):
        for x in range(w):
            gy, gx = y * s + s // 2, x * s + s // 2
            g = inst[gy, gx] if gy < inst.shape[0] and gx < inst.shape[1] else 0
            for a in range(win):
                for b in range(win):
                    py, px = (y - c) * s + a, (x - c) * s + b
                    inside = 0 <= py < inst.shape[0] and 0 <= px < inst.shape[1]
                    target[y, x, a * win + b] = inside and inst[py, px] == g
            fits = g > 0 and target[y, x].sum() == (inst == g).sum()
            valid[y, x] = fits
    return target, valid


@pytest.mark.parametrize("s, k", [(2, 4), (4, 3), (2, 14)])
def test_region_targets_match_the_loop_reference(s, k):
    rng = np.random.default_rng(s + k)
    insts = np.stack([_scene(rng), _scene(rng)])
    target, valid = region_targets(tf.constant(insts), s, k)
    for b in range(2):
        want_t, want_v = _targets_reference(insts[b], s, k)
        np.testing.assert_array_equal(valid.numpy()[b], want_v)
        np.testing.assert_array_equal(target.numpy()[b][want_v], want_t[want_v])
    assert valid.numpy().any() and not valid.numpy().all()


def _loss_reference(outputs, insts, strides):
    n = len(outputs) // 2
    mask_terms, score_terms = [], []
    for (masks, scores), s in zip(zip(outputs[:n], outputs[n:]), strides):
        k = int(np.sqrt(masks.shape[-1]))
        u = bilinear_matrix(k, s).astype(np.float64)
        for b in range(len(insts)):
            target, valid = _targets_reference(insts[b], s, k)
            for y, x in np.ndindex(valid.shape):
                z = float(scores[b, y, x, 0])
                score_terms.append(np.logaddexp(0, z) - z * valid[y, x])
                if valid[y, x]:
                    logits = (u @ masks[b, y, x].reshape(k, k).astype(np.float64) @ u.T).reshape(-1)
                    t = target[y, x]
                    mask_terms.append(np.mean(np.logaddexp(0, logits) - logits * t))
    return np.mean(mask_terms) + np.mean(score_terms)


def test_region_loss_matches_the_reference_and_has_gradients():
    rng = np.random.default_rng(0)
    insts = np.stack([_scene(rng), _scene(rng)])
    shapes = [(2, 8, 8, 16), (2, 4, 4, 9)]  # pathways of stride 2 (k 4) and stride 4 (k 3)
    masks = [tf.Variable(rng.standard_normal(sh).astype(np.float32)) for sh in shapes]
    scores = [tf.Variable(rng.standard_normal((*sh[:3], 1)).astype(np.float32)) for sh in shapes]
    with tf.GradientTape() as tape:
        loss = region_loss([*masks, *scores], tf.constant(insts))
    want = _loss_reference([m.numpy() for m in masks] + [s.numpy() for s in scores], insts, [2, 4])
    assert float(loss) == pytest.approx(want, rel=1e-5)
    grads = tape.gradient(loss, masks + scores)
    assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in grads)
    # regions without a ground truth get no mask gradient (points outside every segment are excluded)
    _, valid = _targets_reference(insts[0], 2, 4)
    assert not np.abs(grads[0].numpy()[0][~valid]).any()


def test_instance_map_from_masks():
    masks = np.zeros((2, 4, 4), bool)
    masks[0, :2] = True
    masks[1, 1:3, :2] = True
    np.testing.assert_array_equal(instance_map(tf.constant(masks)).numpy(),
                                  [[1, 1, 1, 1], [2, 2, 1, 1], [2, 2, 0, 0], [0, 0, 0, 0]])
    assert instance_map(tf.zeros((0, 3, 3), tf.bool)).numpy().sum() == 0


def test_a_perfect_region_is_recalled():
    # one pathway (stride 2, k 4); the region at (2, 2) predicts segment 1 exactly, nothing else is confident
    inst = np.zeros((1, 8, 8), np.int32)
    inst[0, 2:6, 2:6] = 1
    k, s = 4, 2
    masks = np.full((1, 4, 4, k * k), -10.0, np.float32)
    coarse = -10.0 * np.ones((k, k), np.float32)
    coarse[1:3, 1:3] = 10.0  # cells 1..2 of the window rows (2-2)*2 .. : pixels 2..5
    masks[0, 2, 2] = coarse.reshape(-1)
    scores = np.full((1, 4, 4, 1), -5.0, np.float32)
    scores[0, 2, 2, 0] = 5.0
    decoded, ranked = decode_regions([(masks[0], 1 / (1 + np.exp(-scores[0, ..., 0])), s)], 8, 8, ProposalEvalOptions())
    assert np.array_equal(decoded[0], inst[0] == 1) and ranked[0] == ranked.max()
    evaluator = ProposalEvaluator(ProposalEvalOptions(limits=(1,)), strides=[2])
    evaluator.update([masks, scores], inst)
    result = evaluator.result()
    assert result["R@0.5"] == 1.0 and result["ABO"] == 1.0 and result["AR@1"] == 1.0


def test_the_task_trains_a_small_region_network():
    import keras

    from zoo import tasks
    from zoo.models.region.region_net import region_pairwise_vgg16

    keras.utils.set_random_seed(0)
    model = region_pairwise_vgg16(width=16, pathways=("conv2_2", "conv3_3"), input_shape=(32, 32, 3))
    task = tasks.get("instance_proposals").bind(None, None, None, model)
    assert task.strides == [2, 4]
    rng = np.random.default_rng(0)
    insts = tf.constant(np.stack([_scene(rng, 32), _scene(rng, 32)]))
    x = tf.constant(rng.standard_normal((2, 32, 32, 3)).astype(np.float32) * 60)
    opt = keras.optimizers.SGD(0.01)
    with tf.GradientTape() as tape:
        loss = task.replica_loss(model(x, training=True), insts, loss_cfg=None, global_batch_size=2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert np.isfinite(float(loss))
    opt.apply_gradients(zip(grads, model.trainable_variables))
    assert float(task.replica_loss(model(x), insts, loss_cfg=None, global_batch_size=2)) < float(loss)
