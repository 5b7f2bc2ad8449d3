"""What a task means to the runner: how a dataset example becomes (input, target), the loss, and
the evaluation. One class per task, so recipes of every family share the same step loop.

A model card names its task (`card.task`); `get(name)` returns the Task the runner uses. Model
inputs are made from dataset features as the card's InputContract says (`model_input`), so a
two-input net (FCN RGB-HHA) or a 4-channel one (FCN RGBD) trains from the same loader as the
single-image nets.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.preprocessing import ImagePreprocessing


# ----------------------------------------------------------------------------- inputs


def model_input(contract):
    """A function dataset example -> the network input (a dict for multi-input models)."""
    if contract.streams:
        parts = {stream.name: model_input(stream) for stream in contract.streams}
        return lambda ex: {name: fn(ex) for name, fn in parts.items()}
    source = contract.sources[0]
    if contract.kind == "rgbd":
        # FCN RGBD (thesis §3.4.2; reference nyud_layers.py): the picture as the colour channels
        # expect it, then log(depth in mm) minus its mean. Missing depth (0) is clamped to 1 mm.
        colour = ImagePreprocessing(channel_order=contract.channel_order, mean=contract.mean[:-1])
        log_depth_mean = float(contract.mean[-1])

        def rgbd(ex):
            depth = tf.cast(ex["depth"], tf.float32)
            if depth.shape.rank == 2:
                depth = depth[..., None]
            return tf.concat([colour(ex["image"]), tf.math.log(tf.maximum(depth, 1.0)) - log_depth_mean], axis=-1)

        return rgbd
    if contract.kind in ("image", "clip") and (
        contract.channel_order is not None or contract.mean is not None or contract.std is not None
    ):
        # (no channel_order: keep the stored channels, e.g. LRCN's flow images minus 128, grayscale / 255)
        preprocess = ImagePreprocessing.from_contract(contract)
        return lambda ex: preprocess(ex[source])
    return lambda ex: tf.cast(ex[source], contract.dtype)


def _label_map(labels):
    """(H, W) int32 class ids from a stored (H, W) or (H, W, 1) map."""
    labels = tf.cast(labels, tf.int32)
    return labels[..., 0] if labels.shape.rank == 3 else labels


def _first(outputs):
    """Models with auxiliary training heads (GoogLeNet) return a list; the first is the main output."""
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def _all_reduce_sum(value):
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value


def cell_mask(shape, keep_probability, cell):
    """A (N, H, W) boolean mask, constant on each cell x cell block (the blocks start at the top-left
    pixel), each block True with probability `keep_probability`, drawn anew at every call."""
    n, h, w = shape[0], shape[1], shape[2]
    cells = tf.random.uniform([n, (h + cell - 1) // cell, (w + cell - 1) // cell]) < keep_probability
    blocks = tf.repeat(tf.repeat(cells, cell, axis=1), cell, axis=2)
    return blocks[:, :h, :w]


def pixel_loss(logits, targets, *, loss_cfg):
    """Softmax cross-entropy per pixel of this replica; pixels labelled `ignore_label` or outside
    [0, C) are excluded. `normalize=False` sums over pixels as the FCN reference does
    (SoftmaxWithLoss with normalize: false); `normalize=True` divides by the number of valid
    pixels in the global batch, so the replicas' shares add up to the global mean. With
    `loss_cfg.sample_fraction` p < 1, each final-layer cell's pixels stay in the loss with
    probability p (patch sampling, Long thesis §3.2.4), and only the kept ones are counted."""
    logits = tf.cast(logits, tf.float32)
    num_classes = logits.shape[-1]
    valid = (targets >= 0) & (targets < num_classes) & (targets != loss_cfg.ignore_label)
    if loss_cfg.sample_fraction < 1.0:
        valid &= cell_mask(tf.shape(targets), loss_cfg.sample_fraction, loss_cfg.sample_cell)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.where(valid, targets, 0), logits=logits)
    summed = tf.reduce_sum(ce * tf.cast(valid, tf.float32))
    if loss_cfg.normalize:
        count = _all_reduce_sum(tf.reduce_sum(tf.cast(valid, tf.float32)))
        summed = summed / tf.maximum(count, 1.0)
    return summed


def _confusion(logits, targets, num_classes):
    pred = tf.argmax(logits, axis=-1, output_type=tf.int32)
    t, p = tf.reshape(targets, [-1]), tf.reshape(pred, [-1])
    keep = (t >= 0) & (t < num_classes)
    cm = tf.math.confusion_matrix(tf.boolean_mask(t, keep), tf.boolean_mask(p, keep), num_classes, dtype=tf.int64)
    return cm.numpy()


def _classes(model):
    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    return [int(o.shape[-1]) for o in outputs]


# ----------------------------------------------------------------------------- tasks


class Task:
    """The runner's view of a task. `replica_loss` returns this replica's share of the global
    loss: summed over replicas it is the loss of the global batch."""

    name = ""

    def example_to_xy(self, contract):
        """A tf.data map function: dataset dict -> (network input, target)."""
        raise NotImplementedError

    def bind(self, recipe, info, load, model=None) -> "Task":
        """The task whose input mapping fits this run's data: `recipe`, the dataset's `info`,
        `load(split)` -> that split's examples, and the model once built. Tasks whose mapping
        depends on the data (a caption vocabulary) return a configured copy; the others themselves."""
        return self

    def eval_example_to_xy(self, contract):
        """The evaluation split's map function; its targets may carry more than the loss needs
        (video ids, caption ids, the decoder's inputs). The training one by default."""
        return self.example_to_xy(contract)

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        raise NotImplementedError

    def evaluator(self, model, ignore_label=255, eval_cfg=None) -> "Evaluator":
        """`eval_cfg` is the recipe's [eval] table (recipes.EvalConfig), or None for its defaults."""
        raise NotImplementedError


class Evaluator:
    """Accumulates a split's predictions (`update`) and reports the task's metrics (`result`)."""

    def update(self, outputs, targets):
        raise NotImplementedError

    def result(self) -> dict:
        raise NotImplementedError


class ConfusionEvaluator(Evaluator):
    def __init__(self, num_classes, segmentation: bool):
        self.num_classes, self.segmentation = num_classes, segmentation
        self.confusion = np.zeros((num_classes, num_classes), np.int64)

    def update(self, outputs, targets):
        self.confusion += _confusion(_first(outputs), targets, self.num_classes)

    def result(self) -> dict:
        from zoo.metrics.segmentation import metrics_from_confusion

        if self.segmentation:
            metrics = {k: float(v) for k, v in metrics_from_confusion(self.confusion).items()}
            # SIFT Flow's convention (thesis Table 3.6, footnote 10): mean IU over the classes that occur
            # in the ground truth, so a class absent from the test set but predicted does not count as 0.
            present = self.confusion.sum(axis=1) > 0
            union = self.confusion.sum(axis=1) + self.confusion.sum(axis=0) - np.diag(self.confusion)
            metrics["mean_iu_present_classes"] = float(np.mean(np.diag(self.confusion)[present] / union[present])) \
                if present.any() else float("nan")
            return metrics
        return {"accuracy": float(np.trace(self.confusion) / max(self.confusion.sum(), 1))}


class Segmentation(Task):
    """Per-pixel classification (FCN, thesis §3.2); metrics of §3.4.1 from a confusion matrix."""

    name = "segmentation"

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), _label_map(ex["segmentation"]))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        if isinstance(outputs, (list, tuple)):
            raise ConfigError("a segmentation model has one output; several heads are the multitask_segmentation task")
        return pixel_loss(outputs, targets, loss_cfg=loss_cfg)

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return ConfusionEvaluator(_classes(model)[0], segmentation=True)


