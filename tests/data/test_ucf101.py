"""UCF101 clips as LRCN samples them (zoo.data.video.ucf101), on fake TFDS-ucf101 datasets (no download).

The thesis (§4.3) and the release (reference_code §2.2: sequence_input_layer.py, classify_video.py):
16-frame clips from a random start for training, clips every 8 frames for testing with the
probabilities averaged per video, frames resized to 240x320, 227x227 crops, mirroring.
"""

import numpy as np
import pytest
import tensorflow as tf
from lrcn_fixtures import counting_video, fake_video_dataset, translating_video

import zoo.data
from zoo.data.video import flow, ucf101
from zoo.errors import ConfigError, InputError
from zoo.tasks import video_protocol as protocol

SMALL = {"frame_size": (24, 32), "crop": 20}  # the fake videos are 24x32: resizing keeps them as they are


def frame_numbers(clip, offset=10):
    """The frame index each clip frame came from (channel 0 of counting_video), one value per frame."""
    values = clip[..., 0].reshape(len(clip), -1)
    assert (values == values[:, :1]).all()
    return values[:, 0].astype(int) - offset


def crop_origin(clip_frame, video_frame, crop):
    """(top, left, mirrored) of a crop of `video_frame`, found by its position pattern (channels 1-2)."""
    height, width = video_frame.shape[:2]
    for mirrored in (False, True):
        target = clip_frame[:, ::-1, 1:] if mirrored else clip_frame[..., 1:]
        for top in range(height - crop + 1):
            for left in range(width - crop + 1):
                if np.array_equal(video_frame[top : top + crop, left : left + crop, 1:], target):
                    return top, left, mirrored
    raise AssertionError("the clip frame is not a crop of the video frame")


def test_training_clips_are_16_consecutive_frames_at_a_random_start_and_crop():
    videos = [counting_video(n) for n in (40, 16, 23, 60, 31, 50)]
    ds = ucf101.training_clips(fake_video_dataset(videos), seed=3, **SMALL)
    assert ds.element_spec["clip"].shape.as_list() == [16, 20, 20, 3]
    clips = list(ds.as_numpy_iterator())
    starts, origins = [], set()
    for example, video in zip(clips, videos, strict=True):
        frames = frame_numbers(example["clip"])
        np.testing.assert_array_equal(frames, frames[0] + np.arange(16))
        assert 0 <= frames[0] <= len(video) - 16
        starts.append(frames[0])
        origin = crop_origin(example["clip"][0], video[0], 20)
        assert all(crop_origin(f, video[0], 20) == origin for f in example["clip"][1:])  # one crop per clip
        origins.add(origin)
    assert [e["label"] for e in clips] == list(range(6))
    assert len(set(starts)) > 2 and len(origins) > 3 and {o[2] for o in origins} == {False, True}

    # The same seed draws the same clips; every pass over the dataset (epoch) draws new ones.
    again = list(ucf101.training_clips(fake_video_dataset(videos), seed=3, **SMALL).as_numpy_iterator())
    assert all(np.array_equal(a["clip"], b["clip"]) for a, b in zip(clips, again, strict=True))
    epochs = list(ucf101.training_clips(fake_video_dataset(videos), seed=3, **SMALL).repeat(2).as_numpy_iterator())
    assert all(np.array_equal(a["clip"], b["clip"]) for a, b in zip(clips, epochs[:6], strict=True))
    assert not all(np.array_equal(a["clip"], b["clip"]) for a, b in zip(epochs[:6], epochs[6:], strict=True))
    other = list(ucf101.training_clips(fake_video_dataset(videos), seed=4, **SMALL).as_numpy_iterator())
    assert not all(np.array_equal(a["clip"], b["clip"]) for a, b in zip(clips, other, strict=True))


def test_evaluation_clips_every_8_frames_with_the_release_rule_and_indices():
    lengths = [40, 16, 17, 100]
    ds = ucf101.evaluation_clips(fake_video_dataset([counting_video(n) for n in lengths]), **SMALL)
    clips = list(ds.as_numpy_iterator())
    for v, n in enumerate(lengths):
        mine = [c for c in clips if c["video_index"] == v]
        # classify_video.py's rule, as zoo.tasks.video_protocol writes it in NumPy
        assert [frame_numbers(c["clip"])[0] for c in mine] == protocol.clip_starts(n)
        assert [c["clip_index"] for c in mine] == list(range(len(mine)))
        assert all(c["label"] == v for c in mine)
        for c in mine:
            assert crop_origin(c["clip"][0], counting_video(n)[0], 20) == (2, 6, False)  # center crop


