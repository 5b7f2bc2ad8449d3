"""Caption metrics as the COCO caption evaluation computes them: BLEU-1..4, ROUGE-L, CIDEr-D
(METEOR through the original Java scorer when it is installed).

The thesis reports these for LRCN (Tables 4.6, 4.7, 4.9: "official COCO evaluation"); the
definitions below are those of the COCO caption evaluation code (tylin/coco-caption, on PyPI as
`pycocoevalcap`), re-implemented in NumPy/Python and tested against it:

- Tokens: COCO's PTBTokenizer (Stanford CoreNLP, Java), lower-cased, with the punctuation
  tokens '' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ; removed. `coco_tokenize` is a
  pure-Python approximation of it (the tests measure its agreement); pass pre-tokenized text with
  `tokenize=False` to score exactly what you give. COCO compares the brackets case-sensitively
  after lower-casing, so "(" survives as the token "-lrb-"; so it does here.
- BLEU-n (Papineni et al. 2002), corpus level: clipped n-gram matches and candidate n-gram
  counts are summed over all captions; BLEU-n = BP · (∏_{k≤n} (matches_k + 1e-15) /
  (count_k + 1e-9))^{1/n} (the constants avoid log 0 and 0/0, so BLEU-4 without any 4-gram
  match is tiny but not 0, as in COCO); BP = exp(1 − r/c) when the
  total candidate length c is below r, the sum over captions of the reference length CLOSEST to
  the candidate's (ties: the shorter).
- ROUGE-L (Lin 2004) per caption: the longest common subsequence with each reference, precision
  P = max_ref LCS/|cand|, recall R = max_ref LCS/|ref| (maxima taken separately), F = (1 + β²)PR
  / (R + β²P) with β = 1.2; the corpus score is the mean over captions.
- CIDEr-D (Vedantam et al. 2015) per caption: for n = 1..4, TF-IDF vectors of n-grams with
  document frequencies counted over the REFERENCE sets of the evaluated corpus (an n-gram counts
  once per image), IDF = log(#images) − log(max(1, df)); the candidate's vector is clipped by
  each reference's (Σ min(c, r)·r), divided by both norms, multiplied by the Gaussian length
  penalty exp(−δ²/2σ²) with σ = 6, averaged over the references and the four orders and
  multiplied by 10; the corpus score is the mean over captions. As in COCO, δ is the difference
  of the two captions' numbers of bigrams.
- METEOR needs the Meteor 1.5 jar and Java; `meteor` runs pycocoevalcap's wrapper if it is
  installed (`pip install pycocoevalcap`, Java 8+), otherwise it raises ConfigError.

Inputs: `references` is a sequence of reference lists (one list of strings per image), and
`candidates` one string per image in the same order; or both are dicts keyed by image id
(candidate values may be a string or a one-string list, as in COCO results files).
Scores are fractions (the thesis's tables print them so).
"""

from __future__ import annotations

import collections
import math
import re

import numpy as np

from zoo.errors import ConfigError, InputError

COCO_PUNCTUATION = frozenset(["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-",
                              "--", "...", ";"])
CIDER_SIGMA = 6.0
ROUGE_BETA = 1.2

# ------------------------------------------------------------------------------------ tokens

_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_CLITIC = re.compile(r"(?i)^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$")
_SPECIAL = {"cannot": ["can", "not"], "gonna": ["gon", "na"], "gotta": ["got", "ta"], "wanna": ["wan", "na"]}
# A token: an abbreviation ("u.s."); a number with inner , . or : ("1,000", "5:30"); a word
# with inner hyphens, apostrophes, ampersands or slashes; "..."; "--"; a run of ! and ?; or any
# other single symbol.
_TOKEN = re.compile(r"(?:[a-z]\.){2,}|\d+(?:[.,:]\d+)+|\w+(?:[-'&/]\w+)*'?|\.\.\.|--|[!?]+|\S")


def coco_tokenize(caption: str) -> list[str]:
    """A caption as COCO's evaluation sees it: PTB tokens, lower-cased, punctuation dropped.

    A Python approximation of Stanford's PTBTokenizer as pycocoevalcap runs it (clitics split
    as "man 's", "do n't"; brackets as -lrb-/-rrb-; quotes and sentence punctuation removed).
    """
    if not isinstance(caption, str):
        raise InputError(f"a caption must be a string, got {type(caption).__name__}")
    text = caption.replace("\n", " ").lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    out = []
    for token in _TOKEN.findall(text):
        if token in _BRACKETS:
            out.append(_BRACKETS[token])
            continue
        if token == '"':
            continue  # `` / '' in PTB, both in COCO's punctuation list
        if token in _SPECIAL:
            out += _SPECIAL[token]
            continue
        match = _CLITIC.match(token)
        if match and not token.endswith("'"):
            out += [match.group(1), match.group(2)]
        else:
            out.append(token.rstrip("'") if token.endswith("'") and len(token) > 1 else token)
    return [t for t in out if t not in COCO_PUNCTUATION]


