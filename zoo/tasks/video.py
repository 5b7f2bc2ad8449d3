"""Video tasks: one label per clip (LRCN activity recognition, C3D), scored per clip and per video."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.tasks.base import Evaluator, Task, check_num_classes, first_key, first_output, model_input, python_key
from zoo.tasks.video_protocol import clip_probabilities

VIDEO_KEYS = ("video", "clip")  # the clip feature (moving_shapes: "video", ucf101: "clip")
VIDEO_ID_KEYS = ("video_id", "video_index")  # which video a test clip comes from (moving_shapes, ucf101)


def clip_input(contract):
    """ex -> the network's clip, from the contract's source if the example has it, else "video" or "clip"."""
    keys = (contract.sources[0], *VIDEO_KEYS)
    makers = {key: model_input(dataclasses.replace(contract, sources=(key,))) for key in keys}
    return lambda ex: makers[first_key(ex, keys, "clip")](ex)


class VideoClassification(Task):
    """One label per clip: a prediction at every frame (LRCN activity recognition, Donahue thesis
    §4.3) or one per clip (C3D, Tran et al. 2015).

    Input: the clip (N, T, H, W, C) made from the dataset's "video" or "clip" as the card's
    contract says (BGR or flow channels minus the mean); target: "label".

    Loss: softmax cross-entropy at every step against the clip's label ("a softmax over the 101
    classes at every time step"; the release's loss over axis 2), averaged over the T steps (a
    per-clip model: its one cross-entropy), then
    over the global batch (`normalize=True`; Caffe's SoftmaxWithLoss over the T·N predictions is
    the same mean) or summed over clips (`normalize=False`).

    Evaluation: a clip's class probabilities are its per-step softmax averaged over the steps
    (`video_protocol.clip_probabilities`);
    `clip_accuracy` is their argmax's accuracy (hit@1), `clip_hit@5` the label among the top 5. When the examples carry "video_id" (ucf101:
    "video_index"), the clips of a video (the test protocol's 16-frame clips at stride 8) are
    averaged into the video's probabilities and `video_accuracy` / `video_hit@5` are reported; `accuracy` is then
    the video accuracy (the thesis's number), otherwise the clip accuracy.
    """

    name = "video_classification"
    metrics = ("clip_accuracy", "video_accuracy", "accuracy")
    ignore_label = None  # every clip has a class

    def example_to_xy(self, contract):
        make_input = clip_input(contract)
        return lambda ex: (make_input(ex), self.checked_labels(tf.cast(ex["label"], tf.int32), ex))

    def bind(self, recipe, info, load, model=None):
        return self.with_label_range(recipe, info, model)

    def eval_example_to_xy(self, contract):
        make_input = clip_input(contract)

        def fn(ex):
            targets = {"label": self.checked_labels(tf.cast(ex["label"], tf.int32), ex)}
            for key in VIDEO_ID_KEYS:
                if key in ex:
                    targets["video_id"] = ex[key]
                    break
            return make_input(ex), targets

        return fn

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        logits = tf.cast(first_output(outputs), tf.float32)
        if logits.shape.rank == 3:  # a prediction at every step: the clip's label at each
            labels = tf.broadcast_to(targets[:, None], tf.shape(logits)[:2])
            ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), axis=1)
        elif logits.shape.rank == 2:  # one prediction per clip (C3D)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        else:
            raise ConfigError(f"a video_classification model returns per-clip logits (N, classes) or per-step logits "
                              f"(N, T, classes); got shape {tuple(logits.shape)}")
        total = tf.reduce_sum(ce)
        return total / global_batch_size if loss_cfg.normalize else total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return VideoEvaluator()

    def check_targets(self, model, info):
        check_num_classes(info, model, "clip labels")


def hits_at(probs, labels, k: int) -> np.ndarray:
    """1 where the label is among the k highest probabilities of its row (hit@k, Tran et al. 2015
    Table 2), else 0; ties are broken by the class order of a stable sort."""
    k = min(k, probs.shape[-1])
    top = np.argsort(-probs, axis=-1, kind="stable")[:, :k]
    return (top == np.asarray(labels)[:, None]).any(axis=1)


class VideoEvaluator(Evaluator):
    """Clip and video hit@1 (accuracy) and hit@5: the clip's or the video's class probabilities
    ranked (a video's are its clips' averaged), a hit when the label is among the top k."""

    def __init__(self):
        self.clips = self.clips_right = self.clips_hit5 = 0
        self.videos = {}  # video id -> [sum of clip probabilities, number of clips, label]

    def update(self, outputs, targets):
        probs = clip_probabilities(np.asarray(first_output(outputs)))
        labels = np.asarray(targets["label"])
        self.clips += len(labels)
        self.clips_right += int(hits_at(probs, labels, 1).sum())
        self.clips_hit5 += int(hits_at(probs, labels, 5).sum())
        if "video_id" not in targets:
            return
        for vid, p, label in zip(np.asarray(targets["video_id"]), probs, labels):
            entry = self.videos.setdefault(python_key(vid), [0.0, 0, int(label)])
            if entry[2] != int(label):
                raise ConfigError(f"video {python_key(vid)!r} has clips labelled {entry[2]} and {int(label)}")
            entry[0] = entry[0] + p
            entry[1] += 1

    def result(self):
        clips = max(self.clips, 1)
        out = {"clip_accuracy": self.clips_right / clips, "clip_hit@5": self.clips_hit5 / clips}
        if self.videos:
            probs = np.stack([total / n for total, n, _ in self.videos.values()])
            labels = np.array([label for _, _, label in self.videos.values()])
            out["video_accuracy"] = float(hits_at(probs, labels, 1).mean())
            out["video_hit@5"] = float(hits_at(probs, labels, 5).mean())
        out["accuracy"] = out.get("video_accuracy", out["clip_accuracy"])
        return out


class VideoFeatureClassification(VideoClassification):
    """Clips classified by a learner fitted on frozen clip features (the staged step): C3D + linear
    SVM (Tran et al. 2015 §4.2). Inputs, targets and evaluation are `video_classification`'s."""

    name = "video_feature_classification"
    step = "staged"


TASKS = (VideoClassification(), VideoFeatureClassification())
