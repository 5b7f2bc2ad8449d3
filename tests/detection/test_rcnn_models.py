"""R-CNN and Fast R-CNN builders: the released nets' parameter counts (summed from their
prototxt layer shapes, see zoo/models/rcnn/cards.py), layer names, output shapes, and the RoI
head against per-RoI NumPy-free recomputation through the trunk."""

import numpy as np
import pytest

import keras
from zoo import registry
from zoo.ops.boxes import roi_max_pool


def _count(model):
    return int(sum(np.prod(w.shape) for w in model.weights))


@pytest.mark.parametrize("name", ["rcnn_caffenet", "fast_rcnn_caffenet"])
def test_full_size_parameter_counts_and_layer_names(name):
    card = next(c for c in registry.all_cards() if c.name == name)
    model = card.builder()
    assert _count(model) == card.parameters["total"]
    names = {layer.name for layer in model.layers}
    assert {"conv1", "conv5", "fc6", "fc7"} <= names
    if name == "rcnn_caffenet":
        assert "fc8_pascal" in names and model.get_layer("fc6").kernel.shape == (9216, 4096)
        assert model.output.shape[1:] == (21,)
    else:
        assert {"roi_pool5", "cls_score", "bbox_pred"} <= names
        assert model.get_layer("fc6").kernel.shape == (9216, 4096)  # 6 x 6 x 256


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rcnn_vgg16", "fast_rcnn_vgg16"])
def test_full_size_vgg_parameter_counts(name):
    card = next(c for c in registry.all_cards() if c.name == name)
    model = card.builder()
    assert _count(model) == card.parameters["total"]
    assert model.get_layer("fc6").kernel.shape == (25088, 4096)  # 7 x 7 x 512


def test_rcnn_svm_and_box_regression_outputs():
    from zoo.models.rcnn.rcnn import rcnn_caffenet

    model = rcnn_caffenet(num_classes=4, width=16, input_shape=(67, 67, 3), svm_layer="pool5", bbox_regression=True)
    scores, svm, deltas = model(np.zeros((2, 67, 67, 3), np.float32))
    assert scores.shape == (2, 4) and svm.shape == (2, 4) and deltas.shape == (2, 16)
    pool5 = int(np.prod(model.get_layer("pool5").output.shape[1:]))
    assert model.get_layer("fc-rcnn").kernel.shape[0] == pool5
    assert model.get_layer("bbox_pred").kernel.shape[0] == pool5


def test_fast_rcnn_scores_each_roi_as_its_own_pooled_map():
    """The (B, R) outputs equal fc layers applied to roi_max_pool of each image's conv5 by hand."""
    from zoo.models.rcnn.fast_rcnn import fast_rcnn_caffenet

    keras.utils.set_random_seed(1)
    model = fast_rcnn_caffenet(num_classes=3, width=16)
    rng = np.random.default_rng(0)
    images = rng.normal(0, 50, (2, 96, 80, 3)).astype(np.float32)
    rois = np.concatenate([rng.uniform(0, 40, (2, 5, 2)), rng.uniform(40, 79, (2, 5, 2))], -1).astype(np.float32)
    scores, deltas = model([images, rois])
    assert scores.shape == (2, 5, 3) and deltas.shape == (2, 5, 12)
    conv5 = keras.Model(model.inputs[0], model.get_layer("conv5").output)(images)
    head = keras.Sequential([model.get_layer(n) for n in ("flatten", "fc6", "fc7", "cls_score")])
    for b in range(2):
        rows = np.concatenate([np.zeros((5, 1), np.float32), rois[b]], 1)
        pooled = roi_max_pool(conv5[b:b + 1], rows, 6, 1 / 16)
        np.testing.assert_allclose(scores[b], head(pooled), rtol=1e-4, atol=1e-4)
