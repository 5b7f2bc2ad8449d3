"""Sports-1M from the user's files (zoo.data.video.sports1m): the partition format, clips read from a video
written by OpenCV whose frame t carries t in its pixels (so the clips' frames can be checked), random
training clips and evenly spread test clips, and missing videos named or skipped."""

import numpy as np
import pytest

from zoo.data import CorruptCounter, registry
from zoo.data.video import sports1m
from zoo.errors import CorruptRecordError, DatasetNotFoundError

IDS = ("abcdefghijk", "ABCDEFGHIJK")


def _write_video(path, frames=40, size=(96, 128)):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (size[1], size[0]))
    for t in range(frames):
        writer.write(np.full((*size, 3), 5 * t, np.uint8))  # grey level 5t: the frame number survives JPEG
    writer.release()


@pytest.fixture
def release(tmp_path):
    root = tmp_path / "manual" / "sports1m"
    (root / "original").mkdir(parents=True)
    (root / "videos").mkdir()
    (root / "labels.txt").write_text("".join(f"sport{k}\n" for k in range(5)))
    (root / "original" / "train_partition.txt").write_text(
        f"https://www.youtube.com/watch?v={IDS[0]} 3\nhttps://www.youtube.com/watch?v={IDS[1]} 1,4\n")
    (root / "original" / "test_partition.txt").write_text(f"https://www.youtube.com/watch?v={IDS[0]} 3\n")
    _write_video(root / "videos" / f"{IDS[0]}.avi")
    _write_video(root / "videos" / f"{IDS[1]}.avi", frames=20)
    return tmp_path / "manual"


def test_partition_lines_give_ids_and_labels(tmp_path):
    p = tmp_path / "p.txt"
    p.write_text("https://www.youtube.com/watch?v=abcdefghijk 3\n\nhttps://youtu.be/ABCDEFGHIJK 1,4\n")
    assert sports1m.read_partition(p, 5) == [("abcdefghijk", [3]), ("ABCDEFGHIJK", [1, 4])]
    p.write_text("https://www.youtube.com/watch?v=abcdefghijk 7\n")
    with pytest.raises(CorruptRecordError, match="label 7 >= 5"):
        sports1m.read_partition(p, 5)


def test_test_clips_are_spread_over_the_video_and_centre_cropped(release):
    clips = list(registry.load("sports1m", "test", manual_dir=release, clips_per_video=3, crop=64,
                               frame_size=[80, 100]).as_numpy_iterator())
    assert [c["clip_index"] for c in clips] == [0, 1, 2] and clips[0]["clip"].shape == (16, 64, 64, 3)
    firsts = [int(round(c["clip"][0].mean() / 5)) for c in clips]  # evenly spread starts over 40 - 16 frames
    assert firsts == list(np.round(np.linspace(0, 24, 3)).astype(int))
    assert int(round(clips[0]["clip"][15].mean() / 5)) == 15  # 16 consecutive frames


def test_training_clips_are_random_and_keep_every_label(release):
    clips = list(registry.load("sports1m", "train", manual_dir=release, crop=64, frame_size=[80, 100])
                 .as_numpy_iterator())
    assert len(clips) == 2 * sports1m.TRAIN_CLIPS
    second = [c for c in clips if c["video_index"] == 1]
    assert second[0]["label"] == 1 and list(second[0]["labels"]) == [1, 4, -1, -1]
    starts = {int(round(c["clip"][0].mean() / 5)) for c in clips if c["video_index"] == 0}
    assert len(starts) > 1 and max(starts) <= 24


def test_missing_videos_are_named_or_skipped(release, tmp_path):
    (release / "sports1m" / "videos" / f"{IDS[1]}.avi").unlink()
    with pytest.raises(CorruptRecordError, match=f"video {IDS[1]} of the train partition"):
        list(registry.load("sports1m", "train", manual_dir=release, crop=64, frame_size=[80, 100]))
    counter = CorruptCounter()
    kept = list(registry.load("sports1m", "train", manual_dir=release, crop=64, frame_size=[80, 100],
                              on_corrupt="skip", counter=counter))
    assert len(kept) == sports1m.TRAIN_CLIPS and counter.count == 1
    with pytest.raises(DatasetNotFoundError, match="labels.txt"):
        registry.load("sports1m", "train", manual_dir=tmp_path / "nowhere")
