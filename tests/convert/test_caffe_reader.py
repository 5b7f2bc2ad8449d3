"""The `.caffemodel` reader and its conversion to Keras layout.

Oracles: Google's `protobuf` runtime (with a message descriptor built here from caffe.proto's
field numbers) encodes files independently of our writer and decodes our writer's files; NumPy
implementations of Caffe's Convolution, InnerProduct and Deconvolution (NCHW, written from
Caffe's definitions) check the converted Keras layers numerically.
"""

import keras
import numpy as np
import pytest

from zoo import weights as weights_mod
from zoo.convert.caffe import caffe_to_keras, file_num_classes, load_caffemodel, read_caffemodel
from zoo.convert.caffe_proto import CaffeLayer, parse_net
from zoo.convert.caffe_writer import encode_net, keras_to_caffe, write_caffemodel
from zoo.errors import WeightsFormatError, WeightsMismatchError
from zoo.registry import InputContract, ModelCard

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.normal(size=shape).astype("float32")


# ---------------------------------------------------------------- NumPy references (Caffe, NCHW)


def conv_ref(x, w, b, pad=0, stride=1, group=1):
    """Caffe Convolution: x (C, H, W), w (O, C/g, kh, kw) -> (O, H', W'); cross-correlation."""
    c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((o, oh, ow))
    og = o // group
    for oc in range(o):
        g = oc // og
        xs = x[g * cg : (g + 1) * cg]
        for i in range(oh):
            for j in range(ow):
                window = xs[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
                out[oc, i, j] = np.sum(window * w[oc]) + b[oc]
    return out


def deconv_ref(x, w, stride):
    """Caffe Deconvolution (pad 0, no bias): x (C, H, W), w (C, O, kh, kw) -> (O, s(H-1)+kh, s(W-1)+kw)."""
    c, h, wd = x.shape
    _, o, kh, kw = w.shape
    out = np.zeros((o, stride * (h - 1) + kh, stride * (wd - 1) + kw))
    for ci in range(c):
        for i in range(h):
            for j in range(wd):
                out[:, i * stride : i * stride + kh, j * stride : j * stride + kw] += x[ci, i, j] * w[ci]
    return out


def ip_ref(x, w, b):
    """Caffe InnerProduct: the blob flattened in (C, H, W) order times w (O, C*H*W)."""
    return w @ x.reshape(-1) + b


def nhwc(x):
    return x.transpose(1, 2, 0)[None]


# ---------------------------------------------------------------- protobuf oracle


@pytest.fixture(scope="module")
def pb():
    """Message classes for the caffe.proto subset, built from field numbers with Google's runtime."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="zoo_caffe_subset.proto", package="zcaffe", syntax="proto2")

    def message(name, *fields):
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, repeated, type_name, packed in fields:
            f = m.field.add(name=fname, number=number, type=ftype,
                            label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                f.type_name = ".zcaffe." + type_name
            if packed:
                f.options.packed = True

    message("BlobShape", ("dim", 1, F.TYPE_INT64, True, None, True))
    message("BlobProto", ("shape", 7, F.TYPE_MESSAGE, False, "BlobShape", False),
            ("data", 5, F.TYPE_FLOAT, True, None, True), ("double_data", 8, F.TYPE_DOUBLE, True, None, True),
            ("num", 1, F.TYPE_INT32, False, None, False), ("channels", 2, F.TYPE_INT32, False, None, False),
            ("height", 3, F.TYPE_INT32, False, None, False), ("width", 4, F.TYPE_INT32, False, None, False))
    message("ConvolutionParameter", ("num_output", 1, F.TYPE_UINT32, False, None, False),
            ("bias_term", 2, F.TYPE_BOOL, False, None, False), ("kernel_size", 4, F.TYPE_UINT32, True, None, False),
            ("group", 5, F.TYPE_UINT32, False, None, False))
    message("InnerProductParameter", ("num_output", 1, F.TYPE_UINT32, False, None, False),
            ("transpose", 6, F.TYPE_BOOL, False, None, False))
    message("ParamSpec", ("name", 1, F.TYPE_STRING, False, None, False),
            ("lr_mult", 3, F.TYPE_FLOAT, False, None, False))
    message("LayerParameter", ("name", 1, F.TYPE_STRING, False, None, False),
            ("type", 2, F.TYPE_STRING, False, None, False), ("bottom", 3, F.TYPE_STRING, True, None, False),
            ("top", 4, F.TYPE_STRING, True, None, False), ("loss_weight", 5, F.TYPE_FLOAT, True, None, False),
            ("param", 6, F.TYPE_MESSAGE, True, "ParamSpec", False),
            ("blobs", 7, F.TYPE_MESSAGE, True, "BlobProto", False),
            ("phase", 10, F.TYPE_INT32, False, None, False),
            ("convolution_param", 106, F.TYPE_MESSAGE, False, "ConvolutionParameter", False),
            ("inner_product_param", 117, F.TYPE_MESSAGE, False, "InnerProductParameter", False))
    message("V1LayerParameter", ("bottom", 2, F.TYPE_STRING, True, None, False),
            ("top", 3, F.TYPE_STRING, True, None, False), ("name", 4, F.TYPE_STRING, False, None, False),
            ("type", 5, F.TYPE_INT32, False, None, False), ("blobs", 6, F.TYPE_MESSAGE, True, "BlobProto", False),
            ("blobs_lr", 7, F.TYPE_FLOAT, True, None, False),
            ("convolution_param", 10, F.TYPE_MESSAGE, False, "ConvolutionParameter", False),
            ("inner_product_param", 17, F.TYPE_MESSAGE, False, "InnerProductParameter", False))
    message("NetParameter", ("name", 1, F.TYPE_STRING, False, None, False),
            ("layers", 2, F.TYPE_MESSAGE, True, "V1LayerParameter", False),
            ("input", 3, F.TYPE_STRING, True, None, False), ("input_dim", 4, F.TYPE_INT32, True, None, False),
            ("layer", 100, F.TYPE_MESSAGE, True, "LayerParameter", False))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {m.name: message_factory.GetMessageClass(pool.FindMessageTypeByName("zcaffe." + m.name))
            for m in fdp.message_type}


def _pb_net(pb, v1):
    """A NetParameter made by Google's encoder, with fields our decoder must skip (input, param, ...)."""
    w, b, fc = rand(4, 3, 3, 3), rand(4), rand(5, 36)
    net = pb["NetParameter"](name="pbnet", input=["data"], input_dim=[1, 3, 5, 5])
    if v1:
        conv = net.layers.add(name="conv1", type=4, bottom=["data"], top=["conv1"], blobs_lr=[1.0, 2.0])
        conv.convolution_param.num_output = 4
        conv.convolution_param.group = 1
        conv.blobs.add(num=4, channels=3, height=3, width=3).data.extend(w.ravel())
        conv.blobs.add(num=1, channels=1, height=1, width=4).data.extend(b.ravel())
        net.layers.add(name="relu1", type=18, bottom=["conv1"], top=["conv1"])
        ip = net.layers.add(name="fc/x", type=14, bottom=["conv1"], top=["fc"])
        ip.blobs.add(num=1, channels=1, height=5, width=36).data.extend(fc.ravel())
    else:
        conv = net.layer.add(name="conv1", type="Convolution", bottom=["data"], top=["conv1"], phase=1)
        conv.param.add(name="w", lr_mult=1.0)
        conv.convolution_param.num_output = 4
        conv.convolution_param.kernel_size.append(3)
        conv.blobs.add(shape=pb["BlobShape"](dim=[4, 3, 3, 3])).data.extend(w.ravel())
        conv.blobs.add(shape=pb["BlobShape"](dim=[4])).double_data.extend(b.ravel())
        net.layer.add(name="relu1", type="ReLU", bottom=["conv1"], top=["conv1"], loss_weight=[0.0])
        ip = net.layer.add(name="fc/x", type="InnerProduct", bottom=["conv1"], top=["fc"])
        ip.blobs.add(shape=pb["BlobShape"](dim=[5, 36])).data.extend(fc.ravel())
    return net.SerializeToString(), (w, b, fc)


@pytest.mark.parametrize("v1", [False, True], ids=["layer", "v1_layers"])
def test_reads_files_encoded_by_google_protobuf(pb, v1):
    data, (w, b, fc) = _pb_net(pb, v1)
    name, layers = parse_net(data)
    assert name == "pbnet"
    assert [(l.name, l.type, l.bottom, l.top) for l in layers] == [
        ("conv1", "Convolution", ("data",), ("conv1",)),
        ("relu1", "ReLU", ("conv1",), ("conv1",)),
        ("fc/x", "InnerProduct", ("conv1",), ("fc",)),
    ]
    assert layers[0].params["convolution_param"]["num_output"] == 4
    conv_w, conv_b = layers[0].blobs
    np.testing.assert_array_equal(conv_w, w)
    np.testing.assert_array_equal(conv_b.reshape(-1), b)
    assert conv_b.shape == ((1, 1, 1, 4) if v1 else (4,))  # legacy 4-D dims are kept as Caffe reads them
    np.testing.assert_array_equal(layers[2].blobs[0].reshape(5, 36), fc)
    assert layers[1].blobs == []


@pytest.mark.parametrize(
    "options",
    [{}, {"v1": True}, {"legacy_shapes": True}, {"double": True}, {"packed": False},
     {"v1": True, "legacy_shapes": True}],
    ids=["layer", "v1", "legacy", "double", "unpacked", "v1_legacy"],
)
def test_writer_output_decodes_with_google_protobuf(pb, tmp_path, options):
    layers = [
        CaffeLayer("conv1", "Convolution", ("data",), ("conv1",), [rand(4, 3, 3, 3), rand(4)],
                   {"convolution_param": {"num_output": 4, "group": 1}}),
        CaffeLayer("fc", "InnerProduct", ("conv1",), ("fc",), [rand(5, 36), rand(5)],
                   {"inner_product_param": {"num_output": 5, "transpose": False}}),
    ]
    path = write_caffemodel(tmp_path / "w.caffemodel", layers, name="net", **options)
    net = pb["NetParameter"].FromString(path.read_bytes())
    got = list(net.layers if options.get("v1") else net.layer)
    assert [l.name for l in got] == ["conv1", "fc"]
    assert [l.type for l in got] == ([4, 14] if options.get("v1") else ["Convolution", "InnerProduct"])
    for layer, want in zip(got, layers):
        for blob, array in zip(layer.blobs, want.blobs):
            values = blob.double_data if options.get("double") else blob.data
            np.testing.assert_array_equal(np.asarray(values, "float32"), array.ravel())
            if options.get("legacy_shapes"):
                assert (blob.num, blob.channels, blob.height, blob.width) == (1,) * (4 - array.ndim) + array.shape
            else:
                assert tuple(blob.shape.dim) == array.shape
    assert got[0].convolution_param.num_output == 4
    # and our reader agrees with what it wrote
    back = read_caffemodel(path)
    for layer, want in zip(back, layers):
        for blob, array in zip(layer.blobs, want.blobs):
            np.testing.assert_array_equal(blob.reshape(-1), array.ravel())


# ---------------------------------------------------------------- malformed files


def _valid_bytes():
    return encode_net([CaffeLayer("conv1", "Convolution", blobs=[rand(2, 1, 3, 3), rand(2)])], name="n")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "holds no layers"),
        (b'name: "CaffeNet"\nlayer {\n  name: "conv1"\n}\n', "wire type"),  # a text prototxt
        (b"\x89PNG\r\n\x1a\n" + bytes(32), "byte"),
        (b"\x89HDF\r\n\x1a\n" + bytes(32), "byte"),
        (b"\x0a\x05ab", "runs past the end"),  # name of 5 bytes, 2 present
        (b"\xa2\x06\x80", "truncated varint"),  # layer (field 100), length varint cut short
        (b"\x08" + b"\xff" * 11, "longer than 10 bytes"),
    ],
    ids=["empty", "prototxt", "png", "hdf5", "short_string", "short_varint", "long_varint"],
)
def test_not_a_caffemodel(tmp_path, data, message):
    path = tmp_path / "bad.caffemodel"
    path.write_bytes(data)
    with pytest.raises(WeightsFormatError, match=message) as info:
        read_caffemodel(path)
    assert str(path) in str(info.value)


