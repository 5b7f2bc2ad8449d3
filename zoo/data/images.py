"""Robust image decoding: JPEG/PNG bytes or files -> uint8 RGB arrays, corrupt files named.

Decoding rules (`decode_image(..., mode="rgb")`, `read_image`):

- The result is a uint8 array (H, W, 3) in RGB order.
- Grayscale ("L", "1") is converted to RGB by repeating the channel.
- Alpha is dropped, not composited: "RGBA" and "LA" keep their colour channels as stored.
- Palette ("P"), CMYK and YCbCr images are converted to RGB by Pillow (ImageNet, for one,
  holds CMYK JPEGs).
- 16-bit and float images ("I;16", "I", "F": depth maps, for example) are not converted,
  because squeezing them into uint8 loses their meaning: `mode="rgb"` raises `InputError`;
  read them with `mode="raw"`, which returns the stored values (palette indices for "P").
- A file that cannot be decoded completely (corrupt, truncated, not an image) raises
  `CorruptRecordError` naming it. Pillow's permissive LOAD_TRUNCATED_IMAGES is not used.

With `on_corrupt="skip"` a loader leaves such a record out and counts it in a
`CorruptCounter`, which the caller reads after iterating:

    counter = CorruptCounter()
    ds = zoo.data.load("voc2012_segmentation", "train", on_corrupt="skip", counter=counter)
    for example in ds: ...
    print(counter.count, counter.names[:5])

Inside a tf.data pipeline (`decode_images`), Python exceptions cross TensorFlow's runtime
and reach the caller as `tf.errors.InvalidArgumentError`; wrap the iteration in
`reraise_corrupt()` to get the `CorruptRecordError` back.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading

import numpy as np

from zoo.errors import ConfigError, CorruptRecordError, InputError

ON_CORRUPT = ("raise", "skip")

# Pillow modes that hold more than 8 bits per channel: never squeezed into uint8 silently.
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def check_on_corrupt(on_corrupt: str) -> str:
    if on_corrupt not in ON_CORRUPT:
        raise ConfigError(f"on_corrupt must be one of {ON_CORRUPT}; got {on_corrupt!r}")
    return on_corrupt


class CorruptCounter:
    """Records skipped because they could not be decoded (thread-safe).

    `count` is the number skipped; `names` lists them (the first `max_names`), each as the
    file or archive member it came from.
    """

    def __init__(self, max_names: int = 1000):
        self._lock = threading.Lock()
        self.max_names = max_names
        self.count = 0
        self.names: list[str] = []

    def add(self, name: str) -> None:
        with self._lock:
            self.count += 1
            if len(self.names) < self.max_names:
                self.names.append(str(name))

    def __repr__(self):
        shown = ", ".join(self.names[:3]) + (" ..." if self.count > 3 else "")
        return f"CorruptCounter(count={self.count}{': ' + shown if self.count else ''})"


def _open(data: bytes, name: str):
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        image.load()  # decodes every byte: truncation surfaces here, not at first pixel access
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, DecompressionBombError...
        reason = str(e) or type(e).__name__
        raise CorruptRecordError(f"{name} is not a decodable image ({len(data)} bytes): {reason}") from e
    return image


def decode_image(data: bytes, name: str = "<bytes>", *, mode: str = "rgb") -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, or anything Pillow reads).

    mode="rgb": uint8 (H, W, 3) RGB, converted as the module docstring says.
    mode="raw": the stored values, e.g. (H, W) palette indices for a VOC label PNG,
    (H, W) uint16 for a 16-bit depth PNG, (H, W, 4) for RGBA.
    """
    if mode not in ("rgb", "raw"):
        raise ConfigError(f"mode must be 'rgb' or 'raw'; got {mode!r}")
    image = _open(bytes(data), name)
    if mode == "raw":
        return np.asarray(image)
    if image.mode in _WIDE_MODES:
        text = f"{name} is a {image.mode} image (more than 8 bits per channel); it is not converted to uint8 RGB: "
        raise InputError(text + "decode it with mode='raw'",
                         cli=text + "give an 8-bit RGB or grayscale image (e.g. scaled and saved as 8-bit PNG)")
    if image.mode != "RGB":
        image = image.convert("RGB")  # L/1: channel repeated; RGBA/LA/P: alpha dropped; CMYK/YCbCr: converted
    return np.asarray(image, dtype=np.uint8)


