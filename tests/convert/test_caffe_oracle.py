"""OpenCV's Caffe importer as the oracle for `.caffemodel` loading.

Each test writes a deploy `.prototxt` (written here from the original release's definitions:
BVLC caffenet/alexnet/googlenet deploy.prototxt, VGG_ILSVRC_16_layers_deploy, fcn.berkeleyvision
voc-fcn*/net.py) and a `.caffemodel` of random weights drawn in Caffe's layout, runs OpenCV's
`cv2.dnn.readNetFromCaffe` forward pass (NCHW), and requires the zoo model loaded from the same
file with `zoo.get(name, weights=path)` to give the same output (channels-last) to 1e-4 of the
output's scale. The networks use reduced widths and odd input sizes (Caffe's ceil pooling
differs from floor there) where the builders allow it; full-size nets are in the slow tier.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo import registry
from zoo import weights as weights_mod
from zoo.convert.caffe import load_caffemodel, read_caffemodel
from zoo.convert.caffe_proto import CaffeLayer
from zoo.convert.caffe_writer import Enum, keras_to_caffe, write_caffemodel, write_prototxt
from zoo.errors import WeightsMismatchError

cv2 = pytest.importorskip("cv2")
if not hasattr(cv2, "dnn") or not hasattr(cv2.dnn, "readNetFromCaffe"):
    pytest.skip("this OpenCV has no Caffe importer (removed in OpenCV 5)", allow_module_level=True)

pytestmark = pytest.mark.oracle
RNG = np.random.default_rng(0)


class Prototxt:
    """A deploy net under construction: `Input` layer plus layers in Caffe's text-format vocabulary."""

    def __init__(self, shape_nchw):
        shape = {"shape": {"dim": list(shape_nchw)}}
        self.layers = [CaffeLayer("data", "Input", top=("data",), params={"input_param": shape})]

    def add(self, name, kind, bottom, top=None, **params):
        bottoms = (bottom,) if isinstance(bottom, str) else tuple(bottom)
        self.layers.append(CaffeLayer(name, kind, bottoms, (top or name,), params=params))
        return top or name

    def conv(self, name, bottom, num_output, kernel, stride=1, pad=0, group=1, relu="relu"):
        param = {"num_output": num_output, "kernel_size": kernel, "stride": stride, "pad": pad, "group": group}
        top = self.add(name, "Convolution", bottom, convolution_param=param)
        if relu:
            self.add(relu, "ReLU", top, top)
        return top

    def fc(self, name, bottom, num_output, relu=None, drop=None, ratio=0.5):
        top = self.add(name, "InnerProduct", bottom, inner_product_param={"num_output": num_output})
        if relu:
            self.add(relu, "ReLU", top, top)
        if drop:
            self.add(drop, "Dropout", top, top, dropout_param={"dropout_ratio": ratio})
        return top

    def pool(self, name, bottom, kernel, stride, pad=0, kind="MAX"):
        param = {"pool": Enum(kind), "kernel_size": kernel, "stride": stride, "pad": pad}
        return self.add(name, "Pooling", bottom, pooling_param=param)

    def lrn(self, name, bottom):
        return self.add(name, "LRN", bottom, lrn_param={"local_size": 5, "alpha": 1e-4, "beta": 0.75})

    def deconv(self, name, bottom, num_output, kernel, stride):
        param = {"num_output": num_output, "kernel_size": kernel, "stride": stride, "bias_term": False}
        return self.add(name, "Deconvolution", bottom, convolution_param=param)

    def crop(self, name, bottom, reference, offset):
        return self.add(name, "Crop", (bottom, reference), crop_param={"axis": 2, "offset": offset})


