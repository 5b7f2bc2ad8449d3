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
  right for timing, meaningless for accuracy.
- threads: TensorFlow's intra-op pool, PyTorch's `torch.set_num_threads` and LiteRT's
  `num_threads` are all set to `--threads` (default: the CPU count); JAX (XLA CPU) uses every core.
  Take numbers on an otherwise idle machine: PyTorch's OpenMP threads spin while they wait, which
  on a CPU shared with other jobs costs it most (measured here under a load of 8 on 2 cores: VGG16
  at batch 1 took 2.4 s with 2 threads, 1.1 s with 1 thread or with OMP_WAIT_POLICY=PASSIVE). The
  measuring processes inherit the environment, so such variables reach them.
- `--compare-torch [eager|compile]`: the PyTorch twin (zoo.bench_torch, the same convolutions,
  parameters and MACs; only vgg16, resnet50, fcn8s) in eager mode or through `torch.compile`
  (TorchInductor; compiled during the warm-up), NCHW, on the same batch, input size and number
  of threads, on the GPU when PyTorch sees one (synchronised after each call; the GPU's peak
  allocation in `notes`), `torch.optim.SGD(momentum=0.9)` with cross-entropy for training,
  autocast for the mixed dtypes; `zoo_torch_ratio` = zoo items/s / torch items/s (> 1: zoo is
  faster). On a GPU machine: `zoo bench resnet50 --backend jax --mode train --batch 256 --dtype
  mixed_bfloat16 --compare-torch compile`.

Synthetic inputs are random uint8 pictures through the model's input contract (channel order,
mean, std), the same numbers for zoo and torch. Results are printed as a table and appended to
`<results dir>/benchmark-<mode>-<backend>-<dtype>-<device>.csv` (the environment in the file
name, as timm does), one row per configuration with the columns in `COLUMNS`;
scripts/perf_table.py turns them into the README's Performance section.

