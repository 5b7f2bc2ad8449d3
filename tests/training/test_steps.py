"""The training steps other than plain supervised: adversarial (GANs), staged (a learner fitted on
frozen features), and the supervised step's `add_loss` terms."""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.training import gan_fixtures
from tests.training.helpers import REPO
from zoo import registry, tasks
from zoo.data import registry as data_registry
from zoo.training import recipes, runner


def weights_by_name(path):
    """{dataset path: array} of a Keras .weights.h5 file."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, np.array(obj)) if isinstance(obj, h5py.Dataset) else None)
    return out


def assert_same_weights(path_a, path_b):
    a, b = weights_by_name(path_a), weights_by_name(path_b)
    assert a and set(a) == set(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture
def gan():
    data_registry.list_datasets()  # the built-in ones first, outside the patch: discovery runs once per process
    registry.list_models()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data_registry, "_DATASETS", dict(data_registry._DATASETS))
        mp.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
        gan_fixtures.register()
        yield


# ------------------------------------------------------------------------------ adversarial


def test_toy_gan_covers_the_modes_of_a_ring_of_gaussians(tmp_path, gan):
    # Measured over seeds 0, 1, 2 (1000 steps): 8, 8, 8 modes reached; 12%, 17%, 34% of the samples
    # farther than 0.5 (10 std) from every mode. An untrained generator puts them all near the origin.
    recipe = recipes.from_dict(gan_fixtures.recipe(steps=1000, lr=2e-3, data={"eval_split": "validation"}))
    res = runner.train(recipe, tmp_path / "run")
    z = np.random.default_rng(5).standard_normal((2000, 4)).astype("float32")
    modes, far = gan_fixtures.mode_coverage(np.asarray(res.model.get_layer("generator")(z)))
    assert modes >= 6 and far < 0.5, (modes, far)
    assert set(res.metrics) == {"discriminator_loss", "generator_loss", "real_accuracy", "fake_accuracy"}
    log = (tmp_path / "run" / "log.csv").read_text()
    assert "learning_rate" in log and (tmp_path / "run" / "final.weights.h5").exists()


def test_alternating_updates_the_critic_k_times_per_generator_update(gan):
    from zoo.training.steps.adversarial import AdversarialOptions, AdversarialStep

    recipe = recipes.from_dict(gan_fixtures.recipe(steps=8, updates="alternating", critic_steps=3))
    keras.utils.set_random_seed(0)
    model = gan_fixtures.tiny_gan(noise_dim=4, hidden=8)
    counter = tf.Variable(0, dtype=tf.int64)
    step = AdversarialStep(model, recipe, tasks.get("adversarial_generation"), num_replicas=1, counter=counter,
                           options=AdversarialOptions(updates="alternating", critic_steps=3))
    assert set(step.learning_rates(0)) == {"learning_rate_generator", "learning_rate_discriminator"}
    assert any(k.startswith("optimizer_generator_") for k in step.variables())
    strategy = tf.distribute.get_strategy()
    run = tf.function(lambda batch: step.run(strategy, batch))  # as the runner's loop calls it
    batch = (tf.constant(gan_fixtures.ring_points("train")[:16]), tf.zeros([16], tf.int32))
    moved = []
    for _ in range(8):
        before = {n: [w.numpy() for w in model.get_layer(n).weights] for n in ("generator", "discriminator")}
        run(batch)
        counter.assign_add(1)
        moved.append(tuple(n for n, ws in before.items()
                           if any(not np.array_equal(w, v.numpy()) for w, v in zip(ws, model.get_layer(n).weights))))
    assert moved == [("discriminator",)] * 3 + [("generator",)] + [("discriminator",)] * 3 + [("generator",)]


MIRRORED_GAN = """
import sys, tempfile
from tests.training import gan_fixtures
from zoo import registry
from zoo.data import registry as data_registry
from zoo.training import recipes, runner
data_registry.list_datasets(); registry.list_models(); gan_fixtures.register()
for updates in ("simultaneous", "alternating"):
    r = recipes.from_dict(gan_fixtures.recipe(steps=6, updates=updates, critic_steps=2, checkpoint_every=3,
                                              data={"global_batch_size": 8}), ['train.strategy="mirrored"'])
    res = runner.train(r, tempfile.mkdtemp(), cpu_replicas=2)
    print(updates, res.steps, res.final_loss)
