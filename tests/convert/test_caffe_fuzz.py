"""Fuzzing the `.caffemodel` reader: damaged files end in WeightsFormatError, never anything else.

Inputs are derived from small valid files (new `layer` and old V1 `layers` formats, shaped and
legacy blobs, packed and unpacked floats): truncated, bit-flipped, overwritten, spliced, or
random bytes. Each must either parse cleanly or raise WeightsFormatError; a parsed file, loaded
into a Keras model, must then load or raise WeightsMismatchError/WeightsFormatError. Any other
exception, a crash or a hang is a bug. The decoder consumes at least one byte per step and
recurses only along the fixed schema, so a hang cannot happen by construction; the test checks
the behaviour, and each example runs in milliseconds.
"""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo import weights as weights_mod
from zoo.convert.caffe import caffe_to_keras, file_num_classes
from zoo.convert.caffe_proto import CaffeLayer, parse_net
from zoo.convert.caffe_writer import encode_net
from zoo.errors import WeightsFormatError, WeightsMismatchError

RNG = np.random.default_rng(0)


def _layers():
    r = lambda *s: RNG.normal(size=s).astype("float32")  # noqa: E731
    return [
        CaffeLayer("conv1", "Convolution", ("data",), ("conv1",), [r(3, 2, 2, 2), r(3)],
                   {"convolution_param": {"num_output": 3, "group": 1}}),
        CaffeLayer("relu1", "ReLU", ("conv1",), ("conv1",)),
        CaffeLayer("fc/a", "InnerProduct", ("conv1",), ("fc",), [r(4, 12), r(4)],
                   {"inner_product_param": {"num_output": 4}}),
        CaffeLayer("up", "Deconvolution", ("fc",), ("up",), [r(4, 2, 2, 2)], {"convolution_param": {"group": 1}}),
    ]


SEEDS = [
    encode_net(_layers(), name="fuzz"),
    encode_net(_layers(), name="fuzz", v1=True, legacy_shape=True),
    encode_net(_layers(), packed=False),
    encode_net(_layers(), double=True),
]


def _model():
    x = inputs = keras.Input((3, 3, 2))
    x = keras.layers.Conv2D(3, 2, name="conv1")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(4, name="fc_a")(x)
    x = keras.layers.Reshape((1, 1, 4))(x)
    return keras.Model(inputs, keras.layers.Conv2DTranspose(2, 2, use_bias=False, name="up")(x), name="fuzz")


@st.composite
def damaged(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "splice", "random"]))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if kind == "overwrite":
        pos = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.binary(min_size=1, max_size=16))
        data[pos : pos + len(chunk)] = chunk
        return bytes(data)
    if kind == "splice":  # delete or duplicate a span: shifts every later length prefix
        a = draw(st.integers(0, len(data) - 1))
        b = draw(st.integers(a, min(len(data), a + 64)))
        return bytes(data[:a] + (data[a:b] * 2 if draw(st.booleans()) else b"") + data[b:])
    return draw(st.binary(max_size=512))


def test_seeds_are_valid_and_load():
    model = _model()
    for data in SEEDS:
        _, layers = parse_net(data)
        weights_mod.assign_named(model, caffe_to_keras(layers, model))


@pytest.fixture(scope="module")
def model():
    return _model()


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged())
def test_damaged_files_fail_cleanly(model, data):
    try:
        _, layers = parse_net(data, "fuzz.caffemodel")
    except WeightsFormatError as e:
        assert "fuzz.caffemodel" in str(e)
        return
    for layer in layers:
        assert isinstance(layer.name, str) and layer.name
        assert all(blob.dtype == np.float32 for blob in layer.blobs)
    try:
        file_num_classes(layers, ("fc_a", "up"))
        weights_mod.assign_named(model, caffe_to_keras(layers, model))
    except (WeightsMismatchError, WeightsFormatError):
        pass
