"""`voc2012_actions`: PASCAL VOC 2012 still-image action classification (the Action task), from the
trainval archive, as Oquab et al. 2014 use it (Oquab thesis §3.2.2, Table 3.3).

    manual_dir/VOCtrainval_11-May-2012.tar      (the archive voc2012_segmentation reads)
    python -m zoo.data prepare voc2012_actions --manual_dir DIR

One example per annotated person of ImageSets/Action/{train,val}.txt: {"id": "<image id>_<person
number from 1>", "image": the person-centred square patch ("one square patch centred on the person
bounding box", the parts outside the picture mirrored, §3.2.2) rescaled to image_size x image_size,
"box": float32 (4,) the person box (x0, y0, x1, y1) in the full picture's pixels, "labels": int64 (10,) 1
for each action the person does, "label": the single action's index, or -1 for none or several}.
Option `single_action_only` (default True on the train split, as the thesis: "Training samples with
multiple simultaneous actions are excluded") drops persons whose `label` is -1. The annotations' 11th
action, "other", is not a scored class (the ten columns of Table 3.3). The test set's labels are not
public (the VOC evaluation server): Table 3.3 is on test; `val` is what one can score offline.
"""

from __future__ import annotations

from zoo.data.manual import manual_instructions
from zoo.data.registry import DatasetInfo, TfdsLoader, register_dataset
from zoo.data.segmentation.voc import CITATION, HOMEPAGE, VOC2012_ARCHIVE

ACTIONS = ("jumping", "phoning", "playinginstrument", "reading", "ridingbike", "ridinghorse", "running",
           "takingphoto", "usingcomputer", "walking")
OPTIONS = {"image_size": 224, "single_action_only": None}  # None: True on train, False elsewhere


class ActionLoader(TfdsLoader):
    """The prepared persons, cut to their centred square patch and filtered to single actions."""

    def __call__(self, split, *, image_size=224, single_action_only=None, **kwargs):
        import numpy as np
        import tensorflow as tf

        from zoo.ops.patches import person_patch

        ds = super().__call__(split, **kwargs)
        if single_action_only is None:
            single_action_only = split.split("[")[0].strip() == "train"
        if single_action_only:
            ds = ds.filter(lambda ex: ex["label"] >= 0)
        size = int(image_size)

        def patch(ex):
            square = tf.numpy_function(lambda im, b: np.ascontiguousarray(person_patch(im, b)),
                                       [ex["image"], ex["box"]], tf.uint8)
            square = tf.image.resize(tf.ensure_shape(square, (None, None, 3)), (size, size), method="bilinear")
            image = tf.cast(tf.clip_by_value(tf.round(square), 0, 255), tf.uint8)
            return {**ex, "image": image}

        return ds.map(patch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


INFO = DatasetInfo(
    name="voc2012_actions", task="classification",
    summary="PASCAL VOC 2012 action classification: person-centred square patches, 10 actions (from the trainval tar)",
    num_classes=len(ACTIONS), class_names=ACTIONS, splits={"train": None, "val": None},
    features={"id": "string <image id>_<person number>", "image": "uint8 (image_size, image_size, 3) RGB "
              "person-centred square, mirrored outside the picture", "box": "float32 (4,) person box x0, y0, x1, y1 "
              "(pixels, 0-based)", "labels": "int64 (10,) 1 per action done", "label": "int64 () the single action, "
              "-1 for none or several"},
    source=HOMEPAGE, citation=CITATION, license="see the PASCAL VOC terms (flickr images)",
    instructions=manual_instructions("voc2012_actions", (VOC2012_ARCHIVE,)), options=dict(OPTIONS),
)

register_dataset("voc2012_actions", INFO, ActionLoader(
    "voc2012_actions", builder="zoo.data.classification.voc_actions_builder:Voc2012Actions",
    instructions=INFO.instructions))
