import numpy as np
import pytest

from zoo.errors import InputError
from zoo.preprocessing import ImagePreprocessing, check_image_batch
from zoo.registry import CAFFE_BGR_MEAN, InputContract

CAFFE = InputContract(shape=(None, None, 3), min_size=8)


def test_caffe_preprocessing_is_bgr_minus_mean():
    rgb = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    got = np.asarray(ImagePreprocessing.from_contract(CAFFE)(rgb))
    want = rgb[..., ::-1].astype(np.float32) - np.array(CAFFE_BGR_MEAN, np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    "shape,match",
    [((5, 7, 3), "rank 3"), ((1, 9, 9, 1), "grayscale"), ((1, 9, 9, 4), "RGBA"), ((1, 4, 9, 3), "at least 8x8")],
)
def test_bad_image_batches(shape, match):
    with pytest.raises(InputError, match=match):
        check_image_batch(np.zeros(shape, np.uint8), CAFFE)


def test_fixed_size_and_dtype():
    fixed = InputContract(shape=(227, 227, 3))
    with pytest.raises(InputError, match="expects 227"):
        check_image_batch(np.zeros((1, 224, 224, 3), np.uint8), fixed)
    with pytest.raises(InputError, match="dtype"):
        check_image_batch(np.zeros((1, 227, 227, 3), np.bool_), fixed)
