"""TACoS Multi-Level with CRF inputs (zoo.data.text.tacos), end to end on small files in the layout the
module documents: a sentence per video segment, the CRF's per-segment slot probabilities."""

import numpy as np
import pytest
import tensorflow_datasets as tfds
from lrcn_fixtures import TACOS_SLOTS, TACOS_SPLITS, tacos_segments, write_tacos

import zoo
import zoo.data
from zoo.errors import CorruptRecordError, DatasetNotFoundError
from zoo.text.vocab import EOS_ID

tfds.disable_progress_bar()
SLOT_SIZES = [len(labels) for labels in TACOS_SLOTS.values()]  # 3, 2, 4, 2


def load(split, tmp_path, manual_dir, **options):
    ds = zoo.data.load("tacos_multilevel", split, data_dir=tmp_path / "tfds", manual_dir=manual_dir, **options)
    return list(ds.as_numpy_iterator())


@pytest.fixture
def files(tmp_path):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    segments = tacos_segments()
    write_tacos(manual_dir, segments)
    return manual_dir, segments


def test_one_example_per_segment_sentence_with_the_crf_outputs(tmp_path, files):
    manual_dir, segments = files
    for split in ("train", "validation", "test"):
        examples = load(split, tmp_path, manual_dir)
        want = [(v, s, e, sentence, probs) for v, s, e, sentences, probs in segments if TACOS_SPLITS[v] == split
                for sentence in sentences]
        assert sorted(ex["sentence"].decode() for ex in examples) == sorted(w[3] for w in want)
        for ex in examples:
            video, start, end, _, probs = next(w for w in want if w[3] == ex["sentence"].decode())
            assert (ex["video_id"].decode(), ex["start_frame"], ex["end_frame"]) == (video, start, end)
            assert ex["segment"].decode() == f"{video}:{start}-{end}"
            # architecture (c): every slot's distribution, concatenated in the labels file's slot order
            np.testing.assert_allclose(ex["crf_prob"], np.concatenate(probs), atol=1e-6)
            # architectures (a), (b): the CRF max, one label per slot
            np.testing.assert_array_equal(ex["crf_max"], [p.argmax() for p in probs])
            assert ex["words"][0] == EOS_ID and ex["targets"].shape == (20,)
    assert sum(len(s[3]) for s in segments) == 12  # pairs, as the thesis counts its 44,762


def test_examples_feed_the_video_description_models(tmp_path, files):
    manual_dir, _ = files
    ds = zoo.data.load("tacos_multilevel", "train", data_dir=tmp_path / "tfds", manual_dir=manual_dir, max_words=6)
    assert ds.element_spec["crf_prob"].shape.as_list() == [sum(SLOT_SIZES)]
    assert ds.element_spec["crf_max"].shape.as_list() == [len(SLOT_SIZES)]
    batch = next(ds.batch(4).as_numpy_iterator())
    vocab_size = int(batch["words"].max()) + 2
    for architecture, key in (("c", "crf_prob"), ("b", "crf_max")):
        model = zoo.get("lrcn_video_description", architecture=architecture, slot_sizes=SLOT_SIZES,
                        vocab_size=vocab_size, hidden=8, embed_dim=4, max_words=6)
        assert model([batch[key], batch["words"]]).shape == (4, 6, vocab_size)


def test_bad_segments_are_corrupt_records_named(tmp_path, files):
    manual_dir, segments = files
    video, start, end, _, _ = segments[0]  # train
    rows = []
    for v, s, e, _, p in segments[1:]:
        columns = [" ".join(f"{x:.6f}" for x in slot) for slot in p]
        if (v, s) == segments[1][:2]:
            columns[2] = "0.5 0.5 0.5 0.5"  # not a distribution
        rows.append("\t".join([v, str(s), str(e), *columns]))
    write_tacos(manual_dir, segments, crf_rows=rows)  # segment 0 has no CRF line
    with pytest.raises(CorruptRecordError, match=f"no CRF line for segment {video}:{start}-{end}"):
        load("train", tmp_path, manual_dir)
    counter = zoo.data.CorruptCounter()
    kept = load("train", tmp_path, manual_dir, on_corrupt="skip", counter=counter)
    assert counter.count == 2 and f"{video}:{start}-{end}" in counter.names
    assert {ex["segment"].decode() for ex in kept} == {
        f"{v}:{s}-{e}" for v, s, e, _, _ in segments[2:] if TACOS_SPLITS[v] == "train"}


def test_slot_count_mismatch_and_missing_files(tmp_path, files):
    manual_dir, segments = files
    v, s, e, _, _ = segments[0]
    write_tacos(manual_dir, segments[:1], crf_rows=["\t".join([v, str(s), str(e), "1.0"])])
    with pytest.raises(CorruptRecordError, match="1 slot columns; the labels file has 4"):
        load("train", tmp_path, manual_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetNotFoundError, match="tacos_multilevel_sentences.tsv"):
        load("train", tmp_path / "other", empty)


def test_model_options_from_the_data_fill_the_recipes_placeholders(tmp_path, files):
    from zoo.errors import ConfigError
    from zoo.training import recipes, runner

    manual_dir, _ = files
    paths = {"data_dir": tmp_path / "tfds", "manual_dir": manual_dir}
    vocabulary = zoo.data.load("tacos_multilevel", "train", **paths)  # the loader's own vocabulary, via its ids
    top_id = max(int(ex["words"].max()) for ex in vocabulary.as_numpy_iterator())
    given = zoo.data.model_options("tacos_multilevel", **paths)
    assert given["slot_sizes"] == SLOT_SIZES and given["vocab_size"] > top_id
    recipe = recipes.load("lrcn_video_description_c_tacos",
                          [f"data.data_dir={paths['data_dir']}", f"data.manual_dir={manual_dir}"])
    assert recipe.model.options["vocab_size"] == recipe.model.options["slot_sizes"] == "data"
    resolved = runner.resolve_data_options(recipe)
    assert resolved.model.options == {"architecture": "c", **given}
    model = zoo.get("lrcn_video_description", **resolved.model.options, hidden=8, embed_dim=4)
    assert model.get_layer("predict").units == given["vocab_size"]
    # a dataset that fixes no builder option
    other = recipes.load("lrcn2f_shape_captions_standin", ['model.options.vocab_size="data"'])
    with pytest.raises(ConfigError, match="vocab_size = \"data\", but dataset 'shape_captions' fixes no builder"):
        runner.resolve_data_options(other)
