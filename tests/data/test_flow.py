"""Optical-flow images (zoo.data.video.flow): OpenCV flow on textures with a known motion, and the
thesis's encoding (Donahue thesis §4.3: x, y scaled and shifted to [-128, 128], magnitude third)."""

import numpy as np
import pytest
from lrcn_fixtures import texture, translating_video

from zoo.data.video import flow
from zoo.errors import ConfigError, InputError

pytest.importorskip("cv2")


@pytest.mark.parametrize("dx, dy", [(2.0, -1.0), (1.5, 0.5), (-3.25, 2.0)])
def test_farneback_recovers_a_known_translation(dx, dy):
    frames = translating_video(2, 96, 128, dx, dy)
    estimate = flow.optical_flow(frames[0], frames[1])
    assert estimate.shape == (96, 128, 2) and estimate.dtype == np.float32
    inner = estimate[20:-20, 20:-20]  # away from the reflected borders
    error = np.abs(inner - [dx, dy])
    assert error.mean() < 0.05 and np.percentile(error, 99) < 0.3


def test_a_still_texture_has_no_flow():
    still = np.repeat(texture(64, 64)[..., None], 3, axis=-1)
    estimate = flow.optical_flow(still, still)
    assert np.abs(estimate[16:-16, 16:-16]).max() < 1e-3 and np.abs(estimate).mean() < 0.01  # borders: polynomial fits


def test_encoding_scales_x_and_y_around_128_and_adds_the_magnitude():
    vectors = np.array([[[0.0, 0.0], [1.0, -2.0], [10.0, 0.0], [-10.0, 0.25], [3.0, 4.0]]], np.float32)
    image = flow.flow_image(vectors)  # scale 16: one pixel = 16 grey levels
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image[0, 0], [128, 128, 128])
    np.testing.assert_array_equal(image[0, 1], [144, 96, round(128 + 16 * np.sqrt(5))])
    np.testing.assert_array_equal(image[0, 2], [255, 128, 255])  # 288 and 288 clipped
    np.testing.assert_array_equal(image[0, 3], [0, 132, 255])
    np.testing.assert_array_equal(image[0, 4], [176, 192, 208])  # |(3, 4)| = 5
    np.testing.assert_allclose(flow.decode_flow_image(image)[0, [0, 1, 4]], vectors[0, [0, 1, 4]], atol=1 / 32)
    np.testing.assert_array_equal(flow.flow_image(vectors, scale=1.0)[0, 2], [138, 128, 138])


def test_video_flow_images_encode_the_motion_between_consecutive_frames():
    video = translating_video(4, 64, 80, 2.0, -1.0)
    images = flow.video_flow_images(video)
    assert images.shape == (3, 64, 80, 3) and images.dtype == np.uint8
    center = images[:, 16:-16, 16:-16].reshape(-1, 3)
    np.testing.assert_allclose(np.median(center, axis=0), [128 + 32, 128 - 16, round(128 + 16 * np.sqrt(5))], atol=1)
    np.testing.assert_array_equal(flow.flow_pairs_images(video[1:2], video[2:3]), images[1:2])


def test_methods_and_bad_inputs():
    if "tvl1" not in flow.methods():
        with pytest.raises(ConfigError, match="cv2.optflow"):
            flow.optical_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), method="tvl1")
    with pytest.raises(ConfigError, match="'farneback' or 'tvl1'"):
        flow.check_method("brox")
    with pytest.raises(InputError, match="uint8"):
        flow.optical_flow(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))
    with pytest.raises(InputError, match="differ in size"):
        flow.optical_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))
    with pytest.raises(InputError, match="at least 2 frames"):
        flow.video_flow_images(np.zeros((1, 8, 8, 3), np.uint8))


@pytest.mark.skipif("tvl1" not in flow.methods(), reason="this OpenCV has no cv2.optflow (opencv-contrib)")
def test_tvl1_recovers_a_known_translation():
    frames = translating_video(2, 96, 128, 2.0, -1.0)
    inner = flow.optical_flow(frames[0], frames[1], method="tvl1")[20:-20, 20:-20]
    assert np.abs(inner - [2.0, -1.0]).mean() < 0.1
