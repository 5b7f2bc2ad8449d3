"""Occlusion, top patches, inversion / maximisation priors, DeepDream, Gatys and t-SNE: synthetic
cases with known answers and NumPy transcriptions of the formulas."""

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import ConfigError
from zoo.visualize import art, embed, occlusion, optimize, patches
from zoo.visualize.core import to_numpy, value_and_grad


def _set(model, name, *weights):
    model.get_layer(name).set_weights([np.asarray(w, "float32") for w in weights])


def object_model():
    """8x8x1 image -> 'feat' (ch0 = image, ch1 = relu(-image)) -> logit0 = sum of ch0 over the
    object square [2:5, 2:5], logit1 = 1."""
    x = inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 1, use_bias=False, activation="relu", name="feat")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(2, name="fc")(x)
    model = keras.Model(inputs, x)
    _set(model, "feat", np.array([1.0, -1.0]).reshape(1, 1, 1, 2))
    w = np.zeros((8, 8, 2, 2))
    w[2:5, 2:5, 0, 0] = 1.0
    _set(model, "fc", w.reshape(128, 2), [0.0, 1.0])
    return model


def test_occlusion_maps_equal_the_closed_form():
    model = object_model()
    image = np.zeros((8, 8, 1), "float32")
    image[2:5, 2:5] = 1.0
    maps = occlusion.occlusion(model, image, 0, size=3, stride=1, feature_layer="feat")
    overlap = np.array([[len(set(range(y, y + 3)) & {2, 3, 4}) * len(set(range(x, x + 3)) & {2, 3, 4})
                         for x in range(6)] for y in range(6)])
    p_true = 1.0 / (1.0 + np.exp(-(9.0 - overlap - 1.0)))
    np.testing.assert_allclose(maps.p_true, p_true, rtol=1e-5)
    assert np.unravel_index(maps.p_true.argmin(), maps.p_true.shape) == (2, 2)  # drops where the object is
    assert (maps.most_probable == np.where(overlap == 9, 1, 0)).all()
    assert maps.feature_channel == 0
    np.testing.assert_allclose(maps.feature_activation, 9.0 - overlap)
    assert list(maps.corners_y) == list(range(6))
    with pytest.raises(ConfigError, match="true_class"):
        occlusion.occlusion(model, image, 5, size=3)


def test_top_patches_find_the_bright_pixels_with_their_fields():
    x = inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", use_bias=False, name="c")(x)
    model = keras.Model(inputs, x)
    kernel = np.zeros((3, 3, 1, 2))
    kernel[1, 1, 0, 0] = 1.0
    kernel[..., 0, 1] = 1.0
    _set(model, "c", kernel)
    spots = [(1, 1), (0, 7), (4, 2), (6, 6), (3, 5)]
    images = np.zeros((5, 8, 8, 1), "float32")
    for i, (y, x_) in enumerate(spots):
        images[i, y, x_] = i + 1
    top = patches.top_patches(model, "c", images, k=3)
    assert top.images[0].tolist() == [4, 3, 2]
    np.testing.assert_allclose(top.values[0], [5, 4, 3])
    assert [tuple(p) for p in top.positions[0]] == [spots[4], spots[3], spots[2]]
    assert top.patches.shape == (2, 3, 3, 3, 1)
    assert [p[1, 1, 0] for p in top.patches[0]] == [5, 4, 3]  # the unit's field is centred on the spot
    one = patches.top_patches(model, "c", images, k=2, position=(6, 6), channels=[1])
    assert one.images[0].tolist()[0] == 3 and one.values.shape == (1, 2)
    with pytest.raises(ConfigError, match="at least 9 images"):
        patches.top_patches(model, "c", images)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_tv_norm_and_its_gradient(beta):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5, 4, 2))
    dy = x[:, 1:, :-1] - x[:, :-1, :-1]
    dx = x[:, :-1, 1:] - x[:, :-1, :-1]
    sq = dy**2 + dx**2
    ref = np.sum((sq + (optimize.TV_EPS if beta == 1 else 0)) ** (beta / 2)) / 20
    fn = lambda t: optimize.tv_norm(t, beta)  # noqa: E731
    value, grad = value_and_grad(fn, keras.ops.convert_to_tensor(x))
    assert float(to_numpy(value)) == pytest.approx(ref, rel=1e-10)
    eps, fd = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        fd[idx] = (float(to_numpy(fn(keras.ops.convert_to_tensor(x + d)))) -
                   float(to_numpy(fn(keras.ops.convert_to_tensor(x - d))))) / (2 * eps)
    np.testing.assert_allclose(to_numpy(grad), fd, rtol=1e-5, atol=1e-8)
    a = optimize.alpha_norm(keras.ops.convert_to_tensor(x), 6.0)
    assert float(to_numpy(a)) == pytest.approx(np.sum(np.abs(x) ** 6) / 20, rel=1e-6)


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    return zoo.get("test/tiny_classifier")