def read_image(path) -> np.ndarray:
    """The image file at `path` as uint8 RGB (H, W, 3), for `zoo predict` and notebooks."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"expected an image file at {path}; there is none")
    with open(path, "rb") as f:
        return decode_image(f.read(), path)


def storable_image(data: bytes, name: str):
    """Validate encoded bytes for a `tfds.features.Image(shape=(None, None, 3))` feature.

    Returns `(value, (height, width))`: `value` is the original bytes when TensorFlow's
    decoder reads them as they are (8-bit grey or RGB JPEG/PNG), else the decoded RGB array,
    which TFDS stores losslessly as PNG (CMYK JPEGs, palette or RGBA PNGs, other formats).
    Raises `CorruptRecordError` naming `name` if the bytes do not decode.
    """
    image = _open(bytes(data), name)
    if image.format in ("JPEG", "PNG") and image.mode in ("RGB", "L"):
        return bytes(data), (image.height, image.width)
    array = decode_image(data, name)
    return array, array.shape[:2]


def decode_label_map(data: bytes, name: str, num_classes: int, ignore_label: int | None = 255) -> np.ndarray:
    """A segmentation label PNG (palette or 8-bit grey indices) as uint8 (H, W) class ids.

    Raises CorruptRecordError naming `name` when the file does not decode, holds colours
    rather than indices (an RGB PNG), or has a value outside [0, num_classes) other than
    `ignore_label`.
    """
    image = _open(bytes(data), name)
    if image.mode not in ("P", "L"):
        raise CorruptRecordError(
            f"{name} is a {image.mode} image; expected a label map of class indices (palette or 8-bit grey PNG)"
        )
    labels = np.asarray(image, dtype=np.uint8)
    values = np.unique(labels)
    bad = values[(values >= num_classes) & (values != (ignore_label if ignore_label is not None else -1))]
    if bad.size:
        allowed = f"[0, {num_classes})" + (f" or {ignore_label}" if ignore_label is not None else "")
        raise CorruptRecordError(f"{name} has label values {bad.tolist()} outside {allowed}")
    return labels


def _decode_or_flag(data, name, on_corrupt, counter):
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    try:
        return decode_image(data, name), True
    except CorruptRecordError:
        if on_corrupt == "raise":
            raise
        if counter is not None:
            counter.add(name)
        return np.zeros((0, 0, 3), np.uint8), False


def decode_images(ds, *, key="image", name_key=None, on_corrupt="raise", counter=None):
    """Map a tf.data.Dataset of dicts holding encoded images under `key` to decoded uint8 RGB.

    The record's name in errors and in `counter` is the string feature `name_key`, or
    "record <i>" (its position) when there is none. With on_corrupt="skip" undecodable
    records are dropped and counted; with "raise" iteration fails (see `reraise_corrupt`).
    Decoding uses Pillow through `tf.numpy_function`, so it runs in this Python process.
    """
    import tensorflow as tf

    check_on_corrupt(on_corrupt)
    ds = ds.enumerate()

    def decode(i, example):
        name = example[name_key] if name_key else tf.strings.join(["record ", tf.strings.as_string(i)])
        image, ok = tf.numpy_function(
            lambda d, n: _decode_or_flag(d, n, on_corrupt, counter),
            [example[key], name],
            [tf.uint8, tf.bool],
            stateful=True,
        )
        image.set_shape([None, None, 3])
        ok.set_shape([])
        return {**example, key: image}, ok

    ds = ds.map(decode)
    if on_corrupt == "skip":
        ds = ds.filter(lambda example, ok: ok)
    return ds.map(lambda example, ok: example)


_CORRUPT_IN_TF_ERROR = re.compile(r"CorruptRecordError: (.+)")


@contextlib.contextmanager
def reraise_corrupt():
    """Turn a CorruptRecordError that crossed TensorFlow's runtime back into one.

    TensorFlow reports an exception raised inside `tf.numpy_function` (as in `decode_images`)
    as `tf.errors.InvalidArgumentError` carrying the original message; this context manager
    re-raises it as `CorruptRecordError` with that message.
    """
    import tensorflow as tf

    try:
        yield
    except tf.errors.InvalidArgumentError as e:
        match = _CORRUPT_IN_TF_ERROR.search(e.message or "")
        if match is None:
            raise
        raise CorruptRecordError(match.group(1).strip()) from e