def random_caffemodel(path, model, prototxt, fixed=()):
    """Random weights in Caffe layout, shaped like the model's layers, named like the prototxt's.

    Values are drawn in Caffe's layout (never converted from Keras), scaled by 1/sqrt(fan-in)
    so that deep nets keep activations of order one. Layers in `fixed` keep the model's own
    weights (FCN's frozen bilinear upsampling).
    """
    caffe_names = {layer.name.replace("/", "_"): layer.name for layer in prototxt.layers}
    layers = keras_to_caffe(model, names=caffe_names)
    for layer in layers:
        if layer.name in fixed:
            continue
        weight = layer.blobs[0]
        fan_in = np.prod(weight.shape[1:])
        if layer.type == "Deconvolution":  # (C_in, C_out, kh, kw)
            fan_in = weight.shape[0] * np.prod(weight.shape[2:])
        layer.blobs = [RNG.normal(0, 1.0 / np.sqrt(fan_in), weight.shape).astype("float32")] + [
            RNG.normal(0, 0.1, b.shape).astype("float32") for b in layer.blobs[1:]
        ]
    assert {layer.name for layer in layers} <= {layer.name for layer in prototxt.layers}
    write_caffemodel(path, layers)
    return layers


def opencv_forward(tmp_path, prototxt, caffemodel, x_nchw, outputs):
    write_prototxt(tmp_path / "deploy.prototxt", prototxt.layers, name="oracle")
    net = cv2.dnn.readNetFromCaffe(str(tmp_path / "deploy.prototxt"), str(caffemodel))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(x_nchw)
    return [np.asarray(o) for o in net.forward(outputs)]


def assert_close(keras_nhwc, opencv_nchw):
    keras_nhwc = np.asarray(keras_nhwc)
    want = opencv_nchw.transpose(0, 2, 3, 1) if opencv_nchw.ndim == 4 else opencv_nchw.reshape(keras_nhwc.shape)
    assert keras_nhwc.shape == want.shape
    scale = np.abs(want).max()
    assert scale > 1e-3, "degenerate output: the comparison would be vacuous"
    np.testing.assert_allclose(keras_nhwc, want, rtol=0, atol=1e-4 * scale)


def _input(h, w, c=3):
    return RNG.normal(0, 50, (1, c, h, w)).astype("float32")  # BGR minus mean: values of tens


def compare(tmp_path, name, prototxt, outputs, fixed=(), **kwargs):
    """Random caffemodel for zoo model `name` -> OpenCV outputs vs zoo.get(name, weights=...) outputs."""
    template = zoo.get(name, **kwargs)
    path = tmp_path / f"{name}.caffemodel"
    random_caffemodel(path, template, prototxt, fixed=fixed)
    h, w = prototxt.layers[0].params["input_param"]["shape"]["dim"][2:]
    x = _input(h, w)
    want = opencv_forward(tmp_path, prototxt, path, x, outputs)
    model = zoo.get(name, weights=path, **kwargs)
    got = model(x.transpose(0, 2, 3, 1))
    got = got if isinstance(got, (list, tuple)) else [got]
    for g, o in zip(got, want):
        assert_close(g, o)
    return model, path


# ---------------------------------------------------------------- a tiny net, independent of the zoo builders


def test_tiny_conv_pool_fc_net(tmp_path):
    """conv (2 groups) -> relu -> 3/2 max pool -> fc over the flattened map -> deconv on a conv map."""
    proto = Prototxt((1, 4, 9, 9))
    x = proto.conv("conv1", "data", 6, 3, pad=1, group=2)
    x = proto.pool("pool1", x, 3, 2)  # 9 -> 4 both with ceil and floor
    proto.fc("fc/a", x, 7)
    proto.deconv("up", "pool1", 3, 4, 2)

    inputs = keras.Input((9, 9, 4))
    y = keras.layers.Conv2D(6, 3, padding="same", groups=2, activation="relu", name="conv1")(inputs)
    y = keras.layers.MaxPooling2D(3, 2)(y)
    fc = keras.layers.Dense(7, name="fc_a")(keras.layers.Flatten()(y))
    up = keras.layers.Conv2DTranspose(3, 4, strides=2, use_bias=False, name="up")(y)
    model = keras.Model(inputs, [fc, up], name="tiny")

    path = tmp_path / "tiny.caffemodel"
    random_caffemodel(path, model, proto)
    x = _input(9, 9, 4)
    want = opencv_forward(tmp_path, proto, path, x, ["fc/a", "up"])
    load_caffemodel(model, path)
    got = model(x.transpose(0, 2, 3, 1))
    assert_close(got[0], want[0])
    assert_close(got[1], want[1])


