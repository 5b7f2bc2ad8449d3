"""`zoo bench` (zoo/bench/), the PyTorch twins (zoo/bench/torch_twins.py) and scripts/perf_table.py."""

import contextlib
import csv
import importlib.util
import io
import math
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import bench
from zoo.analysis import count_flops
from zoo.cli import main
from zoo.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _perf_table():
    spec = importlib.util.spec_from_file_location("perf_table", ROOT / "scripts" / "perf_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path):
    """(rows as dicts, header) of a CSV file."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader), reader.fieldnames


# ------------------------------------------------------------------------------ the smoke run


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Both tiny models trained and run, each configuration in its own process (5 of them: the
    classifier at batch 2, so inference at batch 1 and 2; the segmenter at batch 1).

    The parent holds 1.5 GB more than usual meanwhile: a worker's peak must not include it
    (getrusage's ru_maxrss would: a spawned child inherits the parent's high-water mark).
    """
    out = tmp_path_factory.mktemp("bench")
    ballast = np.ones(1_500_000_000 // 8)  # touched pages: resident
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        for name, batch in (("test/tiny_classifier", "2"), ("test/tiny_segmenter", "1")):
            assert main(["bench", name, "--mode", "both", "--batch", batch, "--input-shape", "16,16", "--warmup", "1",
                         "--repeats", "2", "--out", str(out)]) == 0
    del ballast
    return out, stdout.getvalue()


def test_smoke_writes_the_documented_csv(smoke):
    out, printed = smoke
    files = sorted(p.name for p in out.glob("*.csv"))
    assert len(files) == 2 and files[0].startswith("benchmark-infer-tensorflow-float32-cpu")
    assert files[1].startswith("benchmark-train-tensorflow-float32-cpu")
    rows = []
    for path in out.glob("*.csv"):
        path_rows, header = _read(path)
        assert header == bench.COLUMNS
        rows += path_rows
    got = sorted((r["model"], r["mode"], r["batch"]) for r in rows)
    assert got == sorted([("test/tiny_classifier", "train", "2"), ("test/tiny_classifier", "infer", "1"),
                          ("test/tiny_classifier", "infer", "2"), ("test/tiny_segmenter", "train", "1"),
                          ("test/tiny_segmenter", "infer", "1")])
    for r in rows:
        lo, med, hi = (float(r[k]) for k in ("latency_ms_min", "latency_ms_median", "latency_ms_max"))
        assert 0 < lo <= med <= hi
        assert float(r["items_per_s"]) == pytest.approx(int(r["batch"]) / (med / 1e3), rel=1e-4)
        assert 0 < float(r["base_rss_mb"]) <= float(r["peak_rss_mb"]) < 1400  # not the parent's 1.5 GB ballast
        assert r["input_shape"] == "16x16x3" and r["runtime"] == "keras" and r["threads"]
        assert r["torch_items_per_s"] == "" and "tensorflow=" in r["versions"]
    classifier = next(r for r in rows if r["model"] == "test/tiny_classifier")
    # conv1: 3x3x3 -> 8 with bias; fc: 8 -> 4 with bias. conv1 is valid, stride 2: 7x7 outputs at 16x16.
    assert int(classifier["params"]) == (27 * 8 + 8) + (8 * 4 + 4)
    assert float(classifier["gmacs"]) * 1e9 == pytest.approx(7 * 7 * 8 * 27 + 8 * 4)
    assert "items/s" in printed and "peak MB" in printed and "test/tiny_segmenter" in printed


def test_perf_table_regenerates_the_readme_section(smoke, tmp_path):
    out, _ = smoke
    perf = _perf_table()
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Performance\n\n{perf.BEGIN}\nold\n{perf.END}\n\n## Development\nkeep\n")
    assert perf.main(["--readme", str(readme), "--results-dir", str(out), "--check"]) == 1
    assert perf.main(["--readme", str(readme), "--results-dir", str(out)]) == 0
    text = readme.read_text()
    assert "old" not in text and text.endswith(f"{perf.END}\n\n## Development\nkeep\n")
    assert "### train · tensorflow · float32 · cpu" in text and "### infer · tensorflow · float32 · cpu" in text
    assert text.count("| test/tiny_segmenter | keras | 1 |") == 2  # train and infer
    assert perf.main(["--readme", str(readme), "--results-dir", str(out), "--check"]) == 0
    # a rerun of the same configuration replaces its row in the table
    infer = next(out.glob("benchmark-infer-*.csv"))
    rows, header = _read(infer)
    with open(infer, "a", newline="") as f:
        csv.DictWriter(f, header).writerow({**rows[0], "latency_ms_median": "123456"})
    text = perf.render(out)
    assert "123456.0" in text and text.count(f"| {rows[0]['model']} | keras | {rows[0]['batch']} |") == 1


def test_the_repository_readme_is_up_to_date():
    assert _perf_table().main(["--check"]) == 0


def test_results_of_another_format_are_not_appended_to(tmp_path):
    row = {k: "1" for k in bench.COLUMNS} | {"mode": "infer", "backend": "tensorflow", "dtype": "float32",
                                             "device": "d"}
    path = bench.results_path(tmp_path, row)
    path.write_text("model,latency\nx,1\n")
    with pytest.raises(ConfigError, match="other columns"):
        bench.write_results([row], tmp_path)


# ------------------------------------------------------------------------------ where the rows go

FAKE_RESULT = {"device": "cpu2-test", "params": 260, "trainable_params": 260, "gmacs": 1e-5, "latency_ms_min": 1.0,
               "latency_ms_median": 2.0, "latency_ms_max": 3.0, "items_per_s": 500.0, "first_call_s": 0.5,
               "peak_rss_mb": 700.0, "base_rss_mb": 600.0, "versions": "keras=3"}


@pytest.fixture
def fake_measure(monkeypatch, tmp_path):
    """`zoo bench` with the measuring processes replaced by a fixed result (the writing is what is
    tested here), the user's cache and the repository's results/ moved under tmp_path."""
    from zoo.bench import results

    monkeypatch.setattr(bench, "measure", lambda jobs, **_: [bench._row(job, FAKE_RESULT) for job in jobs])
    monkeypatch.delenv("ZOO_BENCH_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # macOS' cache is under ~/Library/Caches
    record = tmp_path / "results"
    record.mkdir()
    monkeypatch.setattr(results, "RECORD_DIR", record)
    return record


def _snapshot(folder):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(Path(folder).iterdir())}


def test_default_run_writes_to_the_users_cache_not_the_repository(fake_measure, capsys):
    committed = _snapshot(ROOT / "results")
    assert main(["bench", "test/tiny_classifier", "--batch", "2"]) == 0
    out = bench.default_out()
    assert ROOT not in out.parents and out.parts[-2:] == ("zoo", "bench")
    (path,) = out.glob("benchmark-infer-tensorflow-float32-cpu2-test.csv")
    rows, header = _read(path)
    assert header == bench.COLUMNS and [r["batch"] for r in rows] == ["1", "2"]
    assert capsys.readouterr().out.rstrip().endswith(f"appended 2 row(s) to {path}")  # printed at the end
    assert not any(fake_measure.iterdir())  # the (moved) results/ untouched without --record
    assert _snapshot(ROOT / "results") == committed  # and the repository's own
    assert main(["bench", "test/tiny_classifier"]) == 0  # a second run appends to the same file
    assert len(_read(path)[0]) == 3


def test_out_and_record(fake_measure, tmp_path, capsys):
    committed = fake_measure / "benchmark-infer-tensorflow-float32-cpu2-test.csv"
    bench.append_csv(committed, [bench._row(bench.plan(["test/tiny_classifier"])[0], FAKE_RESULT)], bench.COLUMNS)
    assert main(["bench", "test/tiny_classifier", "--out", str(tmp_path / "mine")]) == 0
    assert len(_read(committed)[0]) == 1 and len(_read(tmp_path / "mine" / committed.name)[0]) == 1
    assert main(["bench", "test/tiny_classifier", "--out", str(tmp_path / "mine"), "--record"]) == 0
    assert len(_read(committed)[0]) == 2 and len(_read(tmp_path / "mine" / committed.name)[0]) == 2
    printed = capsys.readouterr().out
    assert f"appended 1 row(s) to {committed}" in printed
    assert not (tmp_path / "cache").exists()  # --out given: nothing in the default cache
    rows = bench.bench(["test/tiny_classifier"], out=tmp_path / "api", record=True, progress=lambda _: None)
    assert len(rows) == 1 and len(_read(committed)[0]) == 3 and (tmp_path / "api" / committed.name).exists()


def test_record_outside_a_checkout_is_refused_before_measuring(fake_measure, monkeypatch, tmp_path, capsys):
    from zoo.bench import results

    monkeypatch.setattr(results, "RECORD_DIR", tmp_path / "site-packages" / "results")
    monkeypatch.setattr(bench, "measure", lambda *a, **k: pytest.fail("measured before refusing --record"))
    assert main(["bench", "test/tiny_classifier", "--record"]) == 2
    assert "not a source checkout); drop --record" in capsys.readouterr().err


def test_bench_input_writes_where_bench_does(fake_measure, monkeypatch, tmp_path, capsys):
    from zoo.bench import input as bench_input

    row = {c: "1" for c in bench_input.COLUMNS}
    monkeypatch.setattr(bench_input, "measure", lambda *a, **k: dict(row))
    assert main(["bench-input", "fcn8s_shapes_demo"]) == 0
    (path,) = bench.default_out().glob("benchmark-input-tensorflow-*.csv")
    assert capsys.readouterr().out.rstrip().endswith(f"appended 1 row to {path}")
    assert not any(fake_measure.iterdir())
    assert main(["bench-input", "fcn8s_shapes_demo", "--out", str(tmp_path / "mine"), "--record"]) == 0
    for folder in (tmp_path / "mine", fake_measure):
        (path,) = folder.glob("benchmark-input-tensorflow-*.csv")
        assert len(_read(path)[0]) == 1


# ------------------------------------------------------------------------------ bad requests


def test_unknown_runtime_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "test/tiny_classifier", "--runtime", "onnx"])
    assert "invalid choice: 'onnx'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--runtime must be one of keras, savedmodel, tflite-fp32"):
        bench.plan(["test/tiny_classifier"], runtime="onnx")


