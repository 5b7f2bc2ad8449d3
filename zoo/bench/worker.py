"""What runs inside `zoo bench`'s measuring processes: build the model (or load the exported
artefact, or the PyTorch twin), time its calls, read the process's peak memory; `worker` writes
the result (or a ZooError) as JSON for the parent (zoo.bench).

The processes load this file by path (zoo.bench._WORKER_BOOT), not as `zoo.bench.worker`:
importing the zoo package imports Keras (and TensorFlow), which must not weigh on a PyTorch or
LiteRT process. So this file imports only the standard library and NumPy at load time, imports
the zoo package only inside the functions of a Keras process, and loads torch_twins.py by path.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

CALIBRATION_EXAMPLES = 8
_RESULT = "result"  # the job's key: where the worker writes its result


def _versions(*modules):
    from importlib import metadata

    out = []
    for m in modules:
        try:
            out.append(f"{m}={metadata.version(m)}")
        except metadata.PackageNotFoundError:
            continue
    return ";".join(out)


def _peak_rss_mb():
    """This process's resident-set high-water mark in MiB (zoo.bench's docstring says what it includes)."""
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
            from zoo.errors import ConfigError

            raise ConfigError(f"{job['model']} takes {dtype} inputs and has no Embedding to size them")
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
    elif job["runtime"] == "onnxruntime":
        report = export.export_onnx(model, out / "model.onnx", input_contract=card.input_contract, input_shape=shape)
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


def _measure_onnxruntime(job):
    import onnxruntime as ort

    base = _peak_rss_mb()
    options = ort.SessionOptions()
    options.intra_op_num_threads = job["threads"]
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(job["artefact"], options, providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: np.load(job["load_inputs"])[: job["batch"]]}
    # the CPU provider: ONNX Runtime's GPU providers are a different package (onnxruntime-gpu)
    return {**_timing(job, lambda: session.run(None, feeds)), "device": _cpu_device(), "base_rss_mb": base,
            "versions": _versions("onnxruntime", "tf2onnx")}


def _measure_torch(job):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(job["threads"])
    base = _peak_rss_mb()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    spec = importlib.util.spec_from_file_location("zoo_bench_torch_twins", Path(__file__).with_name("torch_twins.py"))
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


def _random_proposals(rng, count, height, width):
    """`count` boxes [x1, y1, x2, y2] inside the image, sides from 16 pixels to the whole image."""
    w = rng.uniform(16, width, count)
    h = rng.uniform(16, height, count)
    x1, y1 = rng.uniform(0, width - w), rng.uniform(0, height - h)
    return np.stack([x1, y1, x1 + w - 1, y1 + h - 1], axis=1).astype("float32")


def _measure_detect(job):
    """Seconds per image of a whole detector (zoo.bench's docstring: what is included)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(job["threads"])
    gpus = tf.config.list_physical_devices("GPU")
    device = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu") if gpus else None
    import keras

    import zoo
    from zoo.tasks.detection import DetectionEvalOptions, detect, rcnn_detect

    base = _peak_rss_mb()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    height, width, _ = job["input_shape"]
    image = rng.uniform(-128, 128, (height, width, 3)).astype("float32")  # BGR minus the mean: any values time alike
    proposals = _random_proposals(rng, job["proposals"], height, width)
    if job["task"] == "detection_windows":  # R-CNN: fc7 SVMs and pool5 box regression, as the paper's detector
        model = zoo.get(job["model"], svm_layer="fc7", bbox_regression=True, **job["options"])
        crop = int(model.inputs[0].shape[1])
        padding = round(16 * crop / 227)
        fn = lambda: rcnn_detect(model, image, proposals, crop_size=crop, padding=padding)  # noqa: E731
        notes = (f"R-CNN on one {height}x{width} image: {len(proposals)} windows warped to {crop}x{crop}, the net in "
                 "batches of 256, fc7 SVMs, box regression, per-class NMS; selective search not timed")
    else:
        model = zoo.get(job["model"], **job["options"])
        forward = tf.function(lambda x, r: model([x, r], training=False))
        x, rois = tf.constant(image[None]), tf.constant(proposals[None])
        options = DetectionEvalOptions(max_proposals=len(proposals))

        def fn():
            cls_score, bbox_pred = (t.numpy()[0] for t in forward(x, rois))
            return detect(cls_score, bbox_pred, proposals, (height, width), options)

        notes = (f"Fast R-CNN on one {height}x{width} image with {len(proposals)} RoIs: trunk, RoI pooling, heads in "
                 "one call, softmax, box decoding, per-class NMS; selective search not timed")
    count = lambda ws: int(sum(math.prod(w.shape) for w in ws))  # noqa: E731
    result = _timing(job, fn)
    return {**result, "params": count(model.weights), "trainable_params": count(model.trainable_weights),
            "gmacs": None, "device": (device or _cpu_device()).replace(" ", "_"), "base_rss_mb": base,
            "notes": notes, "versions": _versions("keras", "tensorflow")}


_KINDS = {"keras": _measure_keras, "detect": _measure_detect, "export": _export, "savedmodel": _measure_savedmodel, "tflite": _measure_tflite,
          "onnxruntime": _measure_onnxruntime, "torch": _measure_torch}


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
