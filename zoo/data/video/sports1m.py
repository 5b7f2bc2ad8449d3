"""`sports1m`: Sports-1M (Karpathy et al. 2014) from the user's own video files, as C3D samples it
(Tran et al. 2015 §3.2-3.3: frames resized to 128x171; training takes five random 2-second clips of every
video, 16 frames each, random 112x112 crops, mirrored at random; testing takes clips spread over the video,
centre crops, and averages their predictions per video).

Sports-1M is distributed as YouTube links, so the videos must be fetched by the user; the layout under
`manual_dir` (default <data_dir>/downloads/manual) is:

    sports1m/labels.txt                      487 class names, one a line (the release's order: label ids 0-486)
    sports1m/original/train_partition.txt    "<YouTube URL> <label>[,<label>...]" a line (1,133,158 videos)
    sports1m/original/test_partition.txt     the same (284,032 videos)
    sports1m/videos/<YouTube id>.<mp4|webm|mkv|avi>   the videos you downloaded

(the first three come from github.com/gtoderici/sports-1m-dataset). About 5% of the videos have several
labels; `label` is the first one listed (C3D trains single-label softmax; every label is in `labels`).
A listed video that is absent or that OpenCV cannot decode is a corrupt record: named, or skipped and counted
with on_corrupt="skip" (many links have gone). Examples: {"clip": uint8 (16, crop, crop, 3), "label": int64,
"labels": int64 (K,) padded with -1 to 4, "video_index": int64, "clip_index": int32}.
"""

from __future__ import annotations

import os
import re

import numpy as np

from zoo.data.manual import default_manual_dir
from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import ConfigError, CorruptRecordError, DatasetNotFoundError

NAME = "sports1m"
CLIP_FRAMES = 16
TRAIN_CLIPS, TEST_CLIPS = 5, 10
FRAME_SIZE, CROP = (128, 171), 112
MAX_LABELS = 4
EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi")
_LINE = re.compile(r"^\S*?(?:v=|/)(?P<id>[A-Za-z0-9_-]{11})\S*\s+(?P<labels>\d+(?:,\d+)*)\s*$")
INSTRUCTIONS = ("put labels.txt and original/{train,test}_partition.txt of github.com/gtoderici/sports-1m-dataset "
                "under <manual_dir>/sports1m/, and the videos you download (e.g. with yt-dlp) as "
                "sports1m/videos/<YouTube id>.mp4")


def read_partition(path, num_classes: int) -> list[tuple[str, list[int]]]:
    """[(YouTube id, [labels])] of a partition file."""
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            match = _LINE.match(line.strip())
            if match is None:
                raise CorruptRecordError(f"{path} line {number} is not '<YouTube URL> <label>[,<label>...]': "
                                         f"{line.strip()[:80]!r}")
            labels = [int(v) for v in match["labels"].split(",")]
            if max(labels) >= num_classes:
                raise CorruptRecordError(f"{path} line {number} has label {max(labels)} >= {num_classes} classes")
            out.append((match["id"], labels))
    return out


def read_clips(path, starts, frame_size=FRAME_SIZE, length=CLIP_FRAMES) -> np.ndarray:
    """uint8 (len(starts), length, H, W, 3) RGB clips beginning at the frame numbers `starts`, resized."""
    import cv2

    capture = cv2.VideoCapture(os.fspath(path))
    try:
        n = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if not capture.isOpened() or n < 1:
            raise CorruptRecordError(f"{path}: OpenCV cannot read this video")
        clips = []
        for start in starts:
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(start))
            frames = []
            for _ in range(length):
                ok, frame = capture.read()
                if not ok:  # past the end (or a bad frame): repeat the last one, as C3D's loader pads
                    if not frames:
                        raise CorruptRecordError(f"{path}: no frame decodes at {start} of {n}")
                    frames.append(frames[-1])
                    continue
                frame = cv2.resize(frame, (frame_size[1], frame_size[0]), interpolation=cv2.INTER_AREA)
                frames.append(frame[..., ::-1])
            clips.append(np.stack(frames))
        return np.stack(clips)
    finally:
        capture.release()


def frame_count(path) -> int:
    import cv2

    capture = cv2.VideoCapture(os.fspath(path))
    n = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    return n


def clip_starts(n: int, clips: int, rng=None, length=CLIP_FRAMES) -> np.ndarray:
    """`clips` start frames: uniformly random (rng given: training) or evenly spread (testing)."""
    last = max(n - length, 0)
    if rng is not None:
        return np.sort(rng.integers(0, last + 1, clips))
    return np.round(np.linspace(0, last, clips)).astype(int)


