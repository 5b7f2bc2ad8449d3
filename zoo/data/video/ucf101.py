"""UCF101 as LRCN samples it: 16-frame RGB or optical-flow clips (Donahue thesis §4.3).

The videos come from TFDS's own `ucf101` builder, configs `ucf101_1`, `ucf101_2`, `ucf101_3`
(the three official train/test splits at the videos' native 320x240; TFDS's `ucf101_1_256`
squashes frames to 256x256, which is not the paper's resizing, and exists for split 1 only).
Option `split_number` picks the config. Labels are TFDS's: 0-100, UCF101's classInd.txt order.

Clips follow the thesis and the release (LisaAnne/lisa-caffe-public, lstm_video_deploy:
sequence_input_layer.py, classify_video.py):

- frames are resized to 240x320 (UCF101's own size; others are resized to it, bilinear);
- split "train": one clip of 16 consecutive frames per video, from a random start, cropped at a
  random 227x227 position and mirrored with probability 1/2 (`training_clips`). The draws are a
  pure function of (seed, position in the epoch, epoch): the same seed gives the same clips,
  and each pass over the dataset draws new ones (`Dataset.random(rerandomize_each_iteration)`);
- split "test": clips of 16 frames every 8 frames, the release's rule for the last ones
  (`zoo.tasks.video_protocol.clip_starts`), center 227x227 crops (`evaluation_clips`), each
  with `video_index` (the video's position in the split) and `clip_index`, so that the softmax
  can be averaged over frames and then over the clips of each video (`average_by_video`). The
  release's 10-crop oversampling at test time is not done here.

`modality="flow"` gives flow images instead (zoo.data.video.flow: OpenCV Farnebäck by default, TV-L1
with opencv-contrib; x, y, magnitude scaled by 16 around 128), computed on the fly from the
240x320 frames: flow image t is the flow from frame t to t + 1, so a video of F frames has F - 1
flow frames and clips are cut from those. A mirrored flow clip also has its x channel negated
(256 - x), so that it shows the mirrored motion. Farnebäck took about 0.1 s per 240x320 frame
pair on one busy CPU core here (1.6 s per clip): precompute flow for long training runs.

Videos shorter than a clip: `short="error"` (default) stops the pipeline with an
InvalidArgumentError saying so; `short="loop"` repeats the video from its start until the clip
is full (frame indices t mod F, as `protocol.video_clips(short="loop")`); `short="pad"` repeats
its last frame. The release assumes every video has at least 16 frames.
"""

from __future__ import annotations

import re

import numpy as np

from zoo.data.video import flow as flow_mod
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, InputError

CLIP_FRAMES = 16
TEST_STRIDE = 8
FRAME_SIZE = (240, 320)
CROP = 227
SHORT = ("error", "loop", "pad")
MODALITIES = ("rgb", "flow")
# Videos per (train, test) list of the official splits (ucfTrainTestlist/trainlist0N.txt, testlist0N.txt).
SPLIT_VIDEOS = {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)}
HOMEPAGE = "https://www.crcv.ucf.edu/data/UCF101.php"


def check_clip_options(*, length=CLIP_FRAMES, modality="rgb", short="error", frame_size=FRAME_SIZE, crop=CROP,
                       stride=TEST_STRIDE, flow_method="farneback"):
    if modality not in MODALITIES:
        raise ConfigError(f"modality must be one of {MODALITIES}, got {modality!r}")
    if short not in SHORT:
        raise ConfigError(f"short must be one of {SHORT} (what to do with videos shorter than a clip), got {short!r}")
    if int(length) < 1 or int(stride) < 1:
        raise ConfigError(f"clip length and test stride must be positive; got {length} and {stride}")
    if crop is not None and (crop > frame_size[0] or crop > frame_size[1]):
        raise ConfigError(f"crop {crop} is larger than the {frame_size[0]}x{frame_size[1]} frames")
    if modality == "flow":
        flow_mod.check_method(flow_method)


def _usable_frames(video, length, short, modality):
    """Frames a clip can be cut from (F, or F - 1 flow frames), checked against the clip length."""
    import tensorflow as tf

    n = tf.shape(video)[0] - (1 if modality == "flow" else 0)
    what = "flow frames (frames - 1)" if modality == "flow" else "frames"
    checks = [tf.debugging.assert_positive(n, message=f"ucf101: a video has no {what} to cut a clip from")]
    if short == "error":
        checks.append(tf.debugging.assert_greater_equal(
            n, length, message=f"ucf101: a video has fewer {what} than a {length}-frame clip needs; pass "
                               f"short=loop or short=pad to resample short videos"))
    with tf.control_dependencies(checks):
        return tf.identity(n)


def clip_indices(n, start, length, short):
    """Frame indices (length,) of the clip at `start` in `n` usable frames; past the end, "loop" wraps
    to the first frame and "pad" repeats the last one ("error" was checked before)."""
    import tensorflow as tf

    idx = start + tf.range(length)
    if short == "loop":
        return idx % n
    if short == "pad":
        return tf.minimum(idx, n - 1)
    return idx


