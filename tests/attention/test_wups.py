"""WUPS and DAQUAR accuracy (Malinowski & Fritz 2014) against scores worked by hand from
calculate_wups.py's definition, with a small similarity table in place of WordNet."""

import pytest

from zoo.metrics.vqa import answer_items, daquar_accuracy, set_score, wups

TABLE = {frozenset(("chair", "sofa")): 0.95, frozenset(("chair", "table")): 0.8, frozenset(("sofa", "table")): 0.7}


def sim(a, b):
    return TABLE.get(frozenset((a, b)), 0.2)


def test_items_and_the_set_score_by_hand():
    assert answer_items(" chair,  table ") == ["chair", "table"] and answer_items(["lamp"]) == ["lamp"]
    m = lambda a, b: 1.0 if a == b else sim(a, b)  # noqa: E731
    # A = {chair, table}, T = {sofa}: left = max m(chair, sofa) * max m(table, sofa) = 0.95 * 0.7,
    # right = max(m(sofa, chair), m(sofa, table)) = 0.95 -> min = 0.665
    assert set_score("chair, table", "sofa", m) == pytest.approx(0.95 * 0.7)
    assert set_score("", "", m) == 1.0 and set_score("chair", "", m) == 0.0


def test_wups_thresholds_scale_weak_matches_by_a_tenth():
    preds, truths = ["chair", "table", "lamp", "chair, table"], ["sofa", "sofa", "lamp", "chair"]
    # at 0.9: chair~sofa 0.95 kept; table~sofa 0.7 -> 0.07; lamp exact 1; {chair, table} vs {chair}: left =
    # 1 * 0.1 * 0.8 = 0.08, right = 1 -> 0.08
    assert wups(preds, truths, 0.9, sim) == pytest.approx(100 * (0.95 + 0.07 + 1 + 0.08) / 4)
    # at 0.0 nothing is scaled: 0.95, 0.7, 1, 0.8
    assert wups(preds, truths, 0.0, sim) == pytest.approx(100 * (0.95 + 0.7 + 1 + 0.8) / 4)
    assert daquar_accuracy(preds, truths) == pytest.approx(100 * 1 / 4)
    assert daquar_accuracy(["table, chair"], ["chair, table"]) == 100.0  # sets, not sequences
    with pytest.raises(ValueError, match="one prediction per question"):
        wups(["a"], ["a", "b"], similarity=sim)
