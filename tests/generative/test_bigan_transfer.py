"""BiGAN's encoder as a supervised AlexNet (Donahue thesis §5.3.3, Tables 5.2 / 5.3): the release's
transfer net (CaffeNet without LRN, leaky ReLU), the layers `train_from` freezes, and the encoder's
convs loaded with their BN folded in: the transfer net's conv5 equals the encoder's at inference."""

import keras
import numpy as np
import pytest

from zoo import registry
from zoo.errors import ConfigError
from zoo.export.transfer import load_bigan_encoder
from zoo.models.bigan.bigan_alexnet import bigan_alexnet
from zoo.models.bigan.transfer import bigan_alexnet_transfer


def test_full_size_is_caffenet_sized_and_ends_in_a_6x6_pool5():
    model = bigan_alexnet_transfer()
    assert model.count_params() == 60_965_224 == registry.card("bigan_alexnet_transfer").parameters["total"]
    assert tuple(model.get_layer("pool5").output.shape[1:]) == (6, 6, 256)
    assert all(isinstance(model.get_layer(f"relu{i}"), keras.layers.LeakyReLU) for i in (1, 2, 3, 4, 5, 6, 7))


@pytest.mark.parametrize("train_from, frozen", [
    ("conv1", []), ("conv3", ["conv1", "conv2"]), ("fc6", ["conv1", "conv2", "conv3", "conv4", "conv5"]),
    ("fc8", ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"])])
def test_train_from_freezes_every_layer_before_it(train_from, frozen):
    model = bigan_alexnet_transfer(num_classes=5, train_from=train_from, input_shape=(64, 64, 3), fc_units=16)
    names = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert [n for n in names if not model.get_layer(n).trainable] == frozen
    with pytest.raises(ConfigError, match="train_from"):
        bigan_alexnet_transfer(train_from="fc7")


def test_loaded_encoder_gives_the_encoders_conv5_features():
    keras.utils.set_random_seed(0)
    bigan = bigan_alexnet(latent_dim=10, gf=8, df=8)
    encoder = bigan.get_layer("encoder")
    rng = np.random.default_rng(0)
    for i in range(1, 6):  # trained-looking BN statistics, so the fold matters
        bn = encoder.get_layer(f"conv{i}_bn")
        n = bn.moving_mean.shape[0]
        bn.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n), rng.normal(0, 0.2, n), rng.uniform(0.3, 3, n)])
    net = bigan_alexnet_transfer(num_classes=5, input_shape=(64, 64, 3), fc_units=16)
    report = load_bigan_encoder(bigan, net)
    assert sorted(report["loaded"]) == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    ours = keras.Model(net.inputs, net.get_layer("relu5").output)(x)
    theirs = keras.Model(encoder.inputs, encoder.get_layer("conv5_lrelu").output)(x, training=False)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-4)


def test_exported_encoder_file_initialises_a_transfer_recipes_model(tmp_path):
    """python -m zoo.export.transfer on a run's weights file; a net with another head size loads it (fc8 skipped)."""
    import json

    from zoo.export import transfer
    from zoo.weights import load_partial

    keras.utils.set_random_seed(1)
    options = {"latent_dim": 10, "gf": 8, "df": 8}
    bigan = bigan_alexnet(**options)
    run = tmp_path / "final.weights.h5"
    bigan.save_weights(run)
    (tmp_path / "final.weights.json").write_text(json.dumps({"model": "bigan_alexnet", "options": options}))
    out = tmp_path / "transfer.weights.h5"
    net_options = {"num_classes": 5, "input_shape": [64, 64, 3], "fc_units": 16}
    transfer.export_bigan_encoder(run, out, **net_options)
    target = bigan_alexnet_transfer(num_classes=3, train_from="fc6", input_shape=(64, 64, 3), fc_units=16)
    report = load_partial(target, out, card=registry.card("bigan_alexnet_transfer"),
                          build_kwargs={"num_classes": 3, "input_shape": (64, 64, 3), "fc_units": 16})
    assert "fc8" not in report["loaded"] and "conv5" in report["loaded"]
    x = np.random.default_rng(2).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    theirs = keras.Model(bigan.get_layer("encoder").inputs, bigan.get_layer("encoder").get_layer("conv5_lrelu").output)
    ours = keras.Model(target.inputs, target.get_layer("relu5").output)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x, training=False)), rtol=1e-4, atol=1e-4)
    with pytest.raises(SystemExit):
        transfer.main([str(run), str(tmp_path / "bad.h5")])
