"""VQA v1 builder (zoo.data.vqa.vqa_v1), end to end on a tiny copy of the official release in its formats:
train as the extracted files (OpenEnded_mscoco_train2014_questions.json, mscoco_train2014_annotations.json, the
train2014/ folder of COCO_train2014_<12-digit id>.jpg), val as the downloads (Questions_Val_mscoco.zip,
Annotations_Val_mscoco.zip, val2014.zip)."""

import collections
import json
import re
import zipfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from lrcn_fixtures import jpeg_bytes

import zoo.data
from zoo.errors import CorruptRecordError, DatasetNotFoundError

tfds.disable_progress_bar()

LONG = ("How many cats are in the picture of the house near the old tree by the lake on a sunny day with white "
        "clouds in the blue sky above the hill ?")
# (question id, image id, question, multiple_choice_answer, the ten answers)
TRAIN = [
    (90, 9, "Is there a dog?", "yes", ["yes"] * 8 + ["no"] * 2),
    (91, 9, "What color is the dog?", "red", ["red"] * 6 + ["brown"] * 4),
    (250, 25, "How many dogs are there?", "2", ["2"] * 6 + ["3"] * 3 + ["two"]),
    (251, 25, "Is the dog red?", "yes", ["yes"] * 10),
    (300, 30, "What color is the cat?", "red", ["red"] * 10),
    (301, 30, LONG, "2", ["2"] * 10),
    (302, 30, "Is this a cat?", "yes", ["yes"] * 9 + ["no"]),
    (303, 30, "Is it raining?", "no", ["no"] * 10),
]
VAL = [
    (420, 42, "Is there a red dog?", "yes", ["yes"] * 5 + ["red"] * 3 + ["2"] * 2),
    (730, 73, "What is the man holding?", "frisbee", ["frisbee"] * 7 + ["disc"] * 3),
]
TOP2 = ("yes", "2")  # train's multiple_choice_answers: yes 3, 2 2, red 2 (2 before red alphabetically), no 1
ALL = ("yes", "2", "red", "no")


def _json(subset, rows):
    questions = {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": subset,
                 "license": {}, "questions": [{"image_id": i, "question": q, "question_id": k}
                                              for k, i, q, _, _ in rows]}
    answer_type = {"yes": "yes/no", "no": "yes/no", "2": "number"}
    annotations = {"info": {}, "data_type": "mscoco", "data_subtype": subset, "license": {}, "annotations": [
        {"question_id": k, "image_id": i, "question_type": " ".join(q.lower().split()[:2]),
         "answer_type": answer_type.get(mc, "other"), "multiple_choice_answer": mc,
         "answers": [{"answer": a, "answer_confidence": "yes" if n % 3 else "maybe", "answer_id": n + 1}
                     for n, a in enumerate(answers)]} for k, i, q, mc, answers in rows]}
    return json.dumps(questions), json.dumps(annotations)


def write_release(manual, *, drop_image=None, nine_answers=None):
    rng = np.random.default_rng(0)
    pictures = {}
    for subset, rows in (("train2014", TRAIN), ("val2014", VAL)):
        for image_id in sorted({r[1] for r in rows}):
            pictures[image_id] = jpeg_bytes(rng.integers(0, 256, (20 + image_id % 7, 30, 3), dtype=np.uint8),
                                            quality=95)
    train = [r if r[0] != nine_answers else (*r[:4], r[4][:9]) for r in TRAIN]
    questions, annotations = _json("train2014", train)
    (manual / "OpenEnded_mscoco_train2014_questions.json").write_text(questions)
    (manual / "mscoco_train2014_annotations.json").write_text(annotations)
    (manual / "train2014").mkdir()
    for image_id in {r[1] for r in TRAIN} - {drop_image}:
        (manual / "train2014" / f"COCO_train2014_{image_id:012d}.jpg").write_bytes(pictures[image_id])
    questions, annotations = _json("val2014", VAL)
    with zipfile.ZipFile(manual / "Questions_Val_mscoco.zip", "w") as z:
        z.writestr("MultipleChoice_mscoco_val2014_questions.json", "{}")
        z.writestr("OpenEnded_mscoco_val2014_questions.json", questions)
    with zipfile.ZipFile(manual / "Annotations_Val_mscoco.zip", "w") as z:
        z.writestr("mscoco_val2014_annotations.json", annotations)
    with zipfile.ZipFile(manual / "val2014.zip", "w") as z:
        for image_id in sorted({r[1] for r in VAL}):
            z.writestr(f"val2014/COCO_val2014_{image_id:012d}.jpg", pictures[image_id])
    return pictures