def test_truncated_file_names_offset_and_field(tmp_path):
    data = _valid_bytes()
    path = tmp_path / "cut.caffemodel"
    path.write_bytes(data[: len(data) - 7])
    with pytest.raises(WeightsFormatError, match=r"cut\.caffemodel .*at byte \d+ \(in NetParameter field 100\)"):
        read_caffemodel(path)


def test_blob_whose_values_do_not_fill_its_shape():
    layer = CaffeLayer("conv1", "Convolution", blobs=[rand(2, 1, 3, 3)])
    good = encode_net([layer])
    # declare 3 output channels over the 18 stored values
    bad = good.replace(b"\x3a\x06\x0a\x04\x02\x01\x03\x03", b"\x3a\x06\x0a\x04\x03\x01\x03\x03")
    assert bad != good
    with pytest.raises(WeightsFormatError, match=r"blob of shape \(3, 1, 3, 3\) \(27 values\) holds 18 values"):
        parse_net(bad, "x.caffemodel")


def test_v0_layers_are_refused_with_advice():
    v0 = b"\x0a\x05" + b"\x0a\x03abc"  # V1LayerParameter { layer (V0) { name: "abc" } }
    with pytest.raises(WeightsFormatError, match="upgrade_net_proto_binary"):
        parse_net(b"\x12" + bytes([len(v0)]) + v0)


