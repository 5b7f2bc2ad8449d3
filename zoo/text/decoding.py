"""Caption decoding around a one-step decoder: greedy, beam search, sampling (thesis §4.4.1.2).

Everything here is NumPy around a step function

    step(words (N,) int, state: dict of (N, ...) arrays) -> (logits (N, V), new state)

such as `zoo.models.lrcn.parts.Decoder(model).step`, started from a state for ONE input (batch
1; greedy also takes a batch). Conventions follow the release's captioner.py:

- the first input word is <eos> (id 0, the thesis's <bos> y_0), and a caption ends when <eos>
  is produced or after `max_length` (50) words;
- a caption's score is the sum of the log-probabilities of its words and of the final <eos>
  under the model's softmax (no length normalisation);
- beam search with width B keeps the B best of (finished beams + the B best one-word extensions
  of each unfinished beam) until all B are finished; width 1 is greedy;
- sampling draws each word from softmax(T · logits) with T the thesis's "inverse temperature"
  (T = ∞ is greedy; Table 4.6 uses T = 1.5), N captions are drawn and ranked by their
  likelihood under the untempered model (T = 1), as captioner.py records the `probs` blob.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ConfigError, InputError
from zoo.ops.numerics import log_softmax
from zoo.text.vocab import EOS_ID, IGNORE

MAX_LENGTH = 50  # captioner.py


@dataclasses.dataclass
class Caption:
    """Word ids without the final <eos>, the total log-probability, and whether <eos> ended it."""

    tokens: list
    log_prob: float
    finished: bool


def state_rows(state: dict, index) -> dict:
    """The rows `index` of every array of a decoder state (batch or beam on axis 0)."""
    return {k: np.asarray(v)[index] for k, v in state.items()}


def _batch_of(state: dict) -> int:
    sizes = {len(np.asarray(v)) for v in state.values()}
    if len(sizes) != 1:
        raise InputError(f"the state arrays disagree on the batch size: {sorted(sizes)}")
    return sizes.pop()


def _check(max_length):
    if int(max_length) < 1:
        raise ConfigError(f"max_length must be at least 1, got {max_length}")


def _run(step, state: dict, n: int, choose, *, max_length: int, eos: int) -> list[Caption]:
    """Decode `n` captions, the next words picked by `choose(logits)`; each scored by its log-likelihood."""
    tokens, log_prob, done = [[] for _ in range(n)], np.zeros(n), np.zeros(n, bool)
    words = np.full(n, eos, np.int32)
    for _ in range(max_length):
        logits, state = step(words, state)
        words = choose(logits)
        logp = log_softmax(logits)
        for i in np.flatnonzero(~done):
            log_prob[i] += logp[i, words[i]]
            if words[i] == eos:
                done[i] = True
            else:
                tokens[i].append(int(words[i]))
        if done.all():
            break
    return [Caption(t, float(lp), bool(d)) for t, lp, d in zip(tokens, log_prob, done)]


def greedy(step, state: dict, *, max_length: int = MAX_LENGTH, eos: int = EOS_ID) -> list[Caption]:
    """The most likely word at every step, for every item of the state's batch."""
    _check(max_length)
    return _run(step, state, _batch_of(state), lambda logits: log_softmax(logits).argmax(axis=-1).astype(np.int32),
                max_length=max_length, eos=eos)


def beam_search(step, state: dict, *, beam_size: int, max_length: int = MAX_LENGTH, eos: int = EOS_ID) -> list[Caption]:
    """The `beam_size` best captions found by beam search for one input, best first."""
    _check(max_length)
    if int(beam_size) < 1:
        raise ConfigError(f"beam_size must be at least 1, got {beam_size}")
    if _batch_of(state) != 1:
        raise InputError("beam_search decodes one input: give a state of batch 1")
    # a beam: (tokens, log_prob, finished, row of its state in `state`)
    beams = [([], 0.0, False, 0)]
    while not all(b[2] for b in beams):
        live = [b for b in beams if not b[2]]
        words = np.array([b[0][-1] if b[0] else eos for b in live], np.int32)
        logits, new_state = step(words, state_rows(state, [b[3] for b in live]))
        logp = log_softmax(logits)
        candidates = [b for b in beams if b[2]]
        for j, (tokens, score, _, _) in enumerate(live):
            for w in np.argsort(-logp[j], kind="stable")[:beam_size]:
                length = len(tokens) + 1
                candidates.append((tokens + [int(w)], score + float(logp[j, w]), w == eos or length >= max_length, j))
        candidates.sort(key=lambda c: -c[1])  # stable: ties keep their order
        kept = candidates[:beam_size]
        unfinished = [c for c in kept if not c[2]]
        state = state_rows(new_state, [c[3] for c in unfinished]) if unfinished else state
        beams, row = [], 0
        for tokens, score, finished, _ in kept:
            beams.append((tokens, score, finished, None if finished else row))
            row += not finished
    return [Caption(t[:-1] if t and t[-1] == eos else t, s, bool(t) and t[-1] == eos) for t, s, _, _ in beams]


def sample(step, state: dict, *, num_samples: int, inverse_temperature: float = 1.0, rng=None,
           max_length: int = MAX_LENGTH, eos: int = EOS_ID) -> list[Caption]:
    """`num_samples` captions drawn for one input, ranked by model likelihood, best first.

    Words are drawn from softmax(inverse_temperature · logits); `inverse_temperature=inf` takes
    the argmax (greedy). The ranking score is the untempered log-likelihood.
    """
    _check(max_length)
    if int(num_samples) < 1:
        raise ConfigError(f"num_samples must be at least 1, got {num_samples}")
    if not inverse_temperature > 0:
        raise ConfigError(f"inverse_temperature must be positive (inf for greedy), got {inverse_temperature}")
    if _batch_of(state) != 1:
        raise InputError("sample decodes one input: give a state of batch 1")
    rng = np.random.default_rng(rng)
    state = state_rows(state, np.zeros(num_samples, int))
    if np.isinf(inverse_temperature):
        captions = greedy(step, state, max_length=max_length, eos=eos)
    else:
        def draw(logits):
            tempered = np.exp(log_softmax(logits, inverse_temperature))
            draws = (tempered.cumsum(axis=-1) < rng.random((len(tempered), 1))).sum(axis=-1)
            return np.minimum(draws, tempered.shape[-1] - 1).astype(np.int32)

        captions = _run(step, state, num_samples, draw, max_length=max_length, eos=eos)
    return sorted(captions, key=lambda c: -c.log_prob)


def sequence_log_likelihood(logits, targets) -> np.ndarray:
    """Per-sequence sum of log p(target_t) over the positions whose target is not IGNORE (-1).

    With the training model's logits for (image, [<eos>, w1 .. wn]) and targets
    [w1 .. wn, <eos>] this is log p(caption | image): the retrieval score used for R@K here
    (the thesis does not say how it scores pairs, §4.4).
    """
    logits, targets = np.asarray(logits), np.asarray(targets)
    if logits.shape[:-1] != targets.shape:
        raise InputError(f"logits {logits.shape} and targets {targets.shape} do not match")
    logp = log_softmax(logits)
    valid = targets != IGNORE
    picked = np.take_along_axis(logp, np.where(valid, targets, 0)[..., None], axis=-1)[..., 0]
    return np.where(valid, picked, 0.0).sum(axis=-1)
