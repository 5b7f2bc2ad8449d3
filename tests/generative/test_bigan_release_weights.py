"""The BiGAN release's weights (jeffdonahue/bigan, pretrained_bigan_weights.zip; Donahue thesis §5.3.3)
into `bigan_alexnet_release`: fixture files in the release's format (joblib.dump of the Theano parameter
values in creation order, train_gan.py save_params) with the release's shapes at a small configuration;
the loaded model's E, G and D against a NumPy transcription of the release's Theano forward pass (net.py:
true convolutions, cuDNN pooling with padding 1, BN from the stored sums and count, apply_cond); the
refusal of pickles that build anything but arrays; shape mismatches named."""

import os
import pickle
import sys
import types
import zipfile

import joblib
import keras
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import registry, weights
from zoo.errors import WeightsFormatError, WeightsMismatchError
from zoo.models.bigan import convert
from zoo.models.bigan.release import bigan_alexnet_release

SMALL = {"size": 4, "latent_dim": 10, "encoder_width": 0.125}
STANDARD = "imagenet_1000_size72_u-200_bigan"
GENERALIZED = "imagenet_1000_size128_resize64_u-200_bigan"


# ---- the release's parameter lists, transcribed from net.py / gan.py (independent of zoo.models.bigan.convert)

def _bn(c):  # BatchNorm (count, mean, var), Gain (g), Bias (b)
    return [("count", ()), ("mean", (c,)), ("var", (c,)), ("g", (c,)), ("b", (c,))]


