"""`zoo bench`'s choices and the validation of a request: `plan` turns it into one job per measured row."""

from __future__ import annotations

import importlib.util
import os

MODES = ("train", "infer", "both", "detect")
RUNTIMES = ("keras", "savedmodel", "tflite-fp32", "tflite-fp16", "tflite-int8", "onnxruntime")
DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")
BACKENDS = ("tensorflow", "jax")
TORCH_MODELS = ("vgg16", "resnet50", "fcn8s")  # = zoo.bench.torch_twins.MODELS (a test checks), known without torch
TORCH_MODES = ("eager", "compile")  # --compare-torch
TORCH_OPTIONS = ("num_classes", "width")  # builder options the twins take
TRAINED_TASKS = ("classification", "segmentation")  # tasks whose targets are random class ids
# --mode detect: seconds per image of a whole detector, at a typical image size of its paper when
# --input-shape is not given: a VOC image (500 x 375) for R-CNN, whose windows are warped from it;
# the shorter side scaled to 600 for Fast R-CNN (Girshick 2015 §3: 600 x 800 for a 4:3 VOC image).
DETECT_SHAPES = {"detection_windows": (375, 500, 3), "detection_rois": (600, 800, 3)}


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
         runtime="keras", compare_torch=False, warmup=2, repeats=10, threads=None, options=None, proposals=2000):
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
    if mode == "detect":
        return _detect_jobs(names, batch=batch, input_shape=input_shape, dtype=dtype, xla=xla, backend=backend,
                            runtime=runtime, compare_torch=compare_torch, warmup=warmup, repeats=repeats,
                            threads=threads, options=options, proposals=proposals)
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
                             f"there are twins of vgg16, resnet50 and fcn8s")
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


def _detect_jobs(names, *, batch, input_shape, dtype, xla, backend, runtime, compare_torch, warmup, repeats, threads,
                 options, proposals):
    """`--mode detect`: one job per detector (R-CNN, Fast R-CNN), timing one image with `proposals` boxes."""
    from zoo import registry

    for bad, why in ((batch != 1, f"--batch {batch}: a detector is timed one image at a time"),
                     (runtime != "keras", f"--runtime {runtime}: the detector runs as Keras model + NumPy NMS"),
                     (backend != "tensorflow", f"--backend {backend}: detect mode runs on TensorFlow"),
                     (bool(compare_torch), "--compare-torch: there are no PyTorch twins of the detectors")):
        if bad:
            raise _error("ConfigError", f"--mode detect does not take {why}")
    if int(proposals) != proposals or proposals < 1:
        raise _error("ConfigError", f"--proposals must be an integer >= 1; got {proposals!r}")
    jobs = []
    for name in names:
        card = registry.card(name)
        if card.task not in DETECT_SHAPES:
            raise _error("ConfigError", f"{name} is a {card.task} model; --mode detect times the detectors "
                         f"(tasks {', '.join(DETECT_SHAPES)}: rcnn_* and fast_rcnn_*)")
        shape = DETECT_SHAPES[card.task] if input_shape is None else (*input_shape[:2], 3)
        jobs.append(dict(model=name, card=card.name, input_shape=list(shape), dtype=dtype, backend=backend,
                         runtime=runtime, xla=bool(xla), warmup=warmup, repeats=repeats, threads=threads,
                         options=options, task=card.task, num_classes=int(options.get("num_classes", 21)),
                         width=int(options.get("width", 1)), mode="detect", batch=1, compare_torch=False,
                         pixels=True, proposals=int(proposals)))
    return jobs
