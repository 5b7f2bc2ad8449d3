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


# ----------------------------------------------------------------------------------- DAQUAR: WUPS and accuracy
# Malinowski & Fritz 2014 (DAQUAR), the metric's reference script calculate_wups.py: an answer is a set of
# comma-separated items; score(A, T) = min(prod_{a in A} max_{t in T} m(a, t), prod_{t in T} max_{a in A} m(t, a))
# (1 when both are empty, 0 when one is); m is the Wu-Palmer similarity of the most similar pair of the two words'
# WordNet noun senses (1 for the same word), multiplied by 0.1 when below the threshold. WUPS@0.9 and WUPS@0.0 are
# the reported thresholds; with m = equality the score is DAQUAR's accuracy.


def answer_items(answer) -> list:
    """'chair, table' -> ['chair', 'table']; a list or tuple is taken as the items."""
    if isinstance(answer, (list, tuple)):
        return [str(a).strip() for a in answer if str(a).strip()]
    return [a.strip() for a in str(answer).split(",") if a.strip()]


def wordnet_wup(a: str, b: str) -> float:
    """max over the noun senses of `a` and `b` of WordNet's Wu-Palmer similarity (NLTK), 1 for the same word."""
    if a == b:
        return 1.0
    try:
        from nltk.corpus import wordnet as wn

        senses_a, senses_b = wn.synsets(a, pos=wn.NOUN), wn.synsets(b, pos=wn.NOUN)
    except (ImportError, LookupError) as e:
        from zoo.errors import ConfigError

        raise ConfigError("WUPS needs NLTK's WordNet: pip install nltk && python -m nltk.downloader wordnet "
                          "(or pass similarity= a function of two words)") from e
    return max((x.wup_similarity(y) or 0.0 for x in senses_a for y in senses_b), default=0.0)


def set_score(predicted, truth, measure) -> float:
    """min(prod_a max_t m(a, t), prod_t max_a m(t, a)) over the answers' items (calculate_wups.py's score_it)."""
    A, T = answer_items(predicted), answer_items(truth)
    if not A and not T:
        return 1.0
    if not A or not T:
        return 0.0
    left = float(np.prod([max(measure(a, t) for t in T) for a in A]))
    right = float(np.prod([max(measure(t, a) for a in A) for t in T]))
    return min(left, right)


def wups(predictions, truths, threshold: float = 0.9, similarity=None) -> float:
    """WUPS@threshold in percent over the questions (DAQUAR); `similarity(a, b)`: WordNet's Wu-Palmer by default."""
    if len(predictions) != len(truths) or not len(truths):
        raise ValueError(f"need one prediction per question; got {len(predictions)} for {len(truths)}")
    sim = similarity or wordnet_wup

    def measure(a, b):
        s = 1.0 if a == b else sim(a, b)
        return s if s >= threshold else 0.1 * s

    return 100.0 * float(np.mean([set_score(p, t, measure) for p, t in zip(predictions, truths)]))


def daquar_accuracy(predictions, truths) -> float:
    """DAQUAR's accuracy in percent: the set score with exact matches (an answer right only as a whole set)."""
    return wups(predictions, truths, threshold=1.0, similarity=lambda a, b: 0.0)