# ---------------------------------------------------------------- the zoo's Caffe-era nets


def bvlc_prototxt(norm_first, size, width=1, num_classes=1000):
    """BVLC caffenet (pool -> norm) / alexnet (norm -> pool) deploy.prototxt; widths divided by `width`."""
    p = Prototxt((1, 3, size, size))
    w = lambda c: c // width  # noqa: E731
    x = p.conv("conv1", "data", w(96), 11, stride=4, relu="relu1")
    for i in (1, 2):
        if norm_first:
            x = p.pool(f"pool{i}", p.lrn(f"norm{i}", x), 3, 2)
        else:
            x = p.lrn(f"norm{i}", p.pool(f"pool{i}", x, 3, 2))
        if i == 1:
            x = p.conv("conv2", x, w(256), 5, pad=2, group=2, relu="relu2")
    x = p.conv("conv3", x, w(384), 3, pad=1, relu="relu3")
    x = p.conv("conv4", x, w(384), 3, pad=1, group=2, relu="relu4")
    x = p.conv("conv5", x, w(256), 3, pad=1, group=2, relu="relu5")
    x = p.pool("pool5", x, 3, 2)
    x = p.fc("fc6", x, w(4096), relu="relu6", drop="drop6")
    x = p.fc("fc7", x, w(4096), relu="relu7", drop="drop7")
    p.fc("fc8", x, num_classes)
    return p


@pytest.mark.parametrize("name", ["caffenet", "alexnet"])
def test_bvlc_small(tmp_path, name):
    # 103x103: conv1 24x24, then ceil pooling 24 -> 12 -> 6 -> 3 (floor would give 11 -> 5 -> 2),
    # so fc6 reads a 3x3 map whose (C, H, W) order the converter must undo.
    compare(tmp_path, name, bvlc_prototxt(name == "alexnet", 103, width=16, num_classes=10), ["fc8"],
            width=16, num_classes=10, input_shape=(103, 103, 3))


@pytest.mark.slow
def test_caffenet_full_size(tmp_path):
    compare(tmp_path, "caffenet", bvlc_prototxt(False, 227), ["fc8"])


def vgg16_prototxt(size, width=1, num_classes=1000, fcn=None, atonce=False):
    """VGG_ILSVRC_16_layers_deploy.prototxt, or with `fcn` in (32, 16, 8) voc-fcn{fcn}s deploy (net.py),
    with `atonce` voc-fcn8s-atonce's fixed Scale layers before the skip scores."""
    p = Prototxt((1, 3, size[0], size[1]))
    w = lambda c: c // width  # noqa: E731
    x = "data"
    for block, (n, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1):
        for i in range(1, convs + 1):
            pad = 100 if fcn and (block, i) == (1, 1) else 1
            x = p.conv(f"conv{block}_{i}", x, w(n), 3, pad=pad, relu=f"relu{block}_{i}")
        x = p.pool(f"pool{block}", x, 2, 2)
    if not fcn:
        x = p.fc("fc6", x, w(4096), relu="relu6", drop="drop6")
        x = p.fc("fc7", x, w(4096), relu="relu7", drop="drop7")
        p.fc("fc8", x, num_classes)
        return p
    x = p.conv("fc6", x, w(4096), 7, relu="relu6")
    p.add("drop6", "Dropout", x, x, dropout_param={"dropout_ratio": 0.5})
    x = p.conv("fc7", x, w(4096), 1, relu="relu7")
    p.add("drop7", "Dropout", x, x, dropout_param={"dropout_ratio": 0.5})
    x = p.conv("score_fr", x, num_classes, 1, relu=None)
    if fcn == 32:
        p.crop("score", p.deconv("upscore", x, num_classes, 64, 32), "data", 19)
        return p
    up = p.deconv("upscore2", x, num_classes, 4, 2)
    pool4 = p.add("scale_pool4", "Scale", "pool4", scale_param={"bias_term": False}) if atonce else "pool4"
    s4 = p.crop("score_pool4c", p.conv("score_pool4", pool4, num_classes, 1, relu=None), up, 5)
    x = p.add("fuse_pool4", "Eltwise", (up, s4), eltwise_param={"operation": Enum("SUM")})
    if fcn == 16:
        p.crop("score", p.deconv("upscore16", x, num_classes, 32, 16), "data", 27)
        return p
    up = p.deconv("upscore_pool4", x, num_classes, 4, 2)
    pool3 = p.add("scale_pool3", "Scale", "pool3", scale_param={"bias_term": False}) if atonce else "pool3"
    s3 = p.crop("score_pool3c", p.conv("score_pool3", pool3, num_classes, 1, relu=None), up, 9)
    x = p.add("fuse_pool3", "Eltwise", (up, s3), eltwise_param={"operation": Enum("SUM")})
    p.crop("score", p.deconv("upscore8", x, num_classes, 16, 8), "data", 31)
    return p