# ------------------------------------------------------------------------------------ inputs


def _aligned(references, candidates):
    """(list of reference lists, list of candidates) in one order, checked."""
    if isinstance(references, dict) or isinstance(candidates, dict):
        if not (isinstance(references, dict) and isinstance(candidates, dict)):
            raise InputError("give references and candidates both as dicts keyed by image id, or both as sequences")
        if set(references) != set(candidates):
            missing = sorted(set(references) - set(candidates), key=str)[:5]
            extra = sorted(set(candidates) - set(references), key=str)[:5]
            raise InputError(f"candidates and references cover different images (no candidate for {missing}, "
                             f"no references for {extra})")
        keys = list(references)
        references, candidates = [references[k] for k in keys], [candidates[k] for k in keys]
    references, candidates = list(references), list(candidates)
    if len(references) != len(candidates):
        raise InputError(f"{len(candidates)} candidates for {len(references)} reference sets; give one per image")
    if not references:
        raise InputError("no captions to evaluate")
    out_refs, out_cands = [], []
    for i, (refs, cand) in enumerate(zip(references, candidates)):
        if isinstance(cand, (list, tuple)):
            if len(cand) != 1:
                raise InputError(f"image {i}: one candidate caption per image, got {len(cand)}")
            cand = cand[0]
        if isinstance(refs, str) or not len(refs):
            raise InputError(f"image {i}: references must be a non-empty list of captions")
        out_refs.append(list(refs))
        out_cands.append(cand)
    return out_refs, out_cands


def _tokens(references, candidates, tokenize):
    split = coco_tokenize if tokenize else str.split
    refs, cands = _aligned(references, candidates)
    return [[split(r) for r in rs] for rs in refs], [split(c) for c in cands]


