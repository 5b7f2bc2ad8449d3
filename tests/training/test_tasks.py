"""The runner's tasks: inputs made from dataset features, losses against NumPy, evaluators, and
short training runs of the two-stream (RGB-HHA), RGBD and two-head (SIFT Flow) FCNs."""

import numpy as np
import pytest
import tensorflow as tf

from zoo import registry
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, WeightsMismatchError
from zoo import tasks
from zoo.tasks import segmentation
from zoo.tasks.base import model_input
from zoo.training import runner
from zoo.training import recipes
from zoo.training.recipes import LossConfig

from tests.training.helpers import write_recipe

RNG = np.random.default_rng(0)
NYUD_BGR_MEAN = np.array([116.190, 97.203, 92.318])
NYUD_HHA_MEAN = np.array([132.431, 94.076, 118.477])


def test_rgbd_input_is_bgr_minus_mean_then_log_depth_minus_mean():
    # Reference nyud_layers.py: color[:, :, ::-1] - mean_bgr; log(depth) - 7.844; stacked as channels.
    image = RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    depth = RNG.integers(0, 9000, (5, 6, 1)).astype(np.uint16)
    depth[0, 0] = 0  # missing depth: clamped to 1 mm (log 0 would be -inf)
    x = model_input(registry.card("fcn32s_rgbd").input_contract)({"image": image, "depth": depth})
    want = np.concatenate([image[..., ::-1] - NYUD_BGR_MEAN, np.log(np.maximum(depth, 1.0)) - 7.844], axis=-1)
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-5, atol=1e-4)


def test_two_stream_input_is_a_dict_with_each_stream_preprocessed_its_own_way():
    image = RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    hha = RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    x = model_input(registry.card("fcn32s_rgbhha").input_contract)({"image": image, "hha": hha})
    assert set(x) == {"color", "hha"}
    np.testing.assert_allclose(x["color"].numpy(), image[..., ::-1] - NYUD_BGR_MEAN, atol=1e-4)
    np.testing.assert_allclose(x["hha"].numpy(), hha - NYUD_HHA_MEAN, atol=1e-4)  # HHA channels as stored


def _np_pixel_loss(logits, labels, ignore=255, normalize=False):
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    valid = (labels >= 0) & (labels < logits.shape[-1]) & (labels != ignore)
    picked = np.take_along_axis(logp, np.where(valid, labels, 0)[..., None], -1)[..., 0]
    total = -(picked * valid).sum()
    return total / max(valid.sum(), 1) if normalize else total


@pytest.mark.parametrize("normalize", [False, True])
def test_pixel_loss_matches_numpy_with_ignored_and_out_of_range_labels(normalize):
    logits = RNG.normal(size=(2, 5, 4, 3)).astype(np.float32)
    labels = RNG.integers(0, 3, (2, 5, 4))
    labels[0, 0, :2] = 255
    labels[1, 2, 1] = 7  # outside [0, C): excluded like the void label
    cfg = LossConfig(normalize=normalize)
    got = segmentation.pixel_loss(tf.constant(logits), tf.constant(labels, tf.int32), loss_cfg=cfg)
    np.testing.assert_allclose(float(got), _np_pixel_loss(logits, labels, normalize=normalize), rtol=1e-5)


def test_cell_mask_keeps_whole_final_layer_cells_with_probability_p():
    mask = segmentation.cell_mask(tf.constant([40, 70, 45]), 0.25, 8).numpy()  # 9 x 6 cells of 8 px, the last ones cut
    assert mask.shape == (40, 70, 45)
    cells = mask[:, ::8, ::8]
    np.testing.assert_array_equal(mask, np.repeat(np.repeat(cells, 8, 1), 8, 2)[:, :70, :45])  # constant per cell
    assert abs(cells.mean() - 0.25) < 0.03  # 2,160 cells


def test_sampled_pixel_loss_counts_only_the_kept_cells(monkeypatch):
    logits = RNG.normal(size=(2, 6, 8, 3)).astype(np.float32)
    labels = RNG.integers(0, 3, (2, 6, 8))
    labels[0, 0, 0] = 255
    keep = RNG.random((2, 2, 2)) < 0.5
    keep[0, 0, 0] = True
    mask = np.repeat(np.repeat(keep, 4, 1), 4, 2)[:, :6, :8]
    monkeypatch.setattr(segmentation, "cell_mask", lambda shape, p, cell: tf.constant(mask))
    cfg = LossConfig(normalize=True, sample_fraction=0.5, sample_cell=4)
    got = segmentation.pixel_loss(tf.constant(logits), tf.constant(labels, tf.int32), loss_cfg=cfg)
    np.testing.assert_allclose(float(got), _np_pixel_loss(logits, np.where(mask, labels, 255), normalize=True),
                               rtol=1e-5)
    with pytest.raises(ConfigError, match="sample_fraction"):
        recipes.from_dict({"model": {"name": "fcn8s"}, "data": {"name": "shapes"}, "loss": {"sample_fraction": 0.0}})


