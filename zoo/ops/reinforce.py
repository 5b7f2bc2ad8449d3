"""REINFORCE (Williams 1992) as a surrogate loss, as Show, Attend and Tell trains hard attention
(Xu et al. 2015 §4.1, eq. 12).

For samples s̃ of a distribution p(s | θ) with rewards R(s̃) (hard attention: R = log p(y | s̃, a)),

    ∇θ E[R] ≈ 1/M Σ_m (R(s̃_m) - b) ∇θ log p(s̃_m | θ)

is unbiased for any baseline b that does not depend on s̃_m (a moving average of past rewards
lowers its variance). `surrogate` returns the per-sample quantity whose gradient is that term
(the reward's own gradient and an entropy bonus are added by the caller):

    - stop_gradient(R - b) · log p(s̃ | θ)      (minimised: its negative gradient is the estimate)
"""

from __future__ import annotations

from keras import ops

MOVING_AVERAGE = 0.9  # b_k = 0.9 b_{k-1} + 0.1 log p(y | s̃_k, a) (Xu et al. 2015 §4.1)


def surrogate(rewards, log_probs, baseline=0.0):
    """-(R - b) log p(s̃), R and b held constant: minimise it to ascend E[R] (per sample)."""
    advantage = ops.stop_gradient(ops.convert_to_tensor(rewards) - baseline)
    return -advantage * log_probs


def moving_average(baseline, rewards, decay: float = MOVING_AVERAGE):
    """The baseline after one batch: decay · b + (1 - decay) · mean(R)."""
    return decay * baseline + (1.0 - decay) * ops.mean(ops.stop_gradient(rewards))