class MultitaskSegmentation(Task):
    """Two per-pixel heads on one trunk, semantic and geometric (SIFT Flow, thesis §3.4.2, Table 3.6).

    Targets are the dataset's "segmentation" and "geometry" maps; the loss is the sum of the two
    heads' pixel losses, as the reference sums `loss` and `loss_geo`. Evaluation reports the
    semantic head's four metrics and the geometric head's as `geometric_<metric>`.
    """

    name = "multitask_segmentation"
    TARGETS = ("segmentation", "geometry")

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tuple(_label_map(ex[k]) for k in self.TARGETS))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(self.TARGETS):
            raise ConfigError(f"a multitask_segmentation model returns {len(self.TARGETS)} score maps (semantic, geometric)")
        return sum(pixel_loss(o, t, loss_cfg=loss_cfg) for o, t in zip(outputs, targets))

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return _MultitaskEvaluator(_classes(model))


class _MultitaskEvaluator(Evaluator):
    def __init__(self, classes):
        self.heads = [ConfusionEvaluator(c, segmentation=True) for c in classes]

    def update(self, outputs, targets):
        for head, o, t in zip(self.heads, outputs, targets):
            head.update(o, t)

    def result(self):
        semantic, geometric = (head.result() for head in self.heads)
        return {**semantic, **{f"geometric_{k}": v for k, v in geometric.items()}}


