"""DAQUAR builder (zoo.data.vqa.daquar), end to end on tiny files in the release's formats: question files of
alternating question / answer lines (qa.894.raw.{train,test}.txt, qa.37.raw.*.txt) and the NYU pictures
image<N>.png in nyu_depth_images.tar or the extracted nyu_depth_images/ folder."""

import collections
import io
import re
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import zoo.data
from zoo.errors import CorruptRecordError, DatasetNotFoundError
from zoo.metrics.vqa import answer_items

tfds.disable_progress_bar()

FULL_TRAIN = [
    ("what is on the right side of the table in the image1 ?", "chair"),
    ("how many chairs are in the image1 ?", "2"),
    ("what is in front of the bed in the image5 ?", "lamp, pillow"),
    ("what is the largest object in the image5 ?", "bed"),
    ("what is on the table in the image1 ?", "lamp"),
    ("what is behind the table in the image5 ?", "chair"),
]
FULL_TEST = [
    ("what is on the sofa in the image3 ?", "cushion"),
    ("what is under the table in the image1 ?", "chair"),
]
REDUCED_TRAIN = [("what is on the bed in the image5 ?", "pillow"), ("what is near the wall in the image3 ?", "sofa")]
REDUCED_TEST = [("what is on the floor in the image3 ?", "sofa")]
FULL_CLASSES = ("chair", "2", "bed", "lamp", "lamp, pillow")  # chair twice, then the rest alphabetically


def _text(pairs, trailing_blank=True):
    return "".join(f"{q}\n{a}\n" for q, a in pairs) + ("\n" if trailing_blank else "")


def _pictures():
    rng = np.random.default_rng(1)
    return {n: rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) for n in (1, 3, 5)}


