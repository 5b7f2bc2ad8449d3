"""`mnist`: LeCun et al.'s handwritten digits through TFDS's own `mnist` builder (downloaded by TFDS).

The paper setting of BiGAN's permutation-invariant MNIST (Donahue thesis §5.3.2, Table 5.1); offline
runs use the `digits` stand-in. `zoo data prepare mnist` (or the first load) downloads it into data_dir.

Loaded examples (unbatched): image uint8 (28 + 2 pad, 28 + 2 pad, 1); label int64 () 0-9. `pad` adds black
borders: LeNet-5 reads the digits padded to 32x32 (LeCun et al. 1998 §II.B), pad = 2.
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset


from zoo.errors import ConfigError


def _postprocess(example):
    return {"image": example["image"], "label": example["label"]}


class MnistLoader(TfdsLoader):
    def __call__(self, split, *, pad=0, **common):
        import tensorflow as tf

        if int(pad) != pad or pad < 0:
            raise ConfigError(f"pad must be a non-negative number of pixels, got {pad!r}")
        ds = super().__call__(split, **common)
        if not pad:
            return ds
        return ds.map(lambda ex: {**ex, "image": tf.pad(ex["image"], [[pad, pad], [pad, pad], [0, 0]])})


INFO = DatasetInfo(
    name="mnist",
    task="classification",
    summary="MNIST handwritten digits, 28x28 grey, 10 classes, via TFDS mnist (downloads)",
    num_classes=10,
    class_names=tuple("0123456789"),
    splits={"train": 60_000, "test": 10_000},
    features={"image": "uint8 (28 + 2 pad, 28 + 2 pad, 1) grey", "label": "int64 () the digit"},
    options={"pad": 0},
    source="http://yann.lecun.com/exdb/mnist/ ; read by TFDS's mnist builder",
    citation="LeCun, Bottou, Bengio, Haffner 1998, Gradient-based learning applied to document recognition",
    instructions="TFDS downloads it on first use (network access needed); offline, use the `digits` stand-in.",
)

register_dataset("mnist", INFO, MnistLoader("mnist", postprocess=_postprocess, instructions=INFO.instructions))