This module imports only the standard library and NumPy at load time: the measuring processes
load it by path (`_WORKER_BOOT`), so a PyTorch or LiteRT process does not import Keras.
"""

from __future__ import annotations

import csv
import datetime
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path("results")
MODES = ("train", "infer", "both")
RUNTIMES = ("keras", "savedmodel", "tflite-fp32", "tflite-fp16", "tflite-int8")
DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")
BACKENDS = ("tensorflow", "jax")
TORCH_MODELS = ("vgg_d", "resnet50", "fcn8s")  # = zoo.bench_torch.MODELS (a test checks), known without torch
TORCH_MODES = ("eager", "compile")  # --compare-torch
TORCH_OPTIONS = ("num_classes", "width")  # builder options the twins take
TRAINED_TASKS = ("classification", "segmentation")  # tasks whose targets are random class ids
CALIBRATION_EXAMPLES = 8
COLUMNS = [
    "model", "mode", "runtime", "batch", "input_shape", "dtype", "xla", "backend", "device", "threads",
    "params", "trainable_params", "gmacs", "gflops",
    "latency_ms_min", "latency_ms_median", "latency_ms_max", "items_per_s", "first_call_s",
    "peak_rss_mb", "base_rss_mb",
    "torch_latency_ms_median", "torch_items_per_s", "torch_peak_rss_mb", "zoo_torch_ratio",
    "warmup", "repeats", "options", "notes", "versions", "date",
]
_RESULT = "result"


# ------------------------------------------------------------------------------------ planning


def _error(kind, message):
    from zoo import errors

    return getattr(errors, kind, errors.ZooError)(message)


def _check_choice(value, choices, what):
    if value not in choices:
        raise _error("ConfigError", f"{what} must be one of {', '.join(choices)}; got {value!r}")


def _resolve_shape(card, input_shape):
    """The network input shape (no batch axis) to measure at: --input-shape H,W[,C], the card's
    fixed size, or 224 for each free image axis."""
    contract = card.input_contract
    if contract.streams:
        raise _error("ConfigError", f"{card.name} has {len(contract.streams)} inputs; "
                     "zoo bench measures single-input models")
    if input_shape is not None:
        if len(contract.shape) != 3:
            raise _error("ConfigError", f"--input-shape is H,W[,C] for image models; {card.name} takes "
                         f"{contract.kind} inputs of shape {contract.shape}")
        channels = contract.shape[-1]
        if len(input_shape) == 3 and channels is not None and input_shape[2] != channels:
            raise _error("InputError", f"{card.name} takes {channels} channels; --input-shape gives {input_shape[2]}")
        return (*input_shape[:2], input_shape[2] if len(input_shape) == 3 else channels)
    if len(contract.shape) == 3:
        return tuple(224 if s is None else s for s in contract.shape)
    if None in contract.shape:
        raise _error("ConfigError", f"{card.name}'s input {contract.shape} has free axes; zoo bench cannot choose them")
    return tuple(contract.shape)


def _torch_missing():
    return importlib.util.find_spec("torch") is None


def plan(names, *, mode="infer", batch=1, input_shape=None, dtype="float32", xla=None, backend="tensorflow",
         runtime="keras", compare_torch=False, warmup=2, repeats=10, threads=None, options=None):
    """Validate a request; return one job per (model, measured row), each a dict that a worker takes.

    Raises ConfigError (UnknownNameError for an unknown model) naming what is wrong, before anything runs.
    """
    from zoo import registry

    options = dict(options or {})
    _check_choice(mode, MODES, "--mode")
    _check_choice(runtime, RUNTIMES, "--runtime")
    _check_choice(dtype, DTYPES, "--dtype")
    _check_choice(backend, BACKENDS, "--backend")
    for value, what, least in ((batch, "--batch", 1), (repeats, "--repeats", 1), (warmup, "--warmup", 0),
                               (threads or 1, "--threads", 1)):
        if int(value) != value or value < least:
            raise _error("ConfigError", f"{what} must be an integer >= {least}; got {value!r}")
    if not names:
        raise _error("ConfigError", "name at least one model to benchmark")
    if compare_torch is True:
        compare_torch = "eager"
    if compare_torch:
        _check_choice(compare_torch, TORCH_MODES, "--compare-torch")
    if backend == "jax" and xla is False:
        raise _error("ConfigError", "JAX always compiles with XLA: --no-xla applies to --backend tensorflow")
    if runtime != "keras":
        for bad, why in ((mode != "infer", f"--mode {mode}: an exported model only runs inference"),
                         (backend != "tensorflow", f"--backend {backend}: exports are made with TensorFlow"),
                         (dtype != "float32", f"--dtype {dtype}: exports are of float32 models (tflite-fp16 "
                                              "and tflite-int8 quantise them)"),
                         (bool(xla), "--xla: XLA applies to the keras runtime")):
            if bad:
                raise _error("ConfigError", f"--runtime {runtime} does not take {why}")
    if "input_shape" in options:
        raise _error("ConfigError", "give the input size as --input-shape H,W, not as a builder option")
    threads = int(threads or os.cpu_count() or 1)
    jobs = []
    for name in names:
        card = registry.card(name)
        shape = _resolve_shape(card, input_shape)
        modes = ("train", "infer") if mode == "both" else (mode,)
        if "train" in modes and card.task not in TRAINED_TASKS:
            raise _error("ConfigError", f"{name} is a {card.task} model; zoo bench trains "
                         f"{' and '.join(TRAINED_TASKS)} models (on random class labels)")
        if compare_torch:
            if card.name not in TORCH_MODELS:
                raise _error("ConfigError", f"--compare-torch: there is no PyTorch twin of {name}; "
                             f"there are twins of vgg16 (vgg_d), resnet50 and fcn8s")
            extra = sorted(set(options) - set(TORCH_OPTIONS))
            if extra:
                raise _error("ConfigError", f"--compare-torch: the PyTorch twins take the options "
                             f"{', '.join(TORCH_OPTIONS)}, not {', '.join(extra)}")
        contract = card.input_contract
        common = dict(model=name, card=card.name, input_shape=list(shape), dtype=dtype, backend=backend,
                      runtime=runtime, xla=bool(xla), warmup=warmup, repeats=repeats, threads=threads,
                      options=options, task=card.task,
                      num_classes=int(options.get("num_classes", card.default_num_classes or 0)),
                      width=int(options.get("width", 1)))
        for m in modes:
            batches = (batch,) if m == "train" else tuple(dict.fromkeys((1, batch)))
            for b in batches:
                jobs.append({**common, "mode": m, "batch": b, "compare_torch": compare_torch,
                             "pixels": contract.kind in ("image", "clip") and contract.channel_order is not None})
    if compare_torch and _torch_missing():
        raise _error("ConfigError", "--compare-torch needs PyTorch, which is not installed: "
                     "pip install 'zoo[bench]' (torch==2.13.0)")
    return jobs


# ------------------------------------------------------------------------------------ running

# The measuring processes run this file by path, not `import zoo.bench`: importing the zoo
# package imports Keras (and TensorFlow), which must not weigh on a PyTorch or LiteRT process.
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
    proc = subprocess.run([sys.executable, "-c", _WORKER_BOOT, __file__, json.dumps(job)], env=env,
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


def _versions(*modules):
    from importlib import metadata

    out = []
    for m in modules:
        try:
            out.append(f"{m}={metadata.version(m)}")
        except metadata.PackageNotFoundError:
            continue
    return ";".join(out)


def measure(jobs, *, progress=print):
    """Run planned jobs (each in its own process, exports first); one CSV row per job."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        exported = {}
        for job in jobs:
            progress(f"measuring {job['model']} {job['mode']} batch {job['batch']} ({job['runtime']}, "
                     f"{job['backend']}, {job['dtype']}) ...")
            inputs = str(Path(tmp) / f"inputs-{len(rows)}.npy")
            if job["runtime"] == "keras":
                measured = _spawn({**job, "kind": "keras", "save_inputs": inputs}, tmp, job["backend"])
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


