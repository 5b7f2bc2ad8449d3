"""CGAN-C2ST card (Oquab thesis §5.4.2): metadata only."""

from zoo.registry import InputContract, register


def _parameters(cause_dim=1, effect_dim=1, noise_dim=10, hidden=128):
    generator = (cause_dim + noise_dim) * hidden + hidden + hidden * effect_dim + effect_dim
    discriminator = (cause_dim + effect_dim) * hidden + hidden + hidden + 1
    return generator + discriminator


register("cgan_cause_effect", builder="zoo.models.cgan.mlp:cgan_mlp", family="cgan",
         paper="Oquab 2018, PhD thesis (Lopez-Paz & Oquab 2017, ICLR)",
         section="§5.4.2, Eq. 5.7-5.8 (CGAN-C2ST; network sizes from the authors' tuebingen.lua)",
         task="cause_effect",
         input_contract=InputContract(shape=(1,), kind="vector", channel_order=None, mean=None,
                                      note="standardised cause, effect and N(0, 1) noise (inputs cause, effect, noise)",
                                      sources=("cause", "effect", "noise")),
         paper_numbers={"tuebingen_accuracy_knn": {"CGAN-C2ST": 0.73, "Ensemble": 0.82},
                        "tuebingen_accuracy_nn": {"CGAN-C2ST": 0.70, "Ensemble": 0.73},
                        "tuebingen_accuracy_mmd": {"CGAN-C2ST": 0.58, "Ensemble": 0.65}},
         parameters={"total": _parameters()})