def test_vgg16_small(tmp_path):
    # 70x70: ceil pooling 70 -> 35 -> 18 -> 9 -> 5 -> 3 (floor: 17, 8, 4, 2)
    compare(tmp_path, "vgg16", vgg16_prototxt((70, 70), width=16, num_classes=5), ["fc8"],
            width=16, num_classes=5, input_shape=(70, 70, 3))


@pytest.mark.slow
def test_vgg16_full_size(tmp_path):
    compare(tmp_path, "vgg16", vgg16_prototxt((224, 224)), ["fc8"])


def test_fcn8s_learned_upsampling(tmp_path):
    """Random (non-bilinear, asymmetric) deconvolution kernels, at an odd 67x83 input."""
    compare(tmp_path, "fcn8s", vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=8), ["score"],
            width=16, num_classes=5, upsampling="learned")


@pytest.mark.parametrize("name, stride", [("fcn32s", 32), ("fcn16s", 16), ("fcn8s", 8)])
def test_fcn_files_load_with_the_default_upsampling(tmp_path, name, stride):
    """As the released files: a bilinear final deconvolution, loaded into the fixed layer, and 2x
    kernels that are not bilinear (trained ones), loaded into the learned layers, with no option."""
    fixed = {32: ("upscore",), 16: ("upscore16",), 8: ("upscore8",)}[stride]
    compare(tmp_path, name, vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=stride), ["score"], fixed=fixed,
            width=16, num_classes=5)


def test_fcn16s_reference_option_keeps_every_upsampling_fixed(tmp_path):
    """upsampling="fixed_bilinear" (the reference code's all-fixed choice) loads files with bilinear 2x kernels."""
    compare(tmp_path, "fcn16s", vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=16), ["score"],
            fixed=("upscore2", "upscore16"), width=16, num_classes=5, upsampling="fixed_bilinear")


def test_fcn8s_atonce_scale_layers(tmp_path):
    """voc-fcn8s-atonce: Caffe `Scale` layers (pool4 x 0.01, pool3 x 0.0001 in the release; random here)."""
    compare(tmp_path, "fcn8s_atonce", vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=8, atonce=True), ["score"],
            width=16, num_classes=5, upsampling="learned")


