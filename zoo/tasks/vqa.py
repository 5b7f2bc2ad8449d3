"""Visual question answering as answer classification (Xu & Saenko 2016; VQA, Antol et al. 2015).

Inputs: the card's streams (`image` preprocessed as its contract says, `question` word ids);
target: "label", the answer class. Loss: softmax cross-entropy of the first output (the answer
logits; the attention maps that follow are not scored), summed over this replica's examples /
the global batch. Evaluation: `accuracy` (argmax = label); with the examples' ten human answers
("answers", class ids, -1 for answers outside the classes) the VQA accuracy `vqa_accuracy`
(zoo.metrics.vqa, the official leave-one-out average); with "relative" (the synthetic position
questions) the accuracy of the absolute and of the relative questions apart.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.metrics.vqa import vqa_accuracy
from zoo.tasks.base import Evaluator, Task, check_num_classes, first_output, model_input

EXTRA_TARGETS = ("answers", "relative")


class VqaEvaluator(Evaluator):
    def __init__(self):
        self.right, self.count, self.vqa = 0, 0, []
        self.by_kind = {0: [0, 0], 1: [0, 0]}

    def update(self, outputs, targets):
        predicted = np.asarray(first_output(outputs)).argmax(-1)
        labels = np.asarray(targets["label"])
        hits = predicted == labels
        self.right += int(hits.sum())
        self.count += len(labels)
        if "answers" in targets:
            self.vqa += [vqa_accuracy(p, [a for a in row if a >= 0] or [-1]) for p, row in
                         zip(predicted, np.asarray(targets["answers"]))]
        if "relative" in targets:
            for hit, kind in zip(hits, np.asarray(targets["relative"])):
                self.by_kind[int(kind)][0] += int(hit)
                self.by_kind[int(kind)][1] += 1

    def result(self):
        out = {"accuracy": self.right / max(self.count, 1)}
        if self.vqa:
            out["vqa_accuracy"] = float(np.mean(self.vqa))
        for kind, name in ((0, "absolute_accuracy"), (1, "relative_accuracy")):
            right, count = self.by_kind[kind]
            if count:
                out[name] = right / count
        return out


class VisualQuestionAnswering(Task):
    """Answer classification from an image and a question (module docstring)."""

    name = "vqa"

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tf.cast(ex["label"], tf.int32))

    def eval_example_to_xy(self, contract):
        make_input = model_input(contract)

        def fn(ex):
            targets = {"label": tf.cast(ex["label"], tf.int32)}
            targets.update({k: ex[k] for k in EXTRA_TARGETS if k in ex})
            return make_input(ex), targets

        return fn

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        logits = tf.cast(first_output(outputs), tf.float32)
        total = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits))
        return total / global_batch_size if loss_cfg.normalize else total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return VqaEvaluator()

    def check_targets(self, model, info):
        check_num_classes(info, model, "answers")


TASKS = (VisualQuestionAnswering(),)