def test_multitask_loss_sums_the_heads_and_evaluator_reports_both():
    task = tasks.get("multitask_segmentation")
    sem, geo = RNG.normal(size=(1, 4, 4, 5)).astype(np.float32), RNG.normal(size=(1, 4, 4, 3)).astype(np.float32)
    t_sem, t_geo = RNG.integers(0, 5, (1, 4, 4)), RNG.integers(0, 3, (1, 4, 4))
    t_geo[0, 0, 0] = 255
    cfg = LossConfig(normalize=False)
    got = task.replica_loss([tf.constant(sem), tf.constant(geo)], (tf.constant(t_sem, tf.int32), tf.constant(t_geo, tf.int32)),
                            loss_cfg=cfg, global_batch_size=1)
    np.testing.assert_allclose(float(got), _np_pixel_loss(sem, t_sem) + _np_pixel_loss(geo, t_geo), rtol=1e-5)
    with pytest.raises(ConfigError, match="2 score maps"):
        task.replica_loss(tf.constant(sem), t_sem, loss_cfg=cfg, global_batch_size=1)

    # Perfect semantic predictions, geometric ones right on 3 of the 15 valid pixels.
    evaluator = segmentation._MultitaskEvaluator([5, 3])
    geo_pred = np.where(np.arange(16).reshape(1, 4, 4) < 4, t_geo, (t_geo + 1) % 3)
    evaluator.update([np.eye(5)[t_sem], np.eye(3)[geo_pred % 3]], (t_sem, t_geo))
    result = evaluator.result()
    assert result["pixel_accuracy"] == 1.0
    assert result["geometric_pixel_accuracy"] == pytest.approx(3 / 15)


def test_unknown_task_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match="segmentation"):
        tasks.get("no_such_task")


# ----------------------------------------------------------------------------- training runs

_SIZE = 24