def test_missing_file(tmp_path):
    with pytest.raises(WeightsFormatError, match="cannot read caffemodel"):
        read_caffemodel(tmp_path / "nope.caffemodel")


# ---------------------------------------------------------------- conversion, against NumPy references


def small_classifier(permute=False):
    """conv (2 groups) -> Flatten [after a Permute to Caffe's C,H,W] -> Dropout -> fc_a ('fc/a' in Caffe)."""
    x = inputs = keras.Input((6, 5, 4))
    x = keras.layers.Conv2D(6, 3, padding="same", groups=2, name="conv1")(x)
    if permute:
        x = keras.layers.Permute((3, 1, 2))(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(inputs, keras.layers.Dense(7, name="fc_a")(x), name="small")


def classifier_layers(legacy=False):
    w, b, fw, fb = rand(6, 2, 3, 3), rand(6), rand(7, 6 * 6 * 5), rand(7)
    if legacy:  # as V1-era files store them
        b, fw, fb = b.reshape(1, 1, 1, 6), fw.reshape(1, 1, 7, 180), fb.reshape(1, 1, 1, 7)
    return [
        CaffeLayer("conv1", "Convolution", ("data",), ("conv1",), [w, b],
                   {"convolution_param": {"num_output": 6, "group": 2}}),
        CaffeLayer("fc/a", "InnerProduct", ("conv1",), ("fc/a",), [fw, fb], {"inner_product_param": {"num_output": 7}}),
    ]


def classifier_ref(x, layers):
    conv, fc = layers
    y = conv_ref(x, conv.blobs[0], conv.blobs[1].reshape(-1), pad=1, group=2)
    return ip_ref(y, fc.blobs[0].reshape(7, -1), fc.blobs[1].reshape(-1))


@pytest.mark.parametrize(
    "options",
    [{}, {"v1": True, "legacy_shapes": True}, {"double": True, "packed": False}],
    ids=["layer", "v1_legacy", "double_unpacked"],
)
@pytest.mark.parametrize("permute", [False, True], ids=["flatten_hwc", "permute_chw"])
def test_grouped_conv_and_fc_after_flatten_match_caffe(tmp_path, options, permute):
    layers = classifier_layers()
    path = write_caffemodel(tmp_path / "small.caffemodel", layers, **options)
    model = small_classifier(permute)
    load_caffemodel(model, path)
    x = rand(4, 6, 5)
    np.testing.assert_allclose(model(nhwc(x))[0], classifier_ref(x, layers), rtol=1e-4, atol=1e-4)


def test_legacy_4d_blobs_in_new_format(tmp_path):
    layers = classifier_layers(legacy=True)
    path = write_caffemodel(tmp_path / "legacy.caffemodel", layers)
    model = small_classifier()
    load_caffemodel(model, path)
    x = rand(4, 6, 5)
    np.testing.assert_allclose(model(nhwc(x))[0], classifier_ref(x, layers), rtol=1e-4, atol=1e-4)


def test_inner_product_with_transposed_storage(tmp_path):
    layers = classifier_layers()
    fc = layers[1]
    stored = CaffeLayer(fc.name, fc.type, blobs=[fc.blobs[0].T.copy(), fc.blobs[1]],
                        params={"inner_product_param": {"num_output": 7, "transpose": True}})
    path = write_caffemodel(tmp_path / "t.caffemodel", [layers[0], stored])
    model = small_classifier()
    load_caffemodel(model, path)
    x = rand(4, 6, 5)
    np.testing.assert_allclose(model(nhwc(x))[0], classifier_ref(x, layers), rtol=1e-4, atol=1e-4)


def test_inner_product_into_conv_and_conv_into_dense(tmp_path):
    """FCN's convolutionalized fc6 (Long et al. 2015 §3.1): Caffe InnerProduct over a 3x3x4 map
    == a 3x3 Conv2D; and the reverse, a Caffe 3x3 Convolution loaded into a Dense after Flatten."""
    w, b = rand(5, 36), rand(5)
    x = rand(4, 3, 3)
    want = ip_ref(x, w, b)
    inputs = keras.Input((3, 3, 4))
    as_conv = keras.Model(inputs, keras.layers.Conv2D(5, 3, name="fc6")(inputs))
    ip = CaffeLayer("fc6", "InnerProduct", blobs=[w, b])
    load_caffemodel(as_conv, write_caffemodel(tmp_path / "ip.caffemodel", [ip]))
    np.testing.assert_allclose(as_conv(nhwc(x))[0, 0, 0], want, rtol=1e-4, atol=1e-4)

    as_dense = keras.Model(inputs, keras.layers.Dense(5, name="fc6")(keras.layers.Flatten()(inputs)))
    conv = CaffeLayer("fc6", "Convolution", blobs=[w.reshape(5, 4, 3, 3), b])
    load_caffemodel(as_dense, write_caffemodel(tmp_path / "conv.caffemodel", [conv]))
    np.testing.assert_allclose(as_dense(nhwc(x))[0], want, rtol=1e-4, atol=1e-4)


def test_deconvolution_into_conv2d_transpose(tmp_path):
    w = rand(3, 2, 4, 4)  # Caffe (C_in, C_out, kh, kw); asymmetric, so a flipped kernel would fail
    inputs = keras.Input((5, 6, 3))
    model = keras.Model(inputs, keras.layers.Conv2DTranspose(2, 4, strides=2, use_bias=False, name="up")(inputs))
    load_caffemodel(model, write_caffemodel(tmp_path / "d.caffemodel", [CaffeLayer("up", "Deconvolution", blobs=[w])]))
    x = rand(3, 5, 6)
    np.testing.assert_allclose(model(nhwc(x))[0], deconv_ref(x, w, 2).transpose(1, 2, 0), rtol=1e-4, atol=1e-4)


def test_keras_to_caffe_inverts_the_conversion(tmp_path):
    model = small_classifier()
    x = rand(4, 6, 5)
    want = np.asarray(model(nhwc(x)))
    exported = keras_to_caffe(model, names={"fc_a": "fc/a"})
    assert [(l.name, l.type, [b.shape for b in l.blobs]) for l in exported] == [
        ("conv1", "Convolution", [(6, 2, 3, 3), (6,)]),
        ("fc/a", "InnerProduct", [(7, 180), (7,)]),
    ]
    np.testing.assert_allclose(classifier_ref(x, exported), want[0], rtol=1e-4, atol=1e-4)
    fresh = small_classifier()
    load_caffemodel(fresh, write_caffemodel(tmp_path / "e.caffemodel", exported))
    np.testing.assert_allclose(fresh(nhwc(x)), want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- strictness


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def test_other_architecture_is_refused_and_nothing_loads(tmp_path):
    model = small_classifier()
    before = _weights(model)
    other = [
        CaffeLayer("conv1", "Convolution", blobs=[rand(8, 2, 3, 3), rand(8)]),  # 8 filters, the model has 6
        CaffeLayer("fc/b", "InnerProduct", blobs=[rand(7, 180), rand(7)]),  # fc_a is missing, fc_b is extra
    ]
    with pytest.raises(WeightsMismatchError) as info:
        load_caffemodel(model, write_caffemodel(tmp_path / "other.caffemodel", other))
    text = str(info.value)
    assert "missing from the file: fc_a" in text and "not in the model: fc_b" in text and "conv1:" in text
    for a, b in zip(before, _weights(model)):
        np.testing.assert_array_equal(a, b)


def test_same_size_but_other_split_is_not_coerced(tmp_path):
    """An InnerProduct of 288 weights as (16, 18) must not be reshaped into a (3, 3, 4, 8) kernel."""
    inputs = keras.Input((3, 3, 4))
    model = keras.Model(inputs, keras.layers.Conv2D(8, 3, name="fc6")(inputs))
    with pytest.raises(WeightsMismatchError, match=r"fc6: file has \[\(18, 16\), \(16,\)\]"):
        ip = CaffeLayer("fc6", "InnerProduct", blobs=[rand(16, 18), rand(16)])
        load_caffemodel(model, write_caffemodel(tmp_path / "x.caffemodel", [ip]))

    dense = keras.Model(inputs, keras.layers.Dense(5, name="fc6")(keras.layers.Flatten()(inputs)))
    # a (5, 1, 6, 6) kernel has the 36 inputs of the flattened 3x3x4 map, but not its layout
    with pytest.raises(WeightsMismatchError, match=r"fc6: file has \[\(6, 6, 1, 5\)"):
        conv = CaffeLayer("fc6", "Convolution", blobs=[rand(5, 1, 6, 6), rand(5)])
        load_caffemodel(dense, write_caffemodel(tmp_path / "y.caffemodel", [conv]))


def test_unsupported_layer_type_for_the_keras_layer(tmp_path):
    model = small_classifier()
    layers = [CaffeLayer("conv1", "PReLU", blobs=[rand(6)]),
              CaffeLayer("fc/a", "InnerProduct", blobs=[rand(7, 180), rand(7)])]
    with pytest.raises(WeightsMismatchError, match=r"conv1 \(Caffe PReLU into Keras Conv2D\)"):
        load_caffemodel(model, write_caffemodel(tmp_path / "p.caffemodel", layers))


def test_two_caffe_layers_mapping_to_one_keras_name(tmp_path):
    layers = [CaffeLayer("fc/a", "InnerProduct", blobs=[rand(7, 180)]),
              CaffeLayer("fc_a", "InnerProduct", blobs=[rand(7, 180)])]
    with pytest.raises(WeightsFormatError, match="two learned layers that map to 'fc_a'"):
        caffe_to_keras(layers, small_classifier())


# ---------------------------------------------------------------- the zoo reader: head size from the file


def test_zoo_reader_reinitialises_a_head_of_another_size(tmp_path):
    def builder(num_classes=7):
        x = inputs = keras.Input((6, 5, 4))
        x = keras.layers.Conv2D(6, 3, padding="same", groups=2, name="conv1")(x)
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes, name="fc_a")(x), name="small")

    card = ModelCard(name="small", builder_path="tests:small", family="test", paper="", section="", task="classification",
                     input_contract=InputContract(shape=(6, 5, 4)), head_layers=("fc_a",), default_num_classes=7)
    card._builder = builder  # a builder defined here, not importable by path
    layers = classifier_layers()
    path = write_caffemodel(tmp_path / "small.caffemodel", layers)
    assert file_num_classes(read_caffemodel(path), card.head_layers) == 7

    model = builder(num_classes=3)
    head_before = _weights(model)[2:]
    weights_mod.load_into(model, path, card=card, build_kwargs={"num_classes": 3})
    np.testing.assert_array_equal(model.get_layer("conv1").get_weights()[0], layers[0].blobs[0].transpose(2, 3, 1, 0))
    for a, b in zip(head_before, _weights(model)[2:]):
        np.testing.assert_array_equal(a, b)  # fc_a kept its fresh initialisation