def _video_path(folder, video_id):
    for ext in EXTENSIONS:
        path = os.path.join(folder, video_id + ext)
        if os.path.isfile(path):
            return path
    return None


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, crop=CROP,
         frame_size=FRAME_SIZE, clips_per_video=None, flip=True, max_videos=None):
    """The registered loader (module docstring)."""
    import tensorflow as tf

    if split not in ("train", "test"):
        raise ConfigError(f"sports1m has splits 'train' and 'test', not {split!r}")
    root = os.path.join(default_manual_dir(data_dir, manual_dir), NAME)
    labels_file = os.path.join(root, "labels.txt")
    partition = os.path.join(root, "original", f"{split}_partition.txt")
    for path in (labels_file, partition):
        if not os.path.isfile(path):
            raise DatasetNotFoundError(f"{NAME}: {path} is missing. {INSTRUCTIONS}")
    with open(labels_file, encoding="utf-8") as f:
        num_classes = sum(1 for line in f if line.strip())
    videos = read_partition(partition, num_classes)[:max_videos]
    frame_size, crop = tuple(int(v) for v in frame_size), int(crop)
    if crop > min(frame_size):
        raise ConfigError(f"crop {crop} is larger than frame_size {frame_size}")
    clips = int(clips_per_video or (TRAIN_CLIPS if split == "train" else TEST_CLIPS))
    training = split == "train"
    # missing files are found here, before tf.data runs (its generator would wrap the error)
    paths = {}
    for video_id, _ in videos:
        paths[video_id] = _video_path(os.path.join(root, "videos"), video_id)
        if paths[video_id] is None:
            error = CorruptRecordError(f"{NAME}: video {video_id} of the {split} partition is not in "
                                       f"{os.path.join(root, 'videos')}")
            if on_corrupt == "raise":
                raise error
            if counter is not None:
                counter.add(f"{split}:{video_id}")

    def examples():
        for index, (video_id, labels) in enumerate(videos):
            rng = np.random.default_rng([seed, index])
            path = paths[video_id]
            if path is None:
                continue
            try:
                batch = read_clips(path, clip_starts(frame_count(path), clips, rng if training else None), frame_size)
            except CorruptRecordError as e:
                if on_corrupt == "raise":
                    raise
                if counter is not None:
                    counter.add(f"{split}:{video_id}")
                continue
            padded = np.full(MAX_LABELS, -1, np.int64)
            padded[:min(len(labels), MAX_LABELS)] = labels[:MAX_LABELS]
            for k, clip in enumerate(batch):
                if training:
                    top, left = rng.integers(0, frame_size[0] - crop + 1), rng.integers(0, frame_size[1] - crop + 1)
                else:
                    top, left = (frame_size[0] - crop) // 2, (frame_size[1] - crop) // 2
                clip = clip[:, top:top + crop, left:left + crop]
                if training and flip and rng.random() < 0.5:
                    clip = clip[:, :, ::-1]
                yield {"clip": np.ascontiguousarray(clip), "label": np.int64(labels[0]), "labels": padded,
                       "video_index": np.int64(index), "clip_index": np.int32(k)}

    spec = {"clip": tf.TensorSpec((CLIP_FRAMES, crop, crop, 3), tf.uint8), "label": tf.TensorSpec((), tf.int64),
            "labels": tf.TensorSpec((MAX_LABELS,), tf.int64), "video_index": tf.TensorSpec((), tf.int64),
            "clip_index": tf.TensorSpec((), tf.int32)}
    return tf.data.Dataset.from_generator(examples, output_signature=spec)


register_dataset(NAME, DatasetInfo(
    name=NAME, task="video_classification",
    summary="Sports-1M (487 sports) from your downloaded videos, as C3D samples it: 16-frame clips at 112",
    num_classes=None,  # 487 sports, named by the user's labels.txt (not shipped with the zoo)
    splits={"train": None, "test": None},
    features={"clip": "uint8 (16, crop, crop, 3) RGB", "label": "int64 () the first label",
              "labels": "int64 (4,) all labels, -1 padded", "video_index": "int64 ()", "clip_index": "int32 ()"},
    source="https://cs.stanford.edu/people/karpathy/deepvideo/ ; partitions: github.com/gtoderici/sports-1m-dataset",
    citation="Karpathy, Toderici, Shetty, Leung, Sukthankar, Fei-Fei, Large-scale Video Classification with "
             "Convolutional Neural Networks, CVPR 2014",
    instructions=INSTRUCTIONS,
    options={"crop": CROP, "frame_size": list(FRAME_SIZE), "clips_per_video": None, "flip": True,
             "max_videos": None},
), load)
