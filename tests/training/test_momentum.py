"""Long thesis §1.1.2, Fig. 1.1: momentum / batch-size equivalence."""

import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.experiments import momentum as mom


def test_example_weights_match_the_unrolled_recursion():
    # one scalar parameter whose gradient is the indicator of the tracked example: its contribution
    # to the current update g_T is -lr times its weight
    p, k, n = 0.9, 3, 13
    for j in range(n):
        g = 0.0
        total_steps = n // k + 1
        for t in range(total_steps):
            batch = range(t * k, (t + 1) * k)  # examples counted from the oldest
            newest = total_steps * k - 1
            g = -sum(1.0 for e in batch if newest - e == j) + p * g
        assert -g == pytest.approx(mom.example_weights(p, k, n)[j])


def test_figure_1_1_curves_agree_at_batch_boundaries():
    p1 = mom.equivalent_momentum(0.9, 20)
    assert p1 == pytest.approx(0.99475, abs=1e-5)  # the digest's 0.9^(1/20)
    coarse, fine = mom.example_weights(0.9, 20, 200), mom.example_weights(p1, 1, 200)
    np.testing.assert_allclose(coarse[::20], fine[::20])  # equal at j = 0, 20, 40, ...
    assert np.all(fine <= coarse + 1e-12) and np.all(fine >= 0.9 * coarse - 1e-12)  # smoothly between the steps
    with pytest.raises(ConfigError):
        mom.example_weights(1.0, 1, 5)


def test_toy_run_both_settings_converge_alike():
    out, optimum = mom.toy_run(n_examples=2000)
    a, b = out.values()
    assert b["learning_rate"] == pytest.approx(1e-3 * (1 - b["momentum"]) / 0.1)
    assert len(b["path"]) == 20 * len(a["path"])  # 20 times as many updates
    assert a["distance_to_optimum"] < 0.05 and b["distance_to_optimum"] < 0.05
    assert abs(a["final_loss"] - b["final_loss"]) < 0.1 * a["final_loss"]