def test_vgg16_file_into_fcn32s_by_surgery(tmp_path):
    """FCN's initialisation (surgery.transplant, Long et al. 2015 §4.1): the VGG16 classifier's fc6/fc7
    InnerProducts load into FCN-32s's 7x7 and 1x1 convolutions; fc8 is dropped and the score layers
    keep their initialisation. OpenCV runs the FCN prototxt on a file transplanted in NumPy the way
    surgery.py does it (a flat copy into the conv blob shape), and fc7 must agree."""
    vgg_kwargs = {"width": 16, "num_classes": 5, "input_shape": (224, 224, 3)}
    vgg_path = tmp_path / "vgg16.caffemodel"
    vgg_proto = vgg16_prototxt((224, 224), width=16, num_classes=5)
    vgg_layers = random_caffemodel(vgg_path, zoo.get("vgg16", **vgg_kwargs), vgg_proto)
    fcn_kwargs = {"width": 16, "num_classes": 5}
    with pytest.raises(WeightsMismatchError, match="missing from the file: score_fr, upscore"):
        zoo.get("fcn32s", weights=vgg_path, **fcn_kwargs)
    model = zoo.get("fcn32s", **fcn_kwargs)
    report = weights_mod.load_partial(model, vgg_path, card=registry.card("fcn32s"), build_kwargs=fcn_kwargs)
    assert report["ignored"] == ["fc8"] and {"score_fr", "upscore"} <= set(report["initialised"])

    proto = vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=32)
    transplanted = []
    for layer in keras_to_caffe(model):  # shapes of the FCN's blobs; values from the VGG16 file
        source = next((v for v in vgg_layers if v.name == layer.name), layer)
        layer.blobs = [s.reshape(t.shape) for s, t in zip(source.blobs, layer.blobs)]
        transplanted.append(layer)
    fcn_path = write_caffemodel(tmp_path / "fcn32s.caffemodel", transplanted)
    x = _input(67, 83)
    (want,) = opencv_forward(tmp_path, proto, fcn_path, x, ["relu7"])  # fc7 after its in-place ReLU
    fc7 = keras.Model(model.input, model.get_layer("fc7").output)
    assert_close(fc7(x.transpose(0, 2, 3, 1)), want)


def test_fixed_bilinear_layer_refuses_a_learned_kernel_and_nothing_loads(tmp_path):
    kwargs = {"width": 16, "num_classes": 5}
    path = tmp_path / "fcn32s.caffemodel"
    random_caffemodel(path, zoo.get("fcn32s", **kwargs), vgg16_prototxt((67, 83), fcn=32, **kwargs))
    model = zoo.get("fcn32s", **kwargs)  # fixed bilinear upsampling: a random upscore kernel cannot load
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(WeightsMismatchError, match="upscore"):
        weights_mod.load_into(model, path, card=registry.card("fcn32s"), build_kwargs=kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, np.asarray(b))


@pytest.mark.slow
def test_fcn8s_full_width(tmp_path):
    compare(tmp_path, "fcn8s", vgg16_prototxt((67, 83), num_classes=21, fcn=8), ["score"], fixed=("upscore8",))