def _png(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def write_release(manual, *, folder=False, drop_picture=None, train=FULL_TRAIN):
    pictures = _pictures()
    (manual / "qa.894.raw.train.txt").write_text(_text(train))
    (manual / "qa.894.raw.test.txt").write_text(_text(FULL_TEST, trailing_blank=False))
    (manual / "qa.37.raw.reduced.train.txt").write_text(_text(REDUCED_TRAIN))  # the other accepted spelling
    (manual / "qa.37.raw.test.txt").write_text(_text(REDUCED_TEST))
    kept = {n: a for n, a in pictures.items() if n != drop_picture}
    if folder:
        (manual / "nyu_depth_images").mkdir()
        for n, array in kept.items():
            (manual / "nyu_depth_images" / f"image{n}.png").write_bytes(_png(array))
    else:
        with tarfile.open(manual / "nyu_depth_images.tar", "w") as tar:
            for n, array in kept.items():
                data = _png(array)
                info = tarfile.TarInfo(f"nyu_depth_images/image{n}.png")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return pictures


def _words(text):  # an independent tokeniser: lower-cased words and punctuation, without the picture's name
    return [w for w in re.findall(r"\w+|[^\w\s]", text.lower()) if not re.fullmatch(r"image\d+", w)]


def expected_ids(question, train_questions, max_words=30):
    counts = collections.Counter(w for q in train_questions for w in _words(q))
    ids = {w: i + 2 for i, w in enumerate(sorted(counts, key=lambda w: (-counts[w], w)))}  # 0 pads, 1 is <unk>
    words = [ids.get(w, 1) for w in _words(question)][:max_words]
    return words + [0] * (max_words - len(words))


def in_file_order_by_picture(pairs):
    """The loader's order: pictures by number, each picture's questions in file order: (question_id, q, a)."""
    rows = [(k, int(re.search(r"image(\d+)", q)[1]), q, a) for k, (q, a) in enumerate(pairs)]
    return sorted(rows, key=lambda r: (r[1], r[0]))


def load(split, tmp_path, manual, **options):
    return list(zoo.data.load("daquar", split, data_dir=tmp_path / "tfds", manual_dir=manual,
                              **options).as_numpy_iterator())


@pytest.fixture
def manual(tmp_path):
    path = tmp_path / "manual"
    path.mkdir()
    return path


@pytest.mark.parametrize("variant", ["full", "reduced"])
def test_every_field_from_the_release(tmp_path, manual, variant):
    pictures = write_release(manual, folder=variant == "reduced")
    train_pairs, test_pairs = (FULL_TRAIN, FULL_TEST) if variant == "full" else (REDUCED_TRAIN, REDUCED_TEST)
    classes = FULL_CLASSES if variant == "full" else ("pillow", "sofa")
    for split, pairs in (("train", train_pairs), ("test", test_pairs)):
        examples = load(split, tmp_path, manual, variant=variant, image_size=None, crop=None)
        rows = in_file_order_by_picture(pairs)
        assert [int(e["question_id"]) for e in examples] == [r[0] for r in rows]
        for e, (qid, picture, question, answer) in zip(examples, rows):
            np.testing.assert_array_equal(e["image"], pictures[picture])
            assert int(e["image_id"]) == picture and e["question_text"].decode() == question
            assert e["question"].dtype == np.int32
            assert e["question"].tolist() == expected_ids(question, [q for q, _ in train_pairs])
            assert e["answer"].decode() == answer
            assert int(e["label"]) == (classes.index(answer) if answer in classes else -1)
    assert zoo.data.model_options("daquar", data_dir=tmp_path / "tfds", manual_dir=manual, variant=variant) == {
        "vocab_size": 2 + len({w for q, _ in train_pairs for w in _words(q)}), "num_answers": len(classes),
        "max_words": 30}


def test_top_k_answers_sizes_and_the_answer_sets(tmp_path, manual):
    write_release(manual)
    train = load("train", tmp_path, manual, num_answers=1)  # only "chair" (seen twice) is a class
    assert [e["answer"].decode() for e in train] == ["chair", "chair"] and {int(e["label"]) for e in train} == {0}
    assert train[0]["image"].shape == (224, 224, 3)
    everything = load("train", tmp_path, manual, num_answers=1, train_known_only=False, max_words=4)
    assert [int(e["label"]) for e in everything] == [0 if a == "chair" else -1 for _, _, _, a in
                                                     in_file_order_by_picture(FULL_TRAIN)]
    assert everything[0]["question"].shape == (4,)
    assert answer_items(everything[3]["answer"].decode()) == ["lamp", "pillow"]  # WUPS reads the answer as a set
    zoo.data.prepare("daquar", data_dir=tmp_path / "prepared", manual_dir=manual)  # both variants' files are there
    assert {"full", "reduced"} <= {p.name for p in (tmp_path / "prepared" / "daquar").iterdir()}


def test_missing_files_are_named_with_where_to_get_them(tmp_path, manual):
    with pytest.raises(DatasetNotFoundError) as error:
        load("train", tmp_path, manual)
    message = str(error.value)
    for name in ("qa.894.raw.train.txt", "qa.894.raw.test.txt", "nyu_depth_images.tar", "nyu_depth_images/"):
        assert name in message
    assert "qa.37" not in message  # the full variant does not need the reduced files
    assert "datasets.d2.mpi-inf.mpg.de/mateusz14visual-turing/nyu_depth_images.tar" in message
    assert str(manual) in message and "python -m zoo.data prepare daquar" in message
    with pytest.raises(DatasetNotFoundError, match=r"qa\.37\.raw\.train\.txt or qa\.37\.raw\.reduced\.train\.txt"):
        load("train", tmp_path, manual, variant="reduced")


def test_a_misaligned_file_or_a_missing_picture_is_named(tmp_path, manual):
    write_release(manual, train=FULL_TRAIN[:2] + [("chair", "what is in the image5 ?")] + FULL_TRAIN[3:])
    with pytest.raises(CorruptRecordError, match=r"qa\.894\.raw\.train\.txt line 5 names no picture"):
        load("train", tmp_path, manual)
    other = tmp_path / "other"
    other.mkdir()
    write_release(other, folder=True, drop_picture=5)
    with pytest.raises(CorruptRecordError, match=r"image5\.png: the picture of 3 train question"):
        load("train", tmp_path / "raise", other)
    kept = load("train", tmp_path / "skip", other, on_corrupt="skip", image_size=None, crop=None)
    assert [int(e["image_id"]) for e in kept] == [1, 1, 1]
