"""SMem-VQA (Xu & Saenko 2016): the spatial memory against a NumPy transcription of its equations
(word-guided attention, evidence, the second hop), padding masked, the VQA accuracy metric, and
the generated position questions answered correctly by construction."""

import keras
import numpy as np
import pytest

from zoo import registry, tasks
from zoo.data.standins import position_questions as pq
from zoo.metrics.vqa import mean_vqa_accuracy, vqa_accuracy
from zoo.models.smem_vqa.smem_vqa import SpatialMemory
from tests.model_test_configs import SMALL

RNG = np.random.default_rng(0)


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(-1, keepdims=True)


@pytest.mark.parametrize("hops", [1, 2])
def test_spatial_memory_matches_numpy(hops):
    layer = SpatialMemory(vocab_size=12, num_answers=5, embed_dim=6, hops=hops)
    features = RNG.normal(size=(2, 9, 7)).astype(np.float32)
    question = np.array([[3, 5, 7, 0, 0], [1, 2, 0, 0, 0]], np.int32)
    out = [np.asarray(o) for o in layer([features, question])]
    emb = np.asarray(layer.words.embeddings)
    dense = lambda d, x: x @ np.asarray(d.kernel) + np.asarray(d.bias)  # noqa: E731
    for n in range(2):
        words = emb[question[n][question[n] > 0]]  # padding (0) left out
        q = words.sum(0)
        corr = words @ dense(layer.attention_embedding, features[n]).T  # (T, L)
        w_att = _softmax(corr.max(axis=0))
        evidence = dense(layer.evidence_embedding, features[n])
        o = w_att @ evidence + q
        np.testing.assert_allclose(out[1][n], w_att, rtol=1e-4, atol=1e-6)
        if hops == 2:
            w_att2 = _softmax(evidence @ o)
            o = o + w_att2 @ dense(layer.evidence_embedding2, features[n])
            np.testing.assert_allclose(out[2][n], w_att2, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(out[0][n], dense(layer.answer, o), rtol=1e-4, atol=1e-5)


def test_small_models_return_attention_over_googlenet_locations():
    for hops in (1, 2):
        card = registry.card(f"smem_vqa_{hops}hop")
        keras.utils.set_random_seed(0)
        model = card.builder(**SMALL[card.name].kwargs)
        x = {"image": RNG.normal(0, 60, (2, 64, 64, 3)).astype(np.float32),
             "question": RNG.integers(0, 20, (2, 8)).astype(np.int32)}
        out = model(x)
        assert len(out) == 1 + hops and out[0].shape == (2, 2)
        for att in out[1:]:
            np.testing.assert_allclose(np.asarray(att).sum(-1), 1.0, rtol=1e-5)
            assert att.shape[1] == 4  # 64x64 -> inception_5b 2x2


def test_vqa_accuracy_is_min_humans_over_3_averaged_leave_one_out():
    humans = ["yes"] * 3 + ["no"] * 7
    assert vqa_accuracy("yes", humans, official=False) == 1.0
    # leaving out one of the 3 "yes": 2/3 (3 of 10 subsets); else 1 (7 subsets)
    assert vqa_accuracy("yes", humans) == pytest.approx((3 * 2 / 3 + 7 * 1) / 10)
    assert vqa_accuracy("no", humans) == 1.0 and vqa_accuracy("maybe", humans) == 0.0
    assert vqa_accuracy("two", ["two", "2"] + ["three"] * 8, official=False) == pytest.approx(1 / 3)
    assert mean_vqa_accuracy(["no", "maybe"], [humans, humans]) == pytest.approx(0.5)


def test_position_questions_are_answered_by_construction():
    data = pq.render_split(0, "train", 300)
    assert abs(data["label"].mean() - 0.5) < 0.1 and abs(data["relative"].mean() - 0.5) < 0.1
    words = [[pq.WORDS[i] for i in q if i] for q in data["question"]]
    for k in range(300):
        mask, image = data["red_mask"][k], data["image"][k]
        direction = words[k][7]
        if not mask.any():
            assert data["label"][k] == 0
            continue
        ys, xs = np.nonzero(mask)
        centre = (ys.mean() + 0.5, xs.mean() + 0.5)
        if data["relative"][k]:
            gy, gx = np.nonzero((image == 128).all(-1))
            reference = (gy.mean() + 0.5, gx.mean() + 0.5)
            assert words[k][-5:] == ["of", "the", "gray", "square", "?"]
        else:
            reference = (32, 32)
        holds = {"top": centre[0] < reference[0], "bottom": centre[0] > reference[0],
                 "left": centre[1] < reference[1], "right": centre[1] > reference[1]}[direction]
        assert data["label"][k] == int(holds), k


def test_vqa_task_scores_absolute_and_relative_questions_apart():
    ev = tasks.get("vqa").evaluator(model=None)
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    ev.update([logits], {"label": np.array([0, 1, 0, 0]), "relative": np.array([0, 0, 1, 1])})
    assert ev.result() == pytest.approx({"accuracy": 0.75, "absolute_accuracy": 1.0, "relative_accuracy": 0.5})


def test_shipped_smem_recipes_validate():
    from zoo import recipe_files
    from zoo.training import recipes

    names = [n for n in recipe_files.list_recipes() if n.startswith("smem_vqa")]
    assert sorted(names) == ["smem_vqa_1hop_position_questions_standin", "smem_vqa_2hop_daquar",
                             "smem_vqa_2hop_position_questions_standin", "smem_vqa_2hop_vqa_v1"]
    for name in names:
        assert recipes.load(name).recipe.paper_target
