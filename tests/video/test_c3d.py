"""C3D (Tran et al. 2015): the paper's architecture, Caffe ceil-mode 3-D pooling, the C3D-dialect
caffemodel import checked against a NumPy transcription of the Caffe net (N, C, T, H, W layout),
the video task's per-clip logits and hit@k, export with TFLite builtin ops, and the staged
C3D fc6 + linear SVM recipe on the moving_shapes stand-in."""

import keras
import numpy as np
import pytest

import zoo
from zoo import registry, tasks
from zoo.convert.caffe import load_caffemodel, read_caffemodel
from zoo.convert.caffe_proto import CaffeLayer, parse_net
from zoo.convert.caffe_writer import encode_net, keras_to_caffe, write_caffemodel
from zoo.errors import WeightsFormatError
from zoo.layers.pooling import CaffeMaxPooling3D
from tests.model_test_configs import SMALL

RNG = np.random.default_rng(0)
CONVS = ("conv1a", "conv2a", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b")


def test_full_size_c3d_is_the_papers_network():
    card = registry.card("c3d")
    model = card.builder()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv3D)]
    assert [c.name for c in convs] == list(CONVS)
    assert [c.filters for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]  # Tran et al. 2015 Fig. 3
    assert all(c.kernel_size == (3, 3, 3) and c.strides == (1, 1, 1) for c in convs)
    pools = [layer for layer in model.layers if isinstance(layer, CaffeMaxPooling3D)]
    assert [p.pool_size for p in pools] == [(1, 2, 2)] + [(2, 2, 2)] * 4
    assert tuple(model.get_layer("pool5").output.shape[1:]) == (1, 4, 4, 512)  # 8192 into fc6
    assert [model.get_layer(n).units for n in ("fc6-1", "fc7-1", "fc8-1")] == [4096, 4096, 487]
    assert tuple(model.input.shape[1:]) == (16, 112, 112, 3)
    assert model.count_params() == card.parameters["total"] == 79_991_015
    assert card.default_num_classes == 487


def _numpy_pool(x, kernel, stride):
    """Caffe Pooling3D MAX on (C, T, H, W): ceil((L - k) / s) + 1 windows per axis, clipped at the edge."""
    out_sizes = [int(np.ceil((size - k) / s)) + 1 for size, k, s in zip(x.shape[1:], kernel, stride)]
    out = np.empty((x.shape[0], *out_sizes), x.dtype)
    for t in range(out_sizes[0]):
        for h in range(out_sizes[1]):
            for w in range(out_sizes[2]):
                window = x[:, t * stride[0] : t * stride[0] + kernel[0], h * stride[1] : h * stride[1] + kernel[1],
                           w * stride[2] : w * stride[2] + kernel[2]]
                out[:, t, h, w] = window.reshape(len(x), -1).max(axis=1)
    return out


def _numpy_conv(x, weight, bias):
    """Caffe Convolution3D (C3D), 3x3x3, pad 1 in time and space: y[o] = b[o] + sum w[o, i, dt, dh, dw] x[i, ...]."""
    c, t, h, w = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (1, 1)))
    y = np.broadcast_to(bias[:, None, None, None], (len(bias), t, h, w)).astype(np.float64)
    for dt in range(3):
        for dh in range(3):
            for dw in range(3):
                patch = padded[:, dt : dt + t, dh : dh + h, dw : dw + w]
                y = y + np.einsum("oi,ithw->othw", weight[:, :, dt, dh, dw], patch)
    return y


def _numpy_c3d(clip_cthw, blobs):
    """The C3D net in Caffe's layout (C, T, H, W), one clip: the oracle of the import."""
    x = clip_cthw.astype(np.float64)
    for block, names in ((1, CONVS[:1]), (2, CONVS[1:2]), (3, CONVS[2:4]), (4, CONVS[4:6]), (5, CONVS[6:])):
        for name in names:
            x = np.maximum(_numpy_conv(x, *blobs[name]), 0)
        x = _numpy_pool(x, (1, 2, 2) if block == 1 else (2, 2, 2), (1, 2, 2) if block == 1 else (2, 2, 2))
    x = x.reshape(-1)  # Caffe's InnerProduct reads pool5 as (C, T, H, W)
    for name, relu in (("fc6-1", True), ("fc7-1", True), ("fc8-1", False)):
        weight, bias = blobs[name]
        x = weight @ x + bias
        x = np.maximum(x, 0) if relu else x
    return x


