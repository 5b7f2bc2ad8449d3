"""`zoo bench`: speed and memory of registered models on synthetic inputs, optionally beside PyTorch.

    zoo bench vgg16 resnet50 --mode both --batch 8 --compare-torch
    zoo bench fcn8s --input-shape 500,500 --runtime tflite-int8

What is measured, per model and configuration:
- inference: latency at batch 1 and, with `--batch N` > 1, throughput at batch N (one row each),
  `model(x, training=False)` in a `tf.function` (`--xla`: jit-compiled) on TensorFlow,
  `predict_on_batch` (jitted) on JAX; or the exported artefact (`--runtime`).
- training (`--mode train`): throughput at batch N of the recipe runner's step (forward, loss,
  gradient, SGD update: zoo.training.runner's optimizer and tasks' loss, the runner's default
  recipe: SGD momentum 0.9, lr 0.01, the loss averaged over the batch (pixels), mixed precision
  and XLA as the runner applies them) on random labels; on JAX Keras' own jitted
  `train_on_batch` with the same optimizer and loss. Op determinism is off (a performance run).
- each call is timed to completion (outputs fetched to the host) after `--warmup` calls (the
  first also reported alone, `first_call_s`: tracing and compilation); `--repeats` calls give
  min, median and max; items/s is batch / median. Items are images (or clips, or sequences).
- detection (`--mode detect`, R-CNN and Fast R-CNN cards): seconds per image of the whole
  detector on one synthetic image (`--input-shape`, default 375x500 for R-CNN, 600x800 for Fast
  R-CNN) with `--proposals` random boxes (default 2000; selective search itself is not timed):
  R-CNN warps every proposal (zoo.ops.warp), runs the net on them in batches of 256, scores the
  fc7 SVMs, regresses boxes and applies per-class NMS (zoo.tasks.detection.rcnn_detect); Fast
  R-CNN runs the image and its RoIs through the model in one `tf.function` call, then softmax,
  box decoding and per-class NMS (zoo.tasks.detection.detect). Rows go to
  `benchmark-detect-...csv`; items/s is images per second; MACs are not counted.
- parameters (all weights as Keras counts them, and the trainable ones) and the multiply-
  accumulates of one forward pass of one example (zoo.analysis.count_flops; FLOPs = 2 x MACs).
- peak memory: every configuration runs in a fresh process; `peak_rss_mb` is its resident-set
  high-water mark (Linux VmHWM): the interpreter, the framework's libraries, the weights,
  optimizer state, activations and gradients, graph tracing and compilation, the synthetic
  inputs; `base_rss_mb` is the same mark right after the framework was imported, before the
  model was built. (`resource.getrusage(RUSAGE_SELF).ru_maxrss` is the fallback where /proc is
  missing; on Linux it is not used because a spawned child inherits its parent's high-water mark
  at fork time: measured here, a child of a 1.5 GB parent reported 1,457 MB.) For the exported
  runtimes the export runs in a process of its own, so the peak is that of serving the artefact.
- runtimes (inference only, TensorFlow only, float32 models): `savedmodel` (zoo.export's
  `serve` signature, loaded with tf.saved_model.load), `tflite-fp32|fp16|int8` (zoo.export's
  fixed-size file, input resized to the batch, LiteRT interpreter with `--threads` threads).
  int8 is calibrated on 8 synthetic inputs (random pixels through the model's preprocessing):
  right for timing, meaningless for accuracy. `onnxruntime`: zoo.export's ONNX file (Keras's
  exporter) in ONNX Runtime's CPU provider, all graph optimisations, `--threads` intra-op threads.
- threads: TensorFlow's intra-op pool, PyTorch's `torch.set_num_threads` and LiteRT's
  `num_threads` are all set to `--threads` (default: the CPU count); JAX (XLA CPU) uses every core.
  Take numbers on an otherwise idle machine: PyTorch's OpenMP threads spin while they wait, which
  on a CPU shared with other jobs costs it most (measured here under a load of 8 on 2 cores: VGG16
  at batch 1 took 2.4 s with 2 threads, 1.1 s with 1 thread or with OMP_WAIT_POLICY=PASSIVE). The
  measuring processes inherit the environment, so such variables reach them.
- `--compare-torch [eager|compile]`: the PyTorch twin (zoo.bench.torch_twins, the same convolutions,
  parameters and MACs; only vgg16, resnet50, fcn8s) in eager mode or through `torch.compile`
  (TorchInductor; compiled during the warm-up), NCHW, on the same batch, input size and number
  of threads, on the GPU when PyTorch sees one (synchronised after each call; the GPU's peak
  allocation in `notes`), `torch.optim.SGD(momentum=0.9)` with cross-entropy for training,
  autocast for the mixed dtypes; `zoo_torch_ratio` = zoo items/s / torch items/s (> 1: zoo is
  faster). On a GPU machine: `zoo bench resnet50 --backend jax --mode train --batch 256 --dtype
  mixed_bfloat16 --compare-torch compile`.

Synthetic inputs are random uint8 pictures through the model's input contract (channel order,
mean, std), the same numbers for zoo and torch. Results are printed as a table and appended to
`<out>/benchmark-<mode>-<backend>-<dtype>-<device>.csv` (the environment in the file name, as
timm does), one row per configuration with the columns in `COLUMNS`. `<out>` is `--out DIR`, by
default the user's cache (`default_out()`: ~/.cache/zoo/bench on Linux), never the repository;
`--record` also appends the rows to the repository's committed `results/`, which
scripts/perf_table.py turns into the README's Performance section.

The package, one role per file:
- `plan.py`: the choices and the validation of a request (`plan`: one job per measured row);
- `worker.py`: what runs inside the measuring processes (building, timing, peak memory);
- `results.py`: the rows, their CSV files (`COLUMNS`) and the printed table;
- `torch_twins.py`: the PyTorch twins; `input.py`: `zoo bench-input`;
- here: running the jobs (`measure`), `bench` and `zoo bench` (`run_bench`).
worker.py and torch_twins.py import only the standard library, NumPy (and PyTorch) at load
time and nothing of the zoo package: the measuring processes load them by path
(`_WORKER_BOOT`), so a PyTorch or LiteRT process does not import Keras.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zoo.bench.plan import BACKENDS, DTYPES, MODES, RUNTIMES, TORCH_MODELS, TORCH_MODES, _error, plan
from zoo.bench.results import (COLUMNS, RECORD_DIR, _row, append_csv, default_out, destinations, format_table,
                               results_path, write_results)
from zoo.bench.worker import _RESULT
from zoo.progress import track, write

__all__ = [  # what zoo.cli, zoo.bench.input and the tests use
    "BACKENDS", "COLUMNS", "DTYPES", "MODES", "RECORD_DIR", "RUNTIMES", "TORCH_MODELS", "TORCH_MODES",
    "append_csv", "bench", "default_out", "destinations", "format_table", "measure", "plan", "results_path",
    "run_bench", "write_results",
]

# The measuring processes run worker.py by path, not `import zoo.bench.worker`: importing the zoo
# package imports Keras (and TensorFlow), which must not weigh on a PyTorch or LiteRT process.
_WORKER = Path(__file__).with_name("worker.py")
_WORKER_BOOT = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('zoo_bench_worker', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "module.worker(sys.argv[2])\n"
)


def _spawn(job, workdir, backend="tensorflow"):
    """Run one measurement in a fresh process; its result dict."""
    job = {**job, _RESULT: str(Path(workdir) / f"result-{os.getpid()}-{time.monotonic_ns()}.json")}
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", _WORKER_BOOT, str(_WORKER), json.dumps(job)], env=env,
                          capture_output=True, text=True)
    result_path = Path(job[_RESULT])
    if result_path.exists():
        result = json.loads(result_path.read_text())
        if "error" in result:
            raise _error(result["kind"], result["error"])
        return result
    tail = " | ".join(line for line in (proc.stderr or "").strip().splitlines()[-3:])
    raise _error("ZooError", f"the {job['kind']} measurement of {job['model']} ({job['mode']}, batch {job['batch']}) "
                 f"died with exit status {proc.returncode}: {tail or 'no message'}")


def measure(jobs, *, progress=print):
    """Run planned jobs (each in its own process, exports first); one CSV row per job. `progress`
    receives a line per job (print's lines go below the progress bar)."""
    rows = []
    progress = write if progress is print else progress
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        exported = {}
        for job in track(jobs, "bench", unit="configurations"):
            progress(f"measuring {job['model']} {job['mode']} batch {job['batch']} ({job['runtime']}, "
                     f"{job['backend']}, {job['dtype']}) ...")
            inputs = str(Path(tmp) / f"inputs-{len(rows)}.npy")
            if job["runtime"] == "keras":
                kind = "detect" if job["mode"] == "detect" else "keras"
                measured = _spawn({**job, "kind": kind, "save_inputs": inputs}, tmp, job["backend"])
            else:
                key = job["model"]
                if key not in exported:
                    artefact_dir = str(Path(tmp) / f"export-{len(exported)}")
                    exported[key] = _spawn({**job, "kind": "export", "artefact_dir": artefact_dir}, tmp)
                info = exported[key]
                measured = {**_spawn({**job, "kind": job["runtime"].split("-")[0], "artefact": info["artefact"],
                                      "load_inputs": info["inputs"]}, tmp),
                            **{k: info[k] for k in ("params", "trainable_params", "gmacs")}}
                inputs = info["inputs"]
            row = _row(job, measured)
            if job["compare_torch"]:
                torch_result = _spawn({**job, "kind": "torch", "load_inputs": inputs}, tmp)
                row.update(torch_latency_ms_median=torch_result["latency_ms_median"],
                           torch_items_per_s=torch_result["items_per_s"], torch_peak_rss_mb=torch_result["peak_rss_mb"],
                           zoo_torch_ratio=row["items_per_s"] / torch_result["items_per_s"])
                row["versions"] += ";" + torch_result["versions"]
                row["notes"] = "; ".join(n for n in (row["notes"], torch_result["notes"]) if n)
            rows.append(row)
    return rows


def bench(names, *, out=None, record=False, progress=print, **request):
    """Plan, measure, write the CSVs and return the rows. `request`: the keyword arguments of `plan`;
    `out`: the CSVs' folder (default: `default_out()`); `record`: also append to the repository's results/."""
    dirs = destinations(out, record)  # refused before anything is measured
    rows = measure(plan(names, **request), progress=progress)
    _write(rows, dirs, progress)
    return rows


def _write(rows, dirs, progress):
    for folder in dirs:
        for path in write_results(rows, folder):
            progress(f"appended {sum(results_path(folder, r) == path for r in rows)} row(s) to {path}")


def run_bench(args):
    """`zoo bench` (zoo.cli)."""
    from zoo.config_tables import parse_override

    options = {}
    for text in args.options:
        keys, value = parse_override(text)
        options[".".join(keys)] = value
    dirs = destinations(args.out, args.record)
    rows = measure(plan(args.names, mode=args.mode, batch=args.batch, input_shape=args.input_shape, dtype=args.dtype,
                        xla=args.xla, backend=args.backend, runtime=args.runtime, compare_torch=args.compare_torch,
                        warmup=args.warmup, repeats=args.repeats, threads=args.threads, options=options,
                        proposals=args.proposals))
    print(format_table(rows))
    _write(rows, dirs, print)
    return 0
