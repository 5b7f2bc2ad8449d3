"""Robust image decoding: conversions, corrupt and truncated files, skip-and-count in tf.data."""

import io

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from zoo.data import images
from zoo.errors import CorruptRecordError, InputError


def encode(array, fmt, mode=None, **kwargs):
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, fmt, **kwargs)
    return buf.getvalue()


RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)


def test_png_round_trip_and_opencv_agrees_on_jpeg(tmp_path):
    np.testing.assert_array_equal(images.decode_image(encode(RGB, "PNG")), RGB)
    jpeg = encode(RGB, "JPEG", quality=90)
    path = tmp_path / "x.jpg"
    path.write_bytes(jpeg)
    ours = images.read_image(path)
    theirs = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)  # independent decoder
    assert ours.dtype == np.uint8 and ours.shape == (12, 10, 3)
    assert np.abs(ours.astype(int) - theirs).max() <= 2


def test_grayscale_repeated_and_alpha_dropped():
    gray = RNG.integers(0, 256, (6, 5), dtype=np.uint8)
    np.testing.assert_array_equal(images.decode_image(encode(gray, "PNG")), np.repeat(gray[..., None], 3, -1))
    rgba = np.concatenate([RGB, np.full((12, 10, 1), 7, np.uint8)], -1)
    np.testing.assert_array_equal(images.decode_image(encode(rgba, "PNG")), RGB)  # not composited over white
    assert images.decode_image(encode(rgba, "PNG"), mode="raw").shape == (12, 10, 4)


def test_sixteen_bit_is_not_squeezed_into_uint8():
    depth = (np.arange(30, dtype=np.uint16).reshape(5, 6) * 2000).astype(np.uint16)
    data = encode(depth, "PNG")
    with pytest.raises(InputError, match="mode='raw'"):
        images.decode_image(data, "depth.png")
    np.testing.assert_array_equal(images.decode_image(data, mode="raw"), depth)


@pytest.mark.parametrize("cut", [0.5, 0.95])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_raises_naming_it(tmp_path, fmt, cut):
    data = encode(RGB, fmt)
    path = tmp_path / f"broken.{fmt.lower()}"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CorruptRecordError, match="broken"):
        images.read_image(path)


def test_garbage_and_missing_files(tmp_path):
    with pytest.raises(CorruptRecordError, match="notes.txt"):
        images.decode_image(b"not an image at all", "notes.txt")
    with pytest.raises(InputError, match="nothing.jpg"):
        images.read_image(tmp_path / "nothing.jpg")


def test_label_map_values_checked():
    labels = np.array([[0, 1, 255], [20, 3, 0]], np.uint8)
    data = encode(labels, "PNG", mode="L")
    np.testing.assert_array_equal(images.decode_label_map(data, "a.png", 21), labels)
    with pytest.raises(CorruptRecordError, match=r"b.png has label values \[20\]"):
        images.decode_label_map(data, "b.png", 20)
    with pytest.raises(CorruptRecordError, match="c.png is a RGB image"):
        images.decode_label_map(encode(RGB, "PNG"), "c.png", 21)


def test_storable_image_keeps_original_bytes_only_when_tf_reads_them():
    jpeg = encode(RGB, "JPEG")
    value, size = images.storable_image(jpeg, "a.jpg")
    assert value == jpeg and size == (12, 10)
    cmyk = io.BytesIO()
    Image.fromarray(RGB).convert("CMYK").save(cmyk, "JPEG")
    value, size = images.storable_image(cmyk.getvalue(), "cmyk.jpg")
    assert isinstance(value, np.ndarray) and value.shape == (12, 10, 3)


def _dataset(records):
    return tf.data.Dataset.from_tensor_slices({"image": [r[1] for r in records], "name": [r[0] for r in records]})


def test_decode_images_skips_and_counts_corrupt_records():
    good = encode(RGB, "PNG")
    records = [("a.png", good), ("b.jpg", encode(RGB, "JPEG")[:50]), ("c.png", good), ("d.png", b"junk")]
    counter = images.CorruptCounter()
    ds = images.decode_images(_dataset(records), name_key="name", on_corrupt="skip", counter=counter)
    out = list(ds.as_numpy_iterator())
    assert [o["name"] for o in out] == [b"a.png", b"c.png"]
    np.testing.assert_array_equal(out[1]["image"], RGB)
    assert counter.count == 2 and counter.names == ["b.jpg", "d.png"]


def test_decode_images_raises_corrupt_record_error_naming_the_record():
    records = [("a.png", encode(RGB, "PNG")), ("b.jpg", b"\xff\xd8\xff truncated")]
    ds = images.decode_images(_dataset(records), name_key="name")
    with pytest.raises(CorruptRecordError, match="b.jpg"):
        with images.reraise_corrupt():
            list(ds)
    # Without a name feature the record is named by its position.
    ds = images.decode_images(_dataset(records).map(lambda r: {"image": r["image"]}))
    with pytest.raises(CorruptRecordError, match="record 1"):
        with images.reraise_corrupt():
            list(ds)


def test_on_corrupt_is_validated():
    with pytest.raises(ValueError, match="on_corrupt"):
        images.decode_images(_dataset([("a", b"")]), on_corrupt="ignore")
