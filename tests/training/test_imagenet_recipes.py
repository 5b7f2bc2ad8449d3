"""The ImageNet recipes, the imagenet2012 loader and its offline stand-in shapes_classification.

The recipes' numbers are the papers' and the BVLC solvers' (cited per test); each recipe must
validate, take options both ImageNet and the stand-in accept, and train offline with the single
override data.name=shapes_classification (here with a reduced width and batch to keep it short;
the full-size one-override CLI run is in the slow tier). The loader runs TFDS's own imagenet2012
builder on tiny archives in ILSVRC-2012's layout, written here.
"""

import inspect
import io
import tarfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo.data
from tests.training.helpers import zoo_cmd
from zoo import registry
from zoo.data.classification import imagenet
from zoo.data.standins import shapes_classification
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.training import recipes, runner

IMAGENET_RECIPES = ["alexnet_imagenet", "caffenet_imagenet", "vgg16_imagenet", "googlenet_imagenet",
                    "resnet50_imagenet"]
STANDIN = "data.name=shapes_classification"
EPOCH = 5005  # iterations per epoch at batch 256: ceil(1,281,167 / 256)


@pytest.mark.parametrize("name", IMAGENET_RECIPES)
def test_imagenet_recipe_validates_and_fits_both_datasets(name):
    r = recipes.load(name)
    assert r.recipe.paper_target and r.data.name == "imagenet2012" and r.data.eval_split == "validation"
    card = registry.card(r.model.name)
    assert card.task == "classification" and name in card.recipes()
    for dataset in ("imagenet2012", "shapes_classification"):  # the one-override switch needs no other change
        info = zoo.data.info(dataset)
        assert set(r.data.options) <= set(info.options), (dataset, r.data.options)
    crop = r.data.options.get("image_size", imagenet.CROP_OPTIONS["image_size"])
    default_input = inspect.signature(card.builder).parameters["input_shape"].default
    assert tuple(r.export.input_shape) == tuple(default_input) == (crop, crop, 3)
    assert all(0 < b < r.train.steps for b in r.schedule.steps)
    assert recipes.load(name, [STANDIN]).data.name == "shapes_classification"


def test_recipes_state_the_papers_and_solvers_numbers():
    alex = recipes.load("alexnet_imagenet")  # BVLC/caffe models/bvlc_alexnet/solver.prototxt, train_val.prototxt
    assert (alex.optimizer.learning_rate, alex.optimizer.momentum, alex.optimizer.weight_decay) == (0.01, 0.9, 5e-4)
    assert (alex.schedule.policy, alex.schedule.step_size, alex.schedule.gamma) == ("step", 100_000, 0.1)
    assert (alex.train.steps, alex.data.global_batch_size, alex.data.options["image_size"]) == (450_000, 256, 227)
    assert recipes.load("caffenet_imagenet").schedule == alex.schedule
    vgg = recipes.load("vgg16_imagenet")  # Simonyan & Zisserman 2015 §3.1
    assert (vgg.optimizer.learning_rate, vgg.optimizer.weight_decay, vgg.data.global_batch_size) == (0.01, 5e-4, 256)
    # /10 when the validation accuracy stopped improving, three times; 370k iterations (74 epochs)
    assert (vgg.schedule.policy, vgg.schedule.max_drops, vgg.train.monitor) == ("plateau", 3, "accuracy")
    assert vgg.train.steps == 370_000
    goog = recipes.load("googlenet_imagenet")  # models/bvlc_googlenet/quick_solver.prototxt
    assert (goog.schedule.policy, goog.schedule.power, goog.train.steps) == ("poly", 0.5, 2_400_000)
    assert (goog.optimizer.weight_decay, goog.data.global_batch_size) == (2e-4, 32)
    assert goog.model.options["aux_logits"]  # train_val.prototxt: loss1/loss2 heads weighted 0.3
    res = recipes.load("resnet50_imagenet")  # He et al. 2016 §3.4
    assert (res.optimizer.learning_rate, res.optimizer.momentum, res.optimizer.weight_decay) == (0.1, 0.9, 1e-4)
    assert res.schedule.steps == [30 * EPOCH, 60 * EPOCH] and res.train.steps == 90 * EPOCH
    assert (res.data.options["resize_size"], res.data.options["resize_size_max"]) == (256, 480)


@pytest.mark.parametrize("name,width", [
    ("alexnet_imagenet", 16),
    pytest.param("googlenet_imagenet", 8, marks=pytest.mark.slow),  # auxiliary heads in the loss
    pytest.param("resnet50_imagenet", 16, marks=pytest.mark.slow),
    pytest.param("vgg16_imagenet", 16, marks=pytest.mark.slow),
])
def test_two_steps_offline_on_the_standin(tmp_path, name, width):
    recipe = recipes.load(name, [STANDIN, f"model.options.width={width}", "data.global_batch_size=4",
                                 "data.options.num_examples=16", "data.shuffle_buffer=16"])
    res = runner.train(recipe, tmp_path / "run", max_steps=2)
    assert res.steps == 2 and np.isfinite(res.final_loss)
    assert list((tmp_path / "run" / "backup").glob("ckpt-2*"))


