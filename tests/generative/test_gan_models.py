"""DCGAN (Oquab thesis App. C) and BiGAN MLP (Donahue thesis App. 5.5.3.1): parameter counts derived
by hand from the papers' layer sizes, shapes, the two discriminator variants, parameter-free BN and
D's conditioning on z."""

import numpy as np
import pytest

import keras

from zoo import registry
from zoo.models.bigan import bigan
from zoo.models.dcgan import dcgan


def _count(model, trainable=None):
    weights = model.weights if trainable is None else (model.trainable_weights if trainable else model.non_trainable_weights)
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize("gf", [32, 64, 96])
def test_generator_parameters_and_shapes(gf):
    g = dcgan.dcgan_generator(gf)
    # 4x4 deconvolutions without bias: 100 -> 8gf -> 4gf -> 2gf -> gf -> 3
    kernels = 16 * (100 * 8 * gf + 8 * gf * 4 * gf + 4 * gf * 2 * gf + 2 * gf * gf + gf * 3)
    bn = (8 + 4 + 2 + 1) * gf  # channels with BN: gamma, beta trainable; moving mean, variance not
    assert _count(g, True) == kernels + 2 * bn and _count(g, False) == 2 * bn
    sizes = [g.get_layer(f"dc{i}").output.shape[1:] for i in range(1, 6)]
    assert sizes == [(4, 4, 8 * gf), (8, 8, 4 * gf), (16, 16, 2 * gf), (32, 32, gf), (64, 64, 3)]
    if gf == 64:
        assert _count(g) == registry.card("dcgan_generator").parameters["total"] == 3_578_624


@pytest.mark.parametrize("df", [32, 64, 96])
def test_discriminator_variants(df):
    torch_d = dcgan.dcgan_discriminator(df)
    kernels = 16 * (3 * df + df * 2 * df + 2 * df * 4 * df + 4 * df * 8 * df + 8 * df)
    assert _count(torch_d, True) == kernels + 2 * 14 * df  # BN on c2..c4 only
    printed = dcgan.dcgan_discriminator(df, variant="appendix")
    assert _count(printed, True) == kernels + 2 * 15 * df  # BN on c1 too, as printed
    assert [torch_d.get_layer(f"c{i}").output.shape[1] for i in range(1, 6)] == [32, 16, 8, 4, 1]
    assert any(isinstance(lay, keras.layers.LeakyReLU) for lay in torch_d.layers)
    assert not any(isinstance(lay, keras.layers.LeakyReLU) for lay in printed.layers)
    assert "c1_bn" in [lay.name for lay in printed.layers] and "c1_bn" not in [lay.name for lay in torch_d.layers]
    if df == 64:
        assert _count(torch_d) == registry.card("dcgan_discriminator").parameters["total"] == 2_767_360


def test_dcgan_pair_is_what_the_adversarial_step_trains():
    from zoo.training.steps.adversarial import sub_models

    pair = dcgan.dcgan(8, 8)
    assert sorted(sub_models(pair)) == ["discriminator", "generator"]
    out = pair({"image": np.zeros((2, 64, 64, 3), "float32"), "noise": np.ones((2, 100), "float32")})
    assert out["generated"].shape == (2, 64, 64, 3) and out["real"].shape == (2, 1) and out["fake"].shape == (2, 1)
    assert np.abs(np.asarray(out["generated"])).max() <= 1
    with pytest.raises(Exception, match="variant"):
        dcgan.dcgan_discriminator(8, variant="lua")


def test_bigan_mlp_parameters_by_hand():
    model = bigan.bigan_mlp()
    x, z, h = 784, 50, 1024
    # E: fc1 784x1024 + b, fc2 1024x1024 (no bias, parameter-free BN follows), fc3 1024x50 + b
    assert _count(model.get_layer("encoder"), True) == x * h + h + h * h + h * z + z == 1_903_666
    # G: fc1 50x1024 + b, fc2 1024x1024, fc3 1024x784 + b
    assert _count(model.get_layer("generator"), True) == z * h + h + h * h + h * x + x == 1_904_400
    # D: fc1 784x1024 + b, fc2 1024x1024, fc3 1024x1 + b, and z -> 1024, 1024, 1 projections
    assert _count(model.get_layer("discriminator"), True) == x * h + h + h * h + h + 1 + z * (2 * h + 1) == 1_955_891
    # parameter-free BN: only moving mean and variance (1024 each) in each network
    for name in ("encoder", "generator", "discriminator"):
        bn = model.get_layer(name).get_layer("bn2")
        assert not bn.trainable_weights and _count(bn) == 2 * h
    assert _count(model) == registry.card("bigan_mlp").parameters["total"]


