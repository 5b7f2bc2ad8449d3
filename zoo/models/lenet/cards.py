"""LeNet-5's card (metadata only; the builder is `zoo.models.lenet.lenet`)."""

from zoo.registry import InputContract, register

register(
    "lenet5", builder="zoo.models.lenet.lenet:lenet5", family="lenet", task="classification", aliases=("lenet",),
    paper="LeCun, Bottou, Bengio, Haffner 1998, Gradient-Based Learning Applied to Document Recognition",
    section="§II.B (LeNet-5), Fig. 2",
    input_contract=InputContract(
        shape=(32, 32, 1), channel_order=None, mean=(20.0,), std=(200.0,),
        note="§II.B: background (0) -> -0.1, ink (255) -> 1.175; 28x28 MNIST digits are padded to 32x32",
    ),
    paper_numbers={"trainable parameters (§II.B; the RBF output is fixed)": 60_000},
    head_layers=("output",), default_num_classes=10,
    # 60,000 of the paper - 44 + 900 + 850 for the simplifications the builder's module docstring lists
    parameters={"total": 61_706, "trainable": 61_706},
)