@pytest.mark.slow
def test_the_cli_runs_a_recipe_offline_with_one_override(tmp_path):
    out = zoo_cmd("train", "alexnet_imagenet", "--set", STANDIN, "--max-steps", "1", "--workdir", tmp_path / "run",
                  timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "step 1/450000" in out.stdout


# --- crops ---------------------------------------------------------------------------------------------------


def _crops(ds):
    return [ex["image"] for ex in ds.as_numpy_iterator()]


def test_training_crops_are_windows_of_the_picture_new_each_epoch_and_repeatable():
    pictures = np.random.default_rng(0).integers(0, 256, (4, 12, 12, 3)).astype("uint8")
    base = tf.data.Dataset.from_tensor_slices({"image": pictures, "label": np.arange(4)})

    def epochs():
        tf.random.set_seed(5)  # the runner sets it from the recipe's seed
        ds = imagenet.crop(base, "train", image_size=8, resize_size=12, resize="warp", resize_size_max=None,
                           augment=True, seed=1)
        return _crops(ds.repeat(2))

    first, again = epochs(), epochs()
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert any(not np.array_equal(a, b) for a, b in zip(first[:4], first[4:]))  # epoch 2 draws new crops
    for picture, got in zip(np.concatenate([pictures, pictures]), first):  # rescaling 12 -> 12 is the identity
        windows = [picture[t:t + 8, s:s + 8] for t in range(5) for s in range(5)]
        assert any(np.array_equal(got, w) or np.array_equal(got, w[:, ::-1]) for w in windows)


def test_evaluation_is_the_center_crop_and_rescaling_keeps_or_warps_the_aspect():
    picture = np.random.default_rng(1).integers(0, 256, (1, 12, 16, 3)).astype("uint8")
    ds = tf.data.Dataset.from_tensor_slices({"image": picture})
    got = _crops(imagenet.crop(ds, "validation", image_size=8, resize_size=12, resize="short_side",
                               resize_size_max=None, augment=True, seed=0))[0]
    np.testing.assert_array_equal(got, picture[0, 2:10, 4:12])  # the shorter side is already 12: no rescale
    assert tuple(imagenet._rescale(tf.zeros((40, 60, 3), tf.uint8), tf.constant(20), "short_side").shape) == (20, 30, 3)
    assert tuple(imagenet._rescale(tf.zeros((40, 60, 3), tf.uint8), tf.constant(20), "warp").shape) == (20, 20, 3)
    with pytest.raises(ConfigError, match="at most resize_size"):
        imagenet.check_crop_options(300, 256, "warp", None)


def test_standin_one_labelled_shape_per_picture_deterministic():
    ds = zoo.data.load("shapes_classification", "train", seed=3, num_examples=30, image_size=32, resize_size=40)
    examples = list(ds.as_numpy_iterator())
    labels = [int(e["label"]) for e in examples]
    assert set(labels) == {0, 1, 2} and all(e["image"].shape == (32, 32, 3) for e in examples)
    a = shapes_classification.render_example(3, "train", 7, 40, 32)
    b = shapes_classification.render_example(3, "train", 7, 40, 32)
    np.testing.assert_array_equal(a["image"], b["image"])
    val = zoo.data.load("shapes_classification", "validation", seed=3, num_examples=4, image_size=32, resize_size=40)
    np.testing.assert_array_equal(np.stack(_crops(val)), np.stack(_crops(val)))  # center crops: no randomness
    info = zoo.data.info("shapes_classification")
    assert info.is_standin and info.stands_in_for is None and info.task == "classification"


# --- imagenet2012 through TFDS ----------------------------------------------------------------------------------


def _jpeg(seed, size=(48, 64)):
    pixels = np.random.default_rng(seed).integers(0, 256, (*size, 3)).astype("uint8")
    return tf.io.encode_jpeg(pixels, quality=95).numpy()


def _tar(members: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_missing_archives_say_where_to_get_them(tmp_path):
    (tmp_path / "manual").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"ILSVRC2012_img_train\.tar.*image-net\.org"):
        zoo.data.load("imagenet2012", "train", data_dir=tmp_path / "data", manual_dir=tmp_path / "manual")


def test_imagenet2012_from_archives_in_the_original_layout(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    # ILSVRC2012_img_train.tar holds one tar per WordNet id; the validation tar holds flat JPEGs whose labels
    # TFDS takes from its validation_labels.txt (in sorted file-name order: n01751748, n09193705, ...).
    train = {"n01440764.tar": _tar({"n01440764_1.JPEG": _jpeg(0), "n01440764_2.JPEG": _jpeg(1)}),
             "n01443537.tar": _tar({"n01443537_1.JPEG": _jpeg(2)})}
    (manual / "ILSVRC2012_img_train.tar").write_bytes(_tar(train))
    val = {f"ILSVRC2012_val_0000000{i}.JPEG": _jpeg(10 + i) for i in (1, 2)}
    (manual / "ILSVRC2012_img_val.tar").write_bytes(_tar(val))
    common = dict(data_dir=tmp_path / "data", manual_dir=manual, image_size=40, resize_size=48, resize="short_side")

    examples = list(zoo.data.load("imagenet2012", "validation", **common).as_numpy_iterator())
    names = tfds.core.tfds_path("datasets/imagenet2012/labels.txt").read_text().split()
    assert sorted(int(e["label"]) for e in examples) == sorted([names.index("n01751748"), names.index("n09193705")])
    decoded = {int(e["label"]): e["image"] for e in examples}
    want = tf.io.decode_jpeg(val["ILSVRC2012_val_00000001.JPEG"]).numpy()[4:44, 12:52]  # 48x64: shorter side is 48
    np.testing.assert_array_equal(decoded[names.index("n01751748")], want)

    train_examples = list(zoo.data.load("imagenet2012", "train", **common).as_numpy_iterator())
    assert sorted(int(e["label"]) for e in train_examples) == [0, 0, 1]  # n01440764, n01443537: ids 0 and 1
    assert all(e["image"].shape == (40, 40, 3) for e in train_examples)
