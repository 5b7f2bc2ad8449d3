"""`binarized_mnist`: TFDS's binarized MNIST (Larochelle & Murray 2011), the benchmark of DRAW's
negative log-likelihood bounds (Gregor et al. 2015, Table 2).

TFDS `binarized_mnist`: 28x28x1 uint8 pixels in {0, 1}, splits train 50,000 / validation 10,000 /
test 10,000 (the fixed binarization of Larochelle & Murray, downloaded by TFDS).
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, register_dataset

INSTRUCTIONS = ("TFDS downloads it: `tfds build binarized_mnist` (or python -m zoo.data prepare binarized_mnist) on a "
                "machine with network access; pass data_dir where the prepared copy lives.")

INFO = DatasetInfo(
    name="binarized_mnist",
    task="variational_generation",
    summary="binarized MNIST (Larochelle & Murray 2011's fixed binarization), 28x28 pixels in {0, 1}",
    splits={"train": 50000, "validation": 10000, "test": 10000},
    features={"image": "uint8 (28, 28, 1) in {0, 1}"},
    source="https://www.tensorflow.org/datasets/catalog/binarized_mnist",
    citation="Larochelle, Murray, The Neural Autoregressive Distribution Estimator, AISTATS 2011",
    instructions=INSTRUCTIONS,
)


class BinarizedMnistLoader:
    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None):
        from zoo.data import tfds_manual

        return tfds_manual.load_tfds("binarized_mnist", split, data_dir=data_dir, manual_dir=manual_dir,
                                     on_corrupt=on_corrupt, counter=counter, zoo_builder=False,
                                     instructions=INSTRUCTIONS)

    def prepare(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None):
        from zoo.data import tfds_manual

        tfds_manual.prepare_tfds("binarized_mnist", data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt,
                                 counter=counter, zoo_builder=False, instructions=INSTRUCTIONS)


register_dataset("binarized_mnist", INFO, BinarizedMnistLoader())
