"""`svhn_cropped`: Street View House Numbers (Netzer et al. 2011) through TFDS `svhn_cropped` (downloads),
the colour data of DRAW's generation experiment (Gregor et al. 2015 §4.3; Table 3's SVHN model).

TFDS's svhn_cropped is the 32x32 single-digit format of the release; DRAW cropped the multi-digit house
numbers to 64x64 (§4.3), which TFDS does not provide: a recipe on this dataset is named as that difference.
`intensities=True` (the default) gives float32 pixels in [0, 1], what the DRAW cards read as Bernoulli means;
False keeps uint8.
"""

from __future__ import annotations

from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset

INSTRUCTIONS = "TFDS downloads it on first use: `python -m zoo.data prepare svhn_cropped` (network access)."


class SvhnLoader(TfdsLoader):
    def __call__(self, split, *, intensities=True, **common):
        import tensorflow as tf

        ds = super().__call__(split, **common)
        if intensities:
            return ds.map(lambda ex: {"image": tf.cast(ex["image"], tf.float32) / 255.0, "label": ex["label"]})
        return ds.map(lambda ex: {"image": ex["image"], "label": ex["label"]})


register_dataset("svhn_cropped", DatasetInfo(
    name="svhn_cropped", task="variational_generation",
    summary="SVHN 32x32 digit crops (TFDS svhn_cropped, downloads), RGB intensities in [0, 1] by default",
    num_classes=10, class_names=tuple(str(d) for d in range(10)),
    splits={"train": 73_257, "test": 26_032, "extra": 531_131},
    features={"image": "float32 (32, 32, 3) in [0, 1] (uint8 with intensities=False)", "label": "int64 () digit 0-9"},
    source="http://ufldl.stanford.edu/housenumbers/ ; read by TFDS's svhn_cropped builder",
    citation="Netzer, Wang, Coates, Bissacco, Wu, Ng, Reading Digits in Natural Images with Unsupervised Feature "
             "Learning, NIPS Workshop 2011",
    instructions=INSTRUCTIONS, options={"intensities": True},
), SvhnLoader("svhn_cropped", instructions=INSTRUCTIONS))