def test_bigan_mlp_activations_and_z_conditioning():
    model = bigan.bigan_mlp(hidden=16, latent_dim=5)
    enc, gen, disc = (model.get_layer(n) for n in ("encoder", "generator", "discriminator"))
    assert enc.get_layer("act1").negative_slope == pytest.approx(0.2)
    assert disc.get_layer("act2").negative_slope == pytest.approx(0.2)
    assert isinstance(gen.get_layer("act1"), keras.layers.ReLU)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 28, 28, 1)).astype("float32")
    z1, z2 = rng.uniform(-1, 1, (2, 4, 5)).astype("float32")
    assert not np.allclose(disc([x, z1]), disc([x, z2]))  # D sees z at each layer
    plain = bigan.bigan_mlp(hidden=16, latent_dim=5, joint=False).get_layer("discriminator")
    assert len(plain.inputs) == 1
    assert gen(z1).shape == (4, 28, 28, 1)


@pytest.mark.slow  # about 2.5 min on 2 shared cores (graph tracing of the pair); the step itself is covered fast
def test_dcgan_recipe_runs_on_the_shapes_standin(tmp_path):
    from pathlib import Path

    from zoo.training import recipes, runner

    path = Path(__file__).resolve().parents[2] / "zoo/recipes/dcgan/dcgan_shapes.toml"
    recipe = recipes.load(str(path), ["train.steps=4", "train.checkpoint_every=2", "train.log_every=2",
                                      "model.options.gf=4", "model.options.df=4", "data.global_batch_size=8",
                                      "data.options.num_examples=32", "data.eval_split=''"])
    res = runner.train(recipe, tmp_path / "run")
    samples = res.model.get_layer("generator")(np.random.default_rng(0).standard_normal((3, 100)).astype("float32"))
    assert samples.shape == (3, 64, 64, 3) and np.isfinite(np.asarray(samples)).all()
    assert (tmp_path / "run" / "final.weights.h5").exists()


def test_bigan_alexnet_parameters_shapes_and_initialisation():
    from zoo.models.bigan import bigan_alexnet

    keras.utils.set_random_seed(0)
    model = bigan_alexnet.bigan_alexnet()
    enc, gen, disc = (model.get_layer(n) for n in ("encoder", "generator", "discriminator"))
    # E: conv1 11x11x3x96, conv2 5x5x48x256 (2 groups), conv3 3x3x256x384, conv4 3x3x192x384, conv5 3x3x192x256,
    # no conv bias (BN follows), BN gamma/beta on 1376 channels, fc_z 2304x200 + 200
    assert _count(enc, True) == 34_848 + 307_200 + 884_736 + 663_552 + 442_368 + 2 * 1376 + 461_000
    # G: fc 200 x 4*4*1024, BN 1024, deconv 5x5 1024->512->256->128 (BN) ->3 (+ bias)
    assert _count(gen, True) == 3_276_800 + 13_107_200 + 3_276_800 + 819_200 + 9_600 + 3 + 2 * 1920
    # D: conv 5x5 3->128 (+bias) ->256->512->1024 (BN on the last three), z projections 200 x (128+256+512+1024+1),
    # logit 4*4*1024 + 1
    assert _count(disc, True) == 9_600 + 128 + 819_200 + 3_276_800 + 13_107_200 + 2 * 1792 + 200 * 1921 + 16_385
    assert _count(model) == registry.card("bigan_alexnet").parameters["total"]
    assert enc.get_layer("conv5").output.shape[1:] == (3, 3, 256)
    assert not any("norm" in lay.name or "lrn" in lay.name.lower() for lay in enc.layers)
    assert all(f"conv{i}_bn" in [lay.name for lay in enc.layers] for i in range(1, 6))
    assert np.std(np.asarray(disc.get_layer("z_proj3").kernel)) == pytest.approx(0.5, rel=0.05)
    assert np.std(np.asarray(disc.get_layer("conv3").kernel)) == pytest.approx(0.02, rel=0.05)
    assert gen.output.shape[1:] == (64, 64, 3)
    big = bigan_alexnet.bigan_alexnet(encoder_size=112, gf=4, df=4, latent_dim=6)
    assert big.get_layer("encoder").get_layer("conv5").output.shape[1:] == (6, 6, 256)
    assert big.get_layer("g_x").output.shape[1:] == (64, 64, 3)


def test_alexnet_encoder_folds_its_batchnorm():
    from zoo.export.fold_bn import fold_batchnorm
    from zoo.models.bigan import bigan_alexnet

    enc = bigan_alexnet.alexnet_encoder(latent_dim=8)
    rng = np.random.default_rng(3)
    for lay in enc.layers:
        if isinstance(lay, keras.layers.BatchNormalization):
            c = lay.gamma.shape[0]
            for var, value in ((lay.gamma, rng.uniform(0.5, 1.5, c)), (lay.beta, rng.normal(size=c) * 0.1),
                               (lay.moving_mean, rng.normal(size=c) * 0.01), (lay.moving_variance, rng.uniform(0.5, 2, c) * 1e-3)):
                var.assign(value.astype("float32"))
    folded = fold_batchnorm(enc)
    assert not any(isinstance(lay, keras.layers.BatchNormalization) for lay in folded.layers)
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    want = np.asarray(enc(x, training=False))
    np.testing.assert_allclose(folded(x), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