class Classification(Task):
    """One label per example; auxiliary heads (GoogLeNet §5) weigh 0.3 each."""

    name = "classification"

    def example_to_xy(self, contract):
        make_input = model_input(contract)
        return lambda ex: (make_input(ex), tf.cast(ex["label"], tf.int32))

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        heads = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        total = 0.0
        for weight, logits in zip([1.0] + [0.3] * (len(heads) - 1), heads):
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=tf.cast(logits, tf.float32))
            total += weight * (tf.reduce_sum(ce) / global_batch_size if loss_cfg.normalize else tf.reduce_sum(ce))
        return total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return ConfusionEvaluator(_classes(model)[0], segmentation=False)


# ----------------------------------------------------------------------------- sequence tasks
#
# Every model here returns logits at each step, (N, T, C). Targets outside [0, C) (Caffe's
# ignore_label -1, padding) are left out; the recipe's `loss.ignore_label` is not consulted,
# since its default (VOC's 255) is a real word id or byte value here.


def step_cross_entropy(logits, targets):
    """(softmax cross-entropy (N, T), 1.0 where the target is in [0, C) else 0.0)."""
    logits = tf.cast(logits, tf.float32)
    valid = (targets >= 0) & (targets < logits.shape[-1])
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.where(valid, targets, 0), logits=logits)
    valid = tf.cast(valid, tf.float32)
    return ce * valid, valid


def _per_step_logits(outputs, task):
    logits = _first(outputs)
    if logits.shape.rank != 3:
        raise ConfigError(f"a {task} model returns logits at every step (N, T, classes); got {tuple(logits.shape)}")
    return logits


def _log_softmax(logits):
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _key(value):
    """A Python dict key from an id tensor element (bytes ids are decoded)."""
    value = value.item() if isinstance(value, np.generic) else value
    return value.decode() if isinstance(value, bytes) else value


VIDEO_KEYS = ("video", "clip")  # the clip feature (moving_shapes: "video", ucf101: "clip")
VIDEO_ID_KEYS = ("video_id", "video_index")  # which video a test clip comes from (moving_shapes, ucf101)


def _first_key(ex, keys, what):
    for key in keys:
        if key in ex:
            return key
    raise ConfigError(f"the examples have no {what} (one of {', '.join(keys)}); they have {', '.join(sorted(ex))}")


def clip_input(contract):
    """ex -> the network's clip, from the contract's source if the example has it, else "video" or "clip"."""
    keys = (contract.sources[0], *VIDEO_KEYS)
    makers = {key: model_input(dataclasses.replace(contract, sources=(key,))) for key in keys}
    return lambda ex: makers[_first_key(ex, keys, "clip")](ex)