def evaluation_clip_starts(n, length=CLIP_FRAMES, stride=TEST_STRIDE):
    """In-graph `protocol.clip_starts`: i for i in range(0, n, stride) if i + length < n else n - length;
    one clip at 0 for a video shorter than a clip (resampled by `short`)."""
    import tensorflow as tf

    i = tf.range(0, n, stride)
    return tf.cond(n >= length, lambda: tf.where(i + length < n, i, n - length), lambda: tf.zeros([1], tf.int32))


def _resize(frames, frame_size):
    import tensorflow as tf

    frames = tf.image.resize(frames, frame_size, method="bilinear")
    return tf.cast(tf.clip_by_value(tf.round(frames), 0, 255), tf.uint8)


def _clip_frames(video, idx, *, modality, frame_size, flow_method, flow_scale):
    """The clip's RGB frames, or its flow images (flow from frame idx[t] to idx[t] + 1), at frame_size."""
    import tensorflow as tf

    if modality == "rgb":
        return _resize(tf.gather(video, idx), frame_size)
    first, second = _resize(tf.gather(video, idx), frame_size), _resize(tf.gather(video, idx + 1), frame_size)
    images = tf.numpy_function(lambda a, b: flow_mod.flow_pairs_images(a, b, flow_method, flow_scale),
                               [first, second], tf.uint8, stateful=False)
    images.set_shape([idx.shape[0], *frame_size, 3])
    return images


def _mirror(clip, modality):
    import tensorflow as tf

    clip = tf.reverse(clip, axis=[2])
    if modality == "flow":  # mirrored motion: dx -> -dx, i.e. x -> 256 - x around 128
        x = tf.cast(tf.clip_by_value(256 - tf.cast(clip[..., :1], tf.int32), 0, 255), tf.uint8)
        clip = tf.concat([x, clip[..., 1:]], axis=-1)
    return clip


def training_clips(ds, *, seed=0, length=CLIP_FRAMES, modality="rgb", short="error", frame_size=FRAME_SIZE,
                   crop=CROP, flip=True, flow_method="farneback", flow_scale=flow_mod.SCALE):
    """{"video": uint8 (F, H, W, 3), "label"} -> {"clip": uint8 (length, crop, crop, 3), "label"}: one
    random clip per video, random crop, random mirroring (see the module docstring)."""
    import tensorflow as tf

    check_clip_options(length=length, modality=modality, short=short, frame_size=frame_size, crop=crop,
                       flow_method=flow_method)
    height, width = frame_size
    crop_h, crop_w = (height, width) if crop is None else (crop, crop)

    def sample(example, draw):
        n = _usable_frames(example["video"], length, short, modality)
        u = tf.random.stateless_uniform([4], seed=tf.stack([draw, tf.constant(seed, tf.int64)]))
        last = tf.maximum(n - length, 0)
        start = tf.minimum(tf.cast(u[0] * tf.cast(last + 1, tf.float32), tf.int32), last)
        clip = _clip_frames(example["video"], clip_indices(n, start, length, short), modality=modality,
                            frame_size=frame_size, flow_method=flow_method, flow_scale=flow_scale)
        top = tf.minimum(tf.cast(u[1] * (height - crop_h + 1), tf.int32), height - crop_h)
        left = tf.minimum(tf.cast(u[2] * (width - crop_w + 1), tf.int32), width - crop_w)
        clip = clip[:, top : top + crop_h, left : left + crop_w]
        if flip:
            clip = tf.cond(u[3] < 0.5, lambda: _mirror(clip, modality), lambda: clip)
        clip = tf.ensure_shape(clip, [length, crop_h, crop_w, 3])
        return {"clip": clip, "label": example["label"]}

    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return tf.data.Dataset.zip((ds, draws)).map(sample)


def evaluation_clips(ds, *, length=CLIP_FRAMES, stride=TEST_STRIDE, modality="rgb", short="error",
                     frame_size=FRAME_SIZE, crop=CROP, flow_method="farneback", flow_scale=flow_mod.SCALE):
    """{"video", "label"} -> one example per test clip: {"clip": uint8 (length, crop, crop, 3), "label",
    "video_index": int64 (the video's position in `ds`), "clip_index": int32 (the clip's in its video)}."""
    import tensorflow as tf

    check_clip_options(length=length, modality=modality, short=short, frame_size=frame_size, crop=crop,
                       stride=stride, flow_method=flow_method)
    height, width = frame_size
    crop_h, crop_w = (height, width) if crop is None else (crop, crop)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2

    def clips(video_index, example):
        video = example["video"]
        n = _usable_frames(video, length, short, modality)
        starts = evaluation_clip_starts(n, length, stride)

        def one(clip_index, start):
            clip = _clip_frames(video, clip_indices(n, start, length, short), modality=modality,
                                frame_size=frame_size, flow_method=flow_method, flow_scale=flow_scale)
            clip = tf.ensure_shape(clip[:, top : top + crop_h, left : left + crop_w], [length, crop_h, crop_w, 3])
            return {"clip": clip, "label": example["label"], "video_index": video_index, "clip_index": clip_index}

        return tf.data.Dataset.from_tensor_slices((tf.range(tf.size(starts)), starts)).map(one)

    return ds.enumerate().flat_map(clips)