def test_pooling3d_matches_caffe_ceil_rounding():
    x = RNG.standard_normal((2, 9, 7, 5, 3)).astype(np.float32)
    for kernel in ((1, 2, 2), (2, 2, 2), (3, 3, 2)):
        stride = kernel if kernel != (3, 3, 2) else (2, 2, 2)
        got = np.asarray(CaffeMaxPooling3D(kernel, stride)(x))
        want = np.stack([_numpy_pool(clip.transpose(3, 0, 1, 2), kernel, stride).transpose(1, 2, 3, 0) for clip in x])
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def _c3d_file_layers(model, num_classes):
    """Random blobs in C3D's Caffe layout for every learned layer of `model`, plus weightless layers."""
    layers, blobs = [], {}
    fan_in = 3
    for name in CONVS:
        out = model.get_layer(name).filters
        blobs[name] = (RNG.normal(0, np.sqrt(2 / (27 * fan_in)), (out, fan_in, 3, 3, 3)).astype(np.float32),
                       RNG.normal(0, 0.1, out).astype(np.float32))
        fan_in = out
    fc6_in = int(np.prod(model.get_layer("pool5").output.shape[1:]))
    for name, n_in in (("fc6-1", fc6_in), ("fc7-1", model.get_layer("fc6-1").units), ("fc8-1", model.get_layer("fc7-1").units)):
        n_out = model.get_layer(name).units
        blobs[name] = (RNG.normal(0, np.sqrt(2 / n_in), (n_out, n_in)).astype(np.float32),
                       RNG.normal(0, 0.1, n_out).astype(np.float32))
    for name in (*CONVS[:1], "pool1", *CONVS[1:], "fc6-1", "fc7-1", "fc8-1"):
        if name.startswith("pool"):
            layers.append(CaffeLayer(name, "Pooling3D", ("conv1a",), (name,)))
            continue
        weight, bias = blobs[name]
        conv = name.startswith("conv")
        # C3D stores inner-product blobs as legacy 5-D (1, 1, 1, O, I) and biases as (1, 1, 1, 1, O)
        stored = weight if conv else weight[None, None, None]
        layers.append(CaffeLayer(name, "Convolution3D" if conv else "InnerProduct", blobs=[stored, bias],
                                 params={"convolution_param" if conv else "inner_product_param": {"num_output": len(bias)}}))
    return layers, blobs


def test_c3d_caffemodel_import_matches_numpy_caffe_reference(tmp_path):
    # T, H, W chosen so that the ceil rounding acts on every axis and pool5 is 2x2x2: the (C, T, H, W)
    # flattening into fc6 is checked on all three axes.
    shape = (18, 60, 44, 3)
    kwargs = {"width": 32, "input_shape": shape, "num_classes": 7}
    model = registry.card("c3d").builder(**kwargs)
    assert tuple(model.get_layer("pool5").output.shape[1:4]) == (2, 2, 2)
    layers, blobs = _c3d_file_layers(model, 7)
    path = write_caffemodel(tmp_path / "c3d_small.caffemodel", layers, name="DeepConv3DNet_Sport1M", dialect="c3d")
    read = read_caffemodel(path)
    assert [layer.type for layer in read][:3] == ["Convolution3D", "Pooling3D", "Convolution3D"]
    assert read[0].blobs[0].shape == (2, 3, 3, 3, 3) and read[-1].blobs[0].shape == (1, 1, 1, 7, 128)
    with pytest.raises(WeightsFormatError):  # a C3D file is not a BVLC one, and the reader says so when forced
        parse_net(path.read_bytes(), "c3d_small", dialect="bvlc")

    loaded = zoo.get("c3d", weights=str(path), **kwargs)
    clips = (60 * RNG.standard_normal((2, *shape))).astype(np.float32)
    got = np.asarray(loaded(clips, training=False))
    want = np.stack([_numpy_c3d(clip.transpose(3, 0, 1, 2), blobs) for clip in clips])
    scale = np.abs(want).max()
    assert scale > 1.0
    np.testing.assert_allclose(got, want, atol=1e-4 * scale, rtol=1e-4)

    # and back: the zoo's writer gives the same blobs in the C3D layout
    again = {layer.name: layer for layer in keras_to_caffe(loaded)}
    assert again["conv3b"].type == "Convolution3D"
    np.testing.assert_array_equal(again["conv3b"].blobs[0], blobs["conv3b"][0])
    np.testing.assert_array_equal(again["fc6-1"].blobs[0], blobs["fc6-1"][0])


def test_c3d_blobs_are_refused_by_name_when_the_net_differs(tmp_path):
    model = registry.card("c3d").builder(width=32, input_shape=(4, 32, 32, 3), num_classes=7)
    layers, _ = _c3d_file_layers(model, 7)
    other = zoo.get("c3d", width=16, input_shape=(4, 32, 32, 3), num_classes=7)
    path = write_caffemodel(tmp_path / "x.caffemodel", layers, dialect="c3d")
    with pytest.raises(Exception, match="conv1a"):
        load_caffemodel(other, path)


