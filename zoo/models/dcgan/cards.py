"""DCGAN cards (Oquab thesis §5.3.3, App. C): metadata only."""

from zoo.registry import InputContract, register

PAPER = "Oquab 2018, PhD thesis (Radford et al. 2016 architecture)"
NOISE = InputContract(shape=(100,), kind="vector", channel_order=None, mean=None,
                      note="noise z ~ N(0, 1)^100, as dcgan.torch draws it", sources=("noise",))
IMAGE = InputContract(shape=(64, 64, 3), kind="image", channel_order="RGB", mean=(127.5,) * 3, std=(127.5,) * 3,
                      note="RGB scaled to [-1, 1], the generator's tanh range")


def _g(gf):  # 4x4 deconvolutions without bias, BN (gamma, beta + moving mean, variance) on dc1..dc4
    convs = 16 * (100 * 8 * gf + 8 * gf * 4 * gf + 4 * gf * 2 * gf + 2 * gf * gf + gf * 3)
    return {"total": convs + 4 * 15 * gf, "trainable": convs + 2 * 15 * gf}


def _d(df):  # variant "torch": no BN on c1
    convs = 16 * (3 * df + df * 2 * df + 2 * df * 4 * df + 4 * df * 8 * df + 8 * df)
    return {"total": convs + 4 * 14 * df, "trainable": convs + 2 * 14 * df}


register("dcgan_generator", builder="zoo.models.dcgan.dcgan:dcgan_generator", family="dcgan", paper=PAPER,
         section="App. C (generator gf; gf in {32, 64, 96})", task="generation", input_contract=NOISE,
         paper_numbers={"noise_dim": 100, "image_size": 64, "gf_grid": (32, 64, 96)},
         parameters=_g(64))
register("dcgan_discriminator", builder="zoo.models.dcgan.dcgan:dcgan_discriminator", family="dcgan", paper=PAPER,
         section="App. C (discriminator df; df in {32, 64, 96})", task="generation", input_contract=IMAGE,
         paper_numbers={"image_size": 64, "df_grid": (32, 64, 96)}, parameters=_d(64))
register("dcgan", builder="zoo.models.dcgan.dcgan:dcgan", family="dcgan", paper=PAPER,
         section="§5.3.3, App. C (the gf x df x epochs grid)", task="adversarial_generation", input_contract=IMAGE,
         paper_numbers={"noise_dim": 100, "image_size": 64, "grid": "gf, df in {32, 64, 96} x epochs {1, 10, 50, 100, 200}"},
         parameters={k: _g(64)[k] + _d(64)[k] for k in ("total", "trainable")})