INCEPTION = {  # Szegedy et al. 2015, Table 1: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64), "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet_prototxt(size, width=1, num_classes=1000, aux=False):
    """bvlc_googlenet deploy.prototxt (with `aux`, train_val's loss1/loss2 heads up to their classifiers)."""
    p = Prototxt((1, 3, size, size))
    w = lambda c: c // width  # noqa: E731
    x = p.conv("conv1/7x7_s2", "data", w(64), 7, stride=2, pad=3, relu="conv1/relu_7x7")
    x = p.lrn("pool1/norm1", p.pool("pool1/3x3_s2", x, 3, 2))
    x = p.conv("conv2/3x3_reduce", x, w(64), 1, relu="conv2/relu_3x3_reduce")
    x = p.conv("conv2/3x3", x, w(192), 3, pad=1, relu="conv2/relu_3x3")
    x = p.pool("pool2/3x3_s2", p.lrn("conv2/norm2", x), 3, 2)
    for name, (c1, r3, c3, r5, c5, pp) in INCEPTION.items():
        if name in ("4a", "5a"):
            x = p.pool(f"pool{name[0]}/3x3_s2", x, 3, 2)
        q = f"inception_{name}/"
        b1 = p.conv(q + "1x1", x, w(c1), 1, relu=q + "relu_1x1")
        b3 = p.conv(q + "3x3", p.conv(q + "3x3_reduce", x, w(r3), 1, relu=q + "relu_3x3_reduce"), w(c3), 3, pad=1,
                    relu=q + "relu_3x3")
        b5 = p.conv(q + "5x5", p.conv(q + "5x5_reduce", x, w(r5), 1, relu=q + "relu_5x5_reduce"), w(c5), 5, pad=2,
                    relu=q + "relu_5x5")
        bp = p.conv(q + "pool_proj", p.pool(q + "pool", x, 3, 1, pad=1), w(pp), 1, relu=q + "relu_pool_proj")
        x = p.add(q + "output", "Concat", (b1, b3, b5, bp))
        if aux and name in ("4a", "4d"):
            k = "loss1/" if name == "4a" else "loss2/"
            a = p.pool(k + "ave_pool", x, 5, 3, kind="AVE")
            a = p.conv(k + "conv", a, w(128), 1, relu=k + "relu_conv")
            a = p.fc(k + "fc", a, w(1024), relu=k + "relu_fc", drop=k + "drop_fc", ratio=0.7)
            p.fc(k + "classifier", a, num_classes)
    final = (size // 32) if size % 32 == 0 else None
    x = p.pool("pool5/7x7_s1", x, final, 1, kind="AVE")
    p.add("pool5/drop_7x7_s1", "Dropout", x, x, dropout_param={"dropout_ratio": 0.4})
    p.fc("loss3/classifier", x, num_classes)
    return p


def test_googlenet_small_with_aux_heads(tmp_path):
    # 128x128: maps 64 -> 32 -> 16 -> 8 -> 4; the auxiliary heads pool 8x8 to 2x2 (as 14 -> 4 at 224).
    model, path = compare(tmp_path, "googlenet", googlenet_prototxt(128, width=8, num_classes=10, aux=True),
                          ["loss3/classifier", "loss1/classifier", "loss2/classifier"],
                          width=8, num_classes=10, input_shape=(128, 128, 3), aux_logits=True)
    assert "inception_3a/1x1" in {layer.name for layer in read_caffemodel(path)}  # '/' names in the file

    # The released file carries the auxiliary heads; a model built without them (the default,
    # for inference) ignores those layers and computes the same main output.
    plain = zoo.get("googlenet", weights=path, width=8, num_classes=10, input_shape=(128, 128, 3))
    x = np.random.default_rng(0).normal(0, 50, (1, 128, 128, 3)).astype("float32")
    np.testing.assert_allclose(plain(x), model(x)[0], rtol=1e-5, atol=1e-5)


def test_googlenet_full_size(tmp_path):  # 7M parameters: cheap enough for the default tier
    compare(tmp_path, "googlenet", googlenet_prototxt(224), ["loss3/classifier"])


# ---------------------------------------------------------------- files of another architecture


def test_caffenet_file_into_fcn8s_is_refused_and_nothing_loads(tmp_path):
    template = zoo.get("caffenet", width=16, num_classes=10, input_shape=(103, 103, 3))
    path = tmp_path / "caffenet.caffemodel"
    random_caffemodel(path, template, bvlc_prototxt(False, 103, width=16, num_classes=10))
    kwargs = {"width": 16, "num_classes": 5}
    model = zoo.get("fcn8s", **kwargs)
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(WeightsMismatchError) as info:
        weights_mod.load_into(model, path, card=registry.card("fcn8s"), build_kwargs=kwargs)
    text = str(info.value)
    for name in ("conv1_1", "score_fr", "upscore8"):  # missing from the file
        assert name in text
    for name in ("conv1", "fc8"):  # in the file, not in fcn8s
        assert name in text
    assert "fc6:" in text  # in both, mis-shaped
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_fcn16s_file_into_fcn8s_is_refused_naming_the_stage_layers(tmp_path):
    """A released caffemodel of another FCN variant: strict loading names what differs; the staged
    initialisation (load_partial) is the way to start FCN-8s from it."""
    kwargs = {"width": 16, "num_classes": 5, "upsampling": "learned"}
    path = tmp_path / "fcn16s.caffemodel"
    random_caffemodel(path, zoo.get("fcn16s", **kwargs), vgg16_prototxt((67, 83), fcn=16, width=16, num_classes=5))
    model = zoo.get("fcn8s", **kwargs)
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(WeightsMismatchError) as info:
        weights_mod.load_into(model, path, card=registry.card("fcn8s"), build_kwargs=kwargs)
    text = str(info.value)
    assert "missing from the file: score_pool3, upscore8, upscore_pool4" in text
    assert "in the file but not in the model: upscore16" in text
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, np.asarray(b))
    report = weights_mod.load_partial(model, path, card=registry.card("fcn8s"), build_kwargs=kwargs)
    assert {"score_pool4", "upscore2", "score_fr"} <= set(report["loaded"]) and report["ignored"] == ["upscore16"]


# ---------------------------------------------------------------- the other FCNs of Long thesis ch. 3
# Deploy nets written from the reference net.py files (voc-fcn-alexnet, nyud-fcn32s-color-d,
# nyud-fcn32s-color-hha, siftflow-fcn16s): layer names, tops and crop offsets as Caffe has them.


def fcn_alexnet_prototxt(size, width=1, num_classes=21):
    """voc-fcn-alexnet/net.py: CaffeNet with conv1 pad 100, fc6 6x6, upscore 63/32, crop 18."""
    p = Prototxt((1, 3, size[0], size[1]))
    w = lambda c: c // width  # noqa: E731
    x = p.conv("conv1", "data", w(96), 11, stride=4, pad=100, relu="relu1")
    x = p.lrn("norm1", p.pool("pool1", x, 3, 2))
    x = p.conv("conv2", x, w(256), 5, pad=2, group=2, relu="relu2")
    x = p.lrn("norm2", p.pool("pool2", x, 3, 2))
    x = p.conv("conv3", x, w(384), 3, pad=1, relu="relu3")
    x = p.conv("conv4", x, w(384), 3, pad=1, group=2, relu="relu4")
    x = p.conv("conv5", x, w(256), 3, pad=1, group=2, relu="relu5")
    x = p.pool("pool5", x, 3, 2)
    x = p.conv("fc6", x, w(4096), 6, relu="relu6")
    x = p.conv("fc7", x, w(4096), 1, relu="relu7")
    x = p.conv("score_fr", x, num_classes, 1, relu=None)
    p.crop("score", p.deconv("upscore", x, num_classes, 63, 32), "data", 18)
    return p


@pytest.mark.parametrize("upsampling", ["learned", "fixed_bilinear"])
def test_fcn_alexnet_small(tmp_path, upsampling):
    """At an odd 67x83 input; random (learned) 63x63 upsampling kernels show every offset and flip, the
    fixed one is the release's odd-sized bilinear kernel computed as matrix products."""
    fixed = ("upscore",) if upsampling == "fixed_bilinear" else ()
    compare(tmp_path, "fcn_alexnet", fcn_alexnet_prototxt((67, 83), width=16, num_classes=5), ["score"], fixed=fixed,
            width=16, num_classes=5, upsampling=upsampling)


@pytest.mark.slow
def test_fcn_alexnet_full_width(tmp_path):
    compare(tmp_path, "fcn_alexnet", fcn_alexnet_prototxt((67, 83)), ["score"], fixed=("upscore",))


def renamed_layers(layers, rename, keep=()):
    """Copies of prototxt layers whose names, tops and bottoms are `rename`d, except the blobs in `keep`."""
    blob = lambda b: b if b in keep else rename(b)  # noqa: E731
    return [CaffeLayer(rename(layer.name), layer.type, tuple(map(blob, layer.bottom)), tuple(map(blob, layer.top)),
                       params=layer.params) for layer in layers]


def input_layer(shapes):
    """An `Input` layer with one top per {name: NCHW shape}."""
    return CaffeLayer("input", "Input", top=tuple(shapes),
                      params={"input_param": {"shape": [{"dim": list(s)} for s in shapes.values()]}})


def compare_feeds(tmp_path, name, prototxt, feeds, outputs, fixed=(), **kwargs):
    """`compare` for nets with other inputs: `feeds` {input name: NCHW array}, the same names in Caffe and Keras."""
    template = zoo.get(name, **kwargs)
    path = tmp_path / f"{name}.caffemodel"
    random_caffemodel(path, template, prototxt, fixed=fixed)
    write_prototxt(tmp_path / "deploy.prototxt", prototxt.layers, name="oracle")
    net = cv2.dnn.readNetFromCaffe(str(tmp_path / "deploy.prototxt"), str(path))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    for top, x in feeds.items():
        net.setInput(x, top)
    want = [np.asarray(o) for o in net.forward(outputs)]
    model = zoo.get(name, weights=path, **kwargs)
    nhwc = {top: x.transpose(0, 2, 3, 1) for top, x in feeds.items()}
    got = model(nhwc if len(nhwc) > 1 else next(iter(nhwc.values())))
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want)
    for g, o in zip(got, want):
        assert_close(g, o)


