"""Nearest-neighbour retrieval by tower features (context prediction) and by a named layer."""

import keras
import numpy as np

from zoo.models.context_prediction.pair import context_prediction_alexnet
from zoo.visualize import retrieval


def test_tower_retrieval_matches_a_numpy_cosine_ranking():
    keras.utils.set_random_seed(0)
    model = context_prediction_alexnet(patch_size=64, width=0.0625, fc=16)
    rng = np.random.default_rng(0)
    database = rng.uniform(-1, 1, (6, 64, 64, 3)).astype("float32")
    queries = database[[4, 1]] + 0.01 * rng.normal(size=(2, 64, 64, 3)).astype("float32")
    nn, sims = retrieval.nearest_neighbours(model, queries, database, k=3, layer="tower")
    assert nn[:, 0].tolist() == [4, 1] and np.all(sims[:, 0] > 0.99)
    tower = model.get_layer("tower")
    q, d = np.asarray(tower(queries, training=False)), np.asarray(tower(database, training=False))
    sim = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (d / np.linalg.norm(d, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(nn, np.argsort(-sim, axis=1)[:, :3])
    np.testing.assert_allclose(sims, np.sort(sim, axis=1)[:, ::-1][:, :3], rtol=1e-5)
