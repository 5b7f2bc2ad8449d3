"""Captioning: words given an image (LRCN1u/2u/2f, Donahue thesis §4.4) or a video's CRF outputs
(§4.5), trained by teacher forcing and evaluated by perplexity, decoded captions and retrieval."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.metrics.captions import evaluate
from zoo.metrics.retrieval import caption_image_ranks, summarize
from zoo.models.lrcn.parts import WORDS, Decoder as LrcnDecoder
from zoo.ops.numerics import log_softmax
from zoo.tasks.base import Evaluator, Task, assert_in_data, first_output, model_input, python_key
from zoo.tasks.sequence import per_step_logits, step_cross_entropy
from zoo.text.decoding import beam_search, greedy, sample, state_rows
from zoo.text.vocab import EOS_ID, IGNORE, MAX_WORDS, Vocabulary

DECODING_STRATEGIES = ("greedy", "beam", "sample")


@dataclasses.dataclass
class CaptionEvalOptions:
    """The [eval] table of captioning recipes."""

    # Decode one caption per image and score it against the split's captions of that image
    # (slow: one decoder call per word).
    decode: bool = False
    max_length: int = 50  # words per decoded caption (the release's captioner.py: 50)
    strategy: str = "greedy"  # greedy | beam | sample (Donahue thesis Table 4.6)
    beam_size: int = 3  # strategy "beam"
    num_samples: int = 100  # strategy "sample": draw N, keep the most likely
    inverse_temperature: float = 1.0  # strategy "sample": the thesis's T, words drawn from softmax(T * logits)
    caption_metrics: list = dataclasses.field(default_factory=lambda: ["BLEU", "ROUGE-L", "CIDEr-D"])  # + "METEOR" (Java)
    # Caption <-> image retrieval over the whole eval split (Tables 4.4, 4.5): every caption scored
    # against every image by log p(caption | image); R@1/5/10 and median rank, both directions.
    retrieval: bool = False

    def check(self) -> None:
        """ConfigError for values the evaluator cannot run (checked when a recipe loads)."""
        if self.max_length < 1:
            raise ConfigError(f"eval.max_length must be at least 1 word, got {self.max_length}")
        if self.strategy not in DECODING_STRATEGIES:
            raise ConfigError(f"eval.strategy must be one of {DECODING_STRATEGIES}, got {self.strategy!r}")
        if self.beam_size < 1:
            raise ConfigError(f"eval.beam_size must be at least 1, got {self.beam_size}")
        if self.num_samples < 1 or not self.inverse_temperature > 0:
            raise ConfigError(f"sampling needs eval.num_samples >= 1 and eval.inverse_temperature > 0, got "
                              f"{self.num_samples} and {self.inverse_temperature}")
        if self.decode and not self.caption_metrics:
            raise ConfigError("eval.decode is on but eval.caption_metrics is empty")


# The first of these an example has groups its reference captions: coco_captions / flickr30k / shape_captions
# "image_id", tacos_multilevel "segment" (a video's segments have their own sentences and CRF outputs).
CAPTION_ID_KEYS = ("image_id", "segment", "video_id", "id")
CRF_INPUTS = ("crf_prob", "crf_max")  # video description inputs (zoo.models.lrcn.video_description)


def _cut_or_pad(tokens, length, pad):
    tokens = tokens[:length]
    tokens = tf.pad(tokens, [[0, length - tf.shape(tokens)[0]]], constant_values=pad)
    tokens.set_shape([length])
    return tokens


def caption_words_and_targets(caption, max_words=None):
    """Teacher forcing from a caption [<bos>, w1 .. wn, <eos>] (+ padding): the input words
    [<bos>, w1 .. wn] and the targets [w1 .. wn, <eos>], as coco_to_hdf5_data.py writes them.

    Targets after the first <eos> (padding, whatever its value) and negative ones become -1
    (IGNORE); negative input words (padding -1) become <eos> (id 0, the release's input padding).
    A caption of unknown length is cut or padded to `max_words` + 1 tokens (default: the
    release's MAX_WORDS, 20 input words) so that captions batch; a truncated caption's targets
    have no <eos>, as in the release. Ids follow zoo.text.vocab: <eos> = <bos> = 0.
    """
    tokens = tf.cast(caption, tf.int32)
    if tokens.shape[0] is None:
        tokens = _cut_or_pad(tokens, (max_words or MAX_WORDS) + 1, IGNORE)
    words, targets = tokens[:-1], tokens[1:]
    after_end = tf.cumsum(tf.cast(targets == EOS_ID, tf.int32), exclusive=True) > 0
    targets = tf.where(after_end | (targets < 0), IGNORE, targets)
    return tf.where(words < 0, EOS_ID, words), targets


def model_vocab_size(model) -> int:
    """The size of the model's output vocabulary: LRCN's `predict` layer, or an attention decoder's."""
    try:
        return int(model.get_layer("predict").units)
    except ValueError:
        return int(model.get_layer("decoder").vocab_size)


def decoder_for(model):
    """The NumPy step decoder of a captioner: Show, Attend and Tell's (a `decoder` layer that attends)
    or LRCN's."""
    if any(layer.name == "decoder" and hasattr(layer, "attend") for layer in model.layers):
        from zoo.models.show_attend_tell.show_attend_tell import Decoder

        return Decoder(model)
    return LrcnDecoder(model)


class Captioning(Task):
    """Words given the image (LRCN1u/2u/2f, thesis §4.4) or the video's CRF outputs (§4.5).

    Inputs: the conditioning input (`image` preprocessed as the contract says, or the dataset's
    `crf_prob` / `crf_max` for video description) and `words`. Teacher forcing: the dataset's
    "words" [<eos>, w1 .. wn] and "targets" [w1 .. wn, <eos>] (padded with -1) when it has them
    (coco_captions, flickr30k, tacos_multilevel); otherwise its "caption" [<bos>, w1 .. wn, <eos>]
    is shifted here into input words and next-word targets (`caption_words_and_targets`).
    Targets -1 (padding) are ignored. A "caption" given as a string (shape_captions) is encoded
    first with the release's tokenizer and vocabulary (`zoo.text.vocab`): the recipe's
    `data.vocabulary` file, or, when that is "", the vocabulary built from the training split's
    captions (words seen at least 5 times, coco_to_hdf5_data.py's rule); its size must be the
    model's `vocab_size`.

    Loss: cross-entropy summed over the valid words, divided by the number of sequences in the
    global batch (`normalize=True`: the thesis's objective, the NLL summed over a sentence's
    words and averaged over sentences, §4.1), or not divided (`normalize=False`). The reference
    (lrcn.prototxt) normalises differently: SoftmaxWithLoss averages over the valid words of the
    batch and has loss_weight 20 (= MAX_WORDS), i.e. 20 x the mean per word, which equals the
    per-sentence sum only when every caption fills the 20 steps (most COCO captions are shorter,
    so the reference's gradients are larger by 20 / (valid words per caption) than these).

    Evaluation: `cross_entropy` (nats per target word), `perplexity` = exp(cross_entropy) and
    `word_accuracy` (teacher-forced argmax) over the split's valid target words. With the
    recipe's `eval.decode = true`, one caption per image (examples grouped by "image_id", or by
    tacos_multilevel's "segment") is decoded (`eval.strategy`: greedy; beam search of
    `eval.beam_size`; or the most likely of `eval.num_samples` samples at `eval.inverse_temperature` T, the
    strategies of Table 4.6; at most `eval.max_length` words) and scored against all of that
    image's captions in the split with `eval.caption_metrics` (BLEU-1..4, ROUGE-L, CIDEr-D and,
    with Java, METEOR; `zoo.metrics.captions`, COCO's definitions). The scores are computed on the
    vocabulary's word ids (unknown words are one `<unk>` token; no PTB tokenizer), so they
    approximate the official COCO evaluation of decoded sentences. With `eval.retrieval = true`,
    every caption of the split is scored against every image by log p(caption | image) and the
    ranks give R@1/5/10 and the median rank in both directions (Tables 4.4, 4.5; run it on a
    1,000-image split such as coco_captions' retrieval_1k: the cost is images x captions).
    """

    name = "captioning"
    EvalOptions = CaptionEvalOptions

    def metric_names(self, options):
        """Teacher-forced scores; with eval.decode each caption metric (BLEU: BLEU-1..4); with
        eval.retrieval the ranks of each direction (caption_to_image_R@1, ...)."""
        names = ("cross_entropy", "perplexity", "word_accuracy")
        if options.decode:
            names += tuple(f"{m}*" for m in options.caption_metrics)
        if options.retrieval:
            names += ("caption_to_image_*", "image_to_caption_*")
        return names

    def __init__(self, vocabulary=None, vocab_size=None):
        self.vocabulary = vocabulary  # encodes string captions; None: the captions are word ids
        self.vocab_size = vocab_size  # word-id captions: ids must be below it (the model's vocabulary)

    def bind(self, recipe, info, load, model=None):
        if {"words", "targets"} <= set(info.features):  # tokenised by the dataset (with its own vocabulary)
            if model is None:
                return self
            # The dataset's vocabulary is not known here: check its ids against the model's as they come.
            return type(self)(vocab_size=model_vocab_size(model))
        spec = load(recipe.data.train_split).element_spec
        if "caption" not in spec:
            raise ConfigError(f"a captioning dataset has a 'caption' feature; {recipe.data.name} has {sorted(spec)}")
        if spec["caption"].dtype != tf.string:
            return self
        if recipe.data.vocabulary:
            vocabulary = Vocabulary.load(recipe.data.vocabulary)
        else:
            captions = load(recipe.data.train_split).map(lambda ex: ex["caption"]).as_numpy_iterator()
            vocabulary = Vocabulary.build(c.decode("utf-8") for c in captions)
        if model is not None:
            vocabulary.check_model(model)
        return type(self)(vocabulary)

    def _caption_ids(self, caption):
        """Word ids [<eos>, w1 .. wn, <eos>] of a string caption, cut or padded (-1) to MAX_WORDS + 1;
        id captions as they are."""
        if caption.dtype != tf.string:
            return caption
        if self.vocabulary is None:
            raise ConfigError("string captions need a vocabulary: run them through the recipe runner, which builds "
                              "one (Captioning.bind), or give Captioning(vocabulary)")
        vocabulary = self.vocabulary

        def encode(text):
            text = np.asarray(text).item().decode("utf-8")  # bytes, or a 0-d array of bytes when run eagerly
            return np.asarray([EOS_ID, *vocabulary.encode(text), EOS_ID], np.int32)

        ids = tf.numpy_function(encode, [caption], tf.int32, stateful=False)
        return _cut_or_pad(ids, MAX_WORDS + 1, IGNORE)  # the release's 20 input words

    def _conditioning(self, contract):
        """ex -> {model input name: tensor} for the inputs other than the words."""
        if contract.streams:
            parts = {s.name: model_input(s) for s in contract.streams if s.name != WORDS}
            return lambda ex: {name: fn(ex) for name, fn in parts.items()}
        if contract.kind in ("image", "clip"):
            make_image = model_input(contract)
            return lambda ex: {"image": make_image(ex)}

        def crf(ex):  # video description: each architecture reads the one its input is named after
            found = {k: ex[k] for k in CRF_INPUTS if k in ex}
            if not found:
                raise ConfigError(f"a video-description example needs one of {CRF_INPUTS}; it has {sorted(ex)}")
            return {k: tf.cast(v, tf.int32 if k == "crf_max" else tf.float32) for k, v in found.items()}

        return crf

    def _teacher_forcing(self, ex):
        """(input words, target words) of an example."""
        if "words" in ex and "targets" in ex:
            words, targets = tf.cast(ex["words"], tf.int32), tf.cast(ex["targets"], tf.int32)
            if self.vocab_size:  # an id past the model's vocabulary: ignored as a target, garbage as an input
                check = assert_in_data(
                    tf.reduce_max(tf.concat([words, targets], 0)) < self.vocab_size,
                    f"a caption has a word id past the vocabulary of the model (vocab_size {self.vocab_size}): the "
                    "vocabulary of the dataset is larger. Set model.options.vocab_size to its size, or "
                    "data.options.vocabulary to the vocabulary file the model was trained with")
                with tf.control_dependencies([check]):
                    words = tf.identity(words)
            return words, targets
        return caption_words_and_targets(self._caption_ids(ex["caption"]))

    def example_to_xy(self, contract):
        condition = self._conditioning(contract)

        def fn(ex):
            words, targets = self._teacher_forcing(ex)
            return {**condition(ex), "words": words}, targets

        return fn

    def eval_example_to_xy(self, contract):
        condition = self._conditioning(contract)

        def fn(ex):
            words, targets = self._teacher_forcing(ex)
            inputs = condition(ex)
            y = {"targets": targets, "inputs": inputs}  # the decoder starts from the conditioning inputs
            for key in CAPTION_ID_KEYS:
                if key in ex:
                    y["id"] = ex[key]
                    break
            return {**inputs, "words": words}, y

        return fn

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        ce, _ = step_cross_entropy(per_step_logits(outputs, self.name), targets)
        total = tf.reduce_sum(ce)
        return total / global_batch_size if loss_cfg.normalize else total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return CaptionEvaluator(model, eval_cfg)


class CaptionEvaluator(Evaluator):
    """Teacher-forced scores of every caption, plus (eval_cfg) decoded captions and retrieval ranks.

    Images are told apart by the examples' id ("image_id", "segment", ...; each example is its own
    image when there is none). The encoder runs once per image: its decoder state is what the
    decoding strategies and the retrieval scores start from.
    """

    def __init__(self, model, eval_cfg=None):
        cfg = eval_cfg or CaptionEvalOptions()
        cfg.check()  # also checked when a recipe loads; here for evaluators built without one
        self.model, self.cfg = model, cfg
        self.nll = 0.0
        self.words = self.right = self.seen = 0
        self.references, self.candidates = {}, {}
        self.states = {}  # image key -> its decoder state (one row), kept for retrieval
        self.caption_targets, self.caption_keys = [], []  # retrieval: every caption and its image
        self.rng = np.random.default_rng(0)  # sampling: the same draws on every evaluation
        self.decoder = None
        if cfg.decode or cfg.retrieval:
            self.decoder = decoder_for(model)

    def update(self, outputs, targets):
        logits = np.asarray(first_output(outputs))
        t = np.asarray(targets["targets"])
        valid = (t >= 0) & (t < logits.shape[-1])
        logp = np.take_along_axis(log_softmax(logits), np.where(valid, t, 0)[..., None], axis=-1)[..., 0]
        self.nll -= float(logp[valid].sum())
        self.words += int(valid.sum())
        self.right += int(((logits.argmax(-1) == t) & valid).sum())
        if "id" in targets:
            ids = [python_key(i) for i in np.asarray(targets["id"])]
        else:  # each example is its own image
            ids = list(range(self.seen, self.seen + len(t)))
        self.seen += len(t)
        new_rows, new_keys = [], set()
        for row, (key, target) in enumerate(zip(ids, t)):
            words = []
            for w in target.tolist():
                if w < 0 or w == EOS_ID:
                    break
                words.append(str(w))
            self.references.setdefault(key, []).append(" ".join(words))
            if self.cfg.retrieval:
                self.caption_targets.append(target)
                self.caption_keys.append(key)
            seen = key in self.states or key in self.candidates or key in new_keys
            if self.decoder is not None and not seen:
                new_rows.append(row)
                new_keys.add(key)
        if new_rows:
            self._new_images(ids, new_rows, targets["inputs"])

    def _new_images(self, ids, rows, inputs):
        """Encode the images first seen in this batch; decode their captions and/or keep their states."""
        conditioning = [np.asarray(inputs[t.name])[rows] for t in self.model.inputs if t.name != WORDS]
        state = self.decoder.initial_state(conditioning[0] if len(conditioning) == 1 else conditioning)
        keys = [ids[row] for row in rows]
        if self.cfg.retrieval:
            for i, key in enumerate(keys):
                self.states[key] = state_rows(state, [i])
        if not self.cfg.decode:
            return
        cfg, step = self.cfg, self.decoder.step
        if cfg.strategy == "greedy":
            captions = greedy(step, state, max_length=cfg.max_length)
        elif cfg.strategy == "beam":  # the best of each image's beam
            captions = [beam_search(step, state_rows(state, [i]), beam_size=cfg.beam_size, max_length=cfg.max_length)[0]
                        for i in range(len(keys))]
        else:  # the most likely of N samples (Table 4.6's "sample" rows)
            captions = [sample(step, state_rows(state, [i]), num_samples=cfg.num_samples,
                               inverse_temperature=cfg.inverse_temperature, rng=self.rng, max_length=cfg.max_length)[0]
                        for i in range(len(keys))]
        for key, caption in zip(keys, captions):
            self.candidates[key] = " ".join(map(str, caption.tokens))

    def retrieval_scores(self, chunk=1024):
        """(images x captions) log p(caption | image) of every pair, images in first-seen order, and
        each caption's image index. One teacher-forced decoder pass per (image, chunk of captions)."""
        keys = list(self.states)
        index = {key: i for i, key in enumerate(keys)}
        targets = np.stack(self.caption_targets)
        words = np.concatenate([np.full((len(targets), 1), EOS_ID), targets[:, :-1]], axis=1)
        words = np.where(words < 0, EOS_ID, words).astype(np.int32)  # after a caption's <eos>: not scored
        valid = targets >= 0
        picked = np.where(valid, targets, 0)
        scores = np.zeros((len(keys), len(targets)))
        for i, key in enumerate(keys):
            for lo in range(0, len(targets), chunk):
                n = min(chunk, len(targets) - lo)
                state = state_rows(self.states[key], np.zeros(n, int))
                total = np.zeros(n)
                for t in range(targets.shape[1]):
                    if not valid[lo:lo + n, t].any():
                        break
                    logits, state = self.decoder.step(words[lo:lo + n, t], state)
                    logp = np.take_along_axis(log_softmax(logits), picked[lo:lo + n, t, None], axis=-1)[:, 0]
                    total += np.where(valid[lo:lo + n, t], logp, 0.0)
                scores[i, lo:lo + n] = total
        return scores, np.array([index[k] for k in self.caption_keys])

    def result(self):
        ce = self.nll / max(self.words, 1)
        out = {"cross_entropy": ce, "perplexity": float(np.exp(ce)), "word_accuracy": self.right / max(self.words, 1)}
        if self.cfg.decode and self.candidates:
            out.update(evaluate(self.references, self.candidates, metrics=tuple(self.cfg.caption_metrics),
                                tokenize=False))
        if self.cfg.retrieval and self.caption_targets:
            ranks = caption_image_ranks(*self.retrieval_scores())
            for direction, values in ranks.items():
                out.update({f"{direction}_{k.replace(' ', '_')}": v for k, v in summarize(values).items()})
        return out


TASKS = (Captioning(),)