class VideoClassification(Task):
    """One label per clip, a prediction at every frame (LRCN activity recognition, thesis §4.3).

    Input: the clip (N, T, H, W, C) made from the dataset's "video" or "clip" as the card's
    contract says (BGR or flow channels minus the mean); target: "label".

    Loss: softmax cross-entropy at every step against the clip's label ("a softmax over the 101
    classes at every time step"; the release's loss over axis 2), averaged over the T steps, then
    over the global batch (`normalize=True`; Caffe's SoftmaxWithLoss over the T·N predictions is
    the same mean) or summed over clips (`normalize=False`).

    Evaluation: a clip's class probabilities are its per-step softmax averaged over the steps;
    `clip_accuracy` is their argmax's accuracy. When the examples carry "video_id" (ucf101:
    "video_index"), the clips of a video (the test protocol's 16-frame clips at stride 8) are
    averaged into the video's probabilities and `video_accuracy` is reported; `accuracy` is then
    the video accuracy (the thesis's number), otherwise the clip accuracy.
    """

    name = "video_classification"

    def example_to_xy(self, contract):
        make_input = clip_input(contract)
        return lambda ex: (make_input(ex), tf.cast(ex["label"], tf.int32))

    def eval_example_to_xy(self, contract):
        make_input = clip_input(contract)

        def fn(ex):
            targets = {"label": tf.cast(ex["label"], tf.int32)}
            for key in VIDEO_ID_KEYS:
                if key in ex:
                    targets["video_id"] = ex[key]
                    break
            return make_input(ex), targets

        return fn

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        logits = tf.cast(_per_step_logits(outputs, self.name), tf.float32)
        labels = tf.broadcast_to(targets[:, None], tf.shape(logits)[:2])
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        total = tf.reduce_sum(tf.reduce_mean(ce, axis=1))
        return total / global_batch_size if loss_cfg.normalize else total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return VideoEvaluator()