def test_frames_are_resized_to_240x320_and_cropped_to_227():
    video = counting_video(16, height=60, width=80)
    clip = next(ucf101.evaluation_clips(fake_video_dataset([video])).as_numpy_iterator())["clip"]
    assert clip.shape == (16, 227, 227, 3)
    import cv2  # an independent bilinear resize: OpenCV's, half-pixel centers like TensorFlow's

    want = cv2.resize(video[3], (320, 240), interpolation=cv2.INTER_LINEAR)[6:233, 46:273]
    assert np.abs(clip[3].astype(int) - want).max() <= 1
    with pytest.raises(ConfigError, match="crop 227 is larger"):
        ucf101.training_clips(fake_video_dataset([video]), frame_size=(200, 300))


@pytest.mark.parametrize("make", [ucf101.training_clips, ucf101.evaluation_clips])
def test_short_videos_are_an_error_or_resampled(make):
    short = fake_video_dataset([counting_video(5)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="fewer frames than a 16-frame clip needs; pass short=lo"):
        list(make(short, **SMALL).as_numpy_iterator())
    (looped,) = make(short, short="loop", **SMALL).as_numpy_iterator()
    np.testing.assert_array_equal(frame_numbers(looped["clip"]), np.arange(16) % 5)
    (padded,) = make(short, short="pad", **SMALL).as_numpy_iterator()
    np.testing.assert_array_equal(frame_numbers(padded["clip"]), np.minimum(np.arange(16), 4))
    with pytest.raises(tf.errors.InvalidArgumentError, match="no frames"):
        list(make(fake_video_dataset([counting_video(0)]), short="loop", **SMALL).as_numpy_iterator())
    with pytest.raises(ConfigError, match="short must be one of"):
        make(short, short="repeat")


def test_flow_clips_hold_the_flow_between_consecutive_frames():
    video = translating_video(17, 48, 64, 2.0, -1.0)  # 17 frames -> 16 flow images
    kwargs = {"modality": "flow", "frame_size": (48, 64), "crop": 32}
    clip = next(ucf101.evaluation_clips(fake_video_dataset([video]), **kwargs).as_numpy_iterator())
    assert clip["clip"].shape == (16, 32, 32, 3)
    np.testing.assert_allclose(np.median(flow.decode_flow_image(clip["clip"]).reshape(-1, 2), axis=0), [2, -1],
                               atol=0.05)
    # A mirrored training clip shows the mirrored motion: dx -> -dx.
    seen = set()
    for train in ucf101.training_clips(fake_video_dataset([video]), seed=0, **kwargs).repeat(6).as_numpy_iterator():
        dx, dy = np.median(flow.decode_flow_image(train["clip"]).reshape(-1, 2), axis=0)
        assert abs(abs(dx) - 2) < 0.1 and abs(dy + 1) < 0.1
        seen.add(np.sign(dx))
    assert seen == {-1.0, 1.0}
    with pytest.raises(tf.errors.InvalidArgumentError, match="fewer flow frames"):
        list(ucf101.evaluation_clips(fake_video_dataset([video[:16]]), **kwargs).as_numpy_iterator())


def test_probabilities_average_per_video():
    videos, probs = ucf101.average_by_video([0, 0, 1, 0], [[1.0, 0.0], [0.0, 1.0], [0.3, 0.7], [0.5, 0.5]])
    np.testing.assert_array_equal(videos, [0, 1])
    np.testing.assert_allclose(probs, [[0.5, 0.5], [0.3, 0.7]])
    with pytest.raises(InputError, match="one \\(K,\\) probability row per clip"):
        ucf101.average_by_video([0, 1], [[1.0, 0.0]])


def test_registered_dataset_and_its_option_checks():
    info = zoo.data.info("ucf101")
    assert info.num_classes == 101 and not info.is_standin and "ffmpeg" in info.instructions
    assert set(info.splits) == {"train", "test"} and info.options["clip_length"] == 16
    # Checked before TFDS is asked for anything (nothing is downloaded).
    with pytest.raises(ConfigError, match="split_number must be 1, 2 or 3"):
        zoo.data.load("ucf101", "train", split_number=4)
    with pytest.raises(ConfigError, match="one split at a time"):
        zoo.data.load("ucf101", "train+test")
    with pytest.raises(ConfigError, match="modality"):
        zoo.data.load("ucf101", "test", modality="depth")
    with pytest.raises(ConfigError, match="'farneback' or 'tvl1'"):
        zoo.data.load("ucf101", "test", modality="flow", flow_method="brox")