"""


def test_adversarial_step_trains_under_mirrored_strategy():
    # A fresh process: the CPU is split into 2 logical devices before TensorFlow starts. The alternating
    # turn is chosen outside strategy.run (a condition around the gradient all-reduce is not supported).
    p = subprocess.run([sys.executable, "-c", MIRRORED_GAN], cwd=REPO, capture_output=True, text=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "MirroredStrategy with 2 replica(s)" in p.stdout
    lines = [line.split() for line in p.stdout.splitlines() if line.startswith(("simultaneous", "alternating"))]
    assert [(u, int(n)) for u, n, _ in lines] == [("simultaneous", 6), ("alternating", 6)], p.stdout
    assert all(np.isfinite(float(loss)) for *_, loss in lines)


def test_adversarial_step_options_are_checked():
    from zoo.errors import ConfigError, UnknownNameError
    from zoo.training.steps.adversarial import AdversarialOptions

    with pytest.raises(ConfigError, match="learnig_rate"):
        AdversarialOptions(optimizers={"generator": {"learnig_rate": 1e-3}})
    with pytest.raises(UnknownNameError, match="alternate"):
        AdversarialOptions(updates="alternate")


def _backup_step(workdir):
    from tests.training.test_fault_tolerance import _backup_step as named_backup_step

    return named_backup_step(workdir)  # the backup the state file names: the one a rerun resumes from


def _zoo_train(recipe, workdir):
    code = ("import sys; from tests.training import gan_fixtures; gan_fixtures.register(); "
            "from zoo.cli import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, "train", str(recipe), "--workdir", str(workdir)]


def test_adversarial_sigkill_then_rerun_equals_uninterrupted(tmp_path):
    steps = 600
    recipe = tmp_path / "gan.toml"
    recipe.write_text(recipes.dump_toml(gan_fixtures.recipe(steps=steps, updates="alternating", critic_steps=2,
                                                            checkpoint_every=50, data={"eval_split": ""})))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    ok = subprocess.run(_zoo_train(recipe, tmp_path / "straight"), cwd=REPO, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr[-3000:]

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_zoo_train(recipe, killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _backup_step(killed) < 100 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = _backup_step(killed)
    assert 0 < at_kill < steps and not (killed / "final.weights.h5").exists()

    resumed = subprocess.run(_zoo_train(recipe, killed), cwd=REPO, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming tiny_gan from its backup at step {at_kill}" in resumed.stdout
    assert_same_weights(tmp_path / "straight" / "final.weights.h5", killed / "final.weights.h5")


# ------------------------------------------------------------------------------ staged


@pytest.fixture
def blobs():
    from tests.training import staged_fixtures

    with staged_fixtures.registered() as fixtures:
        yield fixtures


def _chunks(run):
    """(features, labels) the staged step extracted into `run`/features."""
    parts = [np.load(p) for p in sorted((run / "features").glob("part-*.npz"))]
    return np.concatenate([p["features"] for p in parts]).astype(np.float64), np.concatenate([p["targets"] for p in parts])


def test_staged_linear_svm_equals_linear_svc_on_the_same_features(tmp_path, blobs):
    from sklearn.svm import LinearSVC

    options = {"C": 0.5, "feature_norm": 20.0, "tol": 1e-9, "max_iter": 100000}
    res = runner.train(recipes.from_dict(blobs.recipe(**options)), tmp_path / "run")
    x, y = _chunks(tmp_path / "run")
    assert len(x) == 300 and len(list((tmp_path / "run" / "features").glob("part-*.npz"))) == 6
    scale = 20.0 / np.linalg.norm(x, axis=1).mean()  # R-CNN's feature scaling, folded into the head
    svc = LinearSVC(C=0.5, loss="hinge", dual=True, tol=1e-9, max_iter=100000, random_state=0).fit(x * scale, y)
    head = res.model.get_layer("classifier")
    np.testing.assert_allclose(head.kernel.numpy().T / scale, svc.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head.bias.numpy(), svc.intercept_, rtol=1e-5, atol=1e-6)
    images, _ = blobs.blobs("validation")
    features = keras.Model(res.model.inputs, head.input)(images).numpy()
    np.testing.assert_array_equal(res.model(images).numpy().argmax(1), svc.predict(features * scale))
    assert res.metrics["accuracy"] > 0.9 and (tmp_path / "run" / "eval.json").exists()


def test_hard_negative_mining_ends_with_the_svm_of_its_final_active_set(tmp_path, blobs):
    from sklearn.svm import LinearSVC

    options = {"hard_negative_rounds": 3, "initial_negatives": 5, "hard_negative_margin": 1.0, "tol": 1e-9,
               "max_iter": 100000}
    res = runner.train(recipes.from_dict(blobs.recipe(**options)), tmp_path / "run")
    x, y = _chunks(tmp_path / "run")
    active_sets = np.load(tmp_path / "run" / "hard_negatives.npz")
    head = res.model.get_layer("classifier")
    for c in range(3):
        active, positive = active_sets[f"class_{c}"], y == c
        mined = np.sum(~positive[active])
        assert set(np.flatnonzero(positive)) <= set(active) and 5 < mined < np.sum(~positive), (c, mined)
        svc = LinearSVC(C=1.0, loss="hinge", dual=True, tol=1e-9, max_iter=100000, random_state=0)
        svc.fit(x[active], positive[active])
        np.testing.assert_allclose(head.kernel.numpy()[:, c], svc.coef_[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(head.bias.numpy()[c], svc.intercept_[0], rtol=1e-5, atol=1e-6)


def test_staged_extraction_interrupted_then_rerun_gives_the_same_head(tmp_path, blobs, monkeypatch):
    from zoo.training.steps import staged

    recipe = recipes.from_dict(blobs.recipe())
    runner.train(recipe, tmp_path / "straight")
    real, written = staged.write_part, []

    def failing(path, *arrays):
        if len(written) == 2:
            raise OSError("no space left on device (injected)")
        written.append(path.name)
        real(path, *arrays)

    monkeypatch.setattr(staged, "write_part", failing)
    with pytest.raises(OSError, match="injected"):
        runner.train(recipe, tmp_path / "run")
    features = tmp_path / "run" / "features"
    assert sorted(p.name for p in features.iterdir()) == ["key.json", "part-00000.npz", "part-00001.npz"]

    written.clear()
    monkeypatch.setattr(staged, "write_part", lambda path, *arrays: (written.append(path.name), real(path, *arrays)))
    runner.train(recipe, tmp_path / "run")
    assert written == [f"part-{i:05d}.npz" for i in range(2, 6)]  # the extraction resumed
    assert_same_weights(tmp_path / "straight" / "final.weights.h5", tmp_path / "run" / "final.weights.h5")

    written.clear()  # other learner options in another run reuse the features
    other = recipes.from_dict(blobs.recipe(learner="logistic", features_dir=str(features)))
    assert runner.train(other, tmp_path / "logistic").metrics["accuracy"] > 0.9 and written == []


# ------------------------------------------------------------------------------ supervised: add_loss


class Penalised(keras.layers.Layer):
    """Logits (w x, 0) from one weight w, with the term lam * w^2 added through add_loss."""

    def __init__(self, lam, **kwargs):
        super().__init__(**kwargs)
        self.lam = lam

    def build(self, shape):
        self.w = self.add_weight(shape=(), initializer=keras.initializers.Constant(0.5), name="w")

    def call(self, x):
        self.add_loss(self.lam * self.w**2)
        return keras.ops.concatenate([self.w * x, keras.ops.zeros_like(x)], axis=-1)


def test_add_loss_terms_are_in_the_supervised_steps_gradient():
    from zoo.training.steps.supervised import SupervisedStep

    x, w, lr = np.array([[1.0], [2.0]], np.float32), 0.5, 0.1
    for lam in (0.0, 0.3):
        inputs = keras.Input((1,))
        model = keras.Model(inputs, Penalised(lam)(inputs))
        recipe = recipes.Recipe()
        recipe.optimizer.learning_rate, recipe.optimizer.momentum, recipe.data.global_batch_size = lr, 0.0, 2
        step = SupervisedStep(model, recipe, tasks.get("classification"), num_replicas=1)
        step.replica_step((tf.constant(x), tf.constant([0, 0])))
        # d/dw of mean log(1 + exp(-w x)) + lam w^2 (label 0: the logit w x against 0)
        grad = np.mean(-x[:, 0] / (1.0 + np.exp(w * x[:, 0]))) + 2 * lam * w
        assert float(model.weights[0].numpy()) == pytest.approx(w - lr * grad, rel=1e-6)
