"""The activity-recognition protocol of LRCN (Donahue thesis §4.3), in NumPy.

- Training: one 16-frame clip from a random start per video per step (`training_clip_start`).
- Test: 16-frame clips every 8 frames (`clip_starts`); each clip's softmax is averaged
  over its frames (`clip_probabilities`), the clips' over the video (`video_probabilities`),
  and the argmax is the prediction.
- RGB/flow late fusion: a weighted average of the two networks' video probabilities with
  weights (1/2, 1/2) or (1/3 RGB, 2/3 flow) (`fuse`, thesis Table 4.1).

Videos shorter than a clip cannot give a 16-frame clip: by default that is an InputError;
`short="loop"` repeats the video from its start until the clip is full (a documented
resampling of this zoo, not the release's; the release assumes videos of at least 16 frames).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import InputError
from zoo.ops.numerics import softmax

CLIP_FRAMES = 16
TEST_STRIDE = 8
FUSION_WEIGHTS = {"1/2,1/2": (0.5, 0.5), "1/3,2/3": (1 / 3, 2 / 3)}  # (RGB, flow), thesis Table 4.1


def _frame_indices(num_frames: int, length: int, short: str) -> np.ndarray | None:
    """Frame indices of a clip when the video is shorter than `length`; None when it is long enough."""
    if num_frames < 1:
        raise InputError("the video has no frames")
    if num_frames >= length:
        return None
    if short == "loop":
        return np.arange(length) % num_frames
    if short == "error":
        raise InputError(
            f"the video has {num_frames} frames; a clip needs {length}. Pass short='loop' to repeat the video "
            f"from its start, or build the model with a shorter clip length"
        )
    raise InputError(f"short must be 'error' or 'loop', got {short!r}")


def clip_starts(num_frames: int, length: int = CLIP_FRAMES, stride: int = TEST_STRIDE) -> list[int]:
    """Start frames of the test clips: one every `stride` frames, the last ones moved back to end
    at the last frame.

    This is the release's rule (classify_video.py): for i = 0, stride, 2·stride, ... < num_frames,
    the clip starts at i if i + length < num_frames, else at num_frames - length. Clips near the
    end therefore repeat, and the average counts them as often as they occur.
    """
    if num_frames < length:
        raise InputError(f"the video has {num_frames} frames; a test clip needs {length}")
    return [i if i + length < num_frames else num_frames - length for i in range(0, num_frames, stride)]


def video_clips(video, length: int = CLIP_FRAMES, stride: int = TEST_STRIDE, short: str = "error") -> np.ndarray:
    """The test clips of `video` (F, H, W, C) as an array (num_clips, length, H, W, C)."""
    video = np.asarray(video)
    if video.ndim != 4:
        raise InputError(f"a video must be an array of frames (F, H, W, C); got shape {video.shape}")
    loop = _frame_indices(len(video), length, short)
    if loop is not None:
        return video[loop][None]
    return np.stack([video[s : s + length] for s in clip_starts(len(video), length, stride)])


def training_clip_start(num_frames: int, rng: np.random.Generator, length: int = CLIP_FRAMES) -> int:
    """A uniformly random start frame of a training clip (clip sampling is the augmentation, §4.3)."""
    if num_frames < length:
        raise InputError(f"the video has {num_frames} frames; a training clip needs {length}")
    return int(rng.integers(0, num_frames - length + 1))


def clip_probabilities(logits) -> np.ndarray:
    """Logits of N clips -> class probabilities per clip (N, K).

    Per-step logits (N, T, K) (LRCN: a prediction at every frame) give the softmax at every step
    averaged over the steps (thesis §4.3, "average the softmax over frames"); per-clip logits
    (N, K) (C3D: one prediction per clip) give their softmax."""
    logits = np.asarray(logits)
    if logits.ndim not in (2, 3):
        raise InputError(f"expected per-clip logits (N, K) or per-step logits (N, T, K); got shape {logits.shape}")
    probs = softmax(logits)
    return probs.mean(axis=1) if logits.ndim == 3 else probs


def video_probabilities(clip_logits) -> np.ndarray:
    """Logits of all test clips of ONE video ((num_clips, T, K) or (num_clips, K)) -> its probabilities (K,)."""
    return clip_probabilities(clip_logits).mean(axis=0)


def fuse(rgb_probabilities, flow_probabilities, weights=FUSION_WEIGHTS["1/3,2/3"]) -> np.ndarray:
    """Late fusion: weights[0] * RGB + weights[1] * flow probabilities (thesis Table 4.1)."""
    rgb, flow = np.asarray(rgb_probabilities), np.asarray(flow_probabilities)
    if rgb.shape != flow.shape:
        raise InputError(f"RGB probabilities {rgb.shape} and flow probabilities {flow.shape} differ in shape")
    w_rgb, w_flow = weights
    if not np.isclose(w_rgb + w_flow, 1.0) or min(w_rgb, w_flow) < 0:
        raise InputError(f"fusion weights must be non-negative and sum to 1, got {weights}")
    return w_rgb * rgb + w_flow * flow


def check_clip_batch(clips, input_shape) -> np.ndarray:
    """`clips` as float32 if it is a batch (N, T, H, W, C) the model built with `input_shape` takes;
    otherwise an InputError saying what to do (a video of another length goes through `video_clips`)."""
    clips = np.asarray(clips)
    want = tuple(input_shape)
    if clips.ndim != 5:
        raise InputError(f"expected a batch of clips (N, T, H, W, C); got shape {clips.shape}")
    steps = want[0]
    if steps is not None and clips.shape[1] != steps:
        raise InputError(
            f"the clips have {clips.shape[1]} frames; the model takes {steps}-frame clips. Cut videos into clips "
            f"with zoo.tasks.video_protocol.video_clips(video, length={steps}), or build the model with "
            f"input_shape=(None, ...) for clips of any length"
        )
    for axis, (got, size) in enumerate(zip(clips.shape[2:], want[1:]), start=2):
        if size is not None and got != size:
            raise InputError(f"the clips have size {got} on axis {axis}; the model expects {size} (input {want})")
    return clips.astype(np.float32)
