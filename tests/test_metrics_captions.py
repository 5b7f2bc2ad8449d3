"""Caption metrics (BLEU, ROUGE-L, CIDEr-D, METEOR) and retrieval metrics (R@K, Med r).

Hand-worked examples fix each definition (the arithmetic is written out in the comments); where
`pycocoevalcap` (the COCO caption evaluation the thesis reports, tylin/coco-caption) is installed,
the scores must equal its scores on a random corpus, and the Python tokenizer must agree with
its Java PTBTokenizer on a set of awkward captions.
"""

import math
import shutil

import numpy as np
import pytest

from zoo.errors import ConfigError, InputError
from zoo.metrics import captions, retrieval

CAND = "the cat sat on the mat"
REFS = ["the cat is on the mat", "there is a cat on the mat"]


# ---------------------------------------------------------------------------- BLEU


def test_bleu_hand_worked():
    scores = captions.bleu([REFS], [CAND])
    # 1-grams: the x2 (refs allow 2), cat, sat (0), on, mat -> 5/6
    # 2-grams: the cat, cat sat, sat on, on the, the mat -> the cat, on the, the mat match: 3/5
    # 3-grams: the cat sat, cat sat on, sat on the, on the mat -> 1/4;  4-grams: 0/3
    # closest reference length 6 = candidate length: no brevity penalty
    assert scores["BLEU-1"] == pytest.approx(5 / 6)
    assert scores["BLEU-2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5))
    assert scores["BLEU-3"] == pytest.approx((5 / 6 * 3 / 5 * 1 / 4) ** (1 / 3))
    # no 4-gram match: COCO's (0 + 1e-15) / (3 + 1e-9) keeps BLEU-4 tiny but not 0
    assert scores["BLEU-4"] == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 1e-15 / 3) ** (1 / 4), rel=1e-6)


def test_bleu_brevity_penalty_uses_the_closest_reference_length():
    # c = 2 words, closest reference 6 words: BP = exp(1 - 6/2)
    assert captions.bleu([["the cat is on the mat"]], ["the cat"])["BLEU-1"] == pytest.approx(math.exp(-2))
    # c = 5 with references of 4 and 6 words: a tie, COCO takes the shorter (4): no penalty
    # (with r = 6 it would be 4/5 * exp(1 - 6/5))
    refs = [["a b c d", "a b c d x y"]]
    assert captions.bleu(refs, ["a b c d e"])["BLEU-1"] == pytest.approx(4 / 5)
    # c = 3 with references of 4 and 6: r = 4, BP = exp(1 - 4/3)
    assert captions.bleu(refs, ["a b c"])["BLEU-1"] == pytest.approx(math.exp(1 - 4 / 3))


def test_bleu_is_corpus_level_not_an_average():
    refs, cands = [["a b c d"], ["e f g h"]], ["a b c d", "e x"]
    # matches 4 + 1 of 4 + 2 candidate words; lengths c = 6, r = 8 -> BP = exp(1 - 8/6)
    want = 5 / 6 * math.exp(1 - 8 / 6)
    scores = captions.bleu(refs, cands)
    assert scores["BLEU-1"] == pytest.approx(want)
    per = scores["per_caption"][:, 0]
    assert per[0] == pytest.approx(1.0) and per[1] == pytest.approx(0.5 * math.exp(1 - 4 / 2))
    assert scores["BLEU-1"] != pytest.approx(per.mean())


# ---------------------------------------------------------------------------- ROUGE-L


def test_rouge_l_hand_worked():
    beta2 = 1.2**2
    # LCS("the cat sat on the mat", "the cat on mat") = 4: P = 4/6, R = 4/4
    p, r = 4 / 6, 1.0
    assert captions.rouge_l([["the cat on mat"]], [CAND])["ROUGE-L"] == pytest.approx(
        (1 + beta2) * p * r / (r + beta2 * p))
    # two references: P and R are maximised separately (P = max(4/6, 6/6), R = max(4/4, 6/7)) -> F = 1
    both = captions.rouge_l([["the cat on mat", "the cat sat on the mat today"]], [CAND])
    assert both["ROUGE-L"] == pytest.approx(1.0)
    assert captions.rouge_l([["a b"]], [""])["ROUGE-L"] == 0.0


# ---------------------------------------------------------------------------- CIDEr-D


