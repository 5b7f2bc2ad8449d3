"""The VQA accuracy of an answer given the ten human answers (Antol et al. 2015).

`min(#humans that said the answer / 3, 1)`; the official evaluation averages that over the ten
subsets of nine human answers (`official=True`, vqaEval.py's rule), which gives the same 0, 1/3,
2/3 or 1 steps smoothed: 3 matching humans out of 10 score 0.9, not 1.
"""

from __future__ import annotations

import numpy as np


def vqa_accuracy(predicted, human_answers, official: bool = True) -> float:
    """The accuracy of one predicted answer given the human answers (any hashable values)."""
    humans = list(human_answers)
    if not humans:
        raise ValueError("VQA accuracy needs at least one human answer")
    if not official or len(humans) < 2:
        return min(sum(a == predicted for a in humans) / 3.0, 1.0)
    scores = []
    for leave_out in range(len(humans)):
        others = humans[:leave_out] + humans[leave_out + 1 :]
        scores.append(min(sum(a == predicted for a in others) / 3.0, 1.0))
    return float(np.mean(scores))


def mean_vqa_accuracy(predictions, human_answers, official: bool = True) -> float:
    """The mean VQA accuracy of a list of predictions, each with its list of human answers."""
    return float(np.mean([vqa_accuracy(p, h, official) for p, h in zip(predictions, human_answers)]))
