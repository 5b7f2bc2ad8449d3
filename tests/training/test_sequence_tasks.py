"""The runner's sequence tasks: LRCN video classification and captioning (Donahue thesis §4.3-4.5),
Grid LSTM sequence prediction (Kalchbrenner et al. 2015). Losses against NumPy on tiny tensors,
evaluators on hand-computed cases, short training runs on generated data, and the same runs under
MirroredStrategy over 2 logical CPU devices (a subprocess: devices are set up once per process)."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import keras

from tests.training import sequence_fixtures
from tests.training.helpers import REPO
from zoo.data import registry as data_registry
from zoo.errors import ConfigError, WeightsMismatchError
from zoo.text.vocab import IGNORE, MAX_WORDS, Vocabulary
from zoo import tasks
from zoo.tasks.captioning import CaptionEvalOptions, Captioning, caption_words_and_targets
from zoo.training import recipes, runner
from zoo.training.recipes import LossConfig

RNG = np.random.default_rng(0)


def _log_softmax(z):
    z = np.asarray(z, np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _picked(logits, targets):
    """-log p(target) per position, 0 where the target is outside [0, C)."""
    valid = (targets >= 0) & (targets < logits.shape[-1])
    logp = np.take_along_axis(_log_softmax(logits), np.where(valid, targets, 0)[..., None], -1)[..., 0]
    return np.where(valid, -logp, 0.0), valid


# ------------------------------------------------------------------------------ video classification


@pytest.mark.parametrize("normalize", [True, False])
def test_video_loss_is_the_per_step_cross_entropy_averaged_over_steps(normalize):
    # Thesis §4.3: a softmax over the classes at every time step, each against the clip's label.
    logits = RNG.normal(size=(3, 5, 4)).astype(np.float32)
    labels = np.array([2, 0, 3])
    ce, _ = _picked(logits, np.repeat(labels[:, None], 5, axis=1))
    per_clip = ce.mean(axis=1)
    want = per_clip.sum() / 8 if normalize else per_clip.sum()  # global batch 8: this replica holds 3 clips
    got = tasks.get("video_classification").replica_loss(
        tf.constant(logits), tf.constant(labels, tf.int32), loss_cfg=LossConfig(normalize=normalize),
        global_batch_size=8)
    np.testing.assert_allclose(float(got), want, rtol=1e-5)
    # not the last step's loss alone, not the loss of the averaged logits
    assert abs(want - (ce[:, -1].sum() / 8 if normalize else ce[:, -1].sum())) > 1e-3
    # one prediction per clip (C3D): the clip's cross-entropy
    per_clip_logits = logits[:, 0]
    ce_clip, _ = _picked(per_clip_logits, labels)
    got = tasks.get("video_classification").replica_loss(
        tf.constant(per_clip_logits), tf.constant(labels, tf.int32), loss_cfg=LossConfig(normalize=normalize),
        global_batch_size=8)
    np.testing.assert_allclose(float(got), ce_clip.sum() / 8 if normalize else ce_clip.sum(), rtol=1e-5)


def test_video_evaluator_averages_probabilities_over_steps_then_over_the_clips_of_a_video():
    # Two classes, T = 2. Probabilities are given as logits log p.
    clips = np.log(np.array([
        [[0.9, 0.1], [0.2, 0.8]],   # video a, label 0: mean (0.55, 0.45) -> 0 right (its last step alone says 1)
        [[0.4, 0.6], [0.4, 0.6]],   # video a, label 0: (0.4, 0.6) -> 1 wrong; video a: (0.475, 0.525) -> 1 wrong
        [[0.3, 0.7], [0.3, 0.7]],   # video b, label 1: (0.3, 0.7) -> 1 right
        [[0.45, 0.55], [0.65, 0.35]],  # video c, label 0: (0.55, 0.45) -> 0 right
    ]))
    labels = np.array([0, 0, 1, 0])
    ev = tasks.get("video_classification").evaluator(model=None)
    ev.update(clips[:3], {"label": labels[:3], "video_id": np.array([b"a", b"a", b"b"])})
    ev.update(clips[3:], {"label": labels[3:], "video_id": np.array([b"c"])})
    # two classes: every label is in the top 5 (hit@5 = 1)
    assert ev.result() == pytest.approx({"clip_accuracy": 3 / 4, "video_accuracy": 2 / 3, "accuracy": 2 / 3,
                                         "clip_hit@5": 1.0, "video_hit@5": 1.0})
    no_ids = tasks.get("video_classification").evaluator(model=None)
    no_ids.update(clips, {"label": labels})
    assert no_ids.result() == pytest.approx({"clip_accuracy": 3 / 4, "accuracy": 3 / 4, "clip_hit@5": 1.0})
    with pytest.raises(ConfigError, match="labelled 0 and 1"):
        ev.update(clips[:1], {"label": np.array([1]), "video_id": np.array([b"a"])})


def test_video_input_is_the_contract_preprocessing_of_video_or_clip():
    from zoo import registry

    clip = RNG.integers(0, 256, (2, 3, 3, 3), dtype=np.uint8)
    to_xy = tasks.get("video_classification").example_to_xy(registry.card("lrcn_activity_rgb").input_contract)
    for key in ("video", "clip"):  # moving_shapes, ucf101
        x, y = to_xy({key: tf.constant(clip), "label": tf.constant(4, tf.int64)})
        np.testing.assert_allclose(x.numpy(), clip[..., ::-1] - np.array([103.939, 116.779, 128.68]), atol=1e-4)
        assert y.dtype == tf.int32 and int(y) == 4
    flow = tasks.get("video_classification").example_to_xy(registry.card("lrcn_activity_flow").input_contract)
    x, _ = flow({"clip": tf.constant(clip), "label": tf.constant(0)})
    np.testing.assert_allclose(x.numpy(), clip - 128.0)  # flow images: channels kept, minus 128 (thesis §4.3)
    _, y = tasks.get("video_classification").eval_example_to_xy(registry.card("lrcn_activity_rgb").input_contract)(
        {"clip": tf.constant(clip), "label": tf.constant(1), "video_index": tf.constant(7, tf.int64)})
    assert int(y["video_id"]) == 7 and int(y["label"]) == 1


# ------------------------------------------------------------------------------ captioning


def _shift(caption):
    words, targets = caption_words_and_targets(tf.constant(caption, tf.int32))
    return words.numpy().tolist(), targets.numpy().tolist()


def test_caption_is_shifted_into_input_words_and_targets_with_padding_ignored():
    # [<bos>, w1 .. wn, <eos>] (ids: <eos> = <bos> = 0), as coco_to_hdf5_data.py's input / target streams
    assert _shift([0, 5, 6, 7, 0, -1, -1]) == ([0, 5, 6, 7, 0, 0], [5, 6, 7, 0, -1, -1])
    # padded with <eos>: only the first <eos> is a target
    assert _shift([0, 5, 6, 0, 0, 0]) == ([0, 5, 6, 0, 0], [5, 6, 0, -1, -1])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def ragged(caption):  # a caption of unknown length is padded / cut to MAX_WORDS + 1 tokens
        return caption_words_and_targets(caption)

    words, targets = ragged(tf.constant([0, 3, 4, 0]))
    assert words.shape == targets.shape == (MAX_WORDS,)
    assert targets.numpy().tolist() == [3, 4, 0] + [IGNORE] * (MAX_WORDS - 3)
    long_caption = [0, *range(1, 31), 0]
    words, targets = ragged(tf.constant(long_caption))
    assert words.numpy().tolist() == long_caption[:MAX_WORDS]
    assert targets.numpy().tolist() == long_caption[1 : MAX_WORDS + 1]  # cut: no <eos> target, as the release


def test_string_captions_are_encoded_as_the_release_vocabulary_does():
    vocab = Vocabulary(["<unk>", "a", "red", "circle", "above", "square"])
    task = Captioning(vocab)
    ex = {"image": tf.zeros((4, 4, 3), tf.uint8), "caption": tf.constant("A red circle above a blue square.")}
    from zoo import registry

    (x, targets) = task.example_to_xy(registry.card("lrcn2f").input_contract)(ex)
    want = vocab.sequences(["A red circle above a blue square."], MAX_WORDS)  # "blue" -> <unk>; final "." dropped
    assert x["words"].numpy().tolist() == want["input"][0].tolist()
    assert targets.numpy().tolist() == want["target"][0].tolist()
    with pytest.raises(ConfigError, match="need a vocabulary"):
        tasks.get("captioning").example_to_xy(registry.card("lrcn2f").input_contract)(ex)


@pytest.mark.parametrize("normalize", [True, False])
def test_caption_loss_sums_words_ignores_minus_one_and_divides_by_sequences(normalize):
    logits = RNG.normal(size=(2, 4, 6)).astype(np.float32)
    targets = np.array([[3, 1, 0, -1], [2, 5, 4, 0]])
    ce, valid = _picked(logits, targets)
    assert valid.sum() == 7
    want = ce.sum() / 4 if normalize else ce.sum()  # global batch: 4 captions (2 on this replica)
    got = tasks.get("captioning").replica_loss(tf.constant(logits), tf.constant(targets, tf.int32),
                                               loss_cfg=LossConfig(normalize=normalize), global_batch_size=4)
    np.testing.assert_allclose(float(got), want, rtol=1e-5)


def _forced_captioner(word):
    """A tiny LRCN1u whose every step predicts `word` (predict: zero kernel, one large bias)."""
    from zoo.models.lrcn.captioning import lrcn1u

    keras.utils.set_random_seed(0)
    model = lrcn1u(vocab_size=8, hidden=4, embed_dim=4, width=16, input_shape=(67, 67, 3))
    predict = model.get_layer("predict")
    bias = np.zeros(8, np.float32)
    bias[word] = 10.0
    predict.set_weights([np.zeros_like(predict.get_weights()[0]), bias])
    return model


def test_caption_evaluator_perplexity_and_greedy_bleu_on_a_hand_computed_case():
    model = _forced_captioner(3)
    ev = tasks.get("captioning").evaluator(model, eval_cfg=CaptionEvalOptions(decode=True, max_length=2))
    # uniform logits over 8 words: every valid target costs ln 8, perplexity 8; word_accuracy: argmax is word 0
    targets = np.array([[3, 3, 0, -1], [3, 4, 0, -1], [5, 0, -1, -1]])
    images = RNG.normal(size=(3, 67, 67, 3)).astype(np.float32) * 50
    ev.update(np.zeros((3, 4, 8), np.float32),
              {"targets": targets, "id": np.array([11, 11, 12]), "inputs": {"image": images}})
    result = ev.result()
    assert result["perplexity"] == pytest.approx(8.0) and result["cross_entropy"] == pytest.approx(math.log(8))
    assert result["word_accuracy"] == pytest.approx(3 / 8)  # the three <eos> targets (id 0) of 8 valid
    # one greedy caption per image ("3 3": max_length 2, never <eos>); references grouped by image id
    assert ev.candidates == {11: "3 3", 12: "3 3"} and ev.references == {11: ["3 3", "3 4"], 12: ["5"]}
    # BLEU by hand: unigram matches 2 (image 11) + 0 of 4 candidate words; bigram matches 1 + 0 of 2;
    # candidate length 4 > reference length 2 + 1, no brevity penalty: BLEU-1 = 1/2, BLEU-2 = sqrt(1/2 * 1/2)
    assert result["BLEU-1"] == pytest.approx(0.5) and result["BLEU-2"] == pytest.approx(0.5)
    assert 0.0 <= result["CIDEr-D"] and "BLEU-4" in result
    plain = tasks.get("captioning").evaluator(model)  # decode is off by default
    plain.update(np.zeros((3, 4, 8), np.float32), {"targets": targets, "inputs": {"image": images}})
    assert set(plain.result()) == {"cross_entropy", "perplexity", "word_accuracy"} and not plain.candidates


def _small_captioner():
    from zoo.models.lrcn.captioning import lrcn2f

    keras.utils.set_random_seed(1)
    return lrcn2f(vocab_size=9, hidden=6, embed_dim=5, width=16, input_shape=(67, 67, 3))


@pytest.mark.parametrize("strategy", ["beam", "sample"])
def test_caption_evaluator_decodes_with_beam_search_and_sampling(strategy):
    from zoo.text import decoding
    from zoo.models.lrcn.parts import Decoder

    model = _small_captioner()
    images = RNG.normal(size=(3, 67, 67, 3)).astype(np.float32) * 50
    targets = np.array([[3, 3, 0, -1], [4, 0, -1, -1], [5, 6, 0, -1]])
    cfg = CaptionEvalOptions(decode=True, max_length=4, strategy=strategy, beam_size=3, num_samples=5, inverse_temperature=1.5)
    ev = tasks.get("captioning").evaluator(model, eval_cfg=cfg)
    ev.update(np.zeros((3, 4, 9), np.float32), {"targets": targets, "id": np.array([1, 1, 2]),
                                                 "inputs": {"image": images}})
    decoder = Decoder(model)
    rng = np.random.default_rng(0)
    for key, row in ((1, 0), (2, 2)):
        state = decoder.initial_state(images[row:row + 1])
        if strategy == "beam":
            best = decoding.beam_search(decoder.step, state, beam_size=3, max_length=4)[0]
        else:
            best = decoding.sample(decoder.step, state, num_samples=5, inverse_temperature=1.5, rng=rng,
                                   max_length=4)[0]
        assert ev.candidates[key] == " ".join(map(str, best.tokens))
    assert {"BLEU-4", "ROUGE-L", "CIDEr-D"} <= set(ev.result())
    with pytest.raises(ConfigError, match="eval.strategy"):
        tasks.get("captioning").evaluator(model, eval_cfg=CaptionEvalOptions(decode=True, strategy="nucleus"))
    with pytest.raises(ConfigError, match="eval.strategy"):  # a recipe with it stops at load, before training
        recipes.load("lrcn2f_shape_captions_standin", ['eval.strategy="nucleus"'])
    with pytest.raises(ConfigError, match="eval.beam_size"):
        recipes.load("lrcn2f_shape_captions_standin", ["eval.beam_size=0"])


def test_word_id_captions_past_the_models_vocabulary_are_an_error():
    import types

    bound = tasks.get("captioning").bind(None, types.SimpleNamespace(features={"words": 0, "targets": 0}), None,
                                         _small_captioner())
    assert bound.vocab_size == 9  # the model's predict layer
    words, targets = bound._teacher_forcing({"words": tf.constant([0, 3, 8]), "targets": tf.constant([3, 8, 0])})
    assert words.numpy().tolist() == [0, 3, 8] and targets.numpy().tolist() == [3, 8, 0]
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"word id past the vocabulary of the model \(vocab_size 9\)"):
        bound._teacher_forcing({"words": tf.constant([0, 3, 9]), "targets": tf.constant([3, 9, 0])})


def test_caption_evaluator_retrieval_ranks_match_the_training_model_likelihoods():
    from zoo.metrics import retrieval
    from zoo.text.decoding import sequence_log_likelihood
    from zoo.text.vocab import EOS_ID

    model = _small_captioner()
    images = RNG.normal(size=(4, 67, 67, 3)).astype(np.float32) * 50
    # 8 captions, two per image, in two evaluation batches
    targets = RNG.integers(1, 9, size=(8, 5))
    targets[:, 3], targets[:, 4] = EOS_ID, -1
    targets[::3, 2:] = [EOS_ID, -1, -1]  # shorter captions
    image_of = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    words = np.concatenate([np.full((8, 1), EOS_ID), np.where(targets[:, :-1] < 0, EOS_ID, targets[:, :-1])], 1)
    ev = tasks.get("captioning").evaluator(model, eval_cfg=CaptionEvalOptions(retrieval=True))
    for half in (slice(0, 4), slice(4, 8)):
        x = {"image": images[image_of[half]], "words": words[half]}
        ev.update(model(x, training=False), {"targets": targets[half], "id": image_of[half] + 100, "inputs": x})
    scores, caption_image = ev.retrieval_scores(chunk=3)
    # the oracle: the full training model run on every (image, caption) pair
    want = np.stack([sequence_log_likelihood(model({"image": np.repeat(images[i:i + 1], 8, 0), "words": words},
                                                   training=False), targets) for i in range(4)])
    np.testing.assert_allclose(scores, want, rtol=1e-4, atol=1e-4)
    assert caption_image.tolist() == image_of.tolist()
    result = ev.result()
    ranks = retrieval.caption_image_ranks(want, image_of)
    for direction in ("caption_to_image", "image_to_caption"):
        expected = retrieval.summarize(ranks[direction])
        assert result[f"{direction}_R@1"] == pytest.approx(expected["R@1"])
        assert result[f"{direction}_Med_r"] == expected["Med r"]


# ------------------------------------------------------------------------------ sequence prediction


@pytest.mark.parametrize("normalize", [True, False])
def test_sequence_loss_is_masked_and_normalised_over_scored_positions(normalize):
    logits = RNG.normal(size=(2, 5, 11)).astype(np.float32)
    targets = np.array([[10, 10, 3, 4, 10], [10, 10, 9, 1, -1]])
    mask = np.array([[0, 0, 1, 1, 0], [0, 0, 1, 1, 1]], np.float32)  # the -1 target is left out although masked in
    ce, valid = _picked(logits, targets)
    weight = mask * valid
    want = (ce * weight).sum() / weight.sum() if normalize else (ce * weight).sum()
    got = tasks.get("sequence_prediction").replica_loss(
        tf.constant(logits), {"targets": tf.constant(targets, tf.int32), "mask": tf.constant(mask)},
        loss_cfg=LossConfig(normalize=normalize), global_batch_size=2)
    np.testing.assert_allclose(float(got), want, rtol=1e-5)


def test_sequence_evaluator_accuracy_sequence_accuracy_and_bits_per_character():
    ev = tasks.get("sequence_prediction").evaluator(model=None)
    targets = np.array([[1, 2, 3], [0, 2, 2]])
    mask = np.array([[0, 1, 1], [1, 1, 0]], np.float32)
    logits = np.zeros((2, 3, 4), np.float32)  # uniform: ln 4 nats = 2 bits per scored position
    logits[0, 1, 2] = logits[0, 2, 3] = 1e-3  # sequence 0: both scored positions right
    logits[1, 0, 0] = logits[1, 1, 1] = 1e-3  # sequence 1: first right, second wrong, third not scored
    ev.update(logits, {"targets": targets, "mask": mask})
    result = ev.result()
    assert result["accuracy"] == pytest.approx(3 / 4) and result["sequence_accuracy"] == pytest.approx(1 / 2)
    assert result["bits_per_character"] == pytest.approx(2.0, abs=1e-3)
    assert result["cross_entropy"] == pytest.approx(math.log(4), abs=1e-3)


def test_sequence_targets_without_mask_score_every_position():
    from zoo import registry

    x, y = tasks.get("sequence_prediction").example_to_xy(registry.card("grid_lstm_charlm").input_contract)(
        {"tokens": tf.constant([5, 6, 7]), "targets": tf.constant([6, 7, 8])})
    assert x.dtype == tf.int32 and y["mask"].numpy().tolist() == [1.0, 1.0, 1.0]


# ------------------------------------------------------------------------------ short runs


@pytest.fixture
def crf_sentences():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data_registry, "_DATASETS", dict(data_registry._DATASETS))
        data_registry.list_datasets()  # the built-in ones first
        data_registry.register_dataset("test/crf_sentences", sequence_fixtures.CRF_INFO, sequence_fixtures.load_crf)
        yield


def _run(tmp_path, data):
    recipe = recipes.from_dict(data)
    return runner.train(recipe, tmp_path / "run"), recipe


def test_video_classification_trains_lrcn_on_generated_clips(tmp_path):
    data = sequence_fixtures.recipe("video", steps=6)
    data["model"] = {"name": "lrcn_activity_rgb",
                     "options": {"num_classes": 6, "width": 16, "input_shape": [4, 67, 67, 3], "lstm_units": 8}}
    data["data"]["options"]["image_size"] = 67
    res, _ = _run(tmp_path, data)
    assert res.steps == 6 and np.isfinite(res.final_loss)
    assert set(res.metrics) == {"clip_accuracy", "video_accuracy", "accuracy", "clip_hit@5", "video_hit@5"}
    assert (tmp_path / "run" / "final.weights.h5").exists()


def test_captioning_trains_on_string_captions_with_a_vocabulary_file(tmp_path):
    from zoo.data.standins import shape_captions

    vocab_file = Vocabulary(["<unk>", *shape_captions.vocabulary_words()]).save(tmp_path / "vocabulary.txt")
    data = sequence_fixtures.recipe("captioning", steps=4, eval={"decode": True, "max_length": 6})
    data["model"] = {"name": "lrcn2f", "options": {"vocab_size": 16, "hidden": 8, "embed_dim": 8, "width": 16,
                                                   "input_shape": [67, 67, 3]}}
    data["data"] = {"name": "shape_captions", "global_batch_size": 4, "shuffle_buffer": 8,
                    "vocabulary": str(vocab_file), "options": {"image_size": 67, "num_examples": 8}}
    res, recipe = _run(tmp_path, data)
    assert np.isfinite(res.final_loss)
    assert {"perplexity", "word_accuracy", "BLEU-4", "CIDEr-D"} <= set(res.metrics)
    assert 1.0 < res.metrics["perplexity"] < 16.0 * 1.5  # near uniform over the 16 words after 4 steps
    # a vocabulary of another size than the model's is refused before training
    recipe.model.options["vocab_size"] = 20
    with pytest.raises(WeightsMismatchError, match="16 entries"):
        runner.train(recipe, tmp_path / "other")


def test_captioning_trains_video_description_on_crf_outputs(tmp_path, crf_sentences):
    res, _ = _run(tmp_path, sequence_fixtures.recipe("captioning", steps=6, eval={"decode": True, "max_length": 5}))
    assert res.steps == 6 and np.isfinite(res.final_loss)
    assert {"perplexity", "BLEU-1", "BLEU-4", "CIDEr-D"} <= set(res.metrics)


def test_captioning_stops_at_word_ids_past_the_models_vocabulary(tmp_path, crf_sentences):
    data = sequence_fixtures.recipe("captioning", steps=2)
    data["model"]["options"]["vocab_size"] = 4  # the fixture's sentences use more words than that
    with pytest.raises(ConfigError,
                       match=r"word id past the vocabulary of the model \(vocab_size 4\)"):
        _run(tmp_path, data)


def test_sequence_prediction_trains_grid_lstm_addition(tmp_path):
    res, _ = _run(tmp_path, sequence_fixtures.recipe("sequence", steps=6))
    assert res.steps == 6 and np.isfinite(res.final_loss)
    assert set(res.metrics) == {"accuracy", "sequence_accuracy", "cross_entropy", "bits_per_character"}
    assert res.metrics["bits_per_character"] == pytest.approx(res.metrics["cross_entropy"] / math.log(2))


def test_parity_trains_as_classification_from_its_bits(tmp_path):
    data = sequence_fixtures.recipe("sequence", steps=4)
    data["model"] = {"name": "grid_lstm_parity", "options": {"input_shape": [6], "units": 8, "num_layers": 3}}
    data["data"]["name"], data["data"]["options"] = "parity", {"num_bits": 6, "num_examples": 16}
    res, _ = _run(tmp_path, data)
    assert np.isfinite(res.final_loss) and 0.0 <= res.metrics["accuracy"] <= 1.0


MIRRORED = """
import json, sys
import numpy as np
from tests.training import sequence_fixtures
from zoo.training import recipes, runner
from zoo.training.strategy import configure_cpu_devices