def _words(text):  # an independent tokeniser: lower-cased words and punctuation marks
    return re.findall(r"\w+|[^\w\s]", text.lower())


def expected_ids(question, kept_questions, min_count=3, max_words=25):
    counts = collections.Counter(w for q in kept_questions for w in _words(q))
    known = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    ids = {w: i + 2 for i, w in enumerate(known)}  # 0 pads (<eos>), 1 is <unk>
    words = [ids.get(w, 1) for w in _words(question)][:max_words]
    return words + [0] * (max_words - len(words))


def load(split, tmp_path, manual, **options):
    return list(zoo.data.load("vqa_v1", split, data_dir=tmp_path / "tfds", manual_dir=manual,
                              **options).as_numpy_iterator())


@pytest.fixture
def manual(tmp_path):
    path = tmp_path / "manual"
    path.mkdir()
    return path


def test_every_field_from_the_release_and_the_top_k_answers(tmp_path, manual):
    pictures = write_release(manual)
    raw = {"image_size": None, "crop": None, "num_answers": 2}
    train, val = load("train", tmp_path, manual, **raw), load("validation", tmp_path, manual, **raw)
    kept = [r for r in TRAIN if r[3] in TOP2]  # train keeps the questions whose answer is in the top 2
    assert [int(e["question_id"]) for e in train] == [r[0] for r in kept]
    assert [int(e["question_id"]) for e in val] == [r[0] for r in VAL]  # evaluation keeps every question
    for examples, rows, subset in ((train, kept, "train2014"), (val, VAL, "val2014")):
        for e, (qid, image_id, question, mc, answers) in zip(examples, rows):
            np.testing.assert_array_equal(e["image"], tf.io.decode_jpeg(pictures[image_id]).numpy())
            assert int(e["image_id"]) == image_id and e["question_text"].decode() == question
            assert e["question"].dtype == np.int32
            assert e["question"].tolist() == expected_ids(question, [r[2] for r in kept])
            assert e["multiple_choice_answer"].decode() == mc
            assert int(e["label"]) == (TOP2.index(mc) if mc in TOP2 else -1)
            assert [a.decode() for a in e["answer_texts"]] == answers
            assert e["answers"].tolist() == [TOP2.index(a) if a in TOP2 else -1 for a in answers]
            assert [c.decode() for c in e["answer_confidences"]] == ["yes" if n % 3 else "maybe" for n in range(10)]
            assert e["answer_type"].decode() == {"yes": "yes/no", "no": "yes/no", "2": "number"}.get(mc, "other")
            assert e["question_type"].decode() == " ".join(question.lower().split()[:2])
    assert int(train[3]["question_id"]) == 301 and len(_words(LONG)) > 25 and np.count_nonzero(train[3]["question"]) == 25  # truncated at MAX_WORDS
    assert zoo.data.model_options("vqa_v1", data_dir=tmp_path / "tfds", manual_dir=manual, num_answers=2) == {
        "vocab_size": 2 + len({w for w, n in collections.Counter(
            w for r in kept for w in _words(r[2])).items() if n >= 3}), "num_answers": 2, "max_words": 25}
    # the defaults: the 1,000 most frequent answers (all four here), every train question known, pictures resized
    # to 256x256 and cropped to 224x224: at random for train, centrally otherwise, never mirrored
    train = load("train", tmp_path, manual)
    assert [int(e["label"]) for e in train] == [ALL.index(r[3]) for r in TRAIN]
    resized = {i: np.clip(np.round(tf.image.resize(tf.io.decode_jpeg(p), (256, 256)).numpy()), 0, 255).astype(np.uint8)
               for i, p in pictures.items()}
    windows = [(y, x) for y in range(33) for x in range(33)
               if np.array_equal(train[0]["image"], resized[9][y : y + 224, x : x + 224])]
    assert train[0]["image"].shape == (224, 224, 3) and len(windows) == 1
    central = load("validation", tmp_path, manual)[0]["image"]
    np.testing.assert_array_equal(central, resized[42][16:240, 16:240])
    everything = load("train", tmp_path, manual, num_answers=2, train_known_only=False, image_size=None, crop=None)
    assert [int(e["label"]) for e in everything] == [TOP2.index(r[3]) if r[3] in TOP2 else -1 for r in TRAIN]
    # what the vqa task makes of it for the smem_vqa cards: (image, question) inputs, label / ten answers targets
    from zoo import registry, tasks

    to_xy = tasks.get("vqa").eval_example_to_xy(registry.card("smem_vqa_2hop").input_contract)
    x, y = next(iter(zoo.data.load("vqa_v1", "validation", data_dir=tmp_path / "tfds", manual_dir=manual,
                                   num_answers=2).map(to_xy).batch(2)))
    assert x["image"].shape == (2, 224, 224, 3) and x["image"].dtype == tf.float32
    assert x["question"].shape == (2, 25) and x["question"].dtype == tf.int32
    assert y["label"].numpy().tolist() == [0, -1] and y["answers"].numpy()[0].tolist() == [0] * 5 + [-1] * 3 + [1] * 2


