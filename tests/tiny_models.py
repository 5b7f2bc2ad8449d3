"""Tiny test-only models, registered hidden under `test/` (not shown by `zoo list`).

They exercise the runner, the distributed step, export and bench in seconds; they stand for no
paper. Registered through ZOO_PLUGINS=tests.tiny_models, which tests/conftest.py sets for the
test process and every subprocess it starts.
"""

from zoo.registry import InputContract, register

_CONTRACT = InputContract(shape=(None, None, 3), channel_order="RGB", mean=(127.5,) * 3, std=(127.5,) * 3)


def tiny_segmenter(num_classes=3, input_shape=(None, None, 3), dropout=0.0):
    """A three-layer stride-2 segmenter for tests of the runner and export."""
    import keras

    x = inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="drop")(x)
    x = keras.layers.Conv2D(num_classes, 1, name="score")(x)
    x = keras.layers.Conv2DTranspose(num_classes, 4, strides=2, padding="same", name="upscore")(x)
    return keras.Model(inputs, x, name="tiny_segmenter")


def tiny_classifier(num_classes=4, input_shape=(16, 16, 3)):
    """A conv + dense classifier for tests."""
    import keras

    x = inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(num_classes, name="fc")(x)
    return keras.Model(inputs, x, name="tiny_classifier")


register(
    "test/tiny_segmenter", builder="tests.tiny_models:tiny_segmenter", family="testing", paper="none (test-only)",
    section="-", task="segmentation", input_contract=_CONTRACT, head_layers=("score", "upscore"),
    default_num_classes=3, hidden=True,
    # conv1 3·3·3·8+8, conv2 3·3·8·8+8, score 8·3+3, upscore 4·4·3·3+3
    parameters={"total": 982, "trainable": 982},
)
register(
    "test/tiny_classifier", builder="tests.tiny_models:tiny_classifier", family="testing", paper="none (test-only)",
    section="-", task="classification",
    input_contract=InputContract(shape=(16, 16, 3), channel_order="RGB", mean=(127.5,) * 3, std=(127.5,) * 3),
    head_layers=("fc",), default_num_classes=4, hidden=True,
    parameters={"total": 260, "trainable": 260},  # conv1 3·3·3·8+8, fc 8·4+4
)