def release_param_shapes(size=64, latent_dim=200, encoder_size=64, encoder_width=1.0):
    """{group: [(kind, shape)]} in Net._add_param order: alexnet_group_padpool + Encoder FC (no bias);
    deconvnet_64 (multifc, bn_flat, apply_cond per deconv); convnet_64 with cond + BinaryClassifier FC."""
    z = latent_dim
    w = [max(g, int(round(f * encoder_width / g)) * g) for f, g in ((96, 1), (256, 2), (384, 1), (384, 2), (256, 2))]
    groups = (1, 2, 1, 2, 2)
    ks = (11, 5, 3, 3, 3)
    enc, cin = [], 3
    for i, (width, g, k) in enumerate(zip(w, groups, ks)):
        enc.append(("conv", (width, cin // g, k, k)))
        if i:
            enc += _bn(width)
        cin = width
    side = {64: 4, 112: 7}[encoder_size]
    enc.append(("fc", (w[-1] * side * side, z)))
    s = size
    gen = [("fc", (z, 8 * s * 16))] + _bn(8 * s * 16)
    for cin, cout in ((8 * s, 4 * s), (4 * s, 2 * s), (2 * s, s)):
        gen += [("deconv", (cin, cout, 5, 5)), ("fc", (z, cout))] + _bn(cout)
    gen.append(("deconv", (s, 3, 5, 5)))
    dis = [("conv", (s, 3, 5, 5))]
    for cin, cout in ((s, 2 * s), (2 * s, 4 * s), (4 * s, 8 * s)):
        dis += [("conv", (cout, cin, 5, 5)), ("fc", (z, cout))] + _bn(cout)
    dis.append(("fc", (8 * s * 16, 1)))
    return {"encode": enc, "gen": gen, "joint_discrim": dis}


def release_arrays(seed=0, **config):
    """Random parameters in the release's layout, BN stored as sums over `count` deploy iterations."""
    rng = np.random.default_rng(seed)
    out = {}
    for group, params in release_param_shapes(**config).items():
        arrays, count = [], None
        for kind, shape in params:
            if kind == "count":
                count = int(rng.integers(3, 9))
                arrays.append(np.array(count, dtype=np.int64))
            elif kind == "mean":
                arrays.append((count * rng.normal(0, 0.3, shape)).astype(np.float32))
            elif kind == "var":
                arrays.append((count * rng.uniform(0.2, 2.0, shape)).astype(np.float32))
            elif kind == "g":
                arrays.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
            elif kind == "b":
                arrays.append(rng.normal(0, 0.2, shape).astype(np.float32))
            else:
                fan_in = int(np.prod(shape[1:])) if kind == "conv" else shape[0] * (25 if kind == "deconv" else 1)
                arrays.append(rng.normal(0, 1.0 / np.sqrt(fan_in), shape).astype(np.float32))
        out[group] = arrays
    return out


def write_release(root, arrays, experiment=STANDARD, epoch=100, **dump):
    folder = root / "exp" / experiment / "models"
    folder.mkdir(parents=True, exist_ok=True)
    for group, values in arrays.items():
        joblib.dump(values, folder / f"{epoch}_{group}_params.jl", **dump)
    return folder


# ---- NumPy transcription of the release's Theano forward pass (NCHW, test-mode BN)

def th_conv(x, w, stride, pad, groups=1):
    """T.nnet.conv2d(border_mode=pad, subsample=stride, filter_flip=True): a true convolution, per group."""
    n, c, h, wd = x.shape
    o, cg, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    wf = w[:, :, ::-1, ::-1]
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], wf[g * og:(g + 1) * og]
        for i in range(k):
            for j in range(k):
                patch = xs[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    return out


def th_deconv(h, w, stride=2, pad=2):
    """AbstractConv2d_gradInputs(w, h) with out_dims = stride * input: the adjoint of th_conv(., w, stride, pad)."""
    n, ci, hh, wh = h.shape
    _, co, k, _ = w.shape
    out = stride * hh
    full = np.zeros((n, co, out + 2 * pad, out + 2 * pad))
    wf = w[:, :, ::-1, ::-1]
    for i in range(k):
        for j in range(k):
            full[:, :, i:i + stride * hh:stride, j:j + stride * wh:stride] += np.einsum("nihw,io->nohw", h,
                                                                                       wf[:, :, i, j])
    return full[:, :, pad:pad + out, pad:pad + out]


def dnn_pool(x, k=3, s=2, pad=1):
    """cuDNN max pooling with padding that never wins, floor-mode size."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    ho, wo = (x.shape[2] + 2 * pad - k) // s + 1, (x.shape[3] + 2 * pad - k) // s + 1
    return np.max([xp[:, :, i:i + s * ho:s, j:j + s * wo:s] for i in range(k) for j in range(k)], axis=0)


def bn(h, params):
    count, mean, var, g, b = params
    shape = (1, -1) + (1,) * (h.ndim - 2)
    u, v = mean / count, var / count
    return ((h - u.reshape(shape)) / np.sqrt(v.reshape(shape) + 1e-8)) * g.reshape(shape) + b.reshape(shape)


def lrelu(x):
    return np.where(x > 0, x, 0.2 * x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def th_encoder(x, p):
    h = x.transpose(0, 3, 1, 2).astype(np.float64)
    h = dnn_pool(lrelu(th_conv(h, p[0], 4, 5)))
    specs = ((2, 2, True), (1, 1, False), (1, 2, False), (1, 2, False))  # pad, groups, pool after
    i = 1
    for pad, groups, pool in specs:
        h = lrelu(bn(th_conv(h, p[i], 1, pad, groups), p[i + 1:i + 6]))
        h = dnn_pool(h) if pool else h
        i += 6
    return 2 * sigmoid(h.reshape(len(h), -1) @ p[i]) - 1


def th_generator(z, p, size):
    h = np.maximum(bn(z @ p[0], p[1:6]), 0).reshape(len(z), 8 * size, 4, 4)
    i = 6
    for _ in range(3):
        h = th_deconv(h, p[i]) + (z @ p[i + 1])[:, :, None, None]
        h = np.maximum(bn(h, p[i + 2:i + 7]), 0)
        i += 7
    return (2 * sigmoid(th_deconv(h, p[i])) - 1).transpose(0, 2, 3, 1)


def th_discriminator(x, z, p):
    h = lrelu(th_conv(x.transpose(0, 3, 1, 2).astype(np.float64), p[0], 2, 2))
    i = 1
    for _ in range(3):
        h = th_conv(h, p[i], 2, 2) + (z @ p[i + 1])[:, :, None, None]
        h = lrelu(bn(h, p[i + 2:i + 7]))
        i += 7
    return h.reshape(len(h), -1) @ p[i]


# ---- tests

def test_the_oracles_deconvolution_is_the_adjoint_of_its_convolution():
    rng = np.random.default_rng(1)
    img, w, h = rng.normal(size=(2, 3, 8, 8)), rng.normal(size=(5, 3, 5, 5)), rng.normal(size=(2, 5, 4, 4))
    assert np.isclose(np.sum(th_conv(img, w, 2, 2) * h), np.sum(img * th_deconv(h, w)))


def test_full_size_layout_is_the_releases_26_28_23_arrays():
    model = bigan_alexnet_release()
    want = release_param_shapes()
    assert [len(want[g]) for g in ("encode", "gen", "joint_discrim")] == [26, 28, 23]  # the README's counts
    for group, sub in convert.GROUPS:
        got = [shape for _, _, shape in convert.release_shapes(model.get_layer(sub))]
        assert got == [shape for _, shape in want[group]], sub
    card = registry.card("bigan_alexnet_release")
    assert model.count_params() == card.parameters["total"]
    assert card.weights["imagenet"].file_hash is None  # the README publishes no hash
    general = bigan_alexnet_release(encoder_size=112).get_layer("encoder")
    assert convert.release_shapes(general)[-1][2] == (256 * 7 * 7, 200)


@pytest.fixture(scope="module")
def small_release(tmp_path_factory):
    root = tmp_path_factory.mktemp("bigan_release")
    arrays = release_arrays(**SMALL)
    return write_release(root, arrays), arrays


def test_loaded_networks_match_the_release_forward_pass(small_release):
    folder, arrays = small_release
    model = bigan_alexnet_release(**SMALL)
    report = convert.load_released_bigan(model, folder)
    assert report["loaded"] and not report["initialised"]
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (3, 64, 64, 3)).astype(np.float32)
    z = rng.uniform(-1, 1, (3, 10)).astype(np.float32)
    encoder, generator, discriminator = (model.get_layer(n) for n in ("encoder", "generator", "discriminator"))
    code = np.asarray(encoder(x, training=False))
    np.testing.assert_allclose(code, th_encoder(x, arrays["encode"]), atol=2e-5)
    # conv1 + leaky ReLU + the padded pool alone, against the transcription (negative values reach the pool)
    pool1 = keras.Model(encoder.input, encoder.get_layer("pool1").output)(x)
    oracle = dnn_pool(lrelu(th_conv(x.transpose(0, 3, 1, 2).astype(np.float64), arrays["encode"][0], 4, 5)))
    assert (oracle < 0).any()
    np.testing.assert_allclose(np.asarray(pool1).transpose(0, 3, 1, 2), oracle, atol=2e-5)
    np.testing.assert_allclose(np.asarray(generator(z, training=False)), th_generator(z, arrays["gen"], 4), atol=2e-5)
    np.testing.assert_allclose(np.asarray(discriminator([x, z], training=False)),
                               th_discriminator(x, z, arrays["joint_discrim"]), atol=2e-4)


def test_generalized_encoder_loads_from_the_zip_through_the_registered_format(tmp_path, monkeypatch):
    arrays = {"standard": release_arrays(seed=3, **SMALL),
              "generalized": release_arrays(seed=4, encoder_size=112, **SMALL)}
    write_release(tmp_path, arrays["standard"])
    write_release(tmp_path, arrays["generalized"], GENERALIZED)
    zip_path = tmp_path / "pretrained_bigan_weights.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        for file in sorted((tmp_path / "exp").rglob("*.jl")):
            zf.write(file, file.relative_to(tmp_path).as_posix())
    model = zoo.get("bigan_alexnet_release", weights=str(zip_path), **SMALL, encoder_size=112)
    pixels = np.random.default_rng(5).integers(0, 256, (2, 112, 112, 3)).astype(np.uint8)
    x = pixels / np.float32(127.5) - 1
    np.testing.assert_allclose(np.asarray(model.get_layer("encoder")(x, training=False)),
                               th_encoder(x, arrays["generalized"]["encode"]), atol=2e-5)
    # D's 64x64 input: the release's PIL ANTIALIAS resize of the 112 crop (data.py get_image), on average
    g_x = np.asarray(model.get_layer("g_x")(x))
    pil = np.stack([np.asarray(Image.fromarray(p).resize((64, 64), Image.LANCZOS)) for p in pixels]) / 127.5 - 1
    assert np.abs(g_x - pil).mean() < 0.5 / 127.5  # PIL clips to uint8 between its passes: single pixels differ more
    # the registered tag: the zip as the cache holds it after a download (no hash is published, so none is checked)
    monkeypatch.setattr(weights, "CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "zoo").mkdir(parents=True)
    (tmp_path / "cache" / "zoo" / "bigan_alexnet_release.imagenet").write_bytes(zip_path.read_bytes())
    tagged = zoo.get("bigan_alexnet_release.imagenet", **SMALL)
    z = np.random.default_rng(6).uniform(-1, 1, (2, 10)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(tagged.get_layer("generator")(z, training=False)),
                               th_generator(z, arrays["standard"]["gen"], 4), atol=2e-5)


def test_python2_joblib_files_read(tmp_path):
    """The release was written by Python 2's sklearn.externals.joblib: pickle protocol 2 with that module path
    (joblib >= 0.10), or (joblib <= 0.9) NDArrayWrapper records whose arrays sit in .npy files beside the pickle."""
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array(4, dtype=np.int64),
              np.asfortranarray(np.arange(12.0).reshape(3, 4))]
    path = tmp_path / "new.jl"
    joblib.dump(arrays, path, protocol=2)
    data = path.read_bytes().replace(b"cjoblib.numpy_pickle\n", b"csklearn.externals.joblib.numpy_pickle\n")
    assert b"sklearn.externals" in data
    path.write_bytes(data)
    with open(path, "rb") as f:
        for a, b in zip(convert.read_joblib_arrays(f, "new.jl"), arrays):
            np.testing.assert_array_equal(a, b)
    # joblib <= 0.9: build such a pickle with a stand-in class under the old module path
    module = types.ModuleType("sklearn.externals.joblib.numpy_pickle")

    class NDArrayWrapper:
        pass

    NDArrayWrapper.__module__, NDArrayWrapper.__qualname__ = module.__name__, "NDArrayWrapper"
    module.NDArrayWrapper = NDArrayWrapper
    records = []
    for i, a in enumerate(arrays, start=1):
        np.save(tmp_path / f"old.jl_{i:02d}.npy", a)
        record = NDArrayWrapper()
        record.__dict__.update(filename=f"old.jl_{i:02d}.npy", subclass=np.ndarray, allow_mmap=True)
        records.append(record)
    sys.modules[module.__name__] = module
    try:
        (tmp_path / "old.jl").write_bytes(pickle.dumps(records, protocol=2))
    finally:
        del sys.modules[module.__name__]
    with open(tmp_path / "old.jl", "rb") as f:
        got = convert.read_joblib_arrays(f, "old.jl", lambda name: open(tmp_path / name, "rb"))
    for a, b in zip(got, arrays):
        np.testing.assert_array_equal(a, b)
    records[0].filename = "../old.jl_01.npy"
    sys.modules[module.__name__] = module
    try:
        (tmp_path / "escape.jl").write_bytes(pickle.dumps(records, protocol=2))
    finally:
        del sys.modules[module.__name__]
    with open(tmp_path / "escape.jl", "rb") as f, pytest.raises(WeightsFormatError, match="not a .npy name beside"):
        convert.read_joblib_arrays(f, "escape.jl", lambda name: open(tmp_path / name, "rb"))


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [2, None])
def test_a_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "100_encode_params.jl"
    joblib.dump([np.zeros(3, np.float32), _Payload(marker)], path, protocol=protocol)
    refused = r"asks for (posix|nt)\.system, which the zoo refuses to build"
    with open(path, "rb") as f, pytest.raises(WeightsFormatError, match=refused):
        convert.read_joblib_arrays(f, path.name)
    assert not marker.exists()
    joblib.dump({"not": "a list"}, path)
    with open(path, "rb") as f, pytest.raises(WeightsFormatError, match="not a list of numpy arrays"):
        convert.read_joblib_arrays(f, path.name)
    joblib.dump([np.zeros(2)], path, compress=3)
    with open(path, "rb") as f, pytest.raises(WeightsFormatError, match="compressed"):
        convert.read_joblib_arrays(f, path.name)


def test_a_shape_mismatch_names_the_parameter_and_both_shapes_and_loads_nothing(small_release, tmp_path):
    folder, _ = small_release
    model = bigan_alexnet_release(**{**SMALL, "size": 8})
    before = [np.asarray(w).copy() for w in model.weights]
    with pytest.raises(WeightsMismatchError, match=r"array 0 \(generator/fc, linear weight \(in, out\)\) has shape "
                                                   r"\(10, 512\), the model expects \(10, 1024\)"):
        convert.load_released_bigan(model, folder / "100_encode_params.jl")
    assert all(np.array_equal(a, np.asarray(w)) for a, w in zip(before, model.weights))
    arrays = release_arrays(**SMALL)
    arrays["encode"] = arrays["encode"][:-1]
    short = write_release(tmp_path, arrays)
    with pytest.raises(WeightsMismatchError, match="holds 25 arrays; encoder of this model takes 26"):
        convert.load_released_bigan(bigan_alexnet_release(**SMALL), short)
    arrays = release_arrays(**SMALL)
    arrays["encode"][2] = np.array(0, dtype=np.int64)
    zero = write_release(tmp_path / "zero", arrays)
    with pytest.raises(WeightsFormatError, match="BN count is 0"):
        convert.load_released_bigan(bigan_alexnet_release(**SMALL), zero)


@pytest.mark.slow
def test_cli_converts_full_size_release_files(tmp_path):
    from zoo.cli import main

    folder = write_release(tmp_path, release_arrays(seed=6))
    out = tmp_path / "bigan.weights.h5"
    assert main(["convert", "bigan_alexnet_release", "--weights", str(folder / "100_gen_params.jl"),
                 "--out", str(out)]) == 0
    model = bigan_alexnet_release()
    model.load_weights(out)
    x = np.random.default_rng(7).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model.get_layer("encoder")(x, training=False)),
                               th_encoder(x, release_arrays(seed=6)["encode"]), atol=5e-5)


def test_release_encoder_into_the_transfer_alexnet_as_export_params_folds_it(tmp_path):
    """eval_model.sh's first step (export_params.py transplant_weights): BN folded into the convs
    (scale g / sqrt(var / count + 1e-8), shift b - mean / count * scale), kernels flipped, conv1 unchanged."""
    from zoo.export.transfer import load_bigan_encoder
    from zoo.models.bigan.transfer import bigan_alexnet_transfer

    config = {"size": 4, "latent_dim": 10}
    arrays = release_arrays(seed=8, **config)
    bigan = bigan_alexnet_release(**config)
    convert.load_released_bigan(bigan, write_release(tmp_path, arrays))
    net = bigan_alexnet_transfer(num_classes=5, input_shape=(64, 64, 3), fc_units=32)
    load_bigan_encoder(bigan, net)
    p = arrays["encode"]
    for i, start in enumerate((0, 1, 7, 13, 19), start=1):
        w = p[start].astype(np.float64)
        if i == 1:
            scale, shift = np.ones(len(w)), np.zeros(len(w))
        else:
            count, mean, var, g, b = p[start + 1:start + 6]
            scale = g / np.sqrt(var / count + 1e-8)
            shift = b - mean / count * scale
        want = (w * scale[:, None, None, None])[:, :, ::-1, ::-1].transpose(2, 3, 1, 0)
        kernel, bias = net.get_layer(f"conv{i}").get_weights()
        np.testing.assert_allclose(kernel, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bias, shift, rtol=1e-5, atol=1e-6)


def test_release_caffemodels_load_into_the_transfer_net_reading_rgb(tmp_path):
    """export_params.py writes conv1 for BGR input (reverse_3ch); loaded by its release file name, the zoo's
    RGB net gets the channels back in RGB order and gives the Caffe net's output on the same image."""
    from zoo.convert.caffe_writer import keras_to_caffe, write_caffemodel
    from zoo.models.bigan.transfer import bigan_alexnet_transfer

    options = {"num_classes": 5, "input_shape": (64, 64, 3), "fc_units": 16}
    keras.utils.set_random_seed(9)
    bgr_net = bigan_alexnet_transfer(**options)  # stands for the Caffe net: it reads BGR
    for name in ("100_encode_params.caffemodel", "100_encode_params.kmeans_reinit_from_fc6.zero_fc8.cs.caffemodel"):
        path = write_caffemodel(tmp_path / name, keras_to_caffe(bgr_net))
        rgb_net = zoo.get("bigan_alexnet_transfer", weights=str(path), **options)
        rgb = np.random.default_rng(10).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
        np.testing.assert_allclose(np.asarray(rgb_net(rgb)), np.asarray(bgr_net(rgb[..., ::-1])), rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(rgb_net.get_layer("conv1").get_weights()[0],
                                      bgr_net.get_layer("conv1").get_weights()[0][:, :, ::-1, :])


def test_one_network_loads_alone_and_a_missing_experiment_is_named(small_release, tmp_path):
    from zoo.models.bigan.release import release_encoder

    folder, arrays = small_release
    encoder = release_encoder(10, 64, 0.125)
    convert.load_released_bigan(encoder, folder.parent)  # the experiment folder, above models/
    x = np.random.default_rng(11).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(encoder(x)), th_encoder(x, arrays["encode"]), atol=2e-5)
    zip_path = tmp_path / "pretrained_bigan_weights.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.write(folder / "100_encode_params.jl", f"{STANDARD}/models/100_encode_params.jl")
    with pytest.raises(WeightsFormatError, match=f"has no {GENERALIZED}/models/100_encode_params.jl .* files: "
                                                 f"{STANDARD}/models/100_encode_params.jl"):
        convert.load_released_bigan(release_encoder(10, 112, 0.125), zip_path)
    (tmp_path / "only_e").mkdir()
    (tmp_path / "only_e" / "100_encode_params.jl").write_bytes((folder / "100_encode_params.jl").read_bytes())
    with pytest.raises(WeightsFormatError, match="100_gen_params.jl is missing"):
        convert.load_released_bigan(bigan_alexnet_release(**SMALL), tmp_path / "only_e")
    with pytest.raises(WeightsMismatchError, match=r"\(512, 10\), the model expects \(1568, 10\).*encoder_size=112"):
        convert.load_released_bigan(release_encoder(10, 112, 0.125), folder)
