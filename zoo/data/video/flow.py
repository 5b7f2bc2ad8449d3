"""Optical-flow images for LRCN's flow networks (Donahue thesis §4.3), computed with OpenCV.

The thesis computes flow with Brox et al. (2004), whose implementation is not on PyPI. Here:

- `method="farneback"` (the default, always available): `cv2.calcOpticalFlowFarneback` with
  OpenCV's documented example settings (`FARNEBACK`: pyramid scale 0.5, 3 levels, 15x15 window,
  3 iterations, polynomial n 5, sigma 1.2). A dense stand-in for Brox, not Brox.
- `method="tvl1"`: TV-L1 (Zach et al. 2007), closer to Brox's variational flow, when this OpenCV
  has the contrib module `cv2.optflow` (opencv-contrib-python); otherwise a ConfigError.

A flow image encodes the flow from frame t to frame t+1 as the thesis does: "the x and y flow
are scaled and shifted to [-128, +128], and a third channel holds the flow magnitude". Each
channel is `clip(SCALE * value + 128, 0, 255)` rounded to uint8, i.e. x and y are centered on
128 (no motion) and the magnitude channel starts at 128; the networks subtract 128 from every
channel (activity.py, `_FLOW_MEAN`). SCALE = 16 (one pixel of motion = 16 grey levels, so
±8 px spans the range and larger motion saturates) is the scale we recall from the release's
create_flow_images_LRCN.m; it could not be checked here, so it is an option.

A video of F frames has F - 1 flow images (`video_flow_images`).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError, InputError

SCALE = 16.0
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
             "flags": 0}


def _cv2():
    import cv2

    return cv2


def methods() -> tuple[str, ...]:
    """The flow methods this OpenCV provides: always "farneback", and "tvl1" with opencv-contrib."""
    return ("farneback", "tvl1") if hasattr(_cv2(), "optflow") else ("farneback",)


def check_method(method: str) -> str:
    if method == "tvl1" and "tvl1" not in methods():
        raise ConfigError(
            "flow method 'tvl1' needs OpenCV's contrib module cv2.optflow "
            "(pip install opencv-contrib-python-headless); "
            "this OpenCV has only 'farneback'"
        )
    if method not in ("farneback", "tvl1"):
        raise ConfigError(f"flow method must be 'farneback' or 'tvl1', got {method!r}")
    return method


def _gray(frame) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise InputError(f"frames must be uint8 images; got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[-1] == 3:
        return _cv2().cvtColor(frame, _cv2().COLOR_RGB2GRAY)
    if frame.ndim == 2:
        return frame
    raise InputError(f"a frame must be (H, W, 3) RGB or (H, W) grey; got shape {frame.shape}")


def optical_flow(prev, nxt, method: str = "farneback") -> np.ndarray:
    """Dense flow (H, W, 2) float32 from frame `prev` to frame `nxt` (uint8 RGB or grey): at each
    pixel of `prev`, the (dx, dy) displacement in pixels of what is there in `nxt`."""
    check_method(method)
    a, b = _gray(prev), _gray(nxt)
    if a.shape != b.shape:
        raise InputError(f"the two frames differ in size: {a.shape} and {b.shape}")
    cv2 = _cv2()
    if method == "tvl1":
        return cv2.optflow.DualTVL1OpticalFlow_create().calc(a, b, None).astype(np.float32)
    return cv2.calcOpticalFlowFarneback(a, b, None, **FARNEBACK).astype(np.float32)


def flow_image(flow, scale: float = SCALE) -> np.ndarray:
    """Flow (H, W, 2) -> uint8 (H, W, 3) flow image: x, y and magnitude, each scale·v + 128 clipped to [0, 255]."""
    flow = np.asarray(flow, np.float32)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise InputError(f"flow must be (H, W, 2); got shape {flow.shape}")
    channels = np.concatenate([flow, np.linalg.norm(flow, axis=-1, keepdims=True)], axis=-1)
    return np.clip(np.rint(scale * channels + 128.0), 0, 255).astype(np.uint8)


def decode_flow_image(image, scale: float = SCALE) -> np.ndarray:
    """The flow (H, W, 2) a flow image encodes (exact up to rounding where no channel was clipped)."""
    image = np.asarray(image)
    return (image[..., :2].astype(np.float32) - 128.0) / scale


def video_flow_images(frames, method: str = "farneback", scale: float = SCALE) -> np.ndarray:
    """Frames (F, H, W, 3) uint8 -> flow images (F - 1, H, W, 3) uint8: image t is the flow from t to t + 1."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) < 2:
        raise InputError(f"flow needs a video of at least 2 frames (F, H, W, 3); got shape {frames.shape}")
    return flow_pairs_images(frames[:-1], frames[1:], method, scale)


def flow_pairs_images(first, second, method: str = "farneback", scale: float = SCALE) -> np.ndarray:
    """Flow images of frame pairs: `first`, `second` (N, H, W, 3) uint8 -> (N, H, W, 3), image i the
    flow from first[i] to second[i] (clips whose frames are not consecutive in the video, e.g. looped)."""
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.ndim != 4:
        raise InputError(f"expected two (N, H, W, 3) frame arrays of one shape; got {first.shape} and {second.shape}")
    return np.stack([flow_image(optical_flow(a, b, method), scale) for a, b in zip(first, second)])