def average_by_video(video_index, clip_probabilities) -> tuple[np.ndarray, np.ndarray]:
    """(video indices (V,), probabilities (V, K)): the clips' probabilities averaged per video (thesis
    §4.3; each clip's are `protocol.clip_probabilities` of its per-frame logits)."""
    video_index = np.asarray(video_index).reshape(-1)
    probs = np.asarray(clip_probabilities)
    if probs.ndim != 2 or len(probs) != len(video_index):
        raise InputError(f"expected one (K,) probability row per clip index; got {probs.shape} for {len(video_index)}")
    videos = np.unique(video_index)
    return videos, np.stack([probs[video_index == v].mean(axis=0) for v in videos])


def _class_names() -> tuple:
    """TFDS's ucf101 label names (its ClassLabel order), read without importing TFDS."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("tensorflow_datasets")
    with open(os.path.join(spec.submodule_search_locations[0], "video", "ucf101_labels.txt")) as f:
        return tuple(line.strip() for line in f if line.strip())


INSTRUCTIONS = (
    "TFDS's own builder downloads UCF101 (UCF101_videos.zip, about 6.5 GB, from storage.googleapis.com/thumos14_files, "
    "and UCF101TrainTestSplits-RecognitionTask.zip from crcv.ucf.edu) and decodes the videos with ffmpeg, which must "
    "be on PATH. Run: python -m zoo.data prepare ucf101 (split 1), or tfds build ucf101 --config ucf101_2 / ucf101_3 "
    "for the other splits (zoo.data.load prepares the config it needs on first use)."
)
OPTIONS = {"split_number": 1, "modality": "rgb", "clip_length": CLIP_FRAMES, "test_stride": TEST_STRIDE,
           "short": "error", "crop": CROP, "flip": True, "flow_method": "farneback", "flow_scale": flow_mod.SCALE,
           "frame_size": list(FRAME_SIZE)}

INFO = DatasetInfo(
    name="ucf101",
    task="video_classification",
    summary="UCF101 action recognition (101 classes) as 16-frame RGB or optical-flow clips, as LRCN samples them",
    num_classes=101,
    class_names=_class_names(),
    splits={"train": None, "test": None},
    features={
        "clip": "uint8 (16, 227, 227, 3): RGB frames, or flow images (x, y, magnitude; 128 = no motion)",
        "label": "int64 class id 0-100 (classInd.txt order, minus 1)",
        "video_index": "int64, split test only: the video's position in the split (average clips per video)",
        "clip_index": "int32, split test only: the clip's position in its video",
    },
    source=HOMEPAGE + f" (via TFDS ucf101; videos per split train/test: {SPLIT_VIDEOS})",
    citation="Soomro, Zamir, Shah, UCF101: A Dataset of 101 Human Actions Classes From Videos in The Wild, "
             "CRCV-TR-12-01, 2012",
    license="research use (UCF CRCV)",
    instructions=INSTRUCTIONS,
    options=OPTIONS,
)


class Ucf101Loader:
    """The registered loader: TFDS ucf101 config `ucf101_<split_number>` -> training or test clips."""

    def __call__(self, split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None,
                 split_number=1, modality="rgb", clip_length=CLIP_FRAMES, test_stride=TEST_STRIDE, short="error",
                 crop=CROP, flip=True, flow_method="farneback", flow_scale=flow_mod.SCALE, frame_size=FRAME_SIZE):
        # frame_size: frames are resized to it before cropping (LRCN 240x320; C3D 128x171 with crop 112)
        frame_size = tuple(int(v) for v in frame_size)
        bases = {re.sub(r"\[.*\]$", "", part.strip()) for part in split.split("+")}
        if len(bases) != 1:
            raise ConfigError(f"ucf101 samples train and test clips differently; load {split!r} one split at a time")
        if split_number not in SPLIT_VIDEOS:
            raise ConfigError(f"split_number must be 1, 2 or 3 (UCF101's official splits), got {split_number!r}")
        common = {"length": clip_length, "modality": modality, "short": short, "crop": crop,
                  "flow_method": flow_method, "flow_scale": flow_scale, "frame_size": frame_size}
        check_clip_options(**{k: v for k, v in common.items() if k != "flow_scale"}, stride=test_stride)
        from zoo.data import tfds_manual

        ds = tfds_manual.load_tfds(f"ucf101/ucf101_{split_number}", split, data_dir=data_dir, manual_dir=manual_dir,
                                   on_corrupt=on_corrupt, counter=counter, zoo_builder=False, instructions=INSTRUCTIONS)
        if bases == {"train"}:
            return training_clips(ds, seed=seed, flip=flip, **common)
        return evaluation_clips(ds, stride=test_stride, **common)

    def prepare(self, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None):
        from zoo.data import tfds_manual

        tfds_manual.prepare_tfds("ucf101/ucf101_1", data_dir=data_dir, manual_dir=manual_dir, on_corrupt=on_corrupt,
                                 counter=counter, zoo_builder=False, instructions=INSTRUCTIONS)


register_dataset("ucf101", INFO, Ucf101Loader())