configure_cpu_devices(2)
sequence_fixtures.register()
out = {}
for kind in ("video", "captioning", "sequence"):
    weights = {}
    for strategy in ("default", "mirrored"):
        recipe = recipes.from_dict(sequence_fixtures.recipe(kind, strategy=strategy, steps=4, data={"eval_split": ""}))
        res = runner.train(recipe, sys.argv[1] + f"/{kind}_{strategy}")
        weights[strategy] = [np.asarray(w) for w in res.model.weights]
        out[f"{kind} {strategy} loss"] = res.final_loss
    out[f"{kind} max weight difference"] = max(float(np.abs(a - b).max()) for a, b in zip(*weights.values()))
    out[f"{kind} moved"] = any(not np.allclose(a, b) for a, b in zip(weights["default"], runner.build_model(
        recipe, __import__("zoo").registry.card(recipe.model.name)).weights))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.distributed
def test_mirrored_over_two_cpus_matches_the_default_strategy_for_every_sequence_task(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    p = subprocess.run([sys.executable, str(script), str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                       env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)},
                       timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("MirroredStrategy with 2 replica(s)") == 3, p.stdout
    out = json.loads(p.stdout.split("RESULT ", 1)[1])
    print(out)
    for kind in ("video", "captioning", "sequence"):
        # Each replica's loss is its share of the global one (per-clip means / global batch; caption sums /
        # sequences; masked sums / the all-reduced mask count), so 2 replicas end where 1 device does.
        assert out[f"{kind} max weight difference"] < 1e-5, out
        assert out[f"{kind} moved"], out
        assert out[f"{kind} default loss"] == pytest.approx(out[f"{kind} mirrored loss"], rel=1e-4)