def _modalities_example(i):
    rng = np.random.default_rng(i)
    labels = np.zeros((_SIZE, _SIZE), np.int32)
    y, x = rng.integers(0, _SIZE // 2, 2)
    labels[y : y + _SIZE // 2, x : x + _SIZE // 2] = 1 + i % 2
    image = (rng.integers(0, 40, (_SIZE, _SIZE, 3)) + 100 * labels[..., None]).astype(np.uint8)
    depth = (2000 + 500 * labels + rng.integers(0, 50, (_SIZE, _SIZE))).astype(np.uint16)[..., None]
    hha = np.repeat((depth // 20).astype(np.uint8), 3, axis=-1)
    geometry = np.where(labels > 0, 1, 0).astype(np.uint8)
    geometry[0] = 255
    return {"image": image, "depth": depth, "hha": hha, "segmentation": labels.astype(np.uint8), "geometry": geometry}


def _load_modalities(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None):
    examples = [_modalities_example(i + (100 if split == "validation" else 0)) for i in range(8)]
    return tf.data.Dataset.from_tensor_slices({k: np.stack([e[k] for e in examples]) for k in examples[0]})


if "test/modalities" not in __import__("zoo.data.registry", fromlist=["_DATASETS"])._DATASETS:
    register_dataset("test/modalities", DatasetInfo(
        name="test/modalities", task="segmentation", summary="test only: image, depth, HHA, two label maps",
        num_classes=3, class_names=("background", "near", "far"), splits={"train": 8, "validation": 8},
        features={k: "uint8 arrays" for k in ("image", "depth", "hha", "segmentation", "geometry")},
        ignore_label=255, is_standin=True), _load_modalities)


@pytest.mark.parametrize("model, options", [
    ("fcn32s_rgbhha", "{ width = 32, num_classes = 3 }"),
    ("fcn32s_rgbd", "{ width = 32, num_classes = 3 }"),
    ("fcn16s_siftflow", "{ width = 32, num_classes = 3, geometric_classes = 2 }"),
])
def test_runner_trains_multi_input_and_multi_output_fcns(model, options, tmp_path):
    recipe_path = write_recipe(tmp_path / "r.toml", steps=4, batch=2, lr=1e-4, checkpoint_every=2)
    text = recipe_path.read_text().replace('"test/tiny_segmenter"', f'"{model}"')
    text = text.replace("options = { num_classes = 6, dropout = 0.0 }", f"options = {options}", 1)
    text = text.replace('name = "shapes"', 'name = "test/modalities"').replace(
        "options = { image_size = 16, num_examples = 96 }", "")
    recipe_path.write_text(text)
    recipe = runner.load_recipe(recipe_path, ["train.eval_every=4", "loss.normalize=true"])
    result = runner.train(recipe, tmp_path / "run")
    card = registry.card(model)
    metrics = result.metrics
    assert np.isfinite(result.final_loss)
    assert np.isfinite(metrics["mean_iu"])
    if card.task == "multitask_segmentation":
        assert "geometric_pixel_accuracy" in metrics
    assert (tmp_path / "run" / "final.weights.h5").exists()


def test_two_stream_net_starts_each_stream_from_a_single_stream_run(tmp_path):
    """The reference nyud-fcn32s-color-hha/solve.py: surgery.transplant(new, color_net, suffix='color') and the
    same with 'hha'; recipe field model.stream_weights = {suffix: weights}."""
    def recipe_for(model, extra=()):
        path = write_recipe(tmp_path / f"{model}.toml", name=model, steps=1, batch=1, lr=1e-4, checkpoint_every=1)
        text = path.read_text().replace('"test/tiny_segmenter"', f'"{model}"')
        text = text.replace("options = { num_classes = 6, dropout = 0.0 }", "options = { width = 32, num_classes = 3 }", 1)
        text = text.replace('name = "shapes"', 'name = "test/modalities"').replace(
            "options = { image_size = 16, num_examples = 96 }", "").replace('eval_split = "validation"', 'eval_split = ""')
        path.write_text(text)
        return runner.load_recipe(path, list(extra))

    single = runner.train(recipe_for("fcn32s"), tmp_path / "single")
    two = recipe_for("fcn32s_rgbhha", [f'model.stream_weights={{ color = "{single.weights}", hha = "{single.weights}" }}'])
    card = registry.card("fcn32s_rgbhha")
    model = runner.build_model(two, card)
    from zoo.weights import load_into

    reference = registry.card("fcn32s").builder(width=32, num_classes=3)
    load_into(reference, single.weights, card=registry.card("fcn32s"), build_kwargs={"width": 32, "num_classes": 3})
    for stream in ("color", "hha"):
        for layer in ("conv1_1", "fc7", "score_fr"):
            for got, want in zip(model.get_layer(layer + stream).get_weights(), reference.get_layer(layer).get_weights()):
                np.testing.assert_array_equal(got, want)
    # A suffix that matches no layer loads nothing and says so.
    bad = recipe_for("fcn32s_rgbhha", [f'model.stream_weights={{ depth = "{single.weights}" }}'])
    with pytest.raises(WeightsMismatchError, match="shares no layer"):
        runner.build_model(bad, card)


def test_mean_iu_over_present_classes_ignores_a_predicted_absent_class():
    """Long thesis Table 3.6, footnote 10: SIFT Flow's mean IU covers the classes present in the test set."""
    evaluator = segmentation.SegmentationEvaluator(3)
    labels = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 2, 1, 1]])  # class 2 never occurs in the labels but is predicted once
    evaluator.update(np.eye(3)[pred], labels)
    result = evaluator.result()
    assert result["mean_iu"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert result["mean_iu_present_classes"] == pytest.approx((1 / 2 + 1) / 2)


def _load_sizes(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, largest=30):
    sizes = [(20, 27), (largest, 22), (25, 25), (21, 30)]

    rng = np.random.default_rng(1)

    def gen_sized():
        for h, w in sizes:
            yield {"image": rng.integers(0, 255, (h, w, 3)).astype(np.uint8), "segmentation": rng.integers(0, 3, (h, w)).astype(np.uint8)}

    spec = {"image": tf.TensorSpec((None, None, 3), tf.uint8), "segmentation": tf.TensorSpec((None, None), tf.uint8)}
    return tf.data.Dataset.from_generator(gen_sized, output_signature=spec)


if "test/sizes" not in __import__("zoo.data.registry", fromlist=["_DATASETS"])._DATASETS:
    register_dataset("test/sizes", DatasetInfo(
        name="test/sizes", task="segmentation", summary="test only: images of different sizes",
        num_classes=3, class_names=("a", "b", "c"), splits={"train": 4, "validation": 4}, ignore_label=255,
        features={"image": "uint8 (H, W, 3)", "segmentation": "uint8 (H, W)"}, is_standin=True,
        options={"largest": 30}), _load_sizes)


def test_pad_to_batches_whole_images_of_different_sizes(tmp_path):
    path = write_recipe(tmp_path / "r.toml", steps=2, batch=2, lr=1e-4, checkpoint_every=1)
    text = path.read_text().replace("options = { num_classes = 6, dropout = 0.0 }", "options = { num_classes = 3 }", 1)
    text = text.replace('name = "shapes"', 'name = "test/sizes"').replace(
        "options = { image_size = 16, num_examples = 96 }", "")
    path.write_text(text)
    with pytest.raises(Exception, match="Cannot batch|incompatible shapes|must have the same shape"):
        runner.train(runner.load_recipe(path), tmp_path / "unpadded")
    result = runner.train(runner.load_recipe(path, ["data.pad_to=[32, 32]"]), tmp_path / "padded")
    assert np.isfinite(result.final_loss)
    with pytest.raises(Exception, match=r"larger than data.pad_to = \[32, 32\]"):
        runner.train(runner.load_recipe(path, ["data.pad_to=[32, 32]", "data.options={ largest = 40 }"]),
                     tmp_path / "too_large")