def _ngrams(words, n):
    """Counter of all k-grams, k = 1..n."""
    return collections.Counter(tuple(words[i : i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


# ------------------------------------------------------------------------------------ BLEU


def bleu(references, candidates, *, n: int = 4, tokenize: bool = True) -> dict:
    """{"BLEU-1": .., ..., "BLEU-n": ..} corpus BLEU, plus "per_caption": (N, n) sentence BLEU
    computed the same way per caption (COCO's `scores`)."""
    refs, cands = _tokens(references, candidates, tokenize)
    tiny, small = 1e-15, 1e-9  # COCO's names: tiny on top, small below
    total_matches, total_counts = np.zeros(n), np.zeros(n)
    total_len = total_ref = 0
    per_caption = []
    for rs, cand in zip(refs, cands):
        max_ref = collections.Counter()
        for r in rs:
            for gram, count in _ngrams(r, n).items():
                max_ref[gram] = max(max_ref[gram], count)
        matches = np.zeros(n)
        for gram, count in _ngrams(cand, n).items():
            matches[len(gram) - 1] += min(count, max_ref[gram])
        counts = np.array([max(0, len(cand) - k) for k in range(n)], float)
        ref_len = min((len(r) for r in rs), key=lambda length: (abs(length - len(cand)), length))
        total_matches += matches
        total_counts += counts
        total_len += len(cand)
        total_ref += ref_len
        per_caption.append(_bleu_from(matches, counts, len(cand), ref_len, tiny, small))
    scores = _bleu_from(total_matches, total_counts, total_len, total_ref, tiny, small)
    return {**{f"BLEU-{k + 1}": float(scores[k]) for k in range(n)}, "per_caption": np.array(per_caption)}


def _bleu_from(matches, counts, length, ref_len, tiny, small):
    precisions = (matches + tiny) / (counts + small)
    scores = np.exp(np.cumsum(np.log(precisions)) / np.arange(1, len(matches) + 1))
    ratio = (length + tiny) / (ref_len + small)
    return scores * math.exp(1 - 1 / ratio) if ratio < 1 else scores


# ------------------------------------------------------------------------------------ ROUGE-L


def _lcs(a, b) -> int:
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(references, candidates, *, beta: float = ROUGE_BETA, tokenize: bool = True) -> dict:
    """{"ROUGE-L": mean F-score, "per_caption": (N,)}."""
    refs, cands = _tokens(references, candidates, tokenize)
    per_caption = []
    for rs, cand in zip(refs, cands):
        lcs = [_lcs(r, cand) for r in rs]
        precision = max(lc / len(cand) if cand else 0.0 for lc in lcs)
        recall = max(lc / len(r) if r else 0.0 for lc, r in zip(lcs, rs))
        if precision and recall:
            per_caption.append((1 + beta**2) * precision * recall / (recall + beta**2 * precision))
        else:
            per_caption.append(0.0)
    per_caption = np.array(per_caption)
    return {"ROUGE-L": float(per_caption.mean()), "per_caption": per_caption}


# ------------------------------------------------------------------------------------ CIDEr-D


def cider_d(references, candidates, *, n: int = 4, sigma: float = CIDER_SIGMA, tokenize: bool = True) -> dict:
    """{"CIDEr-D": mean score, "per_caption": (N,)}; document frequencies from these references."""
    refs, cands = _tokens(references, candidates, tokenize)
    ref_counts = [[_ngrams(r, n) for r in rs] for rs in refs]
    df = collections.Counter(gram for counts in ref_counts for gram in set().union(*counts))
    log_images = math.log(len(refs))

    def vector(counts):
        vec = [{} for _ in range(n)]
        for gram, tf in counts.items():
            vec[len(gram) - 1][gram] = tf * (log_images - math.log(max(1.0, df[gram])))
        norms = [math.sqrt(sum(v * v for v in order.values())) for order in vec]
        bigrams = sum(tf for gram, tf in counts.items() if len(gram) == 2)
        return vec, norms, bigrams

    per_caption = []
    for cand, counts in zip(cands, ref_counts):
        c_vec, c_norm, c_len = vector(_ngrams(cand, n))
        total = np.zeros(n)
        for r in counts:
            r_vec, r_norm, r_len = vector(r)
            penalty = math.exp(-((c_len - r_len) ** 2) / (2 * sigma**2))
            for k in range(n):
                value = sum(min(v, r_vec[k].get(g, 0.0)) * r_vec[k].get(g, 0.0) for g, v in c_vec[k].items())
                if c_norm[k] and r_norm[k]:
                    value /= c_norm[k] * r_norm[k]
                total[k] += value * penalty
        per_caption.append(10.0 * total.mean() / len(counts))
    per_caption = np.array(per_caption)
    return {"CIDEr-D": float(per_caption.mean()), "per_caption": per_caption}


# ------------------------------------------------------------------------------------ METEOR


def meteor(references, candidates, *, tokenize: bool = True) -> dict:
    """{"METEOR": corpus score, "per_caption": (N,)} from the Meteor 1.5 jar (pycocoevalcap, Java)."""
    try:
        from pycocoevalcap.meteor.meteor import Meteor
    except ImportError as e:
        raise ConfigError(
            "METEOR runs the Meteor 1.5 jar that ships with pycocoevalcap, under Java: pip install pycocoevalcap "
            "and install a Java runtime (8 or newer)"
        ) from e
    refs, cands = _tokens(references, candidates, tokenize)
    gts = {i: [" ".join(r) for r in rs] for i, rs in enumerate(refs)}
    res = {i: [" ".join(c)] for i, c in enumerate(cands)}
    try:
        score, per_caption = Meteor().compute_score(gts, res)
    except (OSError, ValueError) as e:
        raise ConfigError(f"the Meteor jar did not run ({type(e).__name__}: {e}); is Java installed?") from e
    return {"METEOR": float(score), "per_caption": np.asarray(per_caption, float)}


# ------------------------------------------------------------------------------------ all

METRICS = ("BLEU", "ROUGE-L", "CIDEr-D", "METEOR")


def evaluate(references, candidates, *, metrics=("BLEU", "ROUGE-L", "CIDEr-D"), tokenize: bool = True) -> dict:
    """The corpus scores of `metrics` (any of METRICS) in one dict, e.g. {"BLEU-4": .., "CIDEr-D": ..}."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown caption metrics {unknown}; choose from {', '.join(METRICS)}")
    if tokenize:  # tokenize once, score the tokens joined by spaces
        refs, cands = _tokens(references, candidates, True)
        references, candidates = [[" ".join(r) for r in rs] for rs in refs], [" ".join(c) for c in cands]
    functions = {"BLEU": bleu, "ROUGE-L": rouge_l, "CIDEr-D": cider_d, "METEOR": meteor}
    out = {}
    for name in metrics:
        scores = functions[name](references, candidates, tokenize=False)
        out.update({k: v for k, v in scores.items() if k != "per_caption"})
    return out