def test_fcn32s_rgbd_four_channel_input(tmp_path):
    """nyud-fcn32s-color-d: one 4-channel `data` blob (BGR + log depth) into conv1_1_bgrd."""
    proto = vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=32)
    proto.layers = [input_layer({"data": (1, 4, 67, 83)})] + renamed_layers(
        proto.layers[1:], lambda n: "conv1_1_bgrd" if n == "conv1_1" else n)
    compare_feeds(tmp_path, "fcn32s_rgbd", proto, {"data": _input(67, 83, 4)}, ["score"], fixed=("upscore",),
                  width=16, num_classes=5)


def test_fcn32s_rgbhha_late_fusion(tmp_path):
    """nyud-fcn32s-color-hha: two VGG16 streams named with their modality, scores fused by an Eltwise SUM
    with coefficients 0.5 and 0.5, one upsampling; two inputs `color` and `hha`."""
    stream = vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=32).layers[1:]
    stream = stream[: [layer.name for layer in stream].index("score_fr") + 1]
    proto = Prototxt((1, 3, 67, 83))
    proto.layers = [input_layer({"color": (1, 3, 67, 83), "hha": (1, 3, 67, 83)})]
    for modality in ("color", "hha"):
        proto.layers += renamed_layers(stream, lambda n, m=modality: m if n == "data" else n + m)
    x = proto.add("score_fused", "Eltwise", ("score_frcolor", "score_frhha"),
                  eltwise_param={"operation": Enum("SUM"), "coeff": [0.5, 0.5]})
    proto.crop("score", proto.deconv("upscore", x, 5, 64, 32), "color", 19)
    feeds = {"color": _input(67, 83), "hha": _input(67, 83)}
    compare_feeds(tmp_path, "fcn32s_rgbhha", proto, feeds, ["score"], width=16, num_classes=5, upsampling="learned")


def test_fcn16s_siftflow_two_heads(tmp_path):
    """siftflow-fcn16s: one trunk, a semantic and a geometric FCN-16s head, outputs score_sem and score_geo."""
    def head(num_classes, suffix):
        layers = vgg16_prototxt((67, 83), width=16, num_classes=num_classes, fcn=16).layers
        start = [layer.name for layer in layers].index("score_fr")
        return renamed_layers(layers[start:], lambda n: n + suffix, keep=("fc7", "pool4", "data"))

    proto = vgg16_prototxt((67, 83), width=16, num_classes=5, fcn=16)
    proto.layers = proto.layers[: [layer.name for layer in proto.layers].index("score_fr")]
    proto.layers += head(5, "_sem") + head(3, "_geo")
    fixed = ("upscore16_sem", "upscore16_geo")  # the 2x kernels random, as trained ones are
    compare_feeds(tmp_path, "fcn16s_siftflow", proto, {"data": _input(67, 83)}, ["score_sem", "score_geo"],
                  fixed=fixed, width=16, num_classes=5)