def test_cider_d_hand_worked():
    """Two images with disjoint words, so every reference n-gram has df = 1 and the IDF (log 2)
    is the same for all n-grams and cancels in the cosines."""
    refs = [["a b c d"], ["w x y z"]]
    scores = captions.cider_d(refs, ["a b c d e", "w x y z"])
    # image 0, per order: matched / (|cand| |ref|) with unit weights
    #   1-grams 4 / (sqrt5 * 2), 2-grams 3 / (2 * sqrt3), 3-grams 2 / (sqrt3 * sqrt2), 4-grams 1 / (sqrt2 * 1)
    cosines = [4 / (math.sqrt(5) * 2), 3 / (2 * math.sqrt(3)), 2 / (math.sqrt(3) * math.sqrt(2)), 1 / math.sqrt(2)]
    penalty = math.exp(-((4 - 3) ** 2) / (2 * 6.0**2))  # 4 vs 3 bigrams, sigma 6
    first = 10 * penalty * np.mean(cosines)
    assert scores["per_caption"][0] == pytest.approx(first)
    assert scores["per_caption"][1] == pytest.approx(10.0)  # identical caption, nothing shared with image 0
    assert scores["CIDEr-D"] == pytest.approx((first + 10) / 2)


def test_cider_d_clips_repeated_words_and_zeroes_common_ngrams():
    refs = [["a b c d"], ["w x y z"]]
    # "a a a a": unigram weight 4 log2 clipped to the reference's log2 -> (log2)^2 / (4 log2 * 2 log2) = 1/8,
    # no higher-order match; same number of bigrams (3) -> no penalty
    assert captions.cider_d(refs, ["a a a a", "w x y z"])["per_caption"][0] == pytest.approx(10 * (1 / 8) / 4)
    # n-grams found in the references of every image have IDF log(2) - log(2) = 0
    assert captions.cider_d([["a b"], ["a b"]], ["a b", "a b"])["CIDEr-D"] == 0.0


# ---------------------------------------------------------------------------- inputs, tokens, evaluate