@pytest.mark.parametrize("request_, message", [
    ({"runtime": "tflite-int8", "mode": "train"}, "only runs inference"),
    ({"runtime": "savedmodel", "backend": "jax"}, "exports are made with TensorFlow"),
    ({"runtime": "tflite-fp16", "dtype": "mixed_float16"}, "exports are of float32 models"),
    ({"backend": "jax", "xla": False}, "JAX always compiles with XLA"),
    ({"batch": 0}, "--batch must be an integer >= 1"),
    ({"compare_torch": True}, "no PyTorch twin of test/tiny_classifier"),
    ({"compare_torch": "jit"}, "--compare-torch must be one of eager, compile"),
    ({"options": {"input_shape": (8, 8, 3)}}, "as --input-shape"),
])
def test_bad_requests_are_one_sentence(request_, message):
    with pytest.raises(ConfigError, match=message):
        bench.plan(["test/tiny_classifier"], **request_)


def test_compare_torch_without_torch_says_how_to_install_it(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert main(["bench", "vgg16", "--compare-torch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("zoo bench: --compare-torch needs PyTorch, which is not installed: "
                   "pip install 'zoo[bench]' (torch==2.13.0)")


def test_unknown_model_and_untrainable_task(capsys):
    assert main(["bench", "test/tiny_clasifier"]) == 2
    assert "did you mean 'test/tiny_classifier'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="sequence_prediction model; zoo bench trains classification and segm"):
        bench.plan(["grid_lstm_addition"], mode="train")


def test_plan_expands_inference_to_batch_one_and_n():
    jobs = bench.plan(["test/tiny_segmenter"], mode="both", batch=4, input_shape=(32, 48))
    assert [(j["mode"], j["batch"]) for j in jobs] == [("train", 4), ("infer", 1), ("infer", 4)]
    assert all(j["input_shape"] == [32, 48, 3] and j["threads"] >= 1 for j in jobs)


# ------------------------------------------------------------------------------ the PyTorch twins

# The zoo models' counts asserted in tests/models: test_vgg.py, test_classic.py (torchvision's
# ResNet-50 count), test_fcn.py (the reference FCN-8s with 21 classes, fixed deconvolutions included).
FULL = {"vgg16": (1000, (224, 224, 3), 138_357_544), "resnet50": (1000, (224, 224, 3), 25_557_032),
        "fcn8s": (21, (500, 500, 3), 134_489_759)}


def test_twins_are_the_models_bench_offers():
    twins = pytest.importorskip("zoo.bench.torch_twins", reason="PyTorch is not installed (pip install 'zoo[bench]')")
    assert twins.MODELS == bench.TORCH_MODELS


@pytest.mark.parametrize("name", list(FULL))
def test_twin_has_the_same_weights_and_convolutions(name):
    """Full size: parameter counts and every conv/dense layer's multiply-accumulates equal the zoo model's."""
    twins = pytest.importorskip("zoo.bench.torch_twins", reason="PyTorch is not installed (pip install 'zoo[bench]')")
    import keras

    num_classes, shape, stated = FULL[name]
    model = zoo.get(name)
    count = lambda ws: int(sum(math.prod(w.shape) for w in ws))  # noqa: E731
    twin = twins.build(name, num_classes=num_classes, input_size=shape[:2])
    assert twins.count_parameters(twin) == (count(model.weights), count(model.trainable_weights))
    assert twins.count_parameters(twin)[0 if name == "fcn8s" else 1] == stated
    transposed = {layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2DTranspose)}
    zoo_macs = {k: v for k, v in count_flops(model, shape, by_layer=True).items() if k not in transposed}
    assert twins.count_macs(name, (3, *shape[:2]), num_classes=num_classes) == zoo_macs


@pytest.mark.parametrize("name,shape", [("fcn8s", (64, 80, 3)), ("resnet50", (64, 64, 3)), ("vgg16", (64, 96, 3))])
def test_twin_computes_what_the_zoo_model_computes(name, shape):
    """Weights copied from a small zoo model (width 16) into its twin: the same outputs (eval mode)."""
    twins = pytest.importorskip("zoo.bench.torch_twins", reason="PyTorch is not installed (pip install 'zoo[bench]')")
    import torch

    model = zoo.get(name, num_classes=5, width=16, input_shape=shape)
    rng = np.random.default_rng(0)
    for layer in model.layers:  # every weight random (FCN scores start at zero, BN statistics at 0 and 1)
        if layer.weights and not getattr(layer, "fixed_bilinear", False):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape) if "variance" in w.path else rng.normal(0, 0.1, w.shape)
                               for w in layer.weights])
    twin = twins.build(name, num_classes=5, input_size=shape[:2], width=16)
    twins.load_keras_weights(twin, {layer.name: layer.get_weights() for layer in model.layers})
    x = rng.normal(0, 50, (2, *shape)).astype("float32")
    want = np.asarray(model(x, training=False))
    with torch.no_grad():
        got = twin.eval()(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    if got.ndim == 4:
        got = got.transpose(0, 2, 3, 1)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


# ------------------------------------------------------------------------------ slower paths


@pytest.mark.slow
def test_exported_runtimes_jax_and_torch(tmp_path):
    """TFLite int8 and SavedModel runtimes, the JAX backend, and a comparison with the PyTorch twin."""
    pytest.importorskip("torch")
    rows = bench.bench(["test/tiny_segmenter"], runtime="tflite-int8", batch=2, input_shape=(16, 16), warmup=1,
                       repeats=2, out=tmp_path, progress=lambda _: None)
    rows += bench.bench(["test/tiny_segmenter"], runtime="savedmodel", input_shape=(16, 16), warmup=1, repeats=2,
                        out=tmp_path, progress=lambda _: None)
    rows += bench.bench(["test/tiny_classifier"], mode="both", backend="jax", warmup=1, repeats=2,
                        out=tmp_path, progress=lambda _: None)
    rows += bench.bench(["fcn8s"], mode="both", options={"width": 16, "num_classes": 5}, input_shape=(64, 64),
                        compare_torch=True, warmup=1, repeats=2, out=tmp_path, progress=lambda _: None)
    got = [(r["model"], r["runtime"], r["backend"], r["mode"], r["batch"]) for r in rows]
    assert got == [("test/tiny_segmenter", "tflite-int8", "tensorflow", "infer", 1),
                   ("test/tiny_segmenter", "tflite-int8", "tensorflow", "infer", 2),
                   ("test/tiny_segmenter", "savedmodel", "tensorflow", "infer", 1),
                   ("test/tiny_classifier", "keras", "jax", "train", 1),
                   ("test/tiny_classifier", "keras", "jax", "infer", 1),
                   ("fcn8s", "keras", "tensorflow", "train", 1),
                   ("fcn8s", "keras", "tensorflow", "infer", 1)]
    tflite = rows[0]
    # a LiteRT process loads neither TensorFlow nor Keras: far below a TensorFlow process's ~800 MB
    assert tflite["peak_rss_mb"] < 400 and "ai-edge-litert=" in tflite["versions"]
    assert sorted(p.name.split("-")[2] for p in tmp_path.glob("*.csv")) == ["jax", "jax", "tensorflow", "tensorflow"]
    for r in rows[-2:]:
        assert r["zoo_torch_ratio"] == pytest.approx(r["items_per_s"] / r["torch_items_per_s"])
        assert 0 < r["torch_peak_rss_mb"] and "torch=" in r["versions"] and not r["notes"]


@pytest.mark.slow
def test_compare_with_torch_compile(tmp_path):
    """The twin through torch.compile (TorchInductor compiles C++ on CPU: about a minute)."""
    pytest.importorskip("torch")
    (row,) = bench.bench(["fcn8s"], options={"width": 16, "num_classes": 5}, input_shape=(32, 32),
                         compare_torch="compile", warmup=1, repeats=2, out=tmp_path, progress=lambda _: None)
    assert "torch compiled (torch.compile) on cpu" in row["notes"] and row["torch_items_per_s"] > 0


# ------------------------------------------------------------------------------ zoo bench-input


def test_bench_input_times_the_recipes_training_stream(tmp_path, capsys):
    from zoo.bench import input as bench_input

    assert main(["bench-input", "fcn8s_shapes_demo", "--batches", "3", "--warmup", "1",
                 "--set", "data.options.image_size=32", "--out", str(tmp_path)]) == 0
    (path,) = tmp_path.glob("benchmark-input-tensorflow-*.csv")
    rows, header = _read(path)
    assert header == list(bench_input.COLUMNS) and len(rows) == 1
    row = rows[0]
    assert row["recipe"] == "fcn8s_shapes_demo" and row["dataset"] == "shapes" and row["global_batch_size"] == "16"
    assert row["example_shape"] == "32x32x3" and float(row["items_per_s"]) > 0
    assert float(row["items_per_s"]) == pytest.approx(16 * float(row["batches_per_s"]), rel=1e-3)
    assert "items/s" in capsys.readouterr().out
    section = _perf_table().render(tmp_path)  # the README's Performance section has a table for it
    assert "### input pipeline" in section and "| fcn8s_shapes_demo | shapes (train) | 16 | 32x32x3 |" in section
    with pytest.raises(ConfigError, match="at least 1"):
        bench_input.measure("fcn8s_shapes_demo", batches=0)


# ------------------------------------------------------------------------------ detectors (--mode detect)


def test_detect_plan_sizes_and_refusals():
    jobs = bench.plan(["rcnn_caffenet", "fast_rcnn_caffenet"], mode="detect", proposals=300)
    assert [(j["input_shape"], j["proposals"], j["batch"]) for j in jobs] == [([375, 500, 3], 300, 1),
                                                                             ([600, 800, 3], 300, 1)]
    assert bench.plan(["rcnn_caffenet"], mode="detect", input_shape=(100, 120))[0]["input_shape"] == [100, 120, 3]
    for request_, message in (({"batch": 4}, "one image at a time"), ({"proposals": 0}, "--proposals must be"),
                              ({"runtime": "savedmodel"}, "only runs inference"), ({"backend": "jax"}, "TensorFlow")):
        with pytest.raises(ConfigError, match=message):
            bench.plan(["rcnn_caffenet"], mode="detect", **request_)
    with pytest.raises(ConfigError, match="times the detectors"):
        bench.plan(["test/tiny_classifier"], mode="detect")


def test_perf_table_shows_the_papers_time_beside_detect_rows(tmp_path):
    row = {c: "" for c in bench.COLUMNS}
    row.update(model="rcnn_caffenet", mode="detect", runtime="keras", batch=1, input_shape="375x500x3", xla="False",
               backend="tensorflow", dtype="float32", device="cpu2", threads=2, params=57814526,
               latency_ms_median=1000.0, latency_ms_min=900.0, latency_ms_max=1100.0, items_per_s=1.0,
               peak_rss_mb=3000, versions="keras=3", date="2026-12-07T00:00:00Z", options="proposals=2000")
    bench.append_csv(tmp_path / "benchmark-detect-tensorflow-float32-cpu2.csv", [row], bench.COLUMNS)
    text = _perf_table().render(tmp_path)
    assert "paper's time per image" in text and "13 s GPU / 53 s CPU" in text and "281 ms" in text


@pytest.mark.slow
def test_detect_mode_times_both_detectors(tmp_path):
    rows = bench.bench(["rcnn_caffenet", "fast_rcnn_caffenet"], mode="detect", proposals=5, input_shape=(64, 80),
                       options={"width": 16, "num_classes": 3}, warmup=1, repeats=1, out=tmp_path,
                       progress=lambda *_: None)
    assert [r["model"] for r in rows] == ["rcnn_caffenet", "fast_rcnn_caffenet"]
    assert all(r["latency_ms_median"] > 0 and "proposals=5" in r["options"] for r in rows)
    assert (tmp_path / f"benchmark-detect-tensorflow-float32-{rows[0]['device']}.csv").exists()


def test_onnxruntime_runtime_times_the_exported_file(tmp_path):
    """`--runtime onnxruntime`: the model exported by zoo.export.export_onnx, timed in ONNX Runtime's CPU provider."""
    pytest.importorskip("onnxruntime")
    rows = bench.bench(["test/tiny_classifier"], runtime="onnxruntime", batch=2, warmup=1, repeats=2, out=tmp_path,
                       progress=lambda _: None)
    assert [(r["runtime"], r["batch"]) for r in rows] == [("onnxruntime", 1), ("onnxruntime", 2)]
    for r in rows:
        assert "onnxruntime=" in r["versions"] and float(r["latency_ms_median"]) > 0 and r["params"]
    assert len(list(tmp_path.glob("benchmark-infer-tensorflow-float32-*.csv"))) == 1