def test_video_task_scores_per_clip_logits_with_hit_at_1_and_5():
    task = tasks.get("video_classification")
    logits = np.log(np.array([
        [0.30, 0.25, 0.20, 0.10, 0.09, 0.06],  # video a, label 3: 4th -> hit@5, not hit@1
        [0.05, 0.30, 0.25, 0.20, 0.15, 0.05],  # video a, label 3: 3rd -> hit@5
        [0.50, 0.10, 0.10, 0.10, 0.10, 0.10],  # video c, label 0 -> hit@1
        [0.01, 0.03, 0.02, 0.02, 0.02, 0.90],  # video b, label 0: last -> misses at 1 and 5
    ]))
    labels = np.array([3, 3, 0, 0])
    ev = task.evaluator(model=None)
    ev.update(logits, {"label": labels, "video_id": np.array([b"a", b"a", b"c", b"b"])})
    res = ev.result()
    assert res["clip_accuracy"] == pytest.approx(1 / 4) and res["clip_hit@5"] == pytest.approx(3 / 4)
    # video a: mean (0.175, 0.275, 0.225, 0.15, 0.12, 0.055), label 3 is 4th: hit@5 only
    assert res["video_accuracy"] == pytest.approx(1 / 3) and res["video_hit@5"] == pytest.approx(2 / 3)
    assert res["accuracy"] == res["video_accuracy"]
    import tensorflow as tf
    from zoo.training.recipes import LossConfig

    loss = task.replica_loss(tf.constant(logits, tf.float32), tf.constant(labels, tf.int32), loss_cfg=LossConfig(),
                             global_batch_size=4)
    want = -np.mean(np.log(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))[np.arange(4), labels])
    assert float(loss) == pytest.approx(want, rel=1e-5)


def test_small_c3d_exports_to_savedmodel_and_tflite_builtins(tmp_path):
    from zoo import export

    card = registry.card("c3d")
    keras.utils.set_random_seed(0)
    model = card.builder(**SMALL[card.name].kwargs)
    check = (60 * RNG.standard_normal((1, *SMALL[card.name].input_shape))).astype(np.float32)
    sm = export.export_savedmodel(model, tmp_path / "sm", input_contract=card.input_contract,
                                  input_shape=SMALL[card.name].input_shape, check_inputs=check)
    assert sm.max_abs_diff <= sm.tolerance
    lite = export.export_tflite(model, tmp_path / "c3d.tflite", input_shape=SMALL[card.name].input_shape, check_inputs=check,
                                input_contract=card.input_contract)  # builtin ops only unless allow_flex
    assert lite.max_abs_diff <= lite.tolerance
    ops = {op for op in _tflite_ops(tmp_path / "c3d.tflite")}
    assert "CONV_3D" in ops and not any("FLEX" in op.upper() or op == "CUSTOM" for op in ops)


def _tflite_ops(path):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    return {d["op_name"] for d in interpreter._get_ops_details()}


def _recipe(model, step=None, steps=4):
    from zoo.training import recipes

    data = {"recipe": {"name": "c3d_test"}, "model": model,
            "data": {"name": "moving_shapes", "global_batch_size": 4, "shuffle_buffer": 8,
                     "options": {"image_size": 16, "num_frames": 4, "num_examples": 12}},
            "optimizer": {"name": "adam", "learning_rate": 0.001},
            "train": {"steps": steps, "checkpoint_every": 2, "log_every": 2, "seed": 3}}
    if step:
        data["step"] = step
    return recipes.from_dict(data)


def test_c3d_trains_on_clips_then_fc6_svm_is_fitted_by_the_staged_step(tmp_path):
    from zoo.training import runner

    shape = [4, 16, 16, 3]
    trained = runner.train(_recipe({"name": "c3d", "options": {"num_classes": 6, "width": 16, "input_shape": shape}}),
                           tmp_path / "c3d")
    assert trained.steps == 4 and np.isfinite(trained.final_loss)
    assert {"clip_accuracy", "clip_hit@5"} <= set(trained.metrics)
    weights = tmp_path / "c3d" / "final.weights.h5"
    svm = runner.train(_recipe({"name": "c3d_fc6_svm", "options": {"num_classes": 6, "width": 16, "input_shape": shape},
                                "weights": str(weights), "weights_partial": True},
                               step={"head": "svm", "learner": "linear_svm", "chunk_batches": 2}, steps=1),
                       tmp_path / "svm")
    assert {"clip_accuracy", "clip_hit@5"} <= set(svm.metrics)
    model = registry.card("c3d").builder(num_classes=6, width=16, input_shape=tuple(shape))
    model.load_weights(weights)
    fitted = registry.card("c3d_fc6_svm").builder(num_classes=6, width=16, input_shape=tuple(shape))
    fitted.load_weights(tmp_path / "svm" / "final.weights.h5")
    # the trunk is the trained C3D's, the head is no longer its random initialisation
    np.testing.assert_array_equal(fitted.get_layer("fc6-1").kernel, model.get_layer("fc6-1").kernel)
    assert np.abs(np.asarray(fitted.get_layer("svm").bias)).sum() > 0


def test_shipped_c3d_recipes_validate():
    from zoo import recipe_files
    from zoo.training import recipes

    names = [n for n in recipe_files.list_recipes() if n.startswith("c3d")]
    assert {"c3d_moving_shapes_standin", "c3d_fc6_svm_moving_shapes_standin", "c3d_fc6_svm_ucf101"} <= set(names)
    for name in names:
        r = recipes.load(name)
        assert registry.card(r.model.name).family == "c3d" and r.recipe.paper_target
