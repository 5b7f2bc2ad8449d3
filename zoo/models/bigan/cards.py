"""BiGAN cards (Donahue thesis ch. 5): metadata only."""

from zoo.registry import InputContract, register

PAPER = "Donahue 2017, PhD thesis (BiGAN, Donahue, Krähenbühl & Darrell, ICLR 2017)"
MNIST_VECTOR = InputContract(shape=(28, 28, 1), kind="image", channel_order=None, mean=(0.0,), std=(255.0,),
                             note="grey pixels / 255; the MLPs see the image as a 784-d vector (permutation-invariant)")


def _mlp_counts(x=784, z=50, h=1024):
    """E, G: fc1 (with bias), fc2 (no bias: parameter-free BN follows), BN moving mean/variance, fc3 (bias);
    D: fc1 (bias), fc2 (no bias), fc3 (bias) and one bias-free projection of z per linear layer."""
    e = x * h + h + h * h + z * h + z
    g = z * h + h + h * h + h * x + x
    d = x * h + h + h * h + h + 1 + z * (h + h + 1)
    trainable = e + g + d
    return {"trainable": trainable, "total": trainable + 3 * 2 * h}


register("bigan_mlp", builder="zoo.models.bigan.bigan:bigan_mlp", family="bigan", paper=PAPER,
         section="§5.3.2, App. 5.5.3.1 (permutation-invariant MNIST, Table 5.1)", task="bigan",
         input_contract=MNIST_VECTOR,
         paper_numbers={"hidden": 1024, "latent_dim": 50, "latent": "U(-1, 1)^50", "leak": 0.2,
                        "table_5_1_1nn_accuracy": {"BiGAN": 97.39, "D": 97.30, "LR": 97.44, "JLR": 97.13,
                                                   "AE (l2)": 97.58, "AE (l1)": 97.63}},
         parameters=_mlp_counts(), test_kwargs={"hidden": 32})