def test_missing_archives_are_named_with_where_to_get_them(tmp_path, manual):
    with pytest.raises(DatasetNotFoundError) as error:
        load("train", tmp_path, manual)
    message = str(error.value)
    for name in ("OpenEnded_mscoco_train2014_questions.json", "Questions_Train_mscoco.zip",
                 "mscoco_val2014_annotations.json", "Annotations_Val_mscoco.zip", "train2014.zip", "val2014/"):
        assert name in message
    assert "https://visualqa.org/vqa_v1_download.html" in message and str(manual) in message
    assert "python -m zoo.data prepare vqa_v1" in message


def test_a_missing_image_or_a_question_without_ten_answers_is_named_or_skipped(tmp_path, manual):
    write_release(manual, drop_image=25, nine_answers=302)
    with pytest.raises(CorruptRecordError, match="question 302 has 9 human answers"):
        load("train", tmp_path, manual)
    skipped = load("train", tmp_path / "skip", manual, on_corrupt="skip", image_size=None, crop=None)
    assert [int(e["question_id"]) for e in skipped] == [90, 91, 300, 301, 303]  # image 25 and question 302 left out
    broken = tmp_path / "broken"
    broken.mkdir()
    write_release(broken, drop_image=25)
    with pytest.raises(CorruptRecordError, match=r"COCO_train2014_000000000025\.jpg"):
        load("train", tmp_path / "again", broken)


@pytest.mark.slow  # about 60 s on 2 busy cores (GoogLeNet at 1/8 width, 2 replicas, traced once)
def test_the_shipped_recipe_trains_on_it_and_reports_the_vqa_accuracy(tmp_path, manual):
    from zoo.training import recipes, runner

    write_release(manual)
    tiny = ["model.options.width=8", "model.options.embed_dim=8", "model.options.input_shape=[64, 64, 3]",
            f"data.data_dir='{tmp_path / 'tfds'}'", f"data.manual_dir='{manual}'",
            "data.options={image_size = 72, crop = 64, num_answers = 2}", "data.global_batch_size=2",
            "data.shuffle_buffer=4", "train.steps=2", "train.eval_every=2", "train.checkpoint_every=2",
            "train.log_every=1"]
    recipe = recipes.load("smem_vqa_2hop_vqa_v1", tiny)
    result = runner.train(recipe, tmp_path / "run")
    assert result.steps == 2 and np.isfinite(result.final_loss)
    assert 0.0 <= result.metrics["vqa_accuracy"] <= 1.0 and "accuracy" in result.metrics