class VideoEvaluator(Evaluator):
    def __init__(self):
        self.clips = self.clips_right = 0
        self.videos = {}  # video id -> [sum of clip probabilities, number of clips, label]

    def update(self, outputs, targets):
        from zoo.models.lrcn.protocol import clip_probabilities

        probs = clip_probabilities(np.asarray(_first(outputs)))
        labels = np.asarray(targets["label"])
        self.clips += len(labels)
        self.clips_right += int((probs.argmax(-1) == labels).sum())
        if "video_id" not in targets:
            return
        for vid, p, label in zip(np.asarray(targets["video_id"]), probs, labels):
            entry = self.videos.setdefault(_key(vid), [0.0, 0, int(label)])
            if entry[2] != int(label):
                raise ConfigError(f"video {_key(vid)!r} has clips labelled {entry[2]} and {int(label)}")
            entry[0] = entry[0] + p
            entry[1] += 1

    def result(self):
        out = {"clip_accuracy": self.clips_right / max(self.clips, 1)}
        if self.videos:
            right = sum(int(np.argmax(total / n) == label) for total, n, label in self.videos.values())
            out["video_accuracy"] = right / len(self.videos)
        out["accuracy"] = out.get("video_accuracy", out["clip_accuracy"])
        return out


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
    have no <eos>, as in the release. Ids follow zoo.models.lrcn.vocab: <eos> = <bos> = 0.
    """
    from zoo.models.lrcn.vocab import EOS_ID, IGNORE, MAX_WORDS

    tokens = tf.cast(caption, tf.int32)
    if tokens.shape[0] is None:
        tokens = _cut_or_pad(tokens, (max_words or MAX_WORDS) + 1, IGNORE)
    words, targets = tokens[:-1], tokens[1:]
    after_end = tf.cumsum(tf.cast(targets == EOS_ID, tf.int32), exclusive=True) > 0
    targets = tf.where(after_end | (targets < 0), IGNORE, targets)
    return tf.where(words < 0, EOS_ID, words), targets


class Captioning(Task):
    """Words given the image (LRCN1u/2u/2f, thesis §4.4) or the video's CRF outputs (§4.5).

    Inputs: the conditioning input (`image` preprocessed as the contract says, or the dataset's
    `crf_prob` / `crf_max` for video description) and `words`. Teacher forcing: the dataset's
    "words" [<eos>, w1 .. wn] and "targets" [w1 .. wn, <eos>] (padded with -1) when it has them
    (coco_captions, flickr30k, tacos_multilevel); otherwise its "caption" [<bos>, w1 .. wn, <eos>]
    is shifted here into input words and next-word targets (`caption_words_and_targets`).
    Targets -1 (padding) are ignored. A "caption" given as a string (shape_captions) is encoded
    first with the release's tokenizer and vocabulary (`zoo.models.lrcn.vocab`): the recipe's
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

    def __init__(self, vocabulary=None, vocab_size=None):
        self.vocabulary = vocabulary  # encodes string captions; None: the captions are word ids
        self.vocab_size = vocab_size  # word-id captions: ids must be below it (the model's vocabulary)

    def bind(self, recipe, info, load, model=None):
        from zoo.models.lrcn.vocab import Vocabulary

        if {"words", "targets"} <= set(info.features):  # tokenised by the dataset (with its own vocabulary)
            if model is None:
                return self
            # The dataset's vocabulary is not known here: check its ids against the model's as they come.
            return Captioning(vocab_size=int(model.get_layer("predict").units))
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
        return Captioning(vocabulary)

    def _caption_ids(self, caption):
        """Word ids [<eos>, w1 .. wn, <eos>] of a string caption, cut or padded (-1) to MAX_WORDS + 1;
        id captions as they are."""
        if caption.dtype != tf.string:
            return caption
        if self.vocabulary is None:
            raise ConfigError("string captions need a vocabulary: run them through the recipe runner, which builds "
                              "one (Captioning.bind), or give Captioning(vocabulary)")
        from zoo.models.lrcn.vocab import EOS_ID, IGNORE, MAX_WORDS

        vocabulary = self.vocabulary

        def encode(text):
            text = np.asarray(text).item().decode("utf-8")  # bytes, or a 0-d array of bytes when run eagerly
            return np.asarray([EOS_ID, *vocabulary.encode(text), EOS_ID], np.int32)

        ids = tf.numpy_function(encode, [caption], tf.int32, stateful=False)
        return _cut_or_pad(ids, MAX_WORDS + 1, IGNORE)  # the release's 20 input words

    def _conditioning(self, contract):
        """ex -> {model input name: tensor} for the inputs other than the words."""
        from zoo.models.lrcn.parts import WORDS

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
                check = tf.debugging.assert_less(
                    tf.reduce_max(tf.concat([words, targets], 0)), self.vocab_size,
                    message=f"a caption has a word id past the vocabulary of the model (vocab_size {self.vocab_size}):"
                            " the vocabulary of the dataset is larger. Set model.options.vocab_size to its size, or "
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
        ce, _ = step_cross_entropy(_per_step_logits(outputs, self.name), targets)
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
        from zoo.training.recipes import EvalConfig, check_eval

        cfg = eval_cfg or EvalConfig()
        check_eval(cfg)  # also checked when a recipe loads; here for evaluators built without one
        self.model, self.cfg = model, cfg
        self.nll = 0.0
        self.words = self.right = self.seen = 0
        self.references, self.candidates = {}, {}
        self.states = {}  # image key -> its decoder state (one row), kept for retrieval
        self.caption_targets, self.caption_keys = [], []  # retrieval: every caption and its image
        self.rng = np.random.default_rng(0)  # sampling: the same draws on every evaluation
        self.decoder = None
        if cfg.decode or cfg.retrieval:
            from zoo.models.lrcn.parts import Decoder

            self.decoder = Decoder(model)

    def update(self, outputs, targets):
        from zoo.models.lrcn.vocab import EOS_ID

        logits = np.asarray(_first(outputs))
        t = np.asarray(targets["targets"])
        valid = (t >= 0) & (t < logits.shape[-1])
        logp = np.take_along_axis(_log_softmax(logits), np.where(valid, t, 0)[..., None], axis=-1)[..., 0]
        self.nll -= float(logp[valid].sum())
        self.words += int(valid.sum())
        self.right += int(((logits.argmax(-1) == t) & valid).sum())
        if "id" in targets:
            ids = [_key(i) for i in np.asarray(targets["id"])]
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
        from zoo.models.lrcn.decoding import beam_search, greedy, sample, state_rows
        from zoo.models.lrcn.parts import WORDS

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
        from zoo.models.lrcn.decoding import state_rows
        from zoo.models.lrcn.vocab import EOS_ID

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
                    logp = np.take_along_axis(_log_softmax(logits), picked[lo:lo + n, t, None], axis=-1)[:, 0]
                    total += np.where(valid[lo:lo + n, t], logp, 0.0)
                scores[i, lo:lo + n] = total
        return scores, np.array([index[k] for k in self.caption_keys])

    def result(self):
        ce = self.nll / max(self.words, 1)
        out = {"cross_entropy": ce, "perplexity": float(np.exp(ce)), "word_accuracy": self.right / max(self.words, 1)}
        if self.cfg.decode and self.candidates:
            from zoo.metrics.captions import evaluate

            out.update(evaluate(self.references, self.candidates, metrics=tuple(self.cfg.caption_metrics),
                                tokenize=False))
        if self.cfg.retrieval and self.caption_targets:
            from zoo.metrics.retrieval import caption_image_ranks, summarize

            ranks = caption_image_ranks(*self.retrieval_scores())
            for direction, values in ranks.items():
                out.update({f"{direction}_{k.replace(' ', '_')}": v for k, v in summarize(values).items()})
        return out


class SequencePrediction(Task):
    """A target at every step of a token sequence: the Grid LSTM tasks (Kalchbrenner et al. 2015;
    digest §B.2) addition, memorization and character-level language modelling.

    Input: the card's contract source ("tokens"); targets: "targets" (N, T) and the optional
    "mask" (N, T) weighting each position (1 on the scored positions: the sum's digits, the
    echoed symbols; all ones when the dataset has none, as for next-character prediction).
    Targets outside [0, C) are left out as well.

    Loss: cross-entropy weighted by the mask, summed; `normalize=True` divides by the mask's sum
    over the global batch (the mean over scored positions, what bits per character measures),
    `normalize=False` leaves the sum.

    Evaluation over the scored positions: `accuracy` (per position), `sequence_accuracy` (every
    scored position of a sequence right: the addition/memorization number of experiments.py),
    `cross_entropy` (nats per position) and `bits_per_character` = cross_entropy / ln 2 (the
    char-LM metric; for the other tasks, bits per scored symbol).
    """

    name = "sequence_prediction"

    def example_to_xy(self, contract):
        make_input = model_input(contract)

        def fn(ex):
            targets = tf.cast(ex["targets"], tf.int32)
            mask = tf.cast(ex["mask"], tf.float32) if "mask" in ex else tf.ones(tf.shape(targets), tf.float32)
            return make_input(ex), {"targets": targets, "mask": mask}

        return fn

    def replica_loss(self, outputs, targets, *, loss_cfg, global_batch_size):
        ce, valid = step_cross_entropy(_per_step_logits(outputs, self.name), targets["targets"])
        weight = valid * targets["mask"]
        total = tf.reduce_sum(ce * targets["mask"])
        if loss_cfg.normalize:
            total = total / tf.maximum(_all_reduce_sum(tf.reduce_sum(weight)), 1e-9)
        return total

    def evaluator(self, model, ignore_label=255, eval_cfg=None):
        return SequenceEvaluator()


class SequenceEvaluator(Evaluator):
    def __init__(self):
        self.nll = self.weight = self.right = 0.0
        self.sequences = self.sequences_right = 0

    def update(self, outputs, targets):
        logits = np.asarray(_first(outputs))
        t = np.asarray(targets["targets"])
        valid = (t >= 0) & (t < logits.shape[-1])
        w = np.asarray(targets["mask"], np.float64) * valid
        logp = np.take_along_axis(_log_softmax(logits), np.where(valid, t, 0)[..., None], axis=-1)[..., 0]
        hit = logits.argmax(-1) == t
        self.nll -= float((w * logp).sum())
        self.weight += float(w.sum())
        self.right += float((w * hit).sum())
        self.sequences += len(t)
        self.sequences_right += int((hit | (w == 0)).all(axis=1).sum())

    def result(self):
        ce = self.nll / max(self.weight, 1e-12)
        return {"accuracy": self.right / max(self.weight, 1e-12),
                "sequence_accuracy": self.sequences_right / max(self.sequences, 1),
                "cross_entropy": ce, "bits_per_character": ce / float(np.log(2.0))}


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


for _task in (Segmentation(), MultitaskSegmentation(), Classification(), VideoClassification(), Captioning(),
              SequencePrediction()):
    register_task(_task)


def get(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"the recipe runner does not train {name!r} models; it trains {sorted(TASKS)}")
    return TASKS[name]