def test_inputs_by_image_id_and_errors():
    by_id = captions.evaluate({7: REFS, 9: ["a dog"]}, {9: ["a dog"], 7: CAND})
    by_order = captions.evaluate([REFS, ["a dog"]], [CAND, "a dog"])
    assert by_id == pytest.approx(by_order)
    assert set(by_id) == {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr-D"}
    with pytest.raises(InputError, match="different images"):
        captions.evaluate({1: REFS}, {2: CAND})
    with pytest.raises(InputError, match="2 candidates for 1"):
        captions.bleu([REFS], [CAND, CAND])
    with pytest.raises(InputError, match="non-empty list"):
        captions.bleu([[]], [CAND])
    with pytest.raises(ConfigError, match="SPICE"):
        captions.evaluate([REFS], [CAND], metrics=("SPICE",))


def test_coco_tokenize_drops_punctuation_and_splits_clitics():
    assert captions.coco_tokenize("A man's dog (brown) doesn't run, \"fast\"!") == [
        "a", "man", "'s", "dog", "-lrb-", "brown", "-rrb-", "does", "n't", "run", "fast"]
    assert captions.coco_tokenize("It costs 1,000.50 -- a lot...") == ["it", "costs", "1,000.50", "a", "lot"]
    # tokenisation matters: "mat." and "mat" are the same word after it, not before
    assert captions.bleu([["The mat."]], ["the mat"])["BLEU-2"] == pytest.approx(1.0)
    assert captions.bleu([["The mat."]], ["the mat"], tokenize=False)["BLEU-1"] < 1e-10


def test_meteor_needs_its_jar(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pycocoevalcap.meteor.meteor", None)  # as if not installed
    with pytest.raises(ConfigError, match="pip install pycocoevalcap"):
        captions.meteor([REFS], [CAND])


# ---------------------------------------------------------------------------- agreement with pycocoevalcap


def _random_corpus(seed=0, images=60):
    rng = np.random.default_rng(seed)
    words = "a the man woman dog cat on in with sitting standing red blue table street grass ball of".split()

    def sentence(lo, hi):
        return " ".join(rng.choice(words, rng.integers(lo, hi)))

    refs = {i: [sentence(4, 12) for _ in range(5)] for i in range(images)}
    cands = {i: sentence(1, 14) for i in range(images)}
    return refs, cands


def test_scores_equal_pycocoevalcap():
    bleu_mod = pytest.importorskip("pycocoevalcap.bleu.bleu")
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    refs, cands = _random_corpus()
    res = {i: [c] for i, c in cands.items()}
    coco_bleu, coco_bleu_per = bleu_mod.Bleu(4).compute_score(refs, res, verbose=0)
    coco_rouge, coco_rouge_per = Rouge().compute_score(refs, res)
    coco_cider, coco_cider_per = Cider().compute_score(refs, res)
    bleu = captions.bleu(refs, cands, tokenize=False)
    rouge = captions.rouge_l(refs, cands, tokenize=False)
    cider = captions.cider_d(refs, cands, tokenize=False)
    np.testing.assert_allclose([bleu[f"BLEU-{k}"] for k in range(1, 5)], coco_bleu, rtol=1e-9)
    np.testing.assert_allclose(bleu["per_caption"], np.array(coco_bleu_per).T, rtol=1e-9, atol=1e-12)
    assert rouge["ROUGE-L"] == pytest.approx(coco_rouge, rel=1e-12)
    np.testing.assert_allclose(rouge["per_caption"], coco_rouge_per, rtol=1e-12)
    assert cider["CIDEr-D"] == pytest.approx(coco_cider, rel=1e-12)
    np.testing.assert_allclose(cider["per_caption"], coco_cider_per, rtol=1e-9, atol=1e-12)
    assert 0.1 < coco_bleu[0] < 0.99 and coco_cider > 0.05  # a corpus where the scores are not trivial


AWKWARD = [
    "A man's dog is running, on the grass.", "The dog (brown) runs -- fast!", "Two cats sit on a mat.",
    "A woman doesn't like the T-shirt she's wearing.", "People can't believe it's 3.5 miles away...",
    "A group of 1,000 people; standing \"together\" in the street.", "An old man & his dog at the U.S. border.",
    "A kid's toy: a red/blue ball?", "She said 'hello' to the guys.", "A cat cannot sleep; it's gonna rain.",
    "Birds' nests are on the trees' branches.", "A plate of food with rice, beans, and salsa.",
    "A person holds an umbrella in the rain ... ", "Look at that!!! Wow?!", "A sign reads \"STOP\".",
    "A 10-year-old boy plays baseball.", "The train's at platform #9 at 5:30pm.", "Cost is $5 or 20% off.",
    "We'll go; they've gone; I'd stay; I'm here.", "A man in a [red] hat and {blue} coat.",
    "A dog--a big one--barks.", "It's the 80's style.",
]


@pytest.mark.skipif(shutil.which("java") is None, reason="the COCO PTBTokenizer needs Java")
def test_tokenizer_agrees_with_cocos_java_ptbtokenizer():
    tokenizer_mod = pytest.importorskip("pycocoevalcap.tokenizer.ptbtokenizer")
    java = tokenizer_mod.PTBTokenizer().tokenize({i: [{"caption": s}] for i, s in enumerate(AWKWARD)})
    mismatched = [s for i, s in enumerate(AWKWARD) if " ".join(captions.coco_tokenize(s)) != java[i][0]]
    assert mismatched == []


@pytest.mark.slow  # the Meteor jar loads its paraphrase tables: about a minute
@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR needs Java")
def test_meteor_runs_the_coco_jar():
    meteor_mod = pytest.importorskip("pycocoevalcap.meteor.meteor")
    refs, cands = _random_corpus(images=5)
    ours = captions.meteor(refs, cands, tokenize=False)
    coco, _ = meteor_mod.Meteor().compute_score(refs, {i: [c] for i, c in cands.items()})
    assert ours["METEOR"] == pytest.approx(coco) and 0 < coco < 1


# ---------------------------------------------------------------------------- retrieval


def test_ranks_recall_and_median_rank_hand_worked():
    scores = np.array([[0.9, 0.1, 0.5, 0.2],    # query 0: correct item 0 is first -> rank 1
                       [0.3, 0.2, 0.8, 0.1],    # query 1: item 1 (0.2) beaten by 0.3 and 0.8 -> rank 3
                       [0.4, 0.4, 0.4, 0.4],    # query 2: all tied -> pessimistic rank 4
                       [0.1, 0.7, 0.6, 0.2]])   # query 3: correct {2, 3}: best 0.6, beaten by 0.7 -> rank 2
    r = retrieval.ranks(scores, [[0], [1], [2], [2, 3]])
    np.testing.assert_array_equal(r, [1, 3, 4, 2])
    summary = retrieval.summarize(r, recall_at=(1, 2, 10))
    # median of (1, 2, 3, 4) = 2.5, rounded down as in the Karpathy/Kiros evaluation code
    assert summary == {"R@1": 25.0, "R@2": 50.0, "R@10": 100.0, "Med r": 2}


def test_caption_image_ranks_both_directions():
    # 2 images x 4 captions; captions 0, 1 belong to image 0 and 2, 3 to image 1
    scores = np.array([[5.0, 1.0, 4.0, 0.0],
                       [3.0, 2.0, 6.0, 1.0]])
    out = retrieval.caption_image_ranks(scores, [0, 0, 1, 1])
    # caption -> image (columns): c0 5 vs 3 -> 1; c1 1 vs 2 -> 2; c2 6 vs 4 -> 1; c3 1 vs 0 -> 1
    np.testing.assert_array_equal(out["caption_to_image"], [1, 2, 1, 1])
    # image -> caption: image 0's best caption scores 5, no wrong caption beats it -> 1;
    # image 1's best scores 6 -> 1
    np.testing.assert_array_equal(out["image_to_caption"], [1, 1])
    with pytest.raises(InputError, match="no caption"):
        retrieval.caption_image_ranks(np.zeros((3, 2)), [0, 0])
    with pytest.raises(InputError, match="NaN"):
        retrieval.ranks(np.array([[np.nan]]), [[0]])