@pytest.mark.parametrize("method,beta", [("adam", 1.0), ("adam", 2.0), ("lbfgs", 2.0)])
def test_inversion_reduces_the_feature_distance(tiny, method, beta):
    image = np.random.default_rng(1).uniform(-1, 1, (16, 16, 3)).astype("float32")
    losses = []
    x, target = optimize.invert(tiny, "conv1", image, beta=beta, tv_weight=1e-3, steps=40, lr=0.08, method=method,
                                callback=lambda t, v: losses.append(v))
    feats = to_numpy(keras.Model(tiny.inputs, tiny.get_layer("conv1").output)(x[None]))
    start = to_numpy(keras.Model(tiny.inputs, tiny.get_layer("conv1").output)(optimize.noise((16, 16, 3), image.std())))
    final, initial = np.sum((feats - target) ** 2), np.sum((start - target) ** 2)
    assert final < 0.2 * initial
    if method == "adam":
        assert losses[-1] < losses[0]


def test_activation_maximisation_raises_the_unit(tiny):
    conv = keras.Model(tiny.inputs, tiny.get_layer("conv1").output)
    x = optimize.maximize(tiny, "conv1", 3, position=(3, 3), tv_weight=0.01, alpha_weight=1e-4, steps=25, lr=0.08)
    before = to_numpy(conv(optimize.noise((16, 16, 3), 0.1)))[0, 3, 3, 3]
    assert to_numpy(conv(x[None]))[0, 3, 3, 3] > before + 1.0
    y = optimize.maximize(tiny, "fc", 2, steps=15, lr=0.05, method="lbfgs", clip=(-1, 1))
    assert np.abs(y).max() <= 1.0 + 1e-6
    assert to_numpy(tiny(y[None]))[0].argmax() == 2


def test_gram_and_style_loss_equal_the_formulas():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((1, 3, 4, 5)).astype("float32")
    a = rng.standard_normal((1, 5, 5)).astype("float32")
    flat = f.reshape(12, 5).astype(np.float64)
    np.testing.assert_allclose(to_numpy(art.gram(f))[0], flat.T @ flat, rtol=1e-5)
    loss = float(to_numpy(art.style_layer_loss(keras.ops.convert_to_tensor(f), a)))
    assert loss == pytest.approx(np.sum((flat.T @ flat - a[0]) ** 2) / (4 * 25 * 144), rel=1e-5)
    p = rng.standard_normal(f.shape).astype("float32")
    assert float(to_numpy(art.content_loss(f, p))) == pytest.approx(0.5 * np.sum((f - p) ** 2), rel=1e-5)


def test_style_transfer_moves_towards_the_style_grams(tiny):
    rng = np.random.default_rng(2)
    content = rng.uniform(-1, 1, (16, 16, 3)).astype("float32")
    style = np.tile(np.array([1.0, -1.0, 0.5], "float32"), (16, 16, 1)) * np.sign(rng.standard_normal((16, 16, 1)))
    conv = keras.Model(tiny.inputs, tiny.get_layer("conv1").output)
    target = to_numpy(art.gram(conv(style[None])))

    def style_distance(img):
        return float(to_numpy(art.style_layer_loss(conv(img[None]), target)))

    for method in ("lbfgs", "adam"):
        out = art.style_transfer(tiny, content, style, content_layer="conv1", style_layers=["conv1"], beta=1e4,
                                 steps=30, method=method, lr=0.05)
        assert out.shape == content.shape
        assert style_distance(out) < 0.5 * style_distance(content)


def test_dream_amplifies_the_layer(tiny):
    image = np.random.default_rng(3).uniform(-0.5, 0.5, (16, 16, 3)).astype("float32")
    with pytest.raises(ConfigError, match="octaves need a model built for free sizes"):
        art.dream(tiny, "conv1", image, octaves=2)
    free = zoo.get("test/tiny_classifier", input_shape=(None, None, 3))
    free.set_weights(tiny.get_weights())
    conv = keras.Model(free.inputs, free.get_layer("conv1").output)
    out = art.dream(free, "conv1", image, octaves=2, octave_scale=1.5, steps=5, step_size=0.05, jitter=2)
    assert out.shape == image.shape
    energy = lambda img: float(np.mean(to_numpy(conv(img[None])) ** 2))  # noqa: E731
    assert energy(out) > 1.5 * energy(image)


def test_tsne_keeps_separated_classes_apart(tiny, tmp_path):
    rng = np.random.default_rng(4)
    a = rng.uniform(-1, -0.5, (12, 16, 16, 3))
    b = rng.uniform(0.5, 1, (12, 16, 16, 3))
    images, labels = np.concatenate([a, b]).astype("float32"), np.array([0] * 12 + [1] * 12)
    points = embed.tsne(tiny, "pool", images, perplexity=5)
    from sklearn.neighbors import KNeighborsClassifier

    assert points.shape == (24, 2)
    assert KNeighborsClassifier(3).fit(points, labels).score(points, labels) == 1.0
    path = embed.plot_embedding(points, labels, tmp_path / "t.png", label_names=["dark", "bright"])
    assert path.stat().st_size > 1000