def _row(job, result):
    macs = result.get("gmacs")
    return {
        "model": job["model"], "mode": job["mode"], "runtime": job["runtime"], "batch": job["batch"],
        "input_shape": "x".join(map(str, job["input_shape"])), "dtype": job["dtype"],
        "xla": job["xla"] or job["backend"] == "jax", "backend": job["backend"], "device": result["device"],
        "threads": job["threads"], "params": result["params"], "trainable_params": result["trainable_params"],
        "gmacs": macs, "gflops": None if macs is None else 2 * macs,
        **{k: result[k] for k in ("latency_ms_min", "latency_ms_median", "latency_ms_max", "items_per_s",
                                  "first_call_s", "peak_rss_mb", "base_rss_mb", "versions")},
        "warmup": job["warmup"], "repeats": job["repeats"],
        "options": ";".join(f"{k}={v}" for k, v in sorted(job["options"].items())), "notes": result.get("notes", ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def results_path(results_dir, row):
    return Path(results_dir) / f"benchmark-{row['mode']}-{row['backend']}-{row['dtype']}-{row['device']}.csv"


def append_csv(path, rows, columns) -> None:
    """Append rows (dicts) to a CSV of `columns`, writing the header for a new file; refuse a file
    whose header differs (another format)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or not path.stat().st_size
    if not new:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if header != list(columns):
            raise _error("ConfigError", f"{path} has other columns than this zoo bench writes "
                         "(an older format?); move it away or name another --results-dir")
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r.get(k)) for k in columns})


def write_results(rows, results_dir=RESULTS_DIR):
    """Append rows to their environment's CSV (header written for a new file); the paths written."""
    by_path = {}
    for r in rows:
        by_path.setdefault(results_path(results_dir, r), []).append(r)
    for path, path_rows in by_path.items():
        append_csv(path, path_rows, COLUMNS)
    return list(by_path)


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def format_table(rows):
    """The rows as a fixed-width text table (what `zoo bench` prints)."""
    torch_cols = any(r.get("torch_items_per_s") is not None for r in rows)
    head = ["model", "mode", "runtime", "batch", "input", "params", "GMACs", "min ms", "median ms", "max ms",
            "items/s", "peak MB"] + (["torch items/s", "torch MB", "zoo/torch"] if torch_cols else [])
    lines = []
    for r in rows:
        params = f"{r['params'] / 1e6:.2f}M" if r["params"] >= 100_000 else f"{r['params']:,}"
        cells = [r["model"], r["mode"], r["runtime"], r["batch"], r["input_shape"], params,
                 "-" if r["gmacs"] is None else f"{r['gmacs']:.3g}", f"{r['latency_ms_min']:.2f}",
                 f"{r['latency_ms_median']:.2f}", f"{r['latency_ms_max']:.2f}", f"{r['items_per_s']:.2f}",
                 f"{r['peak_rss_mb']:.0f}"]
        if torch_cols:
            t = r.get("torch_items_per_s")
            cells += ["-", "-", "-"] if t is None else [f"{t:.2f}", f"{r['torch_peak_rss_mb']:.0f}",
                                                        f"{r['zoo_torch_ratio']:.2f}"]
        lines.append([str(c) for c in cells])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]

    def fmt(cells):  # names left, numbers right
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([fmt(head), *(fmt(line) for line in lines)])


def bench(names, *, results_dir=RESULTS_DIR, progress=print, **request):
    """Plan, measure, write the CSVs and return the rows. `request`: the keyword arguments of `plan`."""
    rows = measure(plan(names, **request), progress=progress)
    for path in write_results(rows, results_dir):
        progress(f"appended to {path}")
    return rows


def run_bench(args):
    """`zoo bench` (zoo.cli)."""
    from zoo.config_tables import parse_override

    options = {}
    for text in args.options:
        keys, value = parse_override(text)
        options[".".join(keys)] = value
    rows = measure(plan(args.names, mode=args.mode, batch=args.batch, input_shape=args.input_shape, dtype=args.dtype,
                        xla=args.xla, backend=args.backend, runtime=args.runtime, compare_torch=args.compare_torch,
                        warmup=args.warmup, repeats=args.repeats, threads=args.threads, options=options))
    print(format_table(rows))
    for path in write_results(rows, args.results_dir):
        print(f"appended to {path}")
    return 0


# ------------------------------------------------------------------------------------ measuring
# Everything below runs in the worker processes.


def _peak_rss_mb():
    """This process's resident-set high-water mark in MiB (see the module docstring)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def _time_calls(fn, warmup, repeats):
    """(first call's seconds or None, [seconds of each timed call]); `fn` must return only when done."""
    first = None
    for i in range(warmup):
        t0 = time.perf_counter()
        fn()
        if i == 0:
            first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, times


def _timing(job, fn):
    first, times = _time_calls(fn, job["warmup"], job["repeats"])
    median = statistics.median(times)
    return {"latency_ms_min": 1e3 * min(times), "latency_ms_median": 1e3 * median,
            "latency_ms_max": 1e3 * max(times), "items_per_s": job["batch"] / median, "first_call_s": first}


def _cpu_device():
    return f"cpu{os.cpu_count()}-{platform.machine()}"


def _synthetic_inputs(job, model):
    """A batch of network inputs: random uint8 pictures through the contract's preprocessing for
    pixel inputs, random token ids below the smallest Embedding's size for integer inputs."""
    import keras

    from zoo import registry

    rng = np.random.default_rng(0)
    shape, dtype = (job["batch"], *job["input_shape"]), str(model.inputs[0].dtype)
    if np.issubdtype(np.dtype(dtype), np.integer):
        vocab = [layer.input_dim for layer in model._flatten_layers() if isinstance(layer, keras.layers.Embedding)]
        if not vocab:
            raise _error("ConfigError", f"{job['model']} takes {dtype} inputs and has no Embedding to size them")
        return rng.integers(0, min(vocab), size=shape).astype(dtype)
    if not job["pixels"]:
        return rng.standard_normal(shape).astype(dtype)
    contract = registry.card(job["card"]).input_contract
    x = rng.integers(0, 256, size=shape).astype("float32")
    if contract.channel_order == "BGR":
        x = x[..., ::-1]
    if contract.mean is not None:
        x = x - np.asarray(contract.mean, "float32")
    if contract.std is not None:
        x = x / np.asarray(contract.std, "float32")
    return np.ascontiguousarray(x, dtype=dtype)


def _random_labels(job, output_shape):
    """Class ids for a classification (N,) or segmentation (N, H, W) output of shape (N, ..., C)."""
    return np.random.default_rng(1).integers(0, output_shape[-1], size=output_shape[:-1]).astype("int32")


def _build(job):
    """(model, card) of a job, built at its input shape where the builder takes one."""
    import inspect

    import zoo
    from zoo import registry

    card = registry.card(job["card"])
    kwargs = dict(job["options"])
    if "input_shape" in inspect.signature(card.builder).parameters:
        kwargs["input_shape"] = tuple(job["input_shape"])
    return zoo.get(job["model"], **kwargs), card


def _model_info(model, shape):
    from zoo.analysis import count_flops
    from zoo.errors import ConfigError

    count = lambda ws: int(sum(math.prod(w.shape) for w in ws))  # noqa: E731
    try:
        macs = count_flops(model, tuple(shape)) / 1e9
    except ConfigError:  # several inputs, or shapes the analysis cannot follow
        macs = None
    return {"params": count(model.weights), "trainable_params": count(model.trainable_weights), "gmacs": macs}


def _tf_train_step(model, card, job):
    """The recipe runner's own update (zoo.training.steps, the step the task chooses), on a default recipe."""
    import tensorflow as tf

    from zoo import tasks
    from zoo.training import recipes, steps

    recipe = recipes.Recipe()
    recipe.data.global_batch_size = job["batch"]
    recipe.train.mixed_precision = "" if job["dtype"] == "float32" else job["dtype"]
    recipe.train.xla = job["xla"]
    task = tasks.get(card.task)
    updater = steps.get(task.step)(model, recipe, task, num_replicas=1)

    @tf.function
    def step(x, y):
        return updater.replica_step((x, y))

    return step


def _measure_keras(job):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(job["threads"])
        gpus = tf.config.list_physical_devices("GPU")
        device = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu") if gpus else None
    else:
        import jax

        first = jax.devices()[0]
        device = first.device_kind if first.platform != "cpu" else None
    import keras

    base = _peak_rss_mb()
    keras.utils.set_random_seed(0)
    if job["dtype"] != "float32":
        keras.mixed_precision.set_dtype_policy(job["dtype"])
    model, card = _build(job)
    info = _model_info(model, job["input_shape"])
    x = _synthetic_inputs(job, model)
    if job.get("save_inputs"):
        np.save(job["save_inputs"], x)
    out_shape = tuple(model.outputs[0].shape)
    if job["mode"] == "train":
        y = _random_labels(job, (job["batch"], *out_shape[1:]))
        if backend == "tensorflow":
            step = _tf_train_step(model, card, job)
            xt, yt = tf.constant(x), tf.constant(y)
            fn = lambda: step(xt, yt).numpy()  # noqa: E731
        else:
            model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
            fn = lambda: model.train_on_batch(x, y)  # noqa: E731
    elif backend == "tensorflow":
        forward = tf.function(lambda t: model(t, training=False), jit_compile=job["xla"])
        xt = tf.constant(x)
        fn = lambda: [t.numpy() for t in tf.nest.flatten(forward(xt))]  # noqa: E731
    else:
        fn = lambda: model.predict_on_batch(x)  # noqa: E731
    result = _timing(job, fn)
    return {**result, **info, "device": (device or _cpu_device()).replace(" ", "_"), "base_rss_mb": base,
            "versions": _versions("keras", backend)}


def _export(job):
    """Export the job's model into its artefact_dir (own process: its memory is not the runtime's)."""
    from zoo import export

    model, card = _build(job)
    shape = tuple(job["input_shape"])
    x = _synthetic_inputs({**job, "batch": max(CALIBRATION_EXAMPLES, job["batch"])}, model)
    out = Path(job["artefact_dir"])
    out.mkdir(parents=True)
    np.save(out / "inputs.npy", x)
    if job["runtime"] == "savedmodel":
        report = export.export_savedmodel(model, out / "savedmodel", input_contract=card.input_contract,
                                          input_shape=shape)
    else:
        quantize = {"tflite-fp32": None, "tflite-fp16": "fp16", "tflite-int8": "int8"}[job["runtime"]]
        rep = [x[:CALIBRATION_EXAMPLES]] if quantize == "int8" else None
        report = export.export_tflite(model, out / "model.tflite", input_shape=shape, quantize=quantize,
                                      representative_data=rep, input_contract=card.input_contract)
    return {"artefact": str(report.path), "inputs": str(out / "inputs.npy"), **_model_info(model, shape)}


def _measure_savedmodel(job):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(job["threads"])
    base = _peak_rss_mb()
    serve = tf.saved_model.load(job["artefact"]).signatures["serve"]
    x = tf.constant(np.load(job["load_inputs"])[: job["batch"]])
    gpus = tf.config.list_physical_devices("GPU")
    device = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu") if gpus else _cpu_device()
    result = _timing(job, lambda: [t.numpy() for t in serve(inputs=x).values()])
    return {**result, "device": device.replace(" ", "_"), "base_rss_mb": base, "versions": _versions("tensorflow")}


def _measure_tflite(job):
    from ai_edge_litert.interpreter import Interpreter

    base = _peak_rss_mb()
    x = np.load(job["load_inputs"])[: job["batch"]]

    def interpreter(batch_shape=None):
        it = Interpreter(model_path=job["artefact"], num_threads=job["threads"])
        if batch_shape is not None:
            it.resize_tensor_input(it.get_input_details()[0]["index"], batch_shape)
        it.allocate_tensors()
        return it

    notes = ""
    try:
        it = interpreter(x.shape if x.shape[0] != 1 else None)
        samples = [x]
    except RuntimeError:  # shapes fixed inside the graph (e.g. FCN's crops): serve the batch one sample at a time
        it = interpreter()
        samples = [x[i:i + 1] for i in range(len(x))]
        notes = f"the file's graph does not resize to batch {len(x)}: {len(x)} batch-1 invocations per call"
    index = it.get_input_details()[0]["index"]
    outputs = it.get_output_details()

    def call():
        for sample in samples:
            it.set_tensor(index, sample)
            it.invoke()
            result = [it.get_tensor(o["index"]) for o in outputs]
        return result

    # LiteRT runs on the CPU whatever else the machine has.
    return {**_timing(job, call), "device": _cpu_device(), "base_rss_mb": base, "notes": notes,
            "versions": _versions("ai-edge-litert")}


def _measure_torch(job):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(job["threads"])
    base = _peak_rss_mb()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    spec = importlib.util.spec_from_file_location("zoo_bench_torch", Path(__file__).with_name("bench_torch.py"))
    twins = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(twins)
    torch.manual_seed(0)
    h, w, _ = job["input_shape"]
    model = twins.build(job["card"], num_classes=job["num_classes"], input_size=(h, w), width=job["width"]).to(device)
    x = torch.from_numpy(np.ascontiguousarray(np.load(job["load_inputs"])[: job["batch"]].transpose(0, 3, 1, 2)))
    x = x.to(device)
    autocast = {"float32": None, "mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}[job["dtype"]]
    compiled = job["compare_torch"] == "compile"
    if compiled:  # TorchInductor; the first (warm-up) call compiles, reported as first_call_s
        model = torch.compile(model)

    def run(fn):
        if autocast is None:
            out = fn()
        else:
            with torch.autocast(device, dtype=autocast):
                out = fn()
        if device == "cuda":
            torch.cuda.synchronize()  # time the kernels, not their launch
        return out

    if job["mode"] == "train":
        model.train()
        spatial = (h, w) if job["task"] == "segmentation" else ()  # the twins' outputs: (N, C) or (N, C, H, W)
        y = torch.from_numpy(_random_labels(job, (job["batch"], *spatial, job["num_classes"])).astype("int64"))
        y = y.to(device)
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss = run(lambda: F.cross_entropy(model(x), y))
            loss.backward()
            optimizer.step()
            return loss.item()

        result = _timing(job, step)
    else:
        model.eval()

        def forward():
            with torch.inference_mode():
                return run(lambda: model(x))

        result = _timing(job, forward)
    notes = ""  # only what differs from the default comparison (eager, on the CPU)
    if compiled or device == "cuda":
        notes = f"torch {'compiled (torch.compile)' if compiled else 'eager'} on {device}"
    if device == "cuda":
        notes += f", {torch.cuda.get_device_name()}, GPU peak {torch.cuda.max_memory_allocated() / 1e6:.0f} MB"
    return {**result, "base_rss_mb": base, "versions": _versions("torch"), "notes": notes}


_KINDS = {"keras": _measure_keras, "export": _export, "savedmodel": _measure_savedmodel, "tflite": _measure_tflite,
          "torch": _measure_torch}


def worker(job_json):
    """Entry point of a measuring process: run one job, write its result (or error) as JSON."""
    job = json.loads(job_json)
    try:
        result = _KINDS[job["kind"]](job)
    except Exception as e:
        # By name: importing zoo.errors would import the zoo package, and with it Keras.
        if "ZooError" not in (c.__name__ for c in type(e).__mro__):
            raise  # a bug: the traceback goes to stderr, the parent reports the exit status
        Path(job[_RESULT]).write_text(json.dumps({"error": str(e), "kind": type(e).__name__}))
        return
    result["peak_rss_mb"] = _peak_rss_mb()
    Path(job[_RESULT]).write_text(json.dumps(result))
