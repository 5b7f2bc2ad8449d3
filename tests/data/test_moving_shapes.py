"""The `moving_shapes` stand-in: determinism, loading, labels that are the motion (OpenCV's phase
correlation and image moments as the oracle), and single frames that do not tell the class."""

import cv2
import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import zoo.data
from zoo.data.standins import moving_shapes
from zoo.errors import ConfigError

SIZE, FRAMES, N = 32, 5, 1500  # small clips: the checks need motion, not resolution


@pytest.fixture(scope="module")
def clips():
    return moving_shapes.render_split(0, "train", N, image_size=SIZE, num_frames=FRAMES)


def test_same_seed_same_bytes_and_different_seeds_differ():
    a = moving_shapes.render_example(3, "train", 7)
    assert a["video"].shape == (16, 64, 64, 3) and a["video"].dtype == np.uint8
    assert a["video_id"] == "train_000007"
    b = moving_shapes.render_example(3, "train", 7)
    assert a["video"].tobytes() == b["video"].tobytes() and a["label"] == b["label"]
    for other in [(4, "train", 7), (3, "validation", 7), (3, "train", 8)]:
        assert moving_shapes.render_example(*other)["video"].tobytes() != a["video"].tobytes(), other


def test_load_serves_the_rendered_examples():
    ds = zoo.data.load("moving_shapes", "validation", seed=2, num_examples=3, image_size=24, num_frames=4)
    spec = ds.element_spec
    assert {k: (tuple(v.shape), v.dtype.name) for k, v in spec.items()} == {
        "video": ((4, 24, 24, 3), "uint8"), "label": ((), "int64"), "video_id": ((), "string")}
    for i, example in enumerate(ds.as_numpy_iterator()):
        alone = moving_shapes.render_example(2, "validation", i, image_size=24, num_frames=4)
        np.testing.assert_array_equal(example["video"], alone["video"])
        assert example["label"] == alone["label"] and example["video_id"].decode() == alone["video_id"]


def test_info_and_option_errors():
    info = zoo.data.info("moving_shapes")
    assert info.is_standin and info.stands_in_for == "ucf101" and info.task == "video_classification"
    assert info.class_names == ("left", "right", "up", "down", "clockwise", "anticlockwise")
    with pytest.raises(ConfigError, match="num_frames"):
        zoo.data.load("moving_shapes", "train", num_frames=1)
    with pytest.raises(ConfigError, match="plain split name"):
        zoo.data.load("moving_shapes", "train[:10]")


def _masks(video):
    """Shape pixels: far from the clip's background colour (the median pixel; the shape covers little)."""
    background = np.median(video.reshape(-1, 3), axis=0)
    return np.abs(video.astype(np.float32) - background).mean(axis=-1) > moving_shapes.MIN_CONTRAST / 2


def _frame_features(mask):
    """Where the shape is (circular means on the torus), its orientation (doubled angle) and area."""
    ys, xs = np.nonzero(mask)
    angles_x, angles_y = 2 * np.pi * xs / SIZE, 2 * np.pi * ys / SIZE
    cx = np.angle(np.exp(1j * angles_x).mean()) % (2 * np.pi) * SIZE / (2 * np.pi)
    cy = np.angle(np.exp(1j * angles_y).mean()) % (2 * np.pi) * SIZE / (2 * np.pi)
    centred = np.roll(mask, (int(SIZE / 2 - cy), int(SIZE / 2 - cx)), axis=(0, 1)).astype(np.float32)
    m = cv2.moments(centred, binaryImage=True)
    theta = 0.5 * np.arctan2(2 * m["mu11"], m["mu20"] - m["mu02"])
    return np.array([np.cos(angles_x).mean(), np.sin(angles_x).mean(), np.cos(angles_y).mean(),
                     np.sin(angles_y).mean(), np.cos(2 * theta), np.sin(2 * theta), mask.sum()]), theta


def _motion(video):
    """(mean shift (dx, dy) of the shape between frames by phase correlation, mean turn per frame)."""
    masks = _masks(video)
    shifts = [cv2.phaseCorrelate(*masks[t : t + 2].astype(np.float32))[0] for t in range(len(video) - 1)]
    thetas = [_frame_features(m)[1] for m in masks]
    turns = (np.diff(thetas) + np.pi / 2) % np.pi - np.pi / 2  # orientation is defined modulo pi
    return np.mean(shifts, axis=0), turns.mean()


def test_labels_are_the_motion(clips):
    # The oracle: OpenCV's phase correlation of the shape's masks finds a translation (the frame
    # is a torus, as the FFT assumes); the change of the shape's principal axis (OpenCV's image
    # moments) a rotation, where a growing angle is a clockwise turn on screen (rows grow downwards).
    right = 0
    for video, label in zip(clips["video"][:300], clips["label"][:300]):
        (dx, dy), turn = _motion(video)
        if abs(turn) > np.deg2rad(moving_shapes.ANGULAR_SPEED[0] / 2):
            predicted = moving_shapes.CLOCKWISE if turn > 0 else moving_shapes.ANTICLOCKWISE
        elif abs(dx) > abs(dy):
            predicted = moving_shapes.RIGHT if dx > 0 else moving_shapes.LEFT
        else:
            predicted = moving_shapes.DOWN if dy > 0 else moving_shapes.UP
        right += predicted == label
    assert right / 300 > 0.95
    assert set(np.unique(clips["label"])) == set(range(6))


def _accuracy(features, labels):
    half = len(labels) // 2
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier(15)).fit(features[:half], labels[:half])
    return knn.score(features[half:], labels[half:])


def test_a_single_frame_does_not_tell_the_class_but_two_do(clips):
    # A nearest-neighbour classifier of the shape's position, orientation and area: at chance from
    # any one frame, far above it from the change between two frames (the same features, so the
    # check can see class information where there is some).
    labels = clips["label"]
    masks = [_masks(video) for video in clips["video"]]
    chance = 1 / len(moving_shapes.CLASS_NAMES)
    for t in (0, FRAMES - 1):
        single = np.stack([_frame_features(m[t])[0] for m in masks])
        assert _accuracy(single, labels) < chance + 0.05, t  # 3.6 standard deviations above chance
    pairs = []
    for m in masks:
        (f0, theta0), (f1, theta1) = _frame_features(m[0]), _frame_features(m[1])
        turn = (theta1 - theta0 + np.pi / 2) % np.pi - np.pi / 2
        # the position change on the torus, from the circular means of both frames
        dx = np.angle((f1[0] + 1j * f1[1]) / (f0[0] + 1j * f0[1]))
        dy = np.angle((f1[2] + 1j * f1[3]) / (f0[2] + 1j * f0[3]))
        pairs.append([dx, dy, turn])
    assert _accuracy(np.array(pairs), labels) > 0.9
