"""The multi-layer perceptron's card (metadata only; the builder is `zoo.models.mlp.mlp`)."""

from zoo.registry import InputContract, register

register(
    "mlp", builder="zoo.models.mlp.mlp:mlp", family="mlp", task="classification",
    paper="Rumelhart, Hinton, Williams 1986 (back-propagation), as presented in Laptev's CNN slides",
    section="Laptev slides §A.2 (Perceptron / multi-layer neural networks)",
    input_contract=InputContract(
        shape=(28, 28, 1), channel_order=None, mean=None, std=(255.0,), note="grayscale scaled to [0, 1]"
    ),
    head_layers=("output",), default_num_classes=10,
    # 784·300 + 300 + 300·100 + 100 + 100·10 + 10, hidden sizes (300, 100)
    parameters={"total": 266_610, "trainable": 266_610},
)
